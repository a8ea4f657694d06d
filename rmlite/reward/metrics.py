"""ReasonMap's evaluation metrics: accuracy, weighted accuracy and the map score, broken down by type and difficulty.

Evaluation is strict on purpose (it is what the paper's tables measure): planning answers are read with ReasonMap's
own parser (`main.py`: exact-case keys, a short answer's arrival is the rest of its section, a long answer's is its
line) and its station clean-up (`reasonmap_clean`, the release's `clean_string`); perception answers with
ReasonMap-Plus's extraction and exact match (`rmlite.reward.official_parse`). `judge` makes one record per answer,
`summarize` the tables.

Weights: ReasonMap w = 1 + 0.5·(question level + map level); ReasonMap-Plus w = 1 + 0.5·map level (1.0/1.5/2.0);
weighted accuracy = Σ w·acc / Σ w, and the weighted map score likewise.
Where this departs from the release is one switch each in `rmlite.reward.compat.ReleaseCompat` (its bugs among
them): every function here takes `compat`, all off by default; `compat=RELEASE` judges as the release does.

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
from rmlite.reward.compat import (
    DEFAULT,
    ReleaseCompat,
    ReleaseCrash,
    branch_alias,
    chinese_reference_line,
    is_chinese_map,
    reference_stops,
    self_rewrite,
)
from rmlite.reward.official_parse import official_extract, official_match
from rmlite.schema import DIFFICULTY_LEVEL, Sample, answer_kind, metro_data_of, validate_sample

SHORT_CAP, SHORT_BONUS = 10.0, 10.0  # short answers: min(score, 10) + 10 if correct (max 20)
LONG_CAP, LONG_BONUS = 20.0, 20.0  # long answers: min(score, 20) + 20 if correct (max 40)
VIA_COUNT_POINTS, VIA_CAP = 4.0, 10.0
MAX_CHARS = 65536  # evaluation reads at most this much of an answer (bounded time on junk)
_SPACE = re.compile(r"[\s\-]+")
_DIGITS = re.compile(r"\d+")
_BRACKETS = re.compile(r"[\(\（][^\)\）]*[\)\）]")  # ReasonMap's tags and notes in brackets


def reasonmap_clean(s: str) -> str:
    """ReasonMap's evaluation station clean-up, its `clean_string`: keeps the word "Station", unlike the released
    RewardMap reward's (`rmlite.names.rewardmap_clean`).

    >>> reasonmap_clean("Rive Station (Transfer Station)"), reasonmap_clean("Carouge-Marché, Metro")
    ('rivestation', 'carougemarché')
    """
    for old in ("Metro", "metro", ",", "*", "\n"):
        s = s.replace(old, "")
    return _SPACE.sub("", _drop_brackets(s)).lower()


def _drop_brackets(s: str) -> str:
    """`_BRACKETS.sub("", s)` in linear time: that pattern is quadratic on a run of "(" with no ")" after it.

    Each match runs from an opening bracket to the first closing one after it, so no match reaches past the last
    closing bracket, and before it every attempt at an opening bracket succeeds: the pattern runs on that part only.

    >>> _drop_brackets("a (b (c) d) e（f）"), _drop_brackets("((x")
    ('a  d) e', '((x')
    """
    last = max(s.rfind(")"), s.rfind("）"))
    return _BRACKETS.sub("", s[:last + 1]) + s[last + 1:]


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
def parse_answer(text: str, template: str = "short", compat: ReleaseCompat = DEFAULT) -> list[dict[str, str]]:
    """Sections as ReasonMap's `main.py` reads them (values cleaned; "Wrong" when a key's line is unterminated),
    after dropping the prompt's format example if the answer echoes it (`rmlite.reward.forms.drop_examples`)."""
    text = text if compat.whole_answer else text[:MAX_CHARS]
    out = []
    for sec in (text if compat.reads_echoed_example else forms.drop_examples(text)).split("--"):
        if not sec.strip() or not all(k in sec for k in ("Route Name:", "Departure Stop:", "Arrival Stop:")):
            continue
        d = {"route": _rest_of_line(sec, "Route Name: ", clean=False), "dep": _rest_of_line(sec, "Departure Stop: ")}
        if template == "short":
            d["arr"] = reasonmap_clean(sec.split("Arrival Stop:")[-1].strip())
        else:
            d["arr"] = _rest_of_line(sec, "Arrival Stop: ")
            key = "Number of Via Stops: " if template == "long1" else "Via Stops: "
            d["via"] = sec.split(key)[-1].strip()
        out.append(d)
    return out


