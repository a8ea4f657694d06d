"""A question type is its name and answer kind in `rmlite.schema`: register new ones, and every part handles them.

The fixture registers four throwaway types (one per answer kind, `tests/fixtures/question_types.py`) for one test
and restores the registry afterwards; no module of rmlite is edited. Each test fails if a dispatch site still lists
type names instead of reading `ANSWER_KIND`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from fixtures import question_types as qt

from rmlite import schema
from rmlite.data.answers import boxed, reference_completion
from rmlite.data.released import from_released
from rmlite.evaluate import chance_answers, majority_answers, score_answers
from rmlite.lab.measure import run_lab
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.lab.probes import probe_answers
from rmlite.lab.rollouts import Policy, simulate, steps_of
from rmlite.reward import metrics
from rmlite.reward.config import PAPER, PRESETS
from rmlite.reward.score import score

KIND_OPERATORS = {"integer": "off_by_one", "yes_no": "flipped_yes_no", "letter": "wrong_letter",
                  "route": "reversed_direction"}  # one operator that only answers of that kind can have
EVERY_OPTION = {"integer": "0, 1, 2, 3, 4, 5, 6, 7, 8, 9", "yes_no": "yes or no", "letter": "A, B, C, D"}


@pytest.fixture
def new_types(monkeypatch):
    """The throwaway types registered in the schema for one test (monkeypatch restores the registry)."""
    for name, kind in qt.NEW_TYPES.items():
        monkeypatch.setitem(schema.ANSWER_KIND, name, kind)
    for name, fields in qt.NEW_NAMED_FIELDS.items():
        monkeypatch.setitem(schema.NAMED_FIELDS, name, fields)
    return qt.samples()


def test_registering_is_one_entry_per_type(new_types):
    assert {s["type"] for s in new_types} == set(qt.NEW_TYPES) <= set(schema.ANSWER_KIND)
    assert [schema.answer_kind(t) for t in qt.NEW_TYPES] == list(qt.NEW_TYPES.values())


@pytest.mark.parametrize("config", list(PRESETS.values()), ids=list(PRESETS))
def test_every_preset_scores_right_and_wrong_answers(new_types, config):
    for s in new_types:
        schema.validate_sample(s)
        right, wrong = score(reference_completion(s), s, config), score(qt.wrong_answer(s), s, config)
        assert right.correct and not wrong.correct, (s["id"], right.reason, wrong.reason)
        assert right.total > wrong.total, s["id"]
        assert wrong.total >= (0.0 if config.detail_min is None else min(0.0, config.detail_min)), s["id"]
        if config is PAPER:
            assert right.format == config.format_points, s["id"]  # the strict format reads the kind's token


def test_the_weight_reads_the_kind(new_types):
    route = next(s for s in new_types if s["type"] == "planning2" and s["question_transfer_count"] > 0)
    count = next(s for s in new_types if s["type"] == "counting4")
    assert PAPER.weight("hard", route["type"], 1) == PAPER.weight("hard", "planning", 1) == 1.5 + 0.5
    assert score(reference_completion(route), route).weight == PAPER.weight("middle", "planning", 1)
    assert score(reference_completion(count), count).weight == PAPER.weight("middle", "counting2", 0)


def test_metrics_judge_them(new_types):
    recs = [metrics.judge(reference_completion(s), s) for s in new_types]
    assert [r["correct"] for r in recs] == [1] * len(new_types)
    assert [metrics.judge(qt.wrong_answer(s), s)["correct"] for s in new_types] == [0] * len(new_types)
    for s, r in zip(new_types, recs, strict=True):
        is_route = qt.NEW_TYPES[s["type"]] == "route"
        assert ("map_score" in r) is is_route
        assert r["weight"] == (metrics.reasonmap_weight(s) if is_route else metrics.plus_weight(s))
    assert set(metrics.summarize(recs)["by_type"]) == set(qt.NEW_TYPES)


def test_evaluation_baselines_answer_them(new_types):
    chance = chance_answers(new_types, seed=0)
    for s, a in zip(new_types, chance, strict=True):
        kind = qt.NEW_TYPES[s["type"]]
        token = a.removeprefix("\\boxed{").removesuffix("}")
        assert a == "" if kind == "route" else a == boxed(token), (s["id"], a)
        assert {"integer": token.isdigit(), "yes_no": token in ("yes", "no"), "letter": token in "ABCD",
                "route": True}[kind], (s["id"], a)
    top = {t: Counter(s["answer"] for s in new_types if s["type"] == t).most_common(1)[0][0] for t in qt.NEW_TYPES}
    expected = [top[s["type"]] if qt.NEW_TYPES[s["type"]] == "route" else boxed(top[s["type"]]) for s in new_types]
    assert majority_answers(new_types) == expected
    report = score_answers(new_types, majority_answers(new_types), name="majority")
    assert set(report.summary["by_type"]) == set(qt.NEW_TYPES)


def test_the_lab_simulates_and_probes_them(new_types):
    for s in new_types:
        kind = qt.NEW_TYPES[s["type"]]
        text = apply_errors(s, [KIND_OPERATORS[kind]], seed=0)
        assert text is not None and not score(text, s).correct, s["id"]
        probes = probe_answers(s)
        if kind == "route":
            assert "every_line" in probes and steps_of(s) == 3 * len(json.loads(s["routes"])[0]) + 1
        else:
            assert probes["every_option"] == boxed(EVERY_OPTION[kind]) and steps_of(s) == 1
    r = simulate(new_types, Policy(error_rate=1.0, extra_error=0.9), group_size=16, seed=0)
    for i, ops in enumerate(r.ops):
        s = r.samples[i // r.group_size]
        kind = qt.NEW_TYPES[s["type"]]
        assert all(kind in OPERATORS[op].kinds for op in ops), (s["id"], ops)
        if kind != "route":  # a perception answer has one value to get wrong
            assert sum(not OPERATORS[op].surface for op in ops) <= 1, (s["id"], ops)
    for name in qt.NEW_TYPES:  # a kind-specific error was drawn for every type
        assert any(OPERATORS[op].kinds != tuple(schema.ANSWER_KINDS) for i, ops in enumerate(r.ops) for op in ops
                   if r.samples[i // r.group_size]["type"] == name), name
    res = run_lab(new_types, rewards=("paper",), error_rates=(0.5,), group_size=4, probes=True)
    assert {row["type"] for row in res.rows} >= set(qt.NEW_TYPES)
    assert {row["kind"] for row in res.probes} == {"planning", "perception"}


@pytest.mark.parametrize("k", range(len(qt.released_rows())))
def test_the_released_loader_maps_them(new_types, k):
    row, expect = qt.released_rows()[k]
    s = from_released(row)
    assert {key: s[key] for key in expect} == expect
    schema.validate_sample(s)
    assert score(reference_completion(s), s).correct


def test_the_registry_is_restored_afterwards():
    with pytest.raises(ValueError, match="unknown type 'counting4'"):
        schema.validate_sample(qt.counting4())
    with pytest.raises(ValueError, match="unknown question type"):
        schema.answer_kind("torf3")
    assert "planning2" not in schema.NAMED_FIELDS


def test_curricula_take_a_registered_type(new_types):
    from rmlite.curriculum import Stage, get_curriculum

    name = next(iter(qt.NEW_TYPES))
    sample = {"type": name, "difficulty_question": "easy"}
    assert get_curriculum("none").stage_of(sample) == 0, "the one-stage baseline takes every registered type"
    assert get_curriculum("paper").stage_of(sample) is None, "a named curriculum leaves out types no stage names"
    assert Stage("new", (name,)).types == (name,)
