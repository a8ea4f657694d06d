"""Properties of the reward, checked with hypothesis on real-map samples.

Routes are edited as plain lists of (line, departure, arrival) and rendered in ReasonMap's format, so the test can
recompute route validity itself with dict/set logic, independently of rmlite's parser and normaliser."""

import math

import pytest
from fixtures.reward import network, reference
from fixtures.reward_edits import PERCEPTION, SAMPLES, decorate, edited_route, render, sections_of, valid
from fixtures.reward_robust import robust_correct, vias_of
from hypothesis import assume, given
from hypothesis import strategies as st

from rmlite.reward.config import OFFICIAL, PAPER, PRESETS, SPARSE
from rmlite.reward.rules import RobustRules
from rmlite.reward.score import score


@given(st.data())
def test_route_correctness_matches_an_independent_check(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    secs = data.draw(edited_route(sample))
    for cfg in PRESETS.values():
        b = score(render(secs, sample["template"], sample), sample, cfg)
        # The released parser takes a section's arrival as the rest of the section, so the via-stop line of a
        # long answer sticks to it: under `official` long answers are never correct (a faithful quirk).
        expected = valid(secs, sample) and (cfg.parser == "lenient" or sample["template"] == "short")
        if isinstance(cfg.rules, RobustRules):  # sensible and optimal as well (its own oracle: tests/test_robust.py)
            expected = robust_correct(secs, sample, vias_of(secs, sample))
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


@given(st.data())
def test_wrong_format_gets_no_format_credit(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    text = data.draw(decorate(reference(sample)))
    for cfg in (PAPER, SPARSE):
        b = score(text, sample, cfg)
        assert b.format == 0, text
    assert score(reference(sample), sample, PAPER).format == 1


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