def _rest_of_line(sec: str, key: str, *, clean: bool = True) -> str:
    i = sec.find(key)
    j = sec.find("\n", i + len(key)) if i >= 0 else -1
    if j < 0:
        return "Wrong"
    v = sec[i + len(key):j]
    return reasonmap_clean(v) if clean else v.strip()


def _stop(stop: str, compat: ReleaseCompat) -> str:
    """An answer's (already cleaned) stop where it meets the map or a reference."""
    return reasonmap_clean(stop) if compat.clean_answer_twice else stop


def _ends_match(sections: list[dict[str, str]], station1: str, station2: str) -> bool:
    return bool(sections) and reasonmap_clean(sections[0]["dep"]) == reasonmap_clean(station1) and \
        reasonmap_clean(sections[-1]["arr"]) == reasonmap_clean(station2)


def route_correct(sections: list[dict[str, str]], metro: Mapping[str, list[str]], station1: str,
                  station2: str, compat: ReleaseCompat = DEFAULT) -> bool:
    """ReasonMap Algorithm 1 (any valid route counts, not only the reference)."""
    if not _ends_match(sections, station1, station2):
        return False
    for i, s in enumerate(sections):
        name = branch_alias(s["route"]) if compat.beijing_line_aliases else s["route"]
        if name not in metro:
            return False
        stations = {reasonmap_clean(x) for x in metro[name]}
        if _stop(s["dep"], compat) not in stations or _stop(s["arr"], compat) not in stations:
            return False
        if i < len(sections) - 1 and _stop(s["arr"], compat) != _stop(sections[i + 1]["dep"], compat):
            return False
    return True


def map_score(text: str, sample: Sample, *, via_stops_chinese_only: bool = True,
              compat: ReleaseCompat = DEFAULT) -> float:
    """ReasonMap Algorithm 2: the best score over reference routes (short max 20, long max 40).

    +1 when both endpoints match, and then per zipped (answer, reference) section +2 route name, +1 departure,
    +1 arrival; long1 adds Σ max(0, 4 − 4·err/reference count) (capped 10), long2 the mean of IoU·10 and
    min(10, matched via stops). `via_stops_chinese_only` reproduces the released code, which parses a via-stop
    list only when it contains "站" (so that term is 0 on non-Chinese maps, as the paper's Table A3 shows).
    Raises `ReleaseCrash` where the release crashes (`compat.long2_crash`).
    """
    validate_sample(sample)
    template = sample.get("template") or "short"
    sections = parse_answer(text, template, compat)
    metro = metro_data_of(sample)
    acc = route_correct(sections, metro, sample["station1"], sample["station2"], compat)
    cap, bonus = (LONG_CAP, LONG_BONUS) if template != "short" else (SHORT_CAP, SHORT_BONUS)
    best = 0.0
    if _ends_match(sections, sample["station1"], sample["station2"]):
        chinese = is_chinese_map(metro)
        for ref in json.loads(sample["routes"]):
            s = 1.0 + _route_points(sections, ref, template, chinese, via_stops_chinese_only, compat)
            best = max(best, min(cap, s) + (bonus if acc else 0.0))
    return best


def _line_ok(answer: str, ref: str, chinese: bool, compat: ReleaseCompat) -> bool:
    if not compat.line_name_self_rewrite:
        return normalize_line(answer[:200]) == normalize_line(ref)
    return reasonmap_clean(chinese_reference_line(ref) if chinese else self_rewrite(answer)) == reasonmap_clean(answer)


