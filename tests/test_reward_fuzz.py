"""Every reward is a total function of (completion, sample), fuzzed with hypothesis (issue 22).

Texts are drawn from every Unicode category (surrogates included), with pools of what breaks readers: digits of every
kind (decimal digits of all scripts, superscripts, subscripts, circled and fraction numbers), homoglyphs of the
template's words, the format's own delimiters inside names, and long inputs up to the parsers' bounds. They are
scored on real samples of every question type of data/mini (planning asked with each template) by every preset,
through `score` and through the TRL reward functions, and judged by the evaluation. Each score must return a finite
float, never raise, and cost a bounded amount of work: the Python lines executed inside rmlite are counted (a
behaviour, not a time), and must stay under a constant that a quadratic or exponential path over a long input would
pass by orders of magnitude. Config validation is fuzzed too: every configuration that validates scores every
sample without raising.
"""

from __future__ import annotations

import json
import math
import sys
import unicodedata
from functools import cache
from pathlib import Path

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

import rmlite
from rmlite.data.store import load_questions
from rmlite.reward import metrics
from rmlite.reward.config import PRESETS, RewardConfig
from rmlite.reward.functions import trl_reward_funcs
from rmlite.reward.rules import PaperRules, ReleasedRules, RobustRules, SparseRules
from rmlite.reward.score import score
from rmlite.schema import ANSWER_KIND

RMLITE = str(Path(rmlite.__file__).parent)
LINE_BUDGET = 200_000  # rmlite lines per score; the worst crafted input below takes about a quarter of it


@cache
def samples() -> tuple[dict, ...]:
    """Real samples of every question type of data/mini: three of each perception type, and planning questions
    with 0, 1 and 2+ transfers asked with each template."""
    rows = [dict(s) for split in ("train", "test") for s in load_questions("data/mini", split)]
    out = []
    for qtype in sorted({s["type"] for s in rows}):
        of_type = [s for s in rows if s["type"] == qtype]
        if qtype != "planning":
            out += of_type[:3]
            continue
        for q in (0, 1, 2):
            pick = next(s for s in of_type if min(s["question_transfer_count"], 2) == q)
            out += [dict(pick, template=t) for t in ("short", "long1", "long2")]
    return tuple(out)


def test_the_samples_cover_every_type_and_template():
    got = {(s["type"], s.get("template") or "") for s in samples()}
    types = {s["type"] for s in samples()}
    assert types == {t for t in ANSWER_KIND if t in types} and len(types) == 6
    assert {("planning", t) for t in ("short", "long1", "long2")} <= got


# ----- what breaks readers ------------------------------------------------------------------------------------------
ALL_DIGITS = "".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isdigit() or c.isnumeric())
NON_DECIMAL = "".join(c for c in ALL_DIGITS if not c.isdecimal())  # ¹ ₃ ① ½ Ⅵ …: isdigit/isnumeric, int() refuses
HOMOGLYPHS = ["Rоute Nаme:", "Dеparture Stop:", "Аrrival Stop:", "Νumber of Via Stops:", "Viа Stops:",  # Cyrillic
              "Ｒｏｕｔｅ Ｎａｍｅ：", "Route Name：", "Route\u200bName:", "Route Name\u00a0:", "ROUTE NAME:",
              "Route Name :", "route name:", "Route Name:Route Name:", "Departure Stop:Arrival Stop:"]
KEYS = ["Route Name: ", "Departure Stop: ", "Arrival Stop: ", "Number of Via Stops: ", "Via Stops: ", "Route: ",
        "Line: ", "Departure: ", "Arrival: "]
DELIMITERS = ["--", "---", "\n", ":", "：", ",", "，", "、", "→", "->", "—>", "(", ")", "（", "）", "{", "}", "*",
              "**", "\\boxed{", "</think>", "<think>", "◁/think▷", "站", " Station", "(Transfer Station)", "xx Station",
              "Line x", "None", "-->", "=>", "\r", "\t", "\x00", "\ud800", "\u202e", "\ufeff"]


