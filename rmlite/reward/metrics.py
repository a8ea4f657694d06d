"""ReasonMap's evaluation metrics: accuracy, weighted accuracy and the map score, broken down by type and difficulty.

Evaluation is strict on purpose (it is what the paper's tables measure): planning answers are read with ReasonMap's
own parser (`main.py`: exact-case keys, a short answer's arrival is the rest of its section, a long answer's is its
line) and its `clean_string`; perception answers with ReasonMap-Plus's extraction and exact match
(`rmlite.reward.official_parse`). `judge` makes one record per answer, `summarize` the tables.

Weights: ReasonMap w = 1 + 0.5·(question level + map level); ReasonMap-Plus w = 1 + 0.5·map level (1.0/1.5/2.0);
weighted accuracy = Σ w·acc / Σ w, and the weighted map score likewise.
Left out, on purpose, two bugs of the released map score: it compares the answer's line name with a rewrite of
itself (so non-Chinese line names never score) and takes a reference arrival from the departure when the departure
ends in "Station"; here names are compared as `normalize_line` keys and stops as `clean_string`s.

>>> recs = [{"type": "torf1", "difficulty_city": "hard", "correct": 1},
...         {"type": "torf1", "difficulty_city": "easy", "correct": 0}]
>>> summarize(recs)["weighted_accuracy"]  # (2.0 · 1 + 1.0 · 0) / (2.0 + 1.0)
0.6666666666666666
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from rmlite.names import normalize_line
from rmlite.reward import forms
from rmlite.reward.official_parse import official_extract, official_match
from rmlite.schema import DIFFICULTY_LEVEL, answer_kind, metro_data_of, validate_sample

SHORT_CAP, SHORT_BONUS = 10.0, 10.0  # short answers: min(score, 10) + 10 if correct (max 20)
LONG_CAP, LONG_BONUS = 20.0, 20.0  # long answers: min(score, 20) + 20 if correct (max 40)
VIA_COUNT_POINTS, VIA_CAP = 4.0, 10.0
MAX_CHARS = 65536  # evaluation reads at most this much of an answer (bounded time on junk)
_PAREN = re.compile(r"[\(\（][^\)\）]{0,200}[\)\）]")
_SPACE = re.compile(r"[\s\-]+")


def clean_string(s: str) -> str:
    """ReasonMap's (evaluation) station normaliser: keeps the word "Station", unlike RewardMap's.

    >>> clean_string("Rive Station (Transfer Station)"), clean_string("Carouge-Marché, Metro")
    ('rivestation', 'carougemarché')
    """
    for old in ("Metro", "metro", ",", "*", "\n"):
        s = s.replace(old, "")
    return _SPACE.sub("", _PAREN.sub("", s)).lower()


def reasonmap_weight(sample: Mapping[str, Any]) -> float:
    """ReasonMap (planning) weight from question and map difficulty: 1.0 … 3.0."""
    return 1.0 + 0.5 * (DIFFICULTY_LEVEL[sample["difficulty_question"]] + DIFFICULTY_LEVEL[sample["difficulty_city"]])


def plus_weight(sample: Mapping[str, Any]) -> float:
    """ReasonMap-Plus (perception) weight from map difficulty: 1.0 / 1.5 / 2.0."""
    return 1.0 + 0.5 * DIFFICULTY_LEVEL[sample["difficulty_city"]]


def weight_of(sample: Mapping[str, Any]) -> float:
    """ReasonMap's weight for a route question, ReasonMap-Plus's for the others (a sample or a record)."""
    return reasonmap_weight(sample) if answer_kind(sample["type"]) == "route" else plus_weight(sample)


# ----- planning -----------------------------------------------------------------------------------------------------
def parse_answer(text: str, template: str = "short") -> list[dict[str, str]]:
    """Sections as ReasonMap's `main.py` reads them (values cleaned; "Wrong" when a key's line is unterminated),
    after dropping the prompt's format example if the answer echoes it (`rmlite.reward.forms.drop_examples`)."""
    out = []
    for sec in forms.drop_examples(text[:MAX_CHARS]).split("--"):
        if not sec.strip() or not all(k in sec for k in ("Route Name:", "Departure Stop:", "Arrival Stop:")):
            continue
        d = {"route": _rest_of_line(sec, "Route Name: ", clean=False), "dep": _rest_of_line(sec, "Departure Stop: ")}
        if template == "short":
            d["arr"] = clean_string(sec.split("Arrival Stop:")[-1].strip())
        else:
            d["arr"] = _rest_of_line(sec, "Arrival Stop: ")
            key = "Number of Via Stops: " if template == "long1" else "Via Stops: "
            d["via"] = sec.split(key)[-1].strip()
        out.append(d)
    return out


