"""Each curriculum mode as an object: what it does to the data, which rewards it reads, what it needs from the trainer,
where the stage is at a step, and its checkpoint state. The TRL glue (`rmlite.train.curriculum_trainer`) holds one
and asks it, never the mode's name.

| | `ScheduleMode` (the paper) | `AdaptiveMode` |
|---|---|---|
| `prepare` the data | reordered once: stages in order, shuffled inside (`order_samples`) | as it is, grouped by stage into a `StageSampler` |
| `scored` rewards | none read | one correctness reward feeds the `StageSwitcher` |
| `draws_batches` | False: TRL's own sampler walks the order | True: a sampler draws each generation batch from the current stage |
| `stage_at(step)` | the planned span of the step | the stage of the batch being trained |
| checks | `shuffle_dataset=False` | checkpoints on generation-batch boundaries, one process |

>>> from rmlite.curriculum.stages import get_curriculum
>>> rows = [{"type": t, "difficulty_question": "easy"} for t in ("planning", "torf1", "planning", "torf2")]
>>> data, parts = mode_of("schedule").prepare(rows, get_curriculum("coarse"), seed=0, prompts=2, steps=1)
>>> mode = mode_of("schedule")(get_curriculum("coarse"), **parts)
>>> [mode.stage_at(step) for step in range(2)], mode.draws_batches
([0, 1], False)
"""  # noqa: E501 - a table row

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from rmlite.curriculum.adaptive import StageSampler, StageSwitcher, Transition
from rmlite.curriculum.schedule import StageSpan, order_samples, stage_at_step
from rmlite.curriculum.stages import Curriculum, group_by_stage


def stage_rows(dataset: Any, curriculum: Curriculum) -> Any:
    """Only the fields the curriculum reads, when `dataset` can select columns (a full row may carry a lazily
    rendered map image); otherwise the data set itself."""
    cols = ["type", curriculum.difficulty_field]
    if hasattr(dataset, "select_columns") and all(c in dataset.column_names for c in cols):
        return dataset.select_columns(cols)
    return dataset


class ScoredReward:
    """Wraps the correctness reward: passes its values through to TRL and feeds them to `observe`.

    Keeps the wrapped function's name, so TRL still logs it as `rewards/<name>/mean`.
    """

    def __init__(self, func: Callable, observe: Callable[[int, Sequence, Sequence | None], Any]):
        self.func, self.observe = func, observe
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> list[float | None]:
        rewards = self.func(*args, **kwargs)
        self.observe(kwargs["trainer_state"].global_step, rewards, kwargs.get("type"))
        return rewards


class ScheduleMode:
    """The paper's single ordered pass: stage spans over data reordered once; TRL's own sampler walks it."""

    name = "schedule"
    draws_batches = False  # TRL's sampler, TRL's batches, Trainer's data skip on resume

    def __init__(self, curriculum: Curriculum, spans: Sequence[StageSpan] | None = None,
                 sampler: StageSampler | None = None):
        if spans is None:
            raise ValueError("schedule mode needs the stage spans (see schedule_dataset)")
        self.curriculum, self.spans, self.sampler, self.switcher = curriculum, list(spans), sampler, None
        self.trained_stage = 0

    @staticmethod
    def prepare(dataset: Any, curriculum: Curriculum, *, seed: int, prompts: int, steps: int,
                shuffle: bool = False) -> tuple[Any, dict[str, Any]]:
        """The data in curriculum order (`dataset.select(order)`, or the rows in order) and the mode's parts."""
        if shuffle:
            raise ValueError("a scheduled curriculum is one ordered pass: set GRPOConfig(shuffle_dataset=False)")
        order, spans = order_samples(stage_rows(dataset, curriculum), curriculum, seed, prompts_per_batch=prompts,
                                     steps_per_batch=steps)
        ordered = dataset.select(order) if hasattr(dataset, "select") else [dataset[i] for i in order]
        return ordered, {"spans": spans}

    def scored(self, funcs: list, score_reward: int | str) -> list:
        """The reward functions TRL gets: as given (a schedule reads no scores)."""
        return funcs

    def check_saving(self, save_steps: float | None, steps_per_batch: int) -> None:
        """Any checkpoint step resumes exactly: the order is fixed."""

    def check_processes(self, num_processes: int) -> None:
        """Every process walks its share of the one order."""

    def stage_at(self, step: int) -> int:
        return stage_at_step(self.spans, step)

    def transitions(self, steps_per_batch: int) -> list[Transition]:
        live = [s for s in self.spans if s.num_batches]
        return [Transition(b.start_step - steps_per_batch, a.index, b.index, "schedule", None)
                for a, b in zip(live, live[1:], strict=False)]

    def observe(self, step: int, scores: Sequence[float | None], types: Sequence[str] | None) -> Transition | None:
        raise ValueError("observe() is for adaptive mode")

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if [StageSpan(**s) for s in state["spans"]] != self.spans:
            raise ValueError("the scheduled stage spans differ from the checkpoint's (other data, seed, "
                             "curriculum or batch geometry): resuming would repeat or skip stages")


