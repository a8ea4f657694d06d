"""Schedule mode, the paper's single ordered pass: stages in order, each shuffled inside, with its step boundaries.

`order_samples` orders a data set once, for `GRPOConfig(shuffle_dataset=False)` ("global curriculum, local
stochasticity"); `generation_geometry` says how TRL's GRPOTrainer cuts that order into generation batches and
optimizer steps, so each `StageSpan` knows the steps its stage is trained at (`stage_at_step`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rmlite.curriculum.stages import FITS, Curriculum, group_by_stage, stage_rng
from rmlite.schema import Sample


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


def order_samples(samples: Sequence[Sample], curriculum: Curriculum, seed: int = 0, *,
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

    >>> from rmlite.curriculum.stages import get_curriculum
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
        rng = stage_rng(seed, k)
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
