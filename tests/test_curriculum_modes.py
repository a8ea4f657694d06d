"""Curriculum modes as objects (`rmlite.curriculum.modes`): the TRL glue asks the mode, never tests its name.

Pure Python: the trainer-level behaviour of each mode (ordering, switching, resuming, refusals) is covered unchanged by
tests/test_curriculum_trainer.py; here each object's answers are checked against values worked out by hand, and the
trainer's source is checked to hold no branch on a mode's name.
"""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest

from rmlite.curriculum import (
    CURRICULUM_MODES,
    MODES,
    AdaptiveMode,
    ScheduleMode,
    StageSampler,
    get_curriculum,
    mode_of,
)

TRAINER = Path(__file__).resolve().parents[1] / "rmlite" / "train" / "curriculum_trainer.py"
# 2 perception and 4 planning questions; the coarse curriculum has the stages (perception, planning)
ROWS = [{"type": t, "difficulty_question": "easy"} for t in ("planning", "torf1", "planning", "torf2", "planning",
                                                             "planning")]


def named_reward(name: str):
    def f(**kwargs):
        return [1.0] * len(kwargs.get("type", [0]))
    f.__name__ = name
    return f


def test_every_mode_has_one_object():
    assert tuple(CURRICULUM_MODES) == MODES == ("schedule", "adaptive")
    assert [mode_of(m).name for m in MODES] == list(MODES)
    with pytest.raises(ValueError, match="'cyclic' has no object in rmlite.curriculum.modes.CURRICULUM_MODES"):
        mode_of("cyclic")


def test_the_schedule_orders_the_data_and_reads_its_spans():
    cur = get_curriculum("coarse")
    data, parts = ScheduleMode.prepare(ROWS, cur, seed=0, prompts=2, steps=3)
    assert [r["type"][:4] for r in data] == ["torf", "torf", "plan", "plan", "plan", "plan"]
    mode = ScheduleMode(cur, **parts)
    assert [(s.start_step, s.stop_step) for s in mode.spans] == [(0, 3), (3, 9)]  # 1 and 2 batches of 3 steps
    assert [mode.stage_at(step) for step in range(9)] == [0] * 3 + [1] * 6
    assert [(t.step, t.from_stage, t.to_stage) for t in mode.transitions(3)] == [(0, 0, 1)]
    funcs = [named_reward("a"), "reward.py"]
    assert mode.scored(funcs, 1) is funcs and not mode.draws_batches
    mode.check_saving(5, 3)  # any step: the order is fixed
    mode.check_processes(8)
    with pytest.raises(ValueError, match="observe"):
        mode.observe(0, [1.0], ["torf1"])
    with pytest.raises(ValueError, match="shuffle_dataset=False"):
        ScheduleMode.prepare(ROWS, cur, seed=0, prompts=2, steps=3, shuffle=True)
    with pytest.raises(ValueError, match="needs the stage spans"):
        ScheduleMode(cur)


def test_the_adaptive_mode_samples_stages_and_reads_one_reward():
    cur = get_curriculum("coarse", mode="adaptive", window=2, threshold=1.0)
    data, parts = AdaptiveMode.prepare(ROWS, cur, seed=0, prompts=2, steps=1)
    assert data is ROWS and parts["sampler"].stage_indices == [[1, 3], [0, 2, 4, 5]]
    mode = AdaptiveMode(cur, **parts)
    assert mode.draws_batches and mode.stage_at(7) == 0
    funcs = [named_reward("format"), named_reward("correct")]
    wrapped = mode.scored(funcs, "correct")
    assert wrapped[0] is funcs[0] and wrapped[1].__name__ == "correct" and wrapped[1] is not funcs[1]
    state = types.SimpleNamespace(global_step=4)
    assert wrapped[1](type=["torf1", "torf2"], trainer_state=state) == [1.0, 1.0]  # passed through, and observed:
    assert [(t.step, t.from_stage, t.to_stage) for t in mode.transitions(1)] == [(4, 0, 1)]
    assert mode.switcher.current_stage == 1 and mode.stage_at(5) == 0  # the next batch's stage, not yet trained
    for bad in ("missing", 2, "reward.py"):
        with pytest.raises(ValueError, match="must name or index a callable reward"):
            mode.scored([*funcs, "reward.py"], bad)
    mode.check_saving(None, 3)
    mode.check_saving(6, 3)
    with pytest.raises(ValueError, match="save_steps=5 is not a multiple of the 3"):
        mode.check_saving(5, 3)
    with pytest.raises(ValueError, match="single process"):
        mode.check_processes(2)
    with pytest.raises(ValueError, match=r"no samples for stage\(s\) \['planning'\]"):
        AdaptiveMode.prepare(ROWS[1:2], cur, seed=0, prompts=2, steps=1)
    with pytest.raises(ValueError, match="needs a StageSampler"):
        AdaptiveMode(cur)


def test_adaptive_state_round_trips():
    cur = get_curriculum("coarse", mode="adaptive", window=2, threshold=1.0)
    a = AdaptiveMode(cur, sampler=StageSampler([[1, 3], [0, 2]], 2, 0))
    a.sampler.draw(0)
    a.observe(3, [1.0, 1.0], ["torf1", "torf2"])
    a.trained_stage = 1
    b = AdaptiveMode(cur, sampler=StageSampler([[1, 3], [0, 2]], 2, 0))
    b.load_state_dict({**a.state_dict(), "trained_stage": a.trained_stage})
    assert (b.switcher.current_stage, b.sampler.counts, b.trained_stage) == (1, [1, 0], 1)


def name_tests(source: str) -> list[str]:
    """The comparisons in `source` with a mode's name on one side (`curriculum.mode == "adaptive"`)."""
    return [ast.unparse(n) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Compare)
            and any(isinstance(c, ast.Constant) and c.value in MODES for c in [n.left, *n.comparators])]


def test_the_trainer_never_tests_a_mode_name():
    assert name_tests('if curriculum.mode == "adaptive" or "schedule" != m:\n    pass\n') == [
        "curriculum.mode == 'adaptive'", "'schedule' != m"]
    found = name_tests(TRAINER.read_text(encoding="utf-8"))
    assert not found, f"branches on a mode's name in {TRAINER.name}: {found}"
