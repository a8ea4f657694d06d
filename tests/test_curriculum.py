"""Pure curriculum logic: validation, the named curricula, the ordered pass, the switcher, the stage sampler.

Synthetic rows and score streams only; no torch, transformers or trl (checked in a subprocess).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmlite.curriculum import (
    CURRICULA,
    Curriculum,
    Stage,
    StageSampler,
    StageSwitcher,
    Transition,
    generation_geometry,
    get_curriculum,
    group_by_stage,
    order_samples,
    stage_at_step,
)
from rmlite.schema import DIFFICULTIES, QUESTION_TYPES


def rows(per_type: dict[str, int], difficulty: str = "easy") -> list[dict]:
    return [{"id": f"{t}-{i}", "type": t, "difficulty_question": difficulty, "difficulty_city": "hard"}
            for t, n in per_type.items() for i in range(n)]


def test_pure_module_imports_no_training_stack():
    code = "import sys, rmlite.curriculum; print([m for m in ('torch', 'trl', 'transformers') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("make, match", [
    (lambda: Stage("", ("torf1",)), "non-empty name"),
    (lambda: Stage("s", ()), "no question types"),
    (lambda: Stage("s", ("torf9",)), "unknown question type"),
    (lambda: Stage("s", ("torf1",), ("extreme",)), "unknown difficulty"),
    (lambda: Stage("s", ("torf1",), ()), "no difficulties"),
    (lambda: Stage("s", ("torf1", "torf1")), "repeated"),
    (lambda: Curriculum("c", ()), "at least one stage"),
    (lambda: Curriculum("c", (Stage("a", ("torf1",)), Stage("a", ("torf2",)))), "unique"),
    # (torf1, easy) in two stages: a sample would have two stages
    (lambda: Curriculum("c", (Stage("a", ("torf1",)), Stage("b", ("torf1", "torf2"), ("easy",)))), "both stage"),
    (lambda: get_curriculum("paper", mode="greedy"), "mode"),
    (lambda: get_curriculum("paper", difficulty_field="difficulty"), "difficulty_field"),
    (lambda: get_curriculum("paper", window=0), "window"),
    (lambda: get_curriculum("paper", threshold=0.0), "threshold"),
    (lambda: get_curriculum("paper", threshold=1.5), "threshold"),
    (lambda: get_curriculum("paper", min_steps=-1), "min_steps"),
    (lambda: get_curriculum("paper", min_steps=5, max_steps=3), "max_steps"),
    (lambda: get_curriculum("paper", fit="round"), "fit"),
    (lambda: get_curriculum("curriculum9"), "unknown curriculum"),
])  # fmt: skip
def test_bad_configs_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name, stages", [
    ("paper", [{"torf1", "torf2"}, {"counting2", "counting3"}, {"counting1"}, {"planning"}]),
    ("coarse", [{"torf1", "torf2", "counting1", "counting2", "counting3"}, {"planning"}]),
    ("fine", [{"torf1"}, {"torf2"}, {"counting3"}, {"counting2"}, {"counting1"}, {"planning"}]),
    ("none", [set(QUESTION_TYPES)]),
])  # fmt: skip
def test_named_curricula_cover_every_type_once_in_order(name, stages):
    cur = get_curriculum(name)
    assert [set(s.types) for s in cur.stages] == stages
    assert all(s.difficulties == DIFFICULTIES for s in cur.stages)
    assert name in CURRICULA


def test_stage_of_uses_the_configured_difficulty_field():
    cur = Curriculum("easy-first", (Stage("easy", QUESTION_TYPES, ("easy",)),
                                    Stage("rest", QUESTION_TYPES, ("middle", "hard"))))
    row = {"type": "planning", "difficulty_question": "easy", "difficulty_city": "hard"}
    assert cur.stage_of(row) == 0
    assert cur.replace(difficulty_field="difficulty_city").stage_of(row) == 1
    assert Curriculum("only-easy", (Stage("e", ("torf1",), ("easy",)),)).stage_of(row) is None  # left out
    with pytest.raises(ValueError, match="unknown type"):
        cur.stage_of({"type": "quiz", "difficulty_question": "easy"})
    with pytest.raises(ValueError, match="difficulty_question"):
        cur.stage_of({"type": "torf1"})


def test_paper_order_is_stage_blocks_shuffled_inside():
    data = rows({"planning": 7, "torf1": 5, "counting1": 6, "torf2": 5, "counting3": 4, "counting2": 4})
    cur = get_curriculum("paper")
    order, spans = order_samples(data, cur, seed=3, fit="none")
    assert sorted(order) == list(range(len(data)))  # one pass, each sample once
    for span in spans:
        block = [data[i]["type"] for i in order[span.start:span.stop]]
        assert set(block) == set(cur.stages[span.index].types)
    torf = [data[i]["type"] for i in order[spans[0].start:spans[0].stop]]
    assert torf != sorted(torf) and torf != sorted(torf, reverse=True)  # mixed inside: local stochasticity
    assert order_samples(data, cur, seed=3, fit="none") == (order, spans)  # deterministic per seed
    assert order_samples(data, cur, seed=4, fit="none")[0] != order


@pytest.mark.parametrize("fit, sizes, batches", [
    ("truncate", [8, 8, 4, 4], [2, 2, 1, 1]),   # torf 10→8, counting23 8, counting1 6→4, planning 7→4 (batches of 4)
    ("pad", [12, 8, 8, 8], [3, 2, 2, 2]),       # each stage padded up with its own samples
    ("none", [10, 8, 6, 7], [3, 3, 2, 2]),      # stages share the boundary batches
])  # fmt: skip
def test_fit_to_generation_batches(fit, sizes, batches):
    data = rows({"planning": 7, "torf1": 5, "counting1": 6, "torf2": 5, "counting3": 4, "counting2": 4})
    cur = get_curriculum("paper")
    order, spans = order_samples(data, cur, seed=0, prompts_per_batch=4, steps_per_batch=2, fit=fit)
    assert [s.num_samples for s in spans] == sizes
    assert [s.num_batches for s in spans] == batches
    assert all(s.start_step == 2 * s.first_batch and s.stop_step == s.start_step + 2 * s.num_batches for s in spans)
    if fit != "none":  # whole batches: every generation batch (chunk of 4) holds one stage only
        for b in range(len(order) // 4):
            assert len({cur.stage_of(data[i]) for i in order[4 * b: 4 * b + 4]}) == 1
        assert [s.start_step for s in spans] == [0, *[s.stop_step for s in spans[:-1]]]
    if fit == "pad":
        assert max(Counter(order).values()) == 2 and set(order) == set(range(len(data)))
    if fit == "truncate":
        assert len(set(order)) == len(order)


def test_empty_stage_keeps_its_span_and_is_skipped():
    data = rows({"torf1": 4, "planning": 4})
    order, spans = order_samples(data, get_curriculum("paper"), prompts_per_batch=2)
    assert [(s.name, s.num_batches, s.start_step) for s in spans] == [
        ("torf", 2, 0), ("counting23", 0, 2), ("counting1", 0, 2), ("planning", 2, 2)]
    assert [stage_at_step(spans, s) for s in range(5)] == [0, 0, 3, 3, 0]  # wraps like a second epoch


@given(st.lists(st.sampled_from(QUESTION_TYPES), max_size=60), st.integers(1, 5), st.integers(0, 10**6))
def test_truncated_order_is_a_subset_in_stage_order(types, per_batch, seed):
    data = [{"type": t, "difficulty_question": "middle"} for t in types]
    cur = get_curriculum("fine")
    order, spans = order_samples(data, cur, seed, prompts_per_batch=per_batch)
    assert len(set(order)) == len(order)
    stages = [cur.stage_of(data[i]) for i in order]
    assert stages == sorted(stages)
    for k, group in enumerate(group_by_stage(data, cur)):
        assert spans[k].num_samples == len(group) - len(group) % per_batch


@pytest.mark.parametrize("kw, expected", [
    (dict(per_device_batch=4, num_generations=4), (1, 1)),
    (dict(per_device_batch=8, num_generations=4, gradient_accumulation_steps=2), (4, 1)),
    (dict(per_device_batch=2, num_generations=2, gradient_accumulation_steps=2, num_iterations=2), (2, 2)),
    (dict(per_device_batch=4, num_generations=4, steps_per_generation=4, gradient_accumulation_steps=2), (4, 2)),
    (dict(per_device_batch=4, num_generations=4, num_processes=2), (2, 1)),
])  # fmt: skip
def test_generation_geometry_matches_trl(kw, expected):
    assert generation_geometry(**kw) == expected


def test_generation_geometry_refuses_fractional_steps():
    with pytest.raises(ValueError, match="not divisible"):
        generation_geometry(per_device_batch=3, num_generations=2)
    with pytest.raises(ValueError, match="whole number of optimizer steps"):
        generation_geometry(per_device_batch=4, num_generations=2, steps_per_generation=1,
                            gradient_accumulation_steps=2)


def adaptive(**kw) -> Curriculum:
    return get_curriculum("paper", mode="adaptive", **{"window": 4, "threshold": 0.75, **kw})


def test_switcher_promotes_only_on_a_full_window_at_threshold():
    sw = StageSwitcher(adaptive())
    assert sw.update(0, [1, 1, 1]) is None  # mean 1.0, but only 3 of the 4 rollouts the window needs
    t = sw.update(1, [0])  # window [1, 1, 1, 0]: full, mean 0.75 reaches the threshold
    assert t == Transition(1, 0, 1, "threshold", 0.75)
    assert sw.current_stage == 1 and sw.transitions == [t]
    assert list(sw.window) == []  # cleared on promotion
    assert sw.update(2, [1, 1, 0, 0]) is None and sw.mean == 0.5  # the new stage is judged on its own rollouts


def test_switcher_window_slides_over_the_last_k():
    sw = StageSwitcher(adaptive())
    assert sw.update(0, [0, 0, 0, 0, 1, 1]) is None  # last 4: [0, 0, 1, 1]
    t = sw.update(1, [1, 1])  # last 4: [1, 1, 1, 1]
    assert t == Transition(1, 0, 1, "threshold", 1.0)


def test_switcher_min_and_max_steps():
    sw = StageSwitcher(adaptive(min_steps=3, max_steps=5))
    for step in range(10, 13):  # dwell 0..2 < min_steps: perfect scores do not promote yet
        assert sw.update(step, [1] * 4) is None
    assert sw.update(13, [1] * 4).reason == "threshold"
    for step in range(20, 25):  # failing stage 1: forced out 5 steps after its first scored batch (20)
        assert sw.update(step, [0] * 4) is None
    t = sw.update(25, [0] * 4)
    assert (t.step, t.from_stage, t.to_stage, t.reason, t.mean) == (25, 1, 2, "max_steps", 0.0)


def test_switcher_ignores_other_stages_unscored_and_stops_at_the_last_stage():
    sw = StageSwitcher(adaptive())
    # planning rollouts (a stale batch) and None (unscored) do not count toward the torf stage
    assert sw.update(0, [1, 1, 1, 1, None, float("nan")], ["planning"] * 4 + ["torf1"] * 2) is None
    assert sw.stage_start is None and not sw.window
    assert sw.update(1, [1, 1, 1, 1], ["torf1", "torf2", "torf1", "torf2"]) is not None
    for step, typ in enumerate(["counting2", "counting1"], start=2):
        sw.update(step, [1] * 4, [typ] * 4)
    assert sw.current_stage == 3 and sw.done
    assert sw.update(9, [1] * 8, ["planning"] * 8) is None and sw.current_stage == 3


@pytest.mark.parametrize("call, match", [
    (lambda sw: sw.update(5, [1], ["torf1", "torf2"]), "types"),
    (lambda sw: (sw.update(5, [1]), sw.update(4, [1])), "backwards"),
])  # fmt: skip
def test_switcher_bad_inputs_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(StageSwitcher(adaptive()))


def test_switcher_state_round_trips_through_json():
    sw = StageSwitcher(adaptive(max_steps=4))
    sw.update(0, [1, 1, 1, 1])
    sw.update(3, [0, 1])
    state = json.loads(json.dumps(sw.state_dict()))
    sw2 = StageSwitcher(adaptive(max_steps=4))
    sw2.load_state_dict(state)
    assert (sw2.current_stage, list(sw2.window), sw2.stage_start, sw2.transitions) == (
        1, [0.0, 1.0], 3, sw.transitions)
    # the two continue identically: forced promotion at 3 + 4
    assert sw.update(7, [0]) == sw2.update(7, [0]) and sw2.current_stage == 2
    with pytest.raises(ValueError, match="stages"):
        StageSwitcher(get_curriculum("coarse", mode="adaptive")).load_state_dict(state)


def test_stage_sampler_is_a_shuffled_pass_per_stage_and_resumable():
    groups = [[0, 1, 2, 3, 4, 5], [10, 11, 12]]
    s = StageSampler(groups, batch_size=3, seed=7)
    first_pass = s.draw(0) + s.draw(0)
    assert sorted(first_pass) == groups[0] and first_pass != groups[0]
    second_pass = s.draw(0) + s.draw(0)
    assert sorted(second_pass) == groups[0] and second_pass != first_pass  # reshuffled per pass
    assert s.peek(1, ahead=1) == StageSampler(groups, 3, 7, counts=[0, 1]).peek(1)
    s2 = StageSampler(groups, batch_size=3, seed=7)
    s2.load_state_dict(json.loads(json.dumps(s.state_dict())))
    assert s2.draw(0) == s.draw(0)
    with pytest.raises(ValueError, match="batch_size"):
        StageSampler(groups, batch_size=2, seed=7).load_state_dict(s.state_dict())
    with pytest.raises(ValueError, match="no samples"):
        StageSampler([[1], []], batch_size=1).peek(1)
