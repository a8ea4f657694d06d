"""The one sample schema every part of rmlite reads (reward, lab, training, evaluation, export).

A sample is a flat dict (one row of a `datasets.Dataset`); the map image is stored once per map and
attached lazily under `image` (see `rmlite.data`).

| field | type | meaning |
|---|---|---|
| id | str | unique id, `"{map_id}-{type}-{k}"` |
| map_id | str | which map (image + metro data) the question is about |
| type | str | one of `QUESTION_TYPES` (the keys of `ANSWER_KIND`) |
| question | str | the full text shown to the model (asks for `\\boxed{}` or the route format) |
| answer | str | the key, encoded by the type's answer kind: letter → "A"–"D"; integer → a decimal integer "4"; yes_no → "yes"/"no"; route → the first reference route in the sample's template |
| choices | list[int] | letter kind: the four option values A–D (the key's letter points into it); [] otherwise |
| station1, station2 | str | the stops the question names ("" when unused) |
| line | str | the line the question names (torf2; "" otherwise) |
| metro_data | str | JSON `{line: [stations in order]}` of the map |
| routes | str | JSON list of reference routes; each a list of sections `{route_name, departure_stop, arrival_stop, via_stops, num_via_stops}`; "[]" unless the kind is route |
| route_count | int | route kind: how many equally good routes exist (more than `routes` holds when the list was cut); 0 otherwise |
| difficulty_city | str | map difficulty: easy / middle / hard |
| difficulty_question | str | route kind: by transfers (0 easy, 1 middle, ≥2 hard); other kinds: the map difficulty (as ReasonMap-Plus) |
| question_transfer_count | int | route kind: transfers of an optimal route; 0 otherwise |
| template | str | route kind: short / long1 (via-stop counts) / long2 (via-stop lists); "" otherwise |
| seed | int | the generator seed of the map |
| source | str | "synthetic" or "reasonmap:<city>" |
| prompt | list | conversational prompt for TRL: `[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]` |

`Sample` is this table as a type (for annotations and type checkers); the rows of a run folder's files have theirs
in `rmlite.records`.

What a question type is, is written once, here: `ANSWER_KIND` maps each type to the name of the kind of answer it
asks for, and `ANSWER_KINDS` holds one `AnswerKind` record per kind: everything about the kind that is data (its
word in messages, its key's format, the bare token the strict format accepts, its released encoding, the chance
baseline's guesses, its hack probe). The reward, the metrics, the evaluation baselines, the lab and the released-set
loader read the record (looked up when they run, through `answer_kind` or `kind_of`), never a type's or a kind's
name. Adding a kind is one record here plus its lenient reader (`rmlite.reward.score.READERS`).
`NAMED_FIELDS` says which stops or line a type's question names, so `validate_sample` checks them against the map.

| kind | the answer | types |
|---|---|---|
| letter | one of the options A–D (`choices` holds their values) | counting1 |
| integer | a non-negative count | counting2, counting3 |
| yes_no | "yes" or "no" | torf1, torf2 |
| route | route sections (`routes` holds the reference routes) | planning |

>>> answer_kind("torf2"), PERCEPTION_TYPES[-1], kind_of("counting1").word
('yes_no', 'torf2', 'letter A-D')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypedDict

CHOICE_LETTERS = "ABCD"
CHANCE_MAX_COUNT = 12  # a chance guess for a count is uniform in 1..12 (ReasonMap-Plus counts are small)


def _whole_number(text: str) -> str:
    """A count written in ASCII digits without its leading zeros ("04" → "4"); anything else as it is."""
    return str(int(text)) if text.isascii() and text.isdecimal() else text


@dataclass(frozen=True)
class AnswerKind:
    """Everything about one kind of answer that is data; a perception kind must fill every field marked *.

    >>> k = ANSWER_KINDS["letter"]
    >>> k.canonical(" b "), k.canonical("E"), k.released_key(2), ANSWER_KINDS["integer"].canonical("04")
    ('B', None, 'C', '4')
    >>> AnswerKind("colour", word="colour")
    Traceback (most recent call last):
    ValueError: answer kind 'colour' misses key, key_doc, token, released_doc, guesses, every_option
    """

    name: str
    word: str  # * what a message calls an answer of this kind: "cannot read 'x' as a letter A-D"
    key: str = ""  # * the regex a stored key fullmatches (a route's key is checked through its routes)
    key_doc: str = ""  # * the key's format in words, for the one-line error: "one of A-D"
    token: str = ""  # * the regex of the bare answer inside `\\boxed{}` that earns format credit (strict parser)
    normalize: Callable[[str], str] = str.strip  # a written answer in the key's spelling: "b" → "B", "04" → "4"
    released: tuple[tuple[str, str], ...] = ()  # released values (lower case) that stand for a key: ("0", "A")
    released_doc: str = ""  # * what a released answer must be: "a choice (0-3 or A-D)"
    guesses: tuple[str, ...] = ()  # * the keys a chance guess draws from, uniformly
    every_option: str = ""  # * a hack probe: every value in one box ("A, B, C, D")
    options: tuple[str, ...] = ()  # the closed set of keys (A-D, yes/no); () for an open set (counts, routes)
    choices: bool = False  # the key is a letter into the sample's four `choices`
    count: bool = False  # the key is a count: compared as a number ("04" is 4), off by one is a mistake people make
    route: bool = False  # route sections: read, checked and scored by their own code, not by these fields

    def __post_init__(self) -> None:
        if not self.route:
            missing = [name for name in _NEEDED if not getattr(self, name)]
            if missing:
                raise ValueError(f"answer kind {self.name!r} misses {', '.join(missing)}")

    @cached_property
    def token_re(self) -> re.Pattern:
        """`token`, compiled once (the strict parser's fullmatch)."""
        return re.compile(self.token)

    def canonical(self, written: str) -> str | None:
        """The key `written` spells, in this kind's encoding; None if it spells none."""
        key = self.normalize(written.strip())
        return key if self.key and re.fullmatch(self.key, key) else None

    def released_key(self, value: Any) -> str | None:
        """A released answer (an index, 1/0, a word, a count) as a key of this kind; None if it is none."""
        text = str(value).strip()
        return self.canonical(dict(self.released).get(text.lower(), text))


_NEEDED = ("word", "key", "key_doc", "token", "released_doc", "guesses", "every_option")
ANSWER_KINDS: dict[str, AnswerKind] = {k.name: k for k in (
    AnswerKind("letter", word="letter A-D", key="[A-D]", key_doc="one of A-D", token="[A-Da-d]", normalize=str.upper,
               released=tuple((str(i), c) for i, c in enumerate(CHOICE_LETTERS)), released_doc="a choice (0-3 or A-D)",
               guesses=tuple(CHOICE_LETTERS), every_option=", ".join(CHOICE_LETTERS), options=tuple(CHOICE_LETTERS),
               choices=True),
    AnswerKind("integer", word="number", key="[0-9]+", key_doc="a non-negative integer", token="[0-9]+",
               normalize=_whole_number, released_doc="a count (a whole number >= 0)",
               guesses=tuple(str(i) for i in range(1, CHANCE_MAX_COUNT + 1)),
               every_option=", ".join(str(i) for i in range(10)), count=True),
    AnswerKind("yes_no", word="yes/no", key="yes|no", key_doc="'yes' or 'no'", token="(?i:yes|no)", normalize=str.lower,
               released=(("1", "yes"), ("0", "no"), ("true", "yes"), ("false", "no")), released_doc="yes/no (1 or 0)",
               guesses=("yes", "no"), every_option="yes or no", options=("yes", "no")),
    AnswerKind("route", word="route", route=True),
)}  # the registry: a kind registered at run time (one more record) is read by every part when it runs
ANSWER_KIND: dict[str, str] = {"counting1": "letter", "counting2": "integer", "counting3": "integer",
                               "torf1": "yes_no", "torf2": "yes_no", "planning": "route"}
# The built-in types, in the generator's order (defaults and choices read these; dispatch reads ANSWER_KIND).
QUESTION_TYPES = tuple(ANSWER_KIND)
PERCEPTION_TYPES = tuple(t for t, kind in ANSWER_KIND.items() if kind != "route")
NAMED_FIELDS: dict[str, tuple[str, ...]] = {
    "counting1": ("station1", "station2"), "counting2": ("station1",), "torf1": ("station1", "station2"),
    "torf2": ("station1", "line"), "planning": ("station1", "station2"),
}  # a type not listed names no stop or line
DIFFICULTIES = ("easy", "middle", "hard")
DIFFICULTY_LEVEL = {d: i for i, d in enumerate(DIFFICULTIES)}  # easy 0, middle 1, hard 2: the weights' input
TEMPLATES = ("short", "long1", "long2")

FIELDS: dict[str, type] = {
    "id": str, "map_id": str, "type": str, "question": str, "answer": str, "choices": list,
    "station1": str, "station2": str, "line": str, "metro_data": str, "routes": str, "route_count": int,
    "difficulty_city": str, "difficulty_question": str, "question_transfer_count": int,
    "template": str, "seed": int, "source": str, "prompt": list,
}
REQUIRED_FIELDS = ("id", "type", "answer", "metro_data", "difficulty_city")  # what `validate_sample` cannot do without


class _SampleCore(TypedDict):
    """The fields every sample has (`REQUIRED_FIELDS`: `validate_sample` refuses a sample without one)."""

    id: str
    type: str
    answer: str
    metro_data: str
    difficulty_city: str


class Sample(_SampleCore, total=False):
    """A sample as a type: the fields of `FIELDS` with their types (tests/test_sample_type.py keeps them equal).

    A row read from a data set holds every field, and `image` once attached (`rmlite.data`); a sample built by hand
    (a test, the reward's examples) needs only the five of `_SampleCore`. Python 3.10 has no `NotRequired`, hence
    the two classes.
    """

    map_id: str
    question: str
    choices: list[int]
    station1: str
    station2: str
    line: str
    routes: str
    route_count: int
    difficulty_question: str
    question_transfer_count: int
    template: str
    seed: int
    source: str
    prompt: list[dict[str, Any]]


# The fields a reward's score depends on (the scorer's cache key); question text, prompt, choices, seed and
# source never change a score.
SCORED_FIELDS = ("id", "type", "answer", "station1", "station2", "line", "metro_data", "routes", "difficulty_city",
                 "question_transfer_count", "template")


def answer_kind(qtype: str) -> str:
    """The name of the kind of answer `qtype` asks for, read from `ANSWER_KIND` now (so a type registered at run time
    counts); its record is `kind_of(qtype)`.

    >>> answer_kind("counting1"), answer_kind("planning")
    ('letter', 'route')
    """
    kind = ANSWER_KIND.get(qtype)
    if kind is None:
        raise ValueError(f"unknown question type {qtype!r}; expected one of {tuple(ANSWER_KIND)}")
    if kind not in ANSWER_KINDS:
        raise ValueError(f"question type {qtype!r} has answer kind {kind!r}; expected one of {tuple(ANSWER_KINDS)}")
    return kind


def kind_of(qtype: str) -> AnswerKind:
    """The `AnswerKind` record of `qtype`'s answers.

    >>> kind_of("torf1").options, kind_of("counting2").count
    (('yes', 'no'), True)
    """
    return ANSWER_KINDS[answer_kind(qtype)]


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
    for key in REQUIRED_FIELDS:
        if key not in sample:
            raise ValueError(f"sample {sid}: missing field {key!r}")
    typ = sample["type"]
    if not isinstance(typ, str) or typ not in ANSWER_KIND:
        raise ValueError(f"sample {sid}: unknown type {typ!r}; expected one of {tuple(ANSWER_KIND)}")
    kind = answer_kind(typ)
    if sample["difficulty_city"] not in DIFFICULTIES:
        raise ValueError(f"sample {sid}: difficulty_city {sample['difficulty_city']!r} not in {DIFFICULTIES}")
    md = metro_data_of(sample)
    _check_key(sample, sid, typ, kind)
    _check_named_fields(sample, sid, typ, md)
    if ANSWER_KINDS[kind].route:
        _check_routes(sample, sid, typ)


def _check_key(sample: Mapping[str, Any], sid: Any, typ: str, kind: str) -> None:
    """A perception key must be encoded as its kind says (a route's key is checked through its routes)."""
    k, ans = ANSWER_KINDS[kind], str(sample["answer"])
    if k.route:
        return
    if not re.fullmatch(k.key, ans):
        raise ValueError(f"sample {sid}: {typ} answer must be {k.key_doc}, got {ans!r}")
    ch = sample.get("choices")
    if k.choices and (not isinstance(ch, (list, tuple)) or len(ch) != len(CHOICE_LETTERS)):
        raise ValueError(f"sample {sid}: {typ} needs four choices, got {ch!r}")


def _check_named_fields(sample: Mapping[str, Any], sid: Any, typ: str, md: Mapping[str, list[str]]) -> None:
    """The stops and the line a question names (`NAMED_FIELDS`) must be on its map."""
    named = NAMED_FIELDS.get(typ, ())
    if not named:
        return
    stations = {s for line in md.values() for s in line}
    for key in named:
        if key != "line" and sample.get(key) not in stations:
            raise ValueError(f"sample {sid}: {key} {sample.get(key)!r} is not a station of its metro data")
    if "line" in named and sample.get("line") not in md:
        raise ValueError(f"sample {sid}: {typ} line {sample.get('line')!r} is not a line of its metro data")


def _check_routes(sample: Mapping[str, Any], sid: Any, typ: str) -> None:
    """A route question carries at least one reference route and its transfer count."""
    try:
        routes = json.loads(sample.get("routes") or "[]")
    except (TypeError, ValueError) as e:
        raise ValueError(f"sample {sid}: routes is not valid JSON ({e})") from None
    if not routes:
        raise ValueError(f"sample {sid}: a {typ} sample needs at least one reference route")
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
# ----- run folders -----------------------------------------------------------------------------------------------
# The files `rmlite.train` writes into a run folder; named here so that a command can tell, before loading a model,
# whether a folder already holds a run (and refuse to replace it without --resume or --overwrite).
COMPLETIONS_FILE = "completions.jsonl"  # what rmlite.train logs per completion and `lab_logged` reads
METRICS_FILE = "metrics.jsonl"
HELDOUT_FILE = "heldout.jsonl"  # the held-out evaluation callback's rows
RUN_FILE = "run.json"  # what ran: reward, curriculum, settings, number of processes
CURRICULUM_FILE = "curriculum.json"  # the curriculum's final state and transitions
STATE_FILE = "curriculum_state.json"  # the curriculum state saved in each checkpoint
ADAPTER_DIR = "adapter"
RUN_MARKERS = (METRICS_FILE, COMPLETIONS_FILE, HELDOUT_FILE, RUN_FILE, CURRICULUM_FILE, ADAPTER_DIR,
               "metrics.csv", "metrics.png")
RUN_CARD = "README.md"  # the run's description; counted as part of a run only beside another run file

MANIFEST = "manifest.json"  # a data set's description (rmlite.data.store)
# The stored data set's version, written into its manifest (`data_schema`) and checked when it is read: bump it
# when what a stored set holds or means changes. 1 (unmarked): before 2026-12-07 (sets without `route_count`,
# counting1 options that gave the key away, torf pairs with a cue). 2: the audit-gated generator of 2026-12-07.
DATA_SCHEMA = 2


def run_contents(folder: str | os.PathLike) -> list[str]:
    """The names in `folder` that show it holds a training run (run files, the adapter, checkpoints); [] if none.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> run_contents(d)
    []
    >>> (d / "README.md").touch(); run_contents(d)  # a README alone is the user's, not a run's
    []
    >>> (d / "checkpoint-4").mkdir(); (d / "metrics.jsonl").touch()
    >>> run_contents(d)
    ['README.md', 'checkpoint-4', 'metrics.jsonl']
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    found = sorted(p.name for p in root.iterdir() if p.name in RUN_MARKERS or p.name.startswith("checkpoint-"))
    return sorted([*found, RUN_CARD]) if found and (root / RUN_CARD).is_file() else found
