"""Properties of the reward, checked with hypothesis on real-map samples.

Routes are edited as plain lists of (line, departure, arrival) and rendered in ReasonMap's format, so the test can
recompute route validity itself with dict/set logic, independently of rmlite's parser and normaliser."""

import json
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from reward_fixtures import network, pairs, perception_sample, planning_sample, reference

from rmlite.maps.network import routes_from_json
from rmlite.reward.config import OFFICIAL, PAPER, PRESETS, SPARSE
from rmlite.reward.score import score

SAMPLES = [planning_sample(city, a, b, k=i, difficulty=d, template=tpl)
           for city, d in (("oslo", "middle"), ("geneva", "hard"), ("miami", "easy"), ("toy", "easy"))
           for t in (0, 1, 2) for i, (a, b) in enumerate(pairs(city, t, 2, seed=7))
           for tpl in ("short", "long1")]
assert {s["question_transfer_count"] for s in SAMPLES} == {0, 1, 2}


def sections_of(sample):
    return [[s.route_name, s.departure_stop, s.arrival_stop] for s in routes_from_json(sample["routes"])[0]]


def render(secs, template="short", sample=None):
    out = []
    for line, dep, arr in secs:
        text = f"Route Name: {line}\nDeparture Stop: {dep}\nArrival Stop: {arr}"
        if template == "long1":
            net = network(sample["map_id"])
            ok = line in net.line_by_name and {dep, arr} <= set(net.line_by_name[line].stations)
            n = net.stops_between(line, dep, arr) if ok else None
            text += f"\nNumber of Via Stops: {n if n is not None else 0}"
        out.append(text)
    return "\n--\n".join(out)


def valid(secs, sample):
    """Algorithm 1 with plain dicts and sets (names compared exactly, as they come from the map)."""
    metro = json.loads(sample["metro_data"])
    if not secs or secs[0][1] != sample["station1"] or secs[-1][2] != sample["station2"]:
        return False
    for i, (line, dep, arr) in enumerate(secs):
        if line not in metro or dep not in set(metro[line]) or arr not in set(metro[line]):
            return False
        if i + 1 < len(secs) and arr != secs[i + 1][1]:
            return False
    return True


@st.composite
def edited_route(draw, sample):
    """The reference route with random realistic edits: wrong/unknown lines and stops, dropped, repeated or extra
    sections, detours. Returns the section list (names are real map names or obvious fakes)."""
    net = network(sample["map_id"])
    secs = [list(s) for s in sections_of(sample)]
    lines, stations = sorted(net.line_by_name), sorted(net.stations)
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(secs) - 1))
        op = draw(st.sampled_from(["line", "fake_line", "stop", "fake_stop", "drop", "repeat", "detour", "extend"]))
        if op == "line":
            secs[i][0] = draw(st.sampled_from(lines))
        elif op == "fake_line":
            secs[i][0] = "Line 99"
        elif op in ("stop", "fake_stop"):
            secs[i][draw(st.integers(1, 2))] = draw(st.sampled_from(stations)) if op == "stop" else "Atlantis"
        elif op == "drop" and len(secs) > 1:
            secs.pop(i)
        elif op == "repeat":
            secs.insert(i, list(secs[i]))
        elif op == "detour":  # ride somewhere on the same line and come back: valid, but longer
            line, dep, _ = secs[i]
            if line in net.line_by_name:
                via = draw(st.sampled_from(net.line_by_name[line].stations))
                secs[i:i] = [[line, dep, via], [line, via, dep]]
        elif op == "extend":
            line = draw(st.sampled_from(lines))
            secs.append([line, secs[-1][2], draw(st.sampled_from(net.line_by_name[line].stations))])
    return secs


