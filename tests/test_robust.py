"""The `robust` preset: each rule against an independent plain oracle (tests/fixtures/reward_robust.py), and the
exploits of issue 12 as regression tests (stay-put, prompt copy, unchecked last section, detours, zero-length
sections, longer routes, unread via stops, useless answers above near misses, joined line numbers)."""

from __future__ import annotations

import json
import time

import pytest
from fixtures.reward import planning_sample, reference
from fixtures.reward_edits import SAMPLES, edited_route, render, sections_of
from fixtures.reward_robust import robust_correct, robust_detail, vias_of
from hypothesis import given
from hypothesis import strategies as st

from rmlite.lab.probes import near_misses, probe_answers
from rmlite.maps.network import Network, route_to_json
from rmlite.reward.config import PAPER, ROBUST, RewardConfig, RobustRules, get_config
from rmlite.reward.score import score


def custom_sample(metro: dict, a: str, b: str, template: str = "short") -> dict:
    net = Network.from_metro_data(metro, name="custom")
    routes = net.routes(a, b)
    return {"id": "custom-planning-0", "map_id": "custom", "type": "planning", "question": "", "answer": "",
            "choices": [], "station1": a, "station2": b, "line": "", "metro_data": json.dumps(metro),
            "routes": route_to_json(routes), "difficulty_city": "easy", "difficulty_question": "easy",
            "question_transfer_count": len(routes[0]) - 1, "template": template, "seed": 0, "source": "test",
            "prompt": []}


def text(secs, sample=None, template="short"):
    return render(secs, template, sample)


