"""The perception → planning curriculum: stages, the paper's single ordered pass, and an adaptive stage switcher.

Pure Python (no torch, transformers or trl), so the stage logic is tested with synthetic score streams and the
TRL glue in `rmlite.train.curriculum_trainer` stays thin. Rooms: `stages` (`Stage`, `Curriculum`, the named
`CURRICULA`), `schedule` (the paper's mode: one pre-ordered data set, each stage shuffled inside, trained in a
single pass with `GRPOConfig(shuffle_dataset=False)`; `order_samples`), `adaptive` (a `StageSwitcher` promotes
when accuracy over the last k scored rollouts of the stage reaches a threshold, drawing batches from the current
stage with a `StageSampler`), and `modes` (each mode as an object the TRL glue asks instead of testing its name).

>>> get_curriculum("paper").names
('torf', 'counting23', 'counting1', 'planning')
"""

from rmlite.curriculum.adaptive import STATE_VERSION, StageSampler, StageSwitcher, Transition
from rmlite.curriculum.modes import CURRICULUM_MODES, AdaptiveMode, ScheduleMode, mode_of
from rmlite.curriculum.schedule import StageSpan, generation_geometry, order_samples, stage_at_step
from rmlite.curriculum.stages import (
    CURRICULA,
    DEFAULT_CURRICULUM,
    DIFFICULTY_FIELDS,
    FITS,
    MODES,
    STAGE_METRIC,
    Curriculum,
    Stage,
    get_curriculum,
    group_by_stage,
    stage_starts,
)

__all__ = ["STATE_VERSION", "StageSampler", "StageSwitcher", "Transition", "StageSpan",
           "generation_geometry", "order_samples", "stage_at_step", "CURRICULA", "DEFAULT_CURRICULUM",
           "DIFFICULTY_FIELDS", "FITS", "MODES", "Curriculum", "Stage", "get_curriculum", "group_by_stage",
           "STAGE_METRIC", "stage_starts", "CURRICULUM_MODES", "AdaptiveMode", "ScheduleMode", "mode_of"]
