"""The one sample schema every part of rmlite reads (reward, lab, training, evaluation, export).

A sample is a flat dict (one row of a `datasets.Dataset`); the map image is stored once per map and
attached lazily under `image` (see `rmlite.data`).

| field | type | meaning |
|---|---|---|
| id | str | unique id, `"{map_id}-{type}-{k}"` |
| map_id | str | which map (image + metro data) the question is about |
| type | str | one of `QUESTION_TYPES` |
| question | str | the full text shown to the model (asks for `\\boxed{}` or the route format) |
| answer | str | the key, encoded per type: counting1 → a letter "A"–"D"; counting2/3 → a decimal integer "4"; torf1/2 → "yes"/"no"; planning → the first reference route in the sample's template |
| choices | list[int] | counting1: the four option values A–D (the key's letter points into it); [] otherwise |
| station1, station2 | str | the stops the question names ("" when unused) |
| line | str | torf2: the line asked about ("" otherwise) |
| metro_data | str | JSON `{line: [stations in order]}` of the map |
| routes | str | JSON list of reference routes; each a list of sections `{route_name, departure_stop, arrival_stop, via_stops, num_via_stops}`; "[]" for non-planning |
| difficulty_city | str | map difficulty: easy / middle / hard |
| difficulty_question | str | planning: by transfers (0 easy, 1 middle, ≥2 hard); other types: the map difficulty (as ReasonMap-Plus) |
| question_transfer_count | int | planning: transfers of an optimal route; 0 otherwise |
| template | str | planning: short / long1 (via-stop counts) / long2 (via-stop lists); "" otherwise |
| seed | int | the generator seed of the map |
| source | str | "synthetic" or "reasonmap:<city>" |
| prompt | list | conversational prompt for TRL: `[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]` |
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

QUESTION_TYPES = ("counting1", "counting2", "counting3", "torf1", "torf2", "planning")
PERCEPTION_TYPES = QUESTION_TYPES[:5]
DIFFICULTIES = ("easy", "middle", "hard")
TEMPLATES = ("short", "long1", "long2")
CHOICE_LETTERS = "ABCD"

FIELDS: dict[str, type] = {
    "id": str, "map_id": str, "type": str, "question": str, "answer": str, "choices": list,
    "station1": str, "station2": str, "line": str, "metro_data": str, "routes": str,
    "difficulty_city": str, "difficulty_question": str, "question_transfer_count": int,
    "template": str, "seed": int, "source": str, "prompt": list,
}


def question_difficulty(transfers: int) -> str:
    """ReasonMap's question difficulty from the transfers of the reference route.

    >>> [question_difficulty(t) for t in (0, 1, 2, 5)]
    ['easy', 'middle', 'hard', 'hard']
    """
    return DIFFICULTIES[min(max(int(transfers), 0), 2)]


def make_prompt(question: str) -> list[dict]:
    """The conversational prompt TRL's GRPOTrainer expects for a VLM: an image placeholder, then the text."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]


def validate_sample(sample: Mapping[str, Any]) -> None:
    """Raise ValueError with a clear message if `sample` does not follow the schema.

    Rewards call this on the sample (never on model output), so a malformed data set fails loudly
    before training instead of scoring silently wrong.
    """
    if not isinstance(sample, Mapping):
        raise ValueError(f"a sample must be a mapping, got {type(sample).__name__}")
    sid = sample.get("id", "<no id>")
    for key in ("id", "type", "answer", "metro_data", "difficulty_city"):
        if key not in sample:
            raise ValueError(f"sample {sid}: missing field {key!r}")
    typ = sample["type"]
    if typ not in QUESTION_TYPES:
        raise ValueError(f"sample {sid}: unknown type {typ!r}; expected one of {QUESTION_TYPES}")
    if sample["difficulty_city"] not in DIFFICULTIES:
        raise ValueError(f"sample {sid}: difficulty_city {sample['difficulty_city']!r} not in {DIFFICULTIES}")
    md = metro_data_of(sample)
    ans = str(sample["answer"])
    if typ == "counting1":
        if ans not in CHOICE_LETTERS:
            raise ValueError(f"sample {sid}: counting1 answer must be one of A-D, got {ans!r}")
        ch = sample.get("choices")
        if not isinstance(ch, (list, tuple)) or len(ch) != 4:
            raise ValueError(f"sample {sid}: counting1 needs four choices, got {ch!r}")
    elif typ in ("counting2", "counting3"):
        if not ans.isdigit():
            raise ValueError(f"sample {sid}: {typ} answer must be a non-negative integer, got {ans!r}")
    elif typ in ("torf1", "torf2"):
        if ans not in ("yes", "no"):
            raise ValueError(f"sample {sid}: {typ} answer must be 'yes' or 'no', got {ans!r}")
    if typ in ("counting1", "counting2", "torf1", "torf2", "planning"):
        stations = {s for line in md.values() for s in line}
        for key in ("station1", "station2") if typ in ("counting1", "torf1", "planning") else ("station1",):
            if sample.get(key) not in stations:
                raise ValueError(f"sample {sid}: {key} {sample.get(key)!r} is not a station of its metro data")
    if typ == "torf2" and sample.get("line") not in md:
        raise ValueError(f"sample {sid}: torf2 line {sample.get('line')!r} is not a line of its metro data")
    if typ == "planning":
        try:
            routes = json.loads(sample.get("routes") or "[]")
        except (TypeError, ValueError) as e:
            raise ValueError(f"sample {sid}: routes is not valid JSON ({e})") from None
        if not routes:
            raise ValueError(f"sample {sid}: a planning sample needs at least one reference route")
        qt = sample.get("question_transfer_count")
        if not isinstance(qt, int) or qt < 0:
            raise ValueError(f"sample {sid}: question_transfer_count must be a non-negative int, got {qt!r}")


def metro_data_of(sample: Mapping[str, Any]) -> dict[str, list[str]]:
    """Decode a sample's metro data (JSON string or already a dict) with a clear error."""
    md = sample.get("metro_data")
    if isinstance(md, str):
        try:
            md = json.loads(md)
        except ValueError as e:
            raise ValueError(f"sample {sample.get('id', '<no id>')}: metro_data is not valid JSON ({e})") from None
    if not isinstance(md, dict) or not md or not all(isinstance(v, list) for v in md.values()):
        raise ValueError(f"sample {sample.get('id', '<no id>')}: metro_data must be a JSON object {{line: [stations]}}")
    return md


def validate_samples(samples: Iterable[Mapping[str, Any]]) -> int:
    """Validate every sample (e.g. a whole data set before training's first step); returns the count."""
    n = 0
    for n, s in enumerate(samples, 1):  # noqa: B007 - n is the count returned
        validate_sample(s)
    return n
COMPLETIONS_FILE = "completions.jsonl"  # what rmlite.train logs per completion and `lab_logged` reads

METRICS_FILE = "metrics.jsonl"

STATE_FILE = "curriculum_state.json"

MANIFEST = "manifest.json"