# ----- against the oracle -----------------------------------------------------------------------------------------
@given(st.data())
def test_correctness_and_detail_match_the_oracle(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    secs = data.draw(edited_route(sample))
    b = score(render(secs, sample["template"], sample), sample, ROBUST)
    vias = vias_of(secs, sample)
    assert b.correct == robust_correct(secs, sample, vias), secs
    assert b.detail == pytest.approx(robust_detail(secs, sample, vias), abs=1e-9), secs


@given(st.data())
def test_reference_is_best(data):
    sample = data.draw(st.sampled_from(SAMPLES))
    ref = score(reference(sample), sample, ROBUST)
    assert ref.correct and ref.detail == 10.0
    other = score(render(data.draw(edited_route(sample)), sample["template"], sample), sample, ROBUST)
    assert other.total <= ref.total + 1e-9


@given(st.text(max_size=300))
def test_total_over_any_text(junk):
    for s in SAMPLES[:4]:
        b = score(junk, s, ROBUST)
        assert -2.0 <= b.detail <= 10.0


def test_one_megabyte_of_junk_is_fast():
    s = SAMPLES[0]
    for junk in ("Route Name: " + "x(" * 500_000, ("Route Name: Line 1\nDeparture Stop: A\nArrival Stop: B\n--\n")
                 * 20_000, "\\boxed{" * 150_000):
        t0 = time.perf_counter()
        score(junk, s, ROBUST)
        assert time.perf_counter() - t0 < 0.25


def test_config_validates():
    with pytest.raises(ValueError, match="break_penalty"):
        RobustRules(break_penalty=-1.0)
    with pytest.raises(ValueError, match="max_extra_stops"):
        RobustRules(max_extra_stops=-1)
    with pytest.raises(ValueError, match="lenient parser"):
        RewardConfig(parser="official", robust=RobustRules())
    assert get_config("robust") is ROBUST


# ----- the exploits, as regression tests ----------------------------------------------------------------------------
TOY_Q1 = planning_sample("toy", "Alna", "Frogner")  # Line 1 Alna→Dal, Line 2 Dal→Frogner


def test_stay_put_earns_nothing():
    stay = text([["Line 1", "Alna", "Alna"], ["Line 77", "Alna", "Frogner"]])
    paper, robust = score(stay, TOY_Q1, PAPER), score(stay, TOY_Q1, ROBUST)
    assert paper.detail > 0 and robust.detail == -2.0 and not robust.correct


def test_prompt_copy_earns_nothing():
    for line in ("Line 77", "from Alna to Frogner"):
        assert score(text([[line, "Alna", "Frogner"]]), TOY_Q1, ROBUST).detail == -2.0


def test_the_last_section_is_checked():
    ref = score(reference(TOY_Q1), TOY_Q1, ROBUST)
    fake_last = score(text([["Line 1", "Alna", "Dal"], ["Line 77", "Dal", "Frogner"]]), TOY_Q1, ROBUST)
    assert score(text([["Line 1", "Alna", "Dal"], ["Line 77", "Dal", "Frogner"]]), TOY_Q1, PAPER).detail == \
        score(reference(TOY_Q1), TOY_Q1, PAPER).detail  # the paper's hole
    assert fake_last.detail < ref.detail - 3


def test_a_valid_section_earns_by_itself():
    one = score(text([["Line 1", "Alna", "Dal"]]), TOY_Q1, ROBUST)  # a right first ride, then nothing
    assert one.detail > 0 and not one.correct


def test_direct_right_line_one_endpoint_is_not_full_detail():
    s = planning_sample("toy", "Alna", "Dal")
    half = text([["Line 1", "Alna", "Brekke"]])
    assert score(half, s, PAPER).detail == score(reference(s), s, PAPER).detail  # the paper's hole
    assert 0 < score(half, s, ROBUST).detail < score(reference(s), s, ROBUST).detail


@pytest.mark.parametrize("secs", [
    [["Line 1", "Alna", "Carl Berner"], ["Line 1", "Carl Berner", "Brekke"], ["Line 4", "Brekke", "Lysaker"]],
    [["Line 1", "Alna", "Alna"], ["Line 1", "Alna", "Brekke"], ["Line 4", "Brekke", "Lysaker"]],
    [["Line 1", "Alna", "Brekke"], ["Line 4", "Brekke", "Brekke"], ["Line 4", "Brekke", "Lysaker"]],
], ids=["detour", "zero_length_first", "zero_length_at_transfer"])
def test_detours_and_zero_length_sections_are_not_correct(secs):
    s = planning_sample("toy", "Alna", "Lysaker")
    assert score(text(secs), s, PAPER).correct
    b = score(text(secs), s, ROBUST)
    assert not b.correct and b.total < score(reference(s), s, ROBUST).total


def test_longer_than_best_is_not_correct_but_within_tolerance_is():
    metro = {"Short": ["A", "X", "E"], "Long": ["A", "B", "C", "D", "G", "E"], "Near": ["A", "P", "Q", "E"]}
    s = custom_sample(metro, "A", "E")
    assert score(text([["Long", "A", "E"]]), s, PAPER).correct
    assert not score(text([["Long", "A", "E"]]), s, ROBUST).correct  # 5 stops where 2 suffice
    assert score(text([["Near", "A", "E"]]), s, ROBUST).correct  # 3 stops: within the tolerance of 2
    strict = get_config(ROBUST, robust=RobustRules(max_extra_stops=0))
    assert not score(text([["Near", "A", "E"]]), s, strict).correct
    off = get_config(ROBUST, robust=RobustRules(max_extra_stops=None))
    assert score(text([["Long", "A", "E"]]), s, off).correct


def test_via_stops_are_read_on_the_long_templates():
    s = planning_sample("toy", "Alna", "Frogner", template="long1")
    ref = reference(s)
    wrong = ref.replace("Number of Via Stops: 2", "Number of Via Stops: 999", 1)
    assert wrong != ref
    assert score(wrong, s, PAPER).total == score(ref, s, PAPER).total  # the paper's hole
    b = score(wrong, s, ROBUST)
    assert not b.correct and b.detail < 10.0
    s2 = planning_sample("toy", "Alna", "Frogner", template="long2")
    ref2 = reference(s2)
    assert score(ref2, s2, ROBUST).correct
    shuffled = ref2.replace("Via Stops: Brekke, Carl Berner", "Via Stops: Carl Berner, Brekke", 1)
    assert shuffled != ref2 and score(shuffled, s2, ROBUST).correct  # a set match
    missing = ref2.replace("Via Stops: Brekke, Carl Berner", "Via Stops: Brekke", 1)
    assert not score(missing, s2, ROBUST).correct


def test_adding_an_invented_section_never_raises_the_reward():
    missing = [["Line 1", "Alna", "Frogner"]]  # the transfer at Dal is skipped
    added = missing + [["Line 77", "Frogner", "Frogner"]]
    assert score(text(added), TOY_Q1, ROBUST).total <= score(text(missing), TOY_Q1, ROBUST).total


def test_every_useless_answer_scores_below_every_near_miss():
    useless = ("stay_put", "prompt_copy", "invented_line", "every_line")
    for s in SAMPLES[::2]:
        probes = probe_answers(s)
        top = max(score(probes[p], s, ROBUST).total for p in useless)
        near = [score(t, s, ROBUST).total for t in near_misses(s)]
        assert near and top < min(near), s["id"]
        assert min(near) > 0  # a near miss with format scores above the empty answer


def test_line_numbers_never_join_and_brackets_stay():
    metro = {"Line 12": ["A", "B", "C"], "Line 1": ["C", "D"], "Line 2": ["D", "E"]}
    s = custom_sample(metro, "A", "C")
    for name in ("Line 1/2", "Line 1-2", "Line 1 2"):
        assert not score(text([[name, "A", "C"]]), s, ROBUST).correct
    assert score(text([["line 12", "A", "C"]]), s, ROBUST).correct
    metro = {"Line 1": ["Fairmoor (Heath)", "B", "C"], "Line 2": ["Fairmoor", "X"]}
    s = custom_sample(metro, "Fairmoor (Heath)", "C")
    assert not score(text([["Line 1", "Fairmoor", "C"]]), s, ROBUST).correct
    assert score(text([["Line 1", "Fairmoor (Heath) (Transfer Station)", "C"]]), s, ROBUST).correct


def test_sections_of_reference_are_rides():
    for s in SAMPLES:
        assert robust_correct(sections_of(s), s, vias_of(sections_of(s), s))
