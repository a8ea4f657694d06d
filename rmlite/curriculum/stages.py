"""What a curriculum is: stages of question types (and difficulties), how to move through them, the named ones.

`Stage` and `Curriculum` are validated frozen dataclasses; `get_curriculum` builds a named one (`CURRICULA`);
`group_by_stage` sorts samples into stages. How a curriculum is walked lives next door: `schedule` (the paper's
ordered pass) and `adaptive` (the stage switcher). Pure Python: no torch, transformers or trl.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rmlite.records import MetricsRecord
from rmlite.schema import ANSWER_KIND, DIFFICULTIES, PERCEPTION_TYPES, Sample

STAGE_METRIC = "curriculum/stage"  # the stage of the data trained at a logged step (the training callback logs it)


def stage_starts(rows: Iterable[MetricsRecord]) -> list[tuple[int, int]]:
    """(step, stage) of the first logged row and of every row whose `curriculum/stage` differs from the row before:
    where the curves, the console and the notebooks mark a stage switch.

    >>> stage_starts([{"step": 1, "curriculum/stage": 0}, {"step": 2, "curriculum/stage": 0},
    ...               {"step": 3, "curriculum/stage": 1}])
    [(1, 0), (3, 1)]
    """
    out: list[tuple[int, int]] = []
    for r in rows:
        stage = r.get(STAGE_METRIC)
        if stage is not None and (not out or int(stage) != out[-1][1]):
            out.append((int(r["step"]), int(stage)))
    return out

MODES = ("schedule", "adaptive")
FITS = ("none", "truncate", "pad")
DIFFICULTY_FIELDS = ("difficulty_question", "difficulty_city")


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
            if t not in ANSWER_KIND:  # read now: a type registered at run time is a known type
                raise ValueError(f"stage {self.name!r}: unknown question type {t!r}; expected one of "
                                 f"{tuple(ANSWER_KIND)}")
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
        name: one of `CURRICULA` or your own label (stored in checkpoints to catch a resume with another curriculum).
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

    def stage_of(self, sample: Sample) -> int | None:
        """The index of the stage a sample belongs to, or None if no stage takes it (it is left out).

        A sample with an unknown type or difficulty raises: that is a malformed data set, not a choice.

        >>> get_curriculum("paper").stage_of({"type": "counting1", "difficulty_question": "hard"})
        2
        """
        typ = sample.get("type")
        diff = sample.get(self.difficulty_field)
        if typ not in ANSWER_KIND:
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


_STAGES: dict[str, tuple[Stage, ...]] = {
    # The released RewardMap order (rl_dataset.py): TorF → Counting2+3 → Counting1 → planning.
    "paper": (Stage("torf", ("torf1", "torf2")), Stage("counting23", ("counting2", "counting3")),
              Stage("counting1", ("counting1",)), Stage("planning", ("planning",))),
    # Table 5's "coarse-grained multi-stage": all of ReasonMap-Plus, then planning.
    "coarse": (Stage("perception", PERCEPTION_TYPES), Stage("planning", ("planning",))),
    # The commented-out fine-grained alternative in the released code.
    "fine": tuple(Stage(t, (t,)) for t in ("torf1", "torf2", "counting3", "counting2", "counting1", "planning")),
    # The baseline: one stage, everything shuffled together (every type registered when the curriculum is made).
    "none": (),
}
CURRICULA = tuple(_STAGES)  # the named curricula, for `get_curriculum` and the command line
DEFAULT_CURRICULUM = "paper"


def get_curriculum(name: str = DEFAULT_CURRICULUM, **overrides: Any) -> Curriculum:
    """A named curriculum (one of `CURRICULA`: "paper", "coarse", "fine", "none") with optional field overrides.

    >>> c = get_curriculum("coarse", mode="adaptive", threshold=0.8)
    >>> (c.names, c.mode, c.threshold)
    (('perception', 'planning'), 'adaptive', 0.8)
    """
    if name not in _STAGES:
        raise ValueError(f"unknown curriculum {name!r}; expected one of {CURRICULA}")
    stages = _STAGES[name] or (Stage("all", tuple(ANSWER_KIND)),)
    return Curriculum(name=name, stages=stages, **overrides)


def group_by_stage(samples: Iterable[Sample], curriculum: Curriculum) -> list[list[int]]:
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


def stage_rng(seed: int, stage: int, epoch: int = 0) -> random.Random:
    """The shuffling RNG of one stage (and pass over it), shared by the ordered pass and the stage sampler."""
    # A string seed is hashed deterministically (unlike tuples), and one RNG per stage keeps a stage's order
    # independent of the others' sizes.
    return random.Random(f"rmlite-curriculum:{seed}:{stage}:{epoch}")
