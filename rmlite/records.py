"""The rows of a training run's record files, as types: what `rmlite.train` writes and the lab, the notebooks and
a resumed run read back (the files' names are in `rmlite.schema`).

Written by the training layer, read by layers below it (the lab reads `completions.jsonl`), so the types live here,
in the vocabulary, beside `Sample`. tests/test_run_records.py checks each against a row its writer made.

>>> sorted(CompletionRecord.__required_keys__)
['completion', 'id', 'rank', 'reward', 'stage', 'step', 'type']
"""

from __future__ import annotations

from typing import TypedDict


class _RewardCore(TypedDict):
    total: float


class RewardRecord(_RewardCore, total=False):
    """A completion's reward: `rmlite.reward.RewardBreakdown` as a dict, or only `total` for a reward that returns a
    plain number (your own reward function)."""

    format: float
    correctness: float
    detail: float
    weight: float
    alpha: float
    correct: bool
    parsed: str | None
    reason: str
    error: str | None


class CompletionRecord(TypedDict):
    """One row of `completions.jsonl` (`rmlite.train.grpo.AccuracyRecorder`; read by `rmlite.lab.read_completions`)."""

    step: int  # the optimizer step (TRL's global_step) it was sampled at
    stage: int  # the curriculum stage then (0 without a curriculum)
    rank: int  # the process that sampled it (each process appends its own)
    id: str | None  # the sample's id (None when the trainer passed no `id` column)
    type: str | None
    completion: str
    reward: RewardRecord


# One row of `metrics.jsonl` (`rmlite.train.runlog.RunLogger`): `step` and every number logged at that step. Its keys
# are TRL's and the reward functions' (`rewards/<name>/mean`, `accuracy/<type>`, `heldout/...`): an open set, so a
# mapping and not a TypedDict.
MetricsRecord = dict[str, float]


class TypeAccuracy(TypedDict):
    """One question type's line (or "all"'s) of `rmlite.evaluate.type_table`."""

    n: int
    accuracy: float
    se: float
    format_errors: float  # the share of answers that could not be read
    wrong: float  # the share of readable wrong answers


class GroupAccuracy(TypedDict):
    """Accuracy over one group of questions (one difficulty) and its SE."""

    accuracy: float
    se: float
    n: int


class HeldoutRecord(TypedDict):
    """One row of `heldout.jsonl` (`rmlite.train.heldout.HeldOutEval.row`; read back by its `restore`)."""

    step: int
    by_type: dict[str, TypeAccuracy]  # per question type, and "all"
    by_difficulty: dict[str, GroupAccuracy]  # per difficulty_question
    baselines: dict[str, dict[str, float]]  # baseline name → type (and "all") → its accuracy
    answers: dict[str, str]  # sample id → the greedy answer (re-scored when a run resumes)