class AdaptiveMode:
    """A `StageSwitcher` promotes on the scores of one correctness reward; each generation batch is drawn from the
    current stage by a `StageSampler`."""

    name = "adaptive"
    draws_batches = True  # the trainer's sampler draws and commits each generation batch; no data skip on resume

    def __init__(self, curriculum: Curriculum, spans: Sequence[StageSpan] | None = None,
                 sampler: StageSampler | None = None):
        if sampler is None:
            raise ValueError("adaptive mode needs a StageSampler")
        self.curriculum, self.spans, self.sampler = curriculum, list(spans or []), sampler
        self.switcher = StageSwitcher(curriculum)
        self.trained_stage = 0  # the stage of the generation batch being trained

    @staticmethod
    def prepare(dataset: Any, curriculum: Curriculum, *, seed: int, prompts: int, steps: int,
                shuffle: bool = False) -> tuple[Any, dict[str, Any]]:
        """The data as it is and a sampler over its stages; ValueError when a stage has no sample."""
        groups = group_by_stage(stage_rows(dataset, curriculum), curriculum)
        empty = [curriculum.stages[k].name for k, g in enumerate(groups) if not g]
        if empty:
            raise ValueError(f"adaptive curriculum: no samples for stage(s) {empty}")
        return dataset, {"sampler": StageSampler(groups, prompts, seed)}

    def scored(self, funcs: list, score_reward: int | str) -> list:
        """The reward functions TRL gets, the one that `score_reward` names or indexes wrapped to feed the switcher."""
        names = [getattr(f, "__name__", type(f).__name__) for f in funcs]
        i = names.index(score_reward) if isinstance(score_reward, str) and score_reward in names else score_reward
        if not isinstance(i, int) or not 0 <= i < len(funcs) or isinstance(funcs[i], (str, os.PathLike)):
            raise ValueError(f"score_reward {score_reward!r} must name or index a callable reward in {names}")
        return [ScoredReward(f, self.observe) if k == i else f for k, f in enumerate(funcs)]

    def check_saving(self, save_steps: float | None, steps_per_batch: int) -> None:
        """Checkpoints only where the sampler state is exact: `save_steps` (None: not saving by steps) a multiple of
        the optimizer steps per generation batch."""
        if save_steps is not None and save_steps >= 1 and int(save_steps) % steps_per_batch:
            raise ValueError(f"save_steps={save_steps} is not a multiple of the {steps_per_batch} optimizer steps per "
                             f"generation batch: an adaptive curriculum checkpoints at batch boundaries only")

    def check_processes(self, num_processes: int) -> None:
        if num_processes > 1:
            raise ValueError("the adaptive curriculum runs in a single process (each process would score only "
                             "its own rollouts); use schedule mode for multi-GPU")

    def stage_at(self, step: int) -> int:
        return self.trained_stage

    def transitions(self, steps_per_batch: int) -> list[Transition]:
        return list(self.switcher.transitions)

    def observe(self, step: int, scores: Sequence[float | None], types: Sequence[str] | None) -> Transition | None:
        return self.switcher.update(step, scores, types)

    def state_dict(self) -> dict[str, Any]:
        return {"switcher": self.switcher.state_dict(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.switcher.load_state_dict(state["switcher"])
        self.sampler.load_state_dict(state["sampler"])
        self.trained_stage = state["trained_stage"]


CurriculumMode = ScheduleMode | AdaptiveMode
CURRICULUM_MODES: dict[str, type[ScheduleMode] | type[AdaptiveMode]] = {m.name: m for m in (ScheduleMode, AdaptiveMode)}


def mode_of(name: str) -> type[ScheduleMode] | type[AdaptiveMode]:
    """The object of the mode called `name` (a `Curriculum.mode`)."""
    if name not in CURRICULUM_MODES:  # `Curriculum` refuses such a mode: a name in `MODES` without an object here
        raise ValueError(f"curriculum mode {name!r} has no object in rmlite.curriculum.modes.CURRICULUM_MODES")
    return CURRICULUM_MODES[name]
