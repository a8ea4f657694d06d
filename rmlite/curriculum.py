"""The perception → planning curriculum: stages, the paper's single ordered pass, and an adaptive stage switcher.

Pure Python (no torch, transformers or trl), so the stage logic is tested with synthetic score streams and the
TRL glue in `rmlite.train.curriculum_trainer` stays thin. Two modes:

* **schedule** (the paper): one pre-ordered data set, each stage shuffled inside ("global curriculum, local
  stochasticity"), trained in a single pass with `GRPOConfig(shuffle_dataset=False)`; `order_samples`.
* **adaptive**: a `StageSwitcher` promotes when accuracy over the last k scored rollouts of the stage reaches a
  threshold (reasoning-gym's last-k coaching), drawing batches from the current stage with a `StageSampler`.

Left out: demotion and mixing earlier stages back in ("review"); the released RewardMap code does neither.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rmlite.schema import DIFFICULTIES, PERCEPTION_TYPES, QUESTION_TYPES

MODES = ("schedule", "adaptive")
FITS = ("none", "truncate", "pad")
DIFFICULTY_FIELDS = ("difficulty_question", "difficulty_city")
STATE_VERSION = 1


@dataclass(frozen=True)
class Stage:
    """One curriculum stage: the question types (and difficulties) whose samples it trains on.

    >>> Stage("torf", ("torf1", "torf2")).difficulties
    ('easy', 'middle', 'hard')
    """

    name: str
    types: tuple[str, ...]
    difficulties: tuple[str, ...] = DIFFICULTIES

    def __post_init__(self) -> None:
        # Accept lists for convenience but store tuples, so stages stay hashable and truly frozen.
        object.__setattr__(self, "types", tuple(self.types))
        object.__setattr__(self, "difficulties", tuple(self.difficulties))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"a stage needs a non-empty name, got {self.name!r}")
        if not self.types:
            raise ValueError(f"stage {self.name!r}: no question types")
        for t in self.types:
            if t not in QUESTION_TYPES:
                raise ValueError(f"stage {self.name!r}: unknown question type {t!r}; expected one of {QUESTION_TYPES}")
        if not self.difficulties:
            raise ValueError(f"stage {self.name!r}: no difficulties")
        for d in self.difficulties:
            if d not in DIFFICULTIES:
                raise ValueError(f"stage {self.name!r}: unknown difficulty {d!r}; expected one of {DIFFICULTIES}")
        if len(set(self.types)) != len(self.types) or len(set(self.difficulties)) != len(self.difficulties):
            raise ValueError(f"stage {self.name!r}: repeated type or difficulty")


@dataclass(frozen=True)
class Curriculum:
    """Ordered stages plus how to move through them.

    Args:
        name: preset name or your own label (stored in checkpoints to catch a resume with another curriculum).
        stages: easy → hard; each (type, difficulty) pair may belong to one stage only, so every sample has
            exactly one stage.
        mode: "schedule" (one ordered pass, the paper) or "adaptive" (`StageSwitcher`).
        difficulty_field: the sample field that `Stage.difficulties` filters on.
        window: adaptive: k, the number of last scored rollouts of the stage whose mean accuracy is compared.
        threshold: adaptive: promote when that mean reaches this value (and the window is full).
        min_steps: adaptive: a stage is kept for at least this many steps after its first scored batch.
        max_steps: adaptive: promotion is forced after this many steps (None: never forced).
        fit: schedule: make each stage a whole number of generation batches by "truncate" (drop its last
            partial batch), "pad" (repeat a few of its own samples) or "none" (a batch may mix two stages).

    >>> get_curriculum("paper").names
    ('torf', 'counting23', 'counting1', 'planning')
    >>> get_curriculum("paper", mode="adaptive", window=32).window
    32
    """

    name: str
    stages: tuple[Stage, ...]
    mode: str = "schedule"
    difficulty_field: str = "difficulty_question"
    window: int = 64
    threshold: float = 0.7
    min_steps: int = 0
    max_steps: int | None = None
    # "truncate" keeps the paper's "each sample at most once" single pass; it drops < one batch per stage.
    fit: str = "truncate"

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise ValueError(f"curriculum {self.name!r}: needs at least one stage")
        for s in self.stages:
            if not isinstance(s, Stage):
                raise ValueError(f"curriculum {self.name!r}: stages must be Stage objects, got {type(s).__name__}")
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"curriculum {self.name!r}: stage names must be unique, got {names}")
        owner: dict[tuple[str, str], str] = {}
        for s in self.stages:
            for t in s.types:
                for d in s.difficulties:
                    if (t, d) in owner:
                        raise ValueError(f"curriculum {self.name!r}: ({t}, {d}) is in both stage {owner[(t, d)]!r} "
                                         f"and stage {s.name!r}; a sample must have exactly one stage")
                    owner[(t, d)] = s.name
        if self.mode not in MODES:
            raise ValueError(f"curriculum {self.name!r}: mode must be one of {MODES}, got {self.mode!r}")
        if self.difficulty_field not in DIFFICULTY_FIELDS:
            raise ValueError(f"curriculum {self.name!r}: difficulty_field must be one of {DIFFICULTY_FIELDS}, "
                             f"got {self.difficulty_field!r}")
        if not isinstance(self.window, int) or self.window < 1:
            raise ValueError(f"curriculum {self.name!r}: window must be an int >= 1, got {self.window!r}")
        if not 0.0 < float(self.threshold) <= 1.0:
            raise ValueError(f"curriculum {self.name!r}: threshold must be in (0, 1], got {self.threshold!r}")
        if not isinstance(self.min_steps, int) or self.min_steps < 0:
            raise ValueError(f"curriculum {self.name!r}: min_steps must be an int >= 0, got {self.min_steps!r}")
        lowest = max(1, self.min_steps)
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < lowest):
            raise ValueError(f"curriculum {self.name!r}: max_steps must be None or an int >= max(1, min_steps="
                             f"{self.min_steps}), got {self.max_steps!r}")
        if self.fit not in FITS:
            raise ValueError(f"curriculum {self.name!r}: fit must be one of {FITS}, got {self.fit!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def stage_of(self, sample: Mapping[str, Any]) -> int | None:
        """The index of the stage a sample belongs to, or None if no stage takes it (it is left out).

        A sample with an unknown type or difficulty raises: that is a malformed data set, not a choice.

        >>> get_curriculum("paper").stage_of({"type": "counting1", "difficulty_question": "hard"})
        2
        """
        typ = sample.get("type")
        diff = sample.get(self.difficulty_field)
        if typ not in QUESTION_TYPES:
            raise ValueError(f"sample {sample.get('id', '<no id>')}: unknown type {typ!r}")
        if diff not in DIFFICULTIES:
            raise ValueError(f"sample {sample.get('id', '<no id>')}: {self.difficulty_field} {diff!r} "
                             f"not in {DIFFICULTIES}")
        for i, s in enumerate(self.stages):
            if typ in s.types and diff in s.difficulties:
                return i
        return None

    def replace(self, **overrides: Any) -> Curriculum:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **overrides)


_PRESETS: dict[str, tuple[Stage, ...]] = {
    # The released RewardMap order (rl_dataset.py): TorF → Counting2+3 → Counting1 → planning.
    "paper": (Stage("torf", ("torf1", "torf2")), Stage("counting23", ("counting2", "counting3")),
              Stage("counting1", ("counting1",)), Stage("planning", ("planning",))),
    # Table 5's "coarse-grained multi-stage": all of ReasonMap-Plus, then planning.
    "coarse": (Stage("perception", PERCEPTION_TYPES), Stage("planning", ("planning",))),
    # The commented-out fine-grained alternative in the released code.
    "fine": tuple(Stage(t, (t,)) for t in ("torf1", "torf2", "counting3", "counting2", "counting1", "planning")),
    # The baseline: one stage, everything shuffled together.
    "none": (Stage("all", QUESTION_TYPES),),
}
PRESETS = tuple(_PRESETS)


def get_curriculum(name: str = "paper", **overrides: Any) -> Curriculum:
    """A preset curriculum ("paper", "coarse", "fine", "none") with optional field overrides.

    >>> c = get_curriculum("coarse", mode="adaptive", threshold=0.8)
    >>> (c.names, c.mode, c.threshold)
    (('perception', 'planning'), 'adaptive', 0.8)
    """
    if name not in _PRESETS:
        raise ValueError(f"unknown curriculum {name!r}; presets are {PRESETS}")
    return Curriculum(name=name, stages=_PRESETS[name], **overrides)


def group_by_stage(samples: Iterable[Mapping[str, Any]], curriculum: Curriculum) -> list[list[int]]:
    """Sample positions per stage, in data-set order (samples no stage takes are left out).

    >>> rows = [{"type": t, "difficulty_question": "easy"} for t in ("planning", "torf1", "counting1", "torf2")]
    >>> group_by_stage(rows, get_curriculum("paper"))
    [[1, 3], [], [2], [0]]
    """
    groups: list[list[int]] = [[] for _ in curriculum.stages]
    for i, s in enumerate(samples):
        k = curriculum.stage_of(s)
        if k is not None:
            groups[k].append(i)
    return groups


def _stage_rng(seed: int, stage: int, epoch: int = 0) -> random.Random:
    # A string seed is hashed deterministically (unlike tuples), and one RNG per stage keeps a stage's order
    # independent of the others' sizes.
    return random.Random(f"rmlite-curriculum:{seed}:{stage}:{epoch}")


def generation_geometry(per_device_batch: int, num_generations: int, gradient_accumulation_steps: int = 1,
                        steps_per_generation: int | None = None, num_iterations: int = 1,
                        num_processes: int = 1) -> tuple[int, int]:
    """(unique prompts per generation batch, optimizer steps per generation batch), as TRL's GRPOTrainer batches.

    Mirrors trl 1.15/1.16: `generation_batch_size = per_device_batch × num_processes × steps_per_generation`
    completions (steps_per_generation defaults to gradient_accumulation_steps), i.e. that / num_generations unique
    prompts (RepeatSampler's chunk); the chunk is generated once and reused for
    `steps_per_generation × num_iterations` micro-steps, i.e. that / gradient_accumulation_steps optimizer steps.
    Stage boundaries are exact only on whole optimizer steps, so a fractional value raises.

    >>> generation_geometry(per_device_batch=4, num_generations=4, gradient_accumulation_steps=4)
    (4, 1)
    >>> generation_geometry(2, 2, gradient_accumulation_steps=2, num_iterations=2)
    (2, 2)
    """
    spg = gradient_accumulation_steps if steps_per_generation is None else steps_per_generation
    for label, v in (("per_device_batch", per_device_batch), ("num_generations", num_generations),
                     ("gradient_accumulation_steps", gradient_accumulation_steps), ("steps_per_generation", spg),
                     ("num_iterations", num_iterations), ("num_processes", num_processes)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{label} must be an int >= 1, got {v!r}")
    completions = per_device_batch * num_processes * spg
    if completions % num_generations:
        raise ValueError(f"generation batch of {completions} completions is not divisible by num_generations="
                         f"{num_generations} (TRL refuses this too)")
    micro = spg * num_iterations
    if micro % gradient_accumulation_steps:
        raise ValueError(f"a generation batch lasts steps_per_generation × num_iterations = {micro} micro-steps, "
                         f"not a whole number of optimizer steps (gradient_accumulation_steps="
                         f"{gradient_accumulation_steps}); stage switches could not fall on a step")
    return completions // num_generations, micro // gradient_accumulation_steps


@dataclass(frozen=True)
class StageSpan:
    """Where one stage sits in the ordered pass: positions [start, stop) of `order`, its generation batches
    [first_batch, first_batch + num_batches) and optimizer steps [start_step, stop_step).

    `start_step` is the value of `trainer.state.global_step` when its first batch is generated (0-based: the
    number of optimizer steps already done), the value a reward function sees in `trainer_state.global_step`.
    """

    index: int
    name: str
    start: int
    stop: int
    first_batch: int
    num_batches: int
    start_step: int
    stop_step: int

    @property
    def num_samples(self) -> int:
        return self.stop - self.start


def order_samples(samples: Sequence[Mapping[str, Any]], curriculum: Curriculum, seed: int = 0, *,
                  prompts_per_batch: int = 1, steps_per_batch: int = 1,
                  fit: str | None = None) -> tuple[list[int], list[StageSpan]]:
    """The paper's single ordered pass: stages in order, each shuffled inside; with its stage boundaries.

    Use with `dataset.select(order)` and `GRPOConfig(shuffle_dataset=False)`: TRL's RepeatSampler then walks the
    order in chunks of `prompts_per_batch` unique prompts (one generation batch each, see `generation_geometry`),
    so a stage that is a whole number of chunks starts exactly at `span.start_step`. RepeatSampler drops the last
    partial chunk of the pass (drop_last).

    Args:
        samples: rows with `type` and the curriculum's difficulty field (a `datasets.Dataset` works).
        curriculum: any mode; only stages and `fit` are read.
        seed: shuffles inside each stage (deterministic).
        prompts_per_batch, steps_per_batch: from `generation_geometry`.
        fit: overrides `curriculum.fit` ("truncate", "pad" or "none"; see `Curriculum`).

    Returns:
        (order, spans): positions into `samples`, and one `StageSpan` per stage (empty stages included).

    >>> rows = [{"type": t, "difficulty_question": "easy"} for t in ["planning"] * 3 + ["torf1"] * 5]
    >>> order, spans = order_samples(rows, get_curriculum("coarse"), prompts_per_batch=2, fit="truncate")
    >>> [rows[i]["type"] for i in order]
    ['torf1', 'torf1', 'torf1', 'torf1', 'planning', 'planning']
    >>> [(s.name, s.start_step, s.stop_step) for s in spans]
    [('perception', 0, 2), ('planning', 2, 3)]
    """
    fit = curriculum.fit if fit is None else fit
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    for label, v in (("prompts_per_batch", prompts_per_batch), ("steps_per_batch", steps_per_batch)):
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{label} must be an int >= 1, got {v!r}")
    order: list[int] = []
    spans: list[StageSpan] = []
    for k, idx in enumerate(group_by_stage(samples, curriculum)):
        rng = _stage_rng(seed, k)
        idx = list(idx)
        rng.shuffle(idx)  # local stochasticity: no difficulty sort inside a stage
        extra = len(idx) % prompts_per_batch
        if fit == "truncate" and extra:
            idx = idx[: len(idx) - extra]
        elif fit == "pad" and extra and idx:
            need = prompts_per_batch - extra
            idx += [idx[j % len(idx)] for j in range(need)]  # repeat the stage's own first (random) samples
        start = len(order)
        order += idx
        first = start // prompts_per_batch
        # With fit="none" a stage may start inside a batch; the span then covers every batch it appears in.
        last = -(-len(order) // prompts_per_batch)
        nb = last - first if idx else 0
        spans.append(StageSpan(k, curriculum.stages[k].name, start, len(order), first, nb,
                               first * steps_per_batch, (first + nb) * steps_per_batch))
    return order, spans


def stage_at_step(spans: Sequence[StageSpan], step: int) -> int:
    """The stage trained at optimizer step `step` (0-based global_step) of a scheduled pass.

    Past the end (a second epoch over the same order) it wraps around like the data does.

    >>> spans = [StageSpan(0, "a", 0, 4, 0, 2, 0, 2), StageSpan(1, "b", 4, 6, 2, 1, 2, 3)]
    >>> [stage_at_step(spans, s) for s in range(5)]
    [0, 0, 1, 0, 0]
    """
    live = [s for s in spans if s.num_batches]
    if not live:
        raise ValueError("no stage has any generation batch")
    total = live[-1].stop_step
    step = step % total if total else 0
    for s in live:
        if s.start_step <= step < s.stop_step:
            return s.index
    return live[-1].index


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
        self._perm_cache: dict[tuple[int, int], list[int]] = {}

    def _perm(self, stage: int, epoch: int) -> list[int]:
        key = (stage, epoch)
        if key not in self._perm_cache:
            idx = list(self.stage_indices[stage])
            _stage_rng(self.seed, stage, epoch).shuffle(idx)
            if len(self._perm_cache) > 64:
                self._perm_cache.clear()
            self._perm_cache[key] = idx
        return self._perm_cache[key]

    def peek(self, stage: int, ahead: int = 0) -> list[int]:
        """The batch that draw number counts[stage] + ahead of `stage` returns, without consuming it."""
        pool = self.stage_indices[stage]
        if not pool:
            raise ValueError(f"stage {stage} has no samples to draw from")
        n = self.counts[stage] + ahead
        pos = range(n * self.batch_size, (n + 1) * self.batch_size)
        return [self._perm(stage, p // len(pool))[p % len(pool)] for p in pos]

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


def plot_stages(ax: Any, transitions: Sequence[Transition | StageSpan], names: Sequence[str] | None = None,
                offset: int = 1, **line_kw: Any) -> list[Any]:
    """Mark stage boundaries on a matplotlib axis whose x is the optimizer step; returns the lines drawn.

    Takes the switcher's `Transition`s (adaptive) or the `StageSpan`s of a scheduled pass. A switch decided
    by the batch scored at step t takes effect with the next generation batch, at t + steps per generation batch:
    pass that as `offset` (1 with TRL's defaults), so the line sits where the new stage's data starts.
    """
    import matplotlib.transforms as mtransforms  # lazily: the core never needs matplotlib at import

    kw = {"color": "0.4", "linestyle": "--", "linewidth": 1.0, **line_kw}
    trans = mtransforms.blended_transform_factory(ax.transData, ax.transAxes)
    lines = []
    for t in transitions:
        if isinstance(t, StageSpan):
            if t.index == 0 or not t.num_batches:
                continue
            x, label = t.start_step, t.name
        else:
            x, label = t.step + offset, (names[t.to_stage] if names else f"stage {t.to_stage}")
        lines.append(ax.axvline(x, **kw))
        ax.text(x, 0.98, f" {label}", transform=trans, va="top", ha="left", fontsize="small", color=kw["color"])
    return lines