def _rest_of_line(sec: str, key: str, clean: bool = True) -> str:
    i = sec.find(key)
    j = sec.find("\n", i + len(key)) if i >= 0 else -1
    if j < 0:
        return "Wrong"
    v = sec[i + len(key):j]
    return clean_string(v) if clean else v.strip()


def route_correct(sections: list[dict[str, str]], metro: Mapping[str, list[str]], station1: str,
                  station2: str) -> bool:
    """ReasonMap Algorithm 1 (any valid route counts, not only the reference)."""
    if not sections:
        return False
    if clean_string(sections[0]["dep"]) != clean_string(station1) or \
            clean_string(sections[-1]["arr"]) != clean_string(station2):
        return False
    for i, s in enumerate(sections):
        if s["route"] not in metro:
            return False
        stations = {clean_string(x) for x in metro[s["route"]]}
        if s["dep"] not in stations or s["arr"] not in stations:
            return False
        if i < len(sections) - 1 and s["arr"] != sections[i + 1]["dep"]:
            return False
    return True


def _ref_stop(name: str) -> str:
    # The released evaluator appends " Station" to reference stops, because its Google-Maps references lack the
    # word its metro data has; rmlite's references use the map's own names, so they are compared as they are.
    return clean_string(name)


def map_score(text: str, sample: Mapping[str, Any], *, via_stops_chinese_only: bool = True) -> float:
    """ReasonMap Algorithm 2: the best score over reference routes (short max 20, long max 40).

    +1 when both endpoints match, and then per zipped (answer, reference) section +2 route name, +1 departure,
    +1 arrival; long1 adds Σ max(0, 4 − 4·err/reference count) (capped 10), long2 the mean of IoU·10 and
    min(10, matched via stops). `via_stops_chinese_only` reproduces the released code, which parses a via-stop
    list only when it contains "站" (so that term is 0 on non-Chinese maps, as the paper's Table A3 shows).
    """
    validate_sample(sample)
    template = sample.get("template") or "short"
    sections = parse_answer(text, template)
    acc = route_correct(sections, metro_data_of(sample), sample["station1"], sample["station2"])
    long = template != "short"
    cap, bonus = (LONG_CAP, LONG_BONUS) if long else (SHORT_CAP, SHORT_BONUS)
    best = 0.0
    for ref in json.loads(sample["routes"]):
        s = 0.0
        if sections and clean_string(sections[0]["dep"]) == clean_string(sample["station1"]) and \
                clean_string(sections[-1]["arr"]) == clean_string(sample["station2"]):
            s += 1
            count_points = via_hits = 0.0
            union: set[str] = set()
            inter: set[str] = set()
            for ans, r in zip(sections, ref, strict=False):
                name_ok = normalize_line(ans["route"][:200]) == normalize_line(r["route_name"])
                s += 2 * name_ok + (ans["dep"] == _ref_stop(r["departure_stop"])) + \
                    (ans["arr"] == _ref_stop(r["arrival_stop"]))
                if template == "long1":  # the first run of digits, 0 without one: as released
                    err = abs((forms.via_count(ans["via"]) or 0) - int(r["num_via_stops"]))
                    n = int(r["num_via_stops"])
                    count_points += VIA_COUNT_POINTS if err == 0 else 0.0 if n == 0 else \
                        max(0.0, VIA_COUNT_POINTS - err / n * VIA_COUNT_POINTS)
                elif template == "long2":
                    given = ans["via"] if ("站" in ans["via"] or not via_stops_chinese_only) else ""
                    mine = {clean_string(v) for v in forms.via_list(given)}
                    theirs = {clean_string(v) for v in r.get("via_stops", [])}
                    via_hits += len(mine & theirs)
                    if name_ok:
                        union |= mine | theirs
                        inter |= mine & theirs
            if long:
                iou = len(inter) / len(union) if union else 0.0
                s += (iou * VIA_CAP + min(VIA_CAP, via_hits)) / 2 + min(VIA_CAP, count_points)
        s = min(cap, s) + (bonus if acc else 0.0)
        best = max(best, s)
    return best