def names(sample: dict) -> list[str]:
    md = json.loads(sample["metro_data"]) if isinstance(sample["metro_data"], str) else sample["metro_data"]
    return sorted(md)[:4] + sorted({st for line in md.values() for st in line})[:12]


def fragments(sample: dict):
    """Pieces of text: any character, the pools above, names of the sample's map, and numbers of every kind."""
    return st.one_of(
        st.text(st.characters(codec=None, exclude_categories=()), max_size=12),
        st.sampled_from(HOMOGLYPHS + KEYS + DELIMITERS + names(sample)),
        st.text(st.sampled_from(ALL_DIGITS), min_size=1, max_size=4),
        st.builds(lambda d, x: d + x, st.sampled_from("0123456789٦६"), st.text(st.sampled_from(NON_DECIMAL),
                                                                              max_size=3)),
    )


def reference_fields(sample: dict) -> list[list[tuple[str, str]]]:
    """The first reference route as (key, value) lines per section, in the sample's template (perception: [])."""
    if sample["type"] != "planning":
        return []
    out = []
    for sec in json.loads(sample["routes"])[0]:
        lines = [("Route Name: ", sec["route_name"]), ("Departure Stop: ", sec["departure_stop"]),
                 ("Arrival Stop: ", sec["arrival_stop"])]
        if sample["template"] == "long1":
            lines.append(("Number of Via Stops: ", str(sec["num_via_stops"])))
        elif sample["template"] == "long2":
            lines.append(("Via Stops: ", ", ".join(sec["via_stops"])))
        out.append(lines)
    return out