def _route_points(sections: list[dict[str, str]], ref: list[dict], template: str, chinese: bool,
                  via_stops_chinese_only: bool, compat: ReleaseCompat) -> float:
    """Points of one reference route after the endpoint point: names and stops, then the via terms (long)."""
    s = count_points = via_hits = 0.0
    union: set[str] = set()
    inter: set[str] = set()
    for ans, r in zip(sections, ref, strict=False):
        dep, arr, ref_via = reference_stops(r, chinese, template, compat)
        name_ok = _line_ok(ans["route"], r["route_name"], chinese, compat)
        s += 2 * name_ok + (_stop(ans["dep"], compat) == reasonmap_clean(dep)) + \
            (_stop(ans["arr"], compat) == reasonmap_clean(arr))
        if template == "long1":
            count_points += _count_points(ans["via"], int(r["num_via_stops"]), compat)
        elif template == "long2":
            given = ans["via"] if ("站" in ans["via"] or not via_stops_chinese_only) else ""
            mine = (given.split(",") if given else []) if compat.via_list_commas_only else forms.via_list(given)
            if compat.long2_crash and not chinese and (mine or name_ok):
                raise ReleaseCrash("the release reads a via list it never set (non-Chinese map, long2)")
            if not compat.via_stops_uncleaned_list:
                mine, ref_via = list({reasonmap_clean(v) for v in mine}), list({reasonmap_clean(v) for v in ref_via})
            via_hits += sum(v in ref_via for v in mine)
            if name_ok:
                union |= set(mine) | set(ref_via)
                inter |= set(mine) & set(ref_via)
    if template != "short":
        iou = len(inter) / len(union) if union else 0.0
        s += (iou * VIA_CAP + min(VIA_CAP, via_hits)) / 2 + min(VIA_CAP, count_points)
    return s


def _count_points(value: str, n: int, compat: ReleaseCompat) -> float:
    """long1: 4 for the right via count, less 4·err/n for a wrong one (0 when the reference has none)."""
    if compat.via_count_whole_value:
        m = _DIGITS.search(value)
        given = int(m.group()) if m else 0
    else:  # the first run of digits, 0 without one: as released, in the first 64 characters
        given = forms.via_count(value) or 0
    err = abs(given - n)
    return VIA_COUNT_POINTS if err == 0 else 0.0 if n == 0 else max(0.0, VIA_COUNT_POINTS - err / n * VIA_COUNT_POINTS)


# ----- perception ---------------------------------------------------------------------------------------------------
def perception_correct(text: str, sample: Sample, compat: ReleaseCompat = DEFAULT) -> bool:
    """ReasonMap-Plus accuracy: the released extraction, then its exact match by answer kind."""
    t = text if compat.whole_answer else text[-MAX_CHARS:]
    return official_match(official_extract(t), str(sample["answer"]), answer_kind(sample["type"]))


# ----- records and summaries ----------------------------------------------------------------------------------------
def judge(text: str, sample: Sample, compat: ReleaseCompat = DEFAULT) -> dict[str, Any]:
    """One evaluation record: id, type, template, difficulties, weight, correct (0/1) and map_score (route kind);
    `crashed` 1 (and 0 for both scores) where the release crashes on the answer (`compat.long2_crash`)."""
    validate_sample(sample)
    rec = {"id": sample["id"], "type": sample["type"], "template": sample.get("template") or "",
           "difficulty_city": sample["difficulty_city"],
           "difficulty_question": sample.get("difficulty_question") or sample["difficulty_city"]}
    if answer_kind(sample["type"]) == "route":
        t = text if compat.whole_answer else text[-MAX_CHARS:]
        try:
            rec["map_score"] = map_score(t, sample, compat=compat)
            rec["correct"] = int(route_correct(parse_answer(t, rec["template"] or "short", compat),
                                               metro_data_of(sample), sample["station1"], sample["station2"], compat))
        except ReleaseCrash:
            rec.update(correct=0, map_score=0.0, crashed=1)
    else:
        rec["correct"] = int(perception_correct(text, sample, compat))
    rec["weight"] = weight_of(rec)
    return rec


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