# ----- perception ---------------------------------------------------------------------------------------------------
def perception_correct(text: str, sample: Mapping[str, Any]) -> bool:
    """ReasonMap-Plus accuracy: the released extraction, then its exact match by answer kind."""
    return official_match(official_extract(text[-MAX_CHARS:]), str(sample["answer"]), answer_kind(sample["type"]))


# ----- records and summaries ----------------------------------------------------------------------------------------
def judge(text: str, sample: Mapping[str, Any]) -> dict[str, Any]:
    """One evaluation record: id, type, template, difficulties, weight, correct (0/1) and map_score (route kind)."""
    validate_sample(sample)
    rec = {"id": sample["id"], "type": sample["type"], "template": sample.get("template") or "",
           "difficulty_city": sample["difficulty_city"],
           "difficulty_question": sample.get("difficulty_question") or sample["difficulty_city"]}
    if answer_kind(sample["type"]) == "route":
        t = text[-MAX_CHARS:]
        rec["correct"] = int(route_correct(parse_answer(t, rec["template"] or "short"), metro_data_of(sample),
                                           sample["station1"], sample["station2"]))
        rec["map_score"] = map_score(t, sample)
    else:
        rec["correct"] = int(perception_correct(text, sample))
    rec["weight"] = weight_of(rec)
    return rec


def judge_all(texts: Iterable[str], samples: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`judge` for each (answer, sample) pair."""
    return [judge(t, s) for t, s in zip(texts, samples, strict=True)]


def _stats(recs: list[Mapping[str, Any]]) -> dict[str, float]:
    w = [r["weight"] if "weight" in r else weight_of(r) for r in recs]
    out = {"n": len(recs), "accuracy": sum(r["correct"] for r in recs) / len(recs),
           "weighted_accuracy": sum(wi * r["correct"] for wi, r in zip(w, recs, strict=True)) / sum(w)}
    scored = [(wi, r["map_score"]) for wi, r in zip(w, recs, strict=True) if "map_score" in r]
    if scored:
        out["map_score"] = sum(s for _, s in scored) / len(scored)
        out["weighted_map_score"] = sum(wi * s for wi, s in scored) / sum(wi for wi, _ in scored)
    return out


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Overall stats plus breakdowns by type, template, map difficulty and question difficulty.

    Each stats dict has n, accuracy, weighted_accuracy, and for planning map_score and weighted_map_score.
    """
    recs = list(records)
    if not recs:
        return {"n": 0}
    out: dict[str, Any] = _stats(recs)
    for key, field in (("by_type", "type"), ("by_template", "template"), ("by_map_difficulty", "difficulty_city"),
                       ("by_question_difficulty", "difficulty_question")):
        groups: dict[str, list] = defaultdict(list)
        for r in recs:
            if r.get(field):
                groups[r[field]].append(r)
        out[key] = {g: _stats(v) for g, v in sorted(groups.items())}
    return out