@given(st.data())
def test_route_correctness_matches_an_independent_check(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    secs = data.draw(edited_route(sample))
    for cfg in PRESETS.values():
        b = score(render(secs, sample["template"], sample), sample, cfg)
        # The released parser takes a section's arrival as the rest of the section, so the via-stop line of a
        # long answer sticks to it: under `official` long answers are never correct (a faithful quirk).
        expected = valid(secs, sample) and (cfg.parser == "lenient" or sample["template"] == "short")
        assert b.correct == expected, (cfg.name, secs)
        assert b.format == (cfg.format_points if cfg.parser == "lenient" else 0)


@pytest.mark.parametrize("cfg", [PAPER, SPARSE], ids=["paper", "sparse"])
@given(st.data())
def test_correct_never_below_incorrect_and_reference_is_best(cfg, data):
    sample = data.draw(st.sampled_from(SAMPLES))
    ref = score(reference(sample), sample, cfg)
    a, b = (score(render(data.draw(edited_route(sample)), sample["template"], sample), sample, cfg)
            for _ in range(2))
    decorated = score(data.draw(decorate(render(data.draw(edited_route(sample)), "short"))), sample, cfg)
    assert ref.correct and ref.total >= max(a.total, b.total, decorated.total)
    for x in (a, b, decorated):
        for y in (a, b, decorated):
            if x.correct and not y.correct:
                assert x.total >= y.total


@given(st.data())
def test_detail_is_monotone_when_fixing_one_error(data):
    """Break k fields of the reference with names the map does not have, then repair one: detail never drops."""
    sample = data.draw(st.sampled_from(SAMPLES))
    ref = sections_of(sample)
    cells = [(i, j) for i in range(len(ref)) for j in range(3)]
    broken_cells = data.draw(st.lists(st.sampled_from(cells), min_size=1, max_size=len(cells), unique=True))
    broken = [list(s) for s in ref]
    for i, j in broken_cells:
        broken[i][j] = "Line 99" if j == 0 else f"Atlantis {i}{j}"
    i, j = data.draw(st.sampled_from(broken_cells))
    fixed = [list(s) for s in broken]
    fixed[i][j] = ref[i][j]
    tpl = sample["template"]
    before = score(render(broken, tpl, sample), sample, PAPER).detail
    after = score(render(fixed, tpl, sample), sample, PAPER).detail
    assert after >= before, (broken, fixed)
    assert score(render(ref, tpl, sample), sample, PAPER).detail >= after


STUFFING = [
    lambda s, ref: ref + "\n--\n" + ref,  # the answer twice
    lambda s, ref: ref.replace(f"Route Name: {sections_of(s)[0][0]}",
                               "Route Name: " + ", ".join(sorted(network(s["map_id"]).line_by_name))),  # all lines
    lambda s, ref: ref.replace(f"Arrival Stop: {s['station2']}",
                               "Arrival Stop: " + ", ".join(sorted(network(s["map_id"]).stations)[:30])),  # stations
    lambda s, ref: ref + "\nRoute Name: correct\nDeparture Stop: " + s["station1"] + "\nArrival Stop: " +
    s["station2"] + "\ncorrect route, optimal, verified",  # keywords
    lambda s, ref: "\n\n".join([ref] * 20),  # repetition
    lambda s, ref: ref + "\n" + "\n".join(f"Departure Stop: {s['station1']}" for _ in range(10)),  # key spam
]


@pytest.mark.parametrize("cfg", [PAPER, SPARSE, OFFICIAL], ids=["paper", "sparse", "official"])
@pytest.mark.parametrize("stuff", range(len(STUFFING)))
def test_no_padding_or_stuffing_beats_the_reference(cfg, stuff):
    for sample in SAMPLES:
        ref = reference(sample)
        assert score(STUFFING[stuff](sample, ref), sample, cfg).total <= score(ref, sample, cfg).total + 1e-9


@st.composite
def decorate(draw, text):
    how = draw(st.sampled_from(["bold", "lower", "prose_before", "prose_after", "bullets", "no_sep", "think_open",
                                "two_thinks", "code_fence"]))
    if how == "bold":
        return text.replace("Route Name:", "**Route Name:**")
    if how == "lower":
        return text.replace("Departure Stop", "departure stop")
    if how == "prose_before":
        return "Here is the route:\n" + text
    if how == "prose_after":
        return text + "\nI hope this helps."
    if how == "bullets":
        return "\n".join("- " + ln for ln in text.split("\n"))
    if how == "no_sep":
        return text.replace("\n--\n", "\n") if "\n--\n" in text else "Answer:\n" + text
    if how == "think_open":
        return "<think>\n" + text
    if how == "two_thinks":
        return "<think>a</think><think>b</think>" + text
    return "```\n" + text + "\n```"


@given(st.data())
def test_wrong_format_gets_no_format_credit(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    text = data.draw(decorate(reference(sample)))
    for cfg in (PAPER, SPARSE):
        b = score(text, sample, cfg)
        assert b.format == 0, text
    assert score(reference(sample), sample, PAPER).format == 1


PERCEPTION = [perception_sample(c, t, k=k, difficulty=d) for c, d in (("oslo", "middle"), ("geneva", "hard"))
              for t in ("counting1", "counting2", "counting3", "torf1", "torf2") for k in range(3)]


@pytest.mark.parametrize("cfg", [PAPER, SPARSE], ids=["paper", "sparse"])
@given(st.data())
def test_perception_correct_beats_incorrect(cfg, data):
    s = data.draw(st.sampled_from(PERCEPTION))
    answers = st.sampled_from(["A", "B", "C", "D", "0", "1", "2", "5", "12", "yes", "no", s["answer"]])
    texts = [data.draw(st.sampled_from([r"\boxed{%s}", "The answer is %s.", r"<think>hm</think>\boxed{(%s)}",
                                        "%s", r"\boxed{%s} lines"])) % data.draw(answers) for _ in range(3)]
    bs = [score(t, s, cfg) for t in texts]
    best = score(reference(s), s, cfg)
    for x in bs:
        assert best.total >= x.total
        for y in bs:
            if x.correct and not y.correct:
                assert x.total >= y.total


@given(st.text(max_size=2000), st.sampled_from(SAMPLES[:6] + PERCEPTION[:5]))
def test_any_text_scores(text, sample):
    for cfg in PRESETS.values():
        b = score(text, sample, cfg)
        assert math.isfinite(b.total) and b.weight > 0


@given(st.sampled_from(SAMPLES), st.text(alphabet="RouteNamDpsAiv:-\n *#<>/think", max_size=600))
def test_structured_junk_scores(sample, text):
    assume(text.strip())
    for cfg in PRESETS.values():
        assert math.isfinite(score(text, sample, cfg).total)