@st.composite
def completion(draw, sample: dict) -> str:
    """Free text, a route in the template's shape with drawn values, the reference route with drawn text in some
    of its values (so a drawn via count lands on a real ride), or a long repetition up to the bounds."""
    kind = draw(st.sampled_from(["free", "route", "edit", "long"] if sample["type"] == "planning"
                                else ["free", "route", "long"]))
    if kind == "edit":
        secs = reference_fields(sample)
        for _ in range(draw(st.integers(1, 4))):
            sec = draw(st.sampled_from(secs))
            i = draw(st.integers(0, len(sec) - 1))
            key, value = sec[i]
            frag = draw(fragments(sample))
            sec[i] = key, draw(st.sampled_from([value + frag, frag + value, frag, value[:1] + frag + value[1:]]))
        return "\n--\n".join("\n".join(k + v for k, v in sec) for sec in secs)
    if kind == "free":
        return "".join(draw(st.lists(fragments(sample), max_size=40)))
    if kind == "route":
        secs = []
        for _ in range(draw(st.integers(1, 5))):
            fields = [k + "".join(draw(st.lists(fragments(sample), max_size=4)))
                      for k in draw(st.permutations(KEYS[:5]))[:draw(st.integers(3, 5))]]
            secs.append("\n".join(fields))
        sep = draw(st.sampled_from(["\n--\n", "\n---\n", "\n", "--", "\n\n"]))
        head = draw(st.sampled_from(["", "<think>x</think>", "Route Name: Line x\nDeparture Stop: xx Station\n"
                                     "Arrival Stop: xx Station\n--\n", "\\boxed{"]))
        return head + sep.join(secs)
    unit = draw(st.one_of(fragments(sample), st.sampled_from(
        ["Route Name: 1\nDeparture Stop: a\nArrival Stop: b\nNumber of Via Stops: ¹\n--\n",
         "Via Stops: " + "x → " * 50 + "\n", "route name: (\n", "Arrival Stop: " + "(" * 20])))
    size = draw(st.sampled_from([256, 8_192, 65_536, 70_000]))  # the name, lenient and official bounds
    return (unit * (size // max(1, len(unit)) + 1))[:size] if unit else ""


# ----- the work a score does ----------------------------------------------------------------------------------------
def lines_run(fn, *args):
    """(fn(*args), the number of Python lines executed in rmlite's files while it ran)."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(RMLITE) else None

    sys.settrace(tracer)
    try:
        out = fn(*args)
    finally:
        sys.settrace(None)
    return out, count


def check_total(sample: dict, text: str) -> None:
    for cfg in PRESETS.values():
        b, work = lines_run(score, text, sample, cfg)
        assert isinstance(b.total, float) and math.isfinite(b.total), (cfg.name, b)
        assert work <= LINE_BUDGET, (cfg.name, work, len(text))
        funcs = trl_reward_funcs(cfg)
        cols = {k: [v] for k, v in sample.items()}
        parts = [f(prompts=[""], completions=[text], **cols)[0] for f in funcs]
        assert all(isinstance(p, float) and math.isfinite(p) for p in parts)
        assert sum(parts) == pytest.approx(b.total, rel=1e-9, abs=1e-9)
        conv = [{"role": "assistant", "content": [{"type": "text", "text": text}]}]
        assert funcs[0](prompts=[""], completions=[conv], **cols)[0] == parts[0]
    rec = metrics.judge(text, sample)  # the evaluation reads with the same value reader
    assert rec["correct"] in (0, 1) and math.isfinite(rec.get("map_score", 0.0))


@given(st.data())
def test_every_preset_is_total_on_any_text(data):
    sample = data.draw(st.sampled_from(samples()))
    check_total(sample, data.draw(completion(sample)))


@pytest.mark.parametrize("mark", ["¹", "²", "③", "①", "₃", "½", "Ⅻ", "٦", "߆", "𝟔", "六"])
def test_every_digit_kind_in_every_field(mark):
    """Each kind of digit after, before and instead of each value of the reference route, and in a bare template,
    on every sample: the reported crash (`Number of Via Stops: 6¹` in robust, on a real ride)."""
    for sample in samples():
        secs = reference_fields(sample)
        for i, j in [(i, j) for i, sec in enumerate(secs) for j in range(len(sec))]:
            for edit in (lambda v: v + mark, lambda v: mark + v, lambda v: mark):
                key, value = secs[i][j]
                text = "\n--\n".join("\n".join(k + (edit(v) if (a, b) == (i, j) else v) for b, (k, v) in enumerate(sec))
                                      for a, sec in enumerate(secs))
                check_total(sample, text)
        check_total(sample, "\n".join(f"{k}6{mark}" for k in KEYS[:5]))


def test_the_worst_crafted_inputs_stay_in_the_budget():
    """The largest inputs the parsers read (256 sections, names at their cap, a full window of keys) on the sample
    with the most reference routes: work stays under the budget (and the check would see a quadratic path)."""
    plan = max((s for s in samples() if s["type"] == "planning"), key=lambda s: len(json.loads(s["routes"])))
    sec = "Route Name: {l}\nDeparture Stop: {a}\nArrival Stop: {b}\nNumber of Via Stops: 1¹\nVia Stops: {a} → {b}"
    md = json.loads(plan["metro_data"])
    line, stops = next(iter(md.items()))
    rides = "\n--\n".join(sec.format(l=line, a=stops[i % 2], b=stops[1 - i % 2]) for i in range(256))
    worst = 0
    for text in (rides, rides[-8_192:], ("Route Name: " + "x" * 255 + "\n") * 300, "Arrival Stop: ( " * 5_000,
                 "Route Name: a\nDeparture Stop: b\nArrival Stop: c\n" * 1_500):
        for template in ("short", "long1", "long2"):
            for cfg in PRESETS.values():
                b, work = lines_run(score, text, dict(plan, template=template), cfg)
                assert math.isfinite(b.total)
                worst = max(worst, work)
    assert worst <= LINE_BUDGET // 2, worst


# ----- configurations -----------------------------------------------------------------------------------------------
def test_a_zero_denominator_is_rejected():
    """robust's credit share divides by a perfect route's credits, 2·endpoint_points + section_points (q = 0,
    short template): zero in both passed validation and raised ZeroDivisionError on the first direct route."""
    with pytest.raises(ValueError, match="endpoint_points > 0 or section_points > 0"):
        RobustRules(section_points=0, endpoint_points=0)
    # Either alone is enough, and transfer or via points never are (a direct, short question has neither).
    for kw in ({"endpoint_points": 0.0}, {"section_points": 0.0}):
        cfg = RewardConfig(rules=RobustRules(**kw), detail_min=-2.0)
        for sample in samples():
            assert math.isfinite(score("Route Name: x\nDeparture Stop: y\nArrival Stop: z", sample, cfg).total)
    with pytest.raises(ValueError):
        RobustRules(section_points=0, via_points=5, endpoint_points=0, transfer_points=5)


@pytest.mark.parametrize("kw", [{"max_extra_stops": True}, {"max_extra_stops": -1}, {"edit_decay": 1.0},
                                {"partial_credit": 1.0}, {"section_points": float("inf")}])
def test_robust_rules_validation(kw):
    with pytest.raises(ValueError):
        RobustRules(**kw)


@pytest.mark.parametrize("kw", [{"max_sections": True}, {"max_name_chars": 0}, {"rules": PaperRules}])
def test_config_validation(kw):
    with pytest.raises(ValueError):
        RewardConfig(**kw)


points = st.one_of(st.just(0.0), st.floats(0, 50, allow_nan=False))


@settings(max_examples=60)
@given(st.data())
def test_every_valid_configuration_scores_without_raising(data):
    """Draw any configuration (zeros included); it either fails validation or scores every sample finitely."""
    robust = dict(edit_decay=st.floats(0.01, 0.99), partial_credit=st.floats(0, 0.99),
                  max_extra_stops=st.one_of(st.none(), st.integers(0, 3)), section_points=points, via_points=points,
                  unknown_line_penalty=points, break_penalty=points, extra_section_penalty=points,
                  endpoint_points=points, transfer_points=points)
    try:
        rules = data.draw(st.one_of(st.builds(SparseRules), st.builds(
            PaperRules, endpoint_points=points, transfer_points=points, transfer_penalty=points), st.builds(
            ReleasedRules, endpoint_points=points, line_points=points), st.builds(RobustRules, **robust)))
    except ValueError:
        return  # only RobustRules with neither endpoint nor section points (tested above)
    kw = dict(rules=rules, format_points=data.draw(points), alpha=data.draw(points),
              correct_points=data.draw(st.floats(0.1, 50)),
              detail_min=data.draw(st.one_of(st.none(), st.floats(-20, 0))), detail_max=data.draw(st.floats(0, 20)),
              max_sections=data.draw(st.integers(1, 300)))
    cfg = RewardConfig(**kw)
    for sample in samples():
        for text in ("Route Name: 1\nDeparture Stop: a\nArrival Stop: b", sample.get("answer") or "",
                     "\\boxed{1}"):
            assert math.isfinite(score(text, sample, cfg).total)


def test_the_fuzzing_reaches_what_it_claims():
    """A guard on the strategies themselves: they draw surrogates, non-decimal digits and every general category."""
    sample = samples()[0]
    for wanted in (lambda t: any(unicodedata.category(c) == "Cs" for c in t),
                   lambda t: any(c in NON_DECIMAL for c in t), lambda t: any(c in HOMOGLYPHS[0] for c in t)):
        assert wanted(find(fragments(sample), wanted, settings=settings(max_examples=2_000, database=None)))
    cats = {unicodedata.category(c) for c in ALL_DIGITS}
    assert {"Nd", "No", "Nl"} <= cats and "¹" in NON_DECIMAL and "①" in NON_DECIMAL and "6" not in NON_DECIMAL
