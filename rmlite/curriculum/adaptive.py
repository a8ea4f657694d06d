"""Adaptive mode: a `StageSwitcher` promotes when accuracy over the last k rollouts of a stage reaches a threshold
(reasoning-gym's last-k coaching), and a `StageSampler` draws batches from the current stage (the training curves
mark each stage's first logged step: `rmlite.curriculum.stages.stage_starts`).

Left out: demotion and mixing earlier stages back in ("review"); the released RewardMap code does neither.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rmlite.curriculum.stages import Curriculum, Stage, stage_rng

STATE_VERSION = 1


@dataclass(frozen=True)
class Transition:
    """One stage switch: at `step` (the global_step whose scored batch decided it), `from_stage` → `to_stage`.

    `reason` is "threshold" (window mean reached the threshold), "max_steps" (forced) or "schedule";
    `mean` is the window mean at the switch (None for a scheduled switch).
    """

    step: int
    from_stage: int
    to_stage: int
    reason: str
    mean: float | None


class StageSwitcher:
    """Adaptive stage switching as a tiny pure state machine.

    Feed it the correctness of each scored rollout; it promotes to the next stage when the mean over the last
    `window` rollouts *of the current stage* reaches `threshold` (window full, at least `min_steps` steps after
    the stage's first scored batch), or unconditionally `max_steps` after it. The window clears on promotion, so
    the new stage is judged on its own rollouts only (reasoning-gym clears its scoreboard the same way).

    >>> from rmlite.curriculum.stages import get_curriculum
    >>> sw = StageSwitcher(get_curriculum("coarse", mode="adaptive", window=4, threshold=0.75))
    >>> sw.update(0, [1, 0, 1, 1], ["torf1"] * 4)
    Transition(step=0, from_stage=0, to_stage=1, reason='threshold', mean=0.75)
    >>> sw.current_stage, sw.done
    (1, True)
    """

    def __init__(self, curriculum: Curriculum):
        self.curriculum = curriculum
        self.current_stage = 0
        self.window: deque[float] = deque(maxlen=curriculum.window)
        self.stage_start: int | None = None  # step of the current stage's first scored batch
        self.last_step: int | None = None
        self.transitions: list[Transition] = []

    @property
    def stage(self) -> Stage:
        return self.curriculum.stages[self.current_stage]

    @property
    def done(self) -> bool:
        """At the last stage: nothing left to promote to."""
        return self.current_stage == len(self.curriculum.stages) - 1

    @property
    def mean(self) -> float | None:
        return sum(self.window) / len(self.window) if self.window else None

    def update(self, step: int, scores: Sequence[float | None], types: Sequence[str] | None = None
               ) -> Transition | None:
        """Add one scored batch (at optimizer step `step`); return the Transition if the stage changes.

        Args:
            step: the trainer's global_step of the batch (must not go backwards).
            scores: correctness per rollout (1/0 or partial credit); None/NaN (unscored) are skipped.
            types: the question type of each rollout; when given, rollouts outside the current stage (e.g. a
                batch drawn before the switch) are ignored. A batch with no rollout of the stage changes nothing.
        """
        if self.last_step is not None and step < self.last_step:
            raise ValueError(f"step went backwards: {step} after {self.last_step}")
        if types is not None and len(types) != len(scores):
            raise ValueError(f"{len(scores)} scores but {len(types)} types")
        self.last_step = step
        own = [float(s) for j, s in enumerate(scores)
               if s is not None and not math.isnan(float(s)) and (types is None or types[j] in self.stage.types)]
        if not own or self.done:
            self.window.extend(own)  # kept for logging on the last stage
            return None
        if self.stage_start is None:
            self.stage_start = step
        self.window.extend(own)
        c, dwell, mean = self.curriculum, step - self.stage_start, sum(self.window) / len(self.window)
        if c.max_steps is not None and dwell >= c.max_steps:
            reason = "max_steps"
        elif dwell >= c.min_steps and len(self.window) == c.window and mean >= c.threshold:
            reason = "threshold"
        else:
            return None
        t = Transition(step, self.current_stage, self.current_stage + 1, reason, mean)
        self.transitions.append(t)
        self.current_stage += 1
        self.window.clear()
        self.stage_start = None
        return t

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state for checkpoints."""
        return {"version": STATE_VERSION, "curriculum": self.curriculum.name, "stages": list(self.curriculum.names),
                "current_stage": self.current_stage, "window": list(self.window), "stage_start": self.stage_start,
                "last_step": self.last_step, "transitions": [dataclasses.asdict(t) for t in self.transitions]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore from `state_dict()`; refuses a state saved with other stages (a resume with another curriculum)."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported switcher state version {state.get('version')!r}")
        if list(state["stages"]) != list(self.curriculum.names):
            raise ValueError(f"switcher state is for stages {state['stages']}, this curriculum has "
                             f"{list(self.curriculum.names)}")
        k = int(state["current_stage"])
        if not 0 <= k < len(self.curriculum.stages):
            raise ValueError(f"current_stage {k} out of range")
        self.current_stage = k
        self.window = deque((float(x) for x in state["window"]), maxlen=self.curriculum.window)
        self.stage_start = state["stage_start"]
        self.last_step = state["last_step"]
        self.transitions = [Transition(**t) for t in state["transitions"]]


@lru_cache(maxsize=64)  # a few passes of a few stages are read at once (a batch, the prefetched ones)
def pass_order(seed: int, stage: int, epoch: int, size: int) -> tuple[int, ...]:
    """The order of one pass over a stage of `size` samples: positions shuffled by the stage's RNG, so
    `[pool[i] for i in pass_order(...)]` is `pool` shuffled by it (a shuffle's swaps depend on the length only).
    Cached by value: the same arguments always give the same order.

    >>> pool = [10, 11, 12, 13, 14]
    >>> shuffled = list(pool); stage_rng(3, 1, 2).shuffle(shuffled)
    >>> [pool[i] for i in pass_order(3, 1, 2, len(pool))] == shuffled
    True
    """
    order = list(range(size))
    stage_rng(seed, stage, epoch).shuffle(order)
    return tuple(order)


@dataclass
class StageSampler:
    """Batches of sample positions drawn from one stage at a time, shuffled inside the stage.

    Draw number n of stage k is a pure function of (seed, k, n): the stage's positions in a fresh random order
    per pass, consumed `batch_size` at a time. So the whole state is one counter per stage, which makes
    checkpoints tiny and lets the TRL adapter *preview* a batch (for the prefetching dataloader) without
    consuming it, and commit it only when it is really trained.

    >>> s = StageSampler([[0, 1, 2, 3], [4, 5]], batch_size=2, seed=0)
    >>> first = s.draw(0); sorted(first + s.draw(0))
    [0, 1, 2, 3]
    >>> s.peek(1) == s.draw(1), s.counts
    (True, [2, 1])
    """

    stage_indices: Sequence[Sequence[int]]
    batch_size: int
    seed: int = 0
    counts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        self.stage_indices = [list(x) for x in self.stage_indices]
        if not self.counts:
            self.counts = [0] * len(self.stage_indices)
        if len(self.counts) != len(self.stage_indices):
            raise ValueError("one count per stage expected")


    def peek(self, stage: int, ahead: int = 0) -> list[int]:
        """The batch that draw number counts[stage] + ahead of `stage` returns, without consuming it."""
        pool = self.stage_indices[stage]
        if not pool:
            raise ValueError(f"stage {stage} has no samples to draw from")
        n, size = self.counts[stage] + ahead, len(pool)
        pos = range(n * self.batch_size, (n + 1) * self.batch_size)
        return [pool[pass_order(self.seed, stage, p // size, size)[p % size]] for p in pos]

    def draw(self, stage: int) -> list[int]:
        """The next batch of `stage` (consumed)."""
        out = self.peek(stage)
        self.counts[stage] += 1
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "batch_size": self.batch_size, "seed": self.seed}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state["batch_size"] != self.batch_size or state["seed"] != self.seed:
            raise ValueError(f"sampler state has batch_size={state['batch_size']}, seed={state['seed']}; this "
                             f"sampler has {self.batch_size}, {self.seed}")
        if len(state["counts"]) != len(self.stage_indices):
            raise ValueError("sampler state has a different number of stages")
        self.counts = [int(c) for c in state["counts"]]
