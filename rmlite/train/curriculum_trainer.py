"""The thin TRL adapter for `rmlite.curriculum`: a TrainerCallback, a stage-following sampler, a GRPOTrainer subclass.

* schedule mode (the paper): `schedule_dataset` orders the data once; TRL's own RepeatSampler walks it with
  `shuffle_dataset=False`; the callback only logs the stage and checks the order on resume.
* adaptive mode: `CurriculumGRPOTrainer` replaces RepeatSampler by `CurriculumSampler` (same index pattern, chunks
  drawn from the switcher's current stage) and commits each generation batch in `_prepare_inputs`, the moment
  TRL generates it. The dataloader prefetches (accelerate keeps one batch ahead; transformers fetches a whole
  gradient-accumulation group), so a chunk previewed before a switch is replaced there: the first generation
  batch after a switch is always from the new stage. Single process only (the kit's one-GPU target).

It also logs rmlite's zero-spread metrics (`rmlite.train.spread`) from the rewards TRL gathered across processes.

Private TRL hooks overridden (same signatures in trl 1.15 and 1.16): `_get_train_sampler`, `_prepare_inputs`,
`_calculate_rewards`; and transformers' `_load_optimizer_and_scheduler`, only to let a CPU run under torchrun resume.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from typing import Any

from torch.utils.data import Sampler
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint
from trl import GRPOTrainer

from rmlite.curriculum import Curriculum, StageSampler, StageSpan, Transition, generation_geometry
from rmlite.curriculum.modes import ScheduleMode, mode_of
from rmlite.curriculum.stages import STAGE_METRIC as METRIC
from rmlite.schema import STATE_FILE
from rmlite.train.console import quiet_known_warnings
from rmlite.train.spread import spread_metrics


def trl_geometry(args: Any) -> tuple[int, int]:
    """(unique prompts per generation batch, optimizer steps per generation batch) for a GRPOConfig."""
    return generation_geometry(args.per_device_train_batch_size, args.num_generations,
                               args.gradient_accumulation_steps, args.steps_per_generation, args.num_iterations,
                               num_processes=args.world_size)


def schedule_dataset(dataset: Any, curriculum: Curriculum, args: Any, seed: int | None = None
                     ) -> tuple[Any, list[StageSpan]]:
    """The paper's ordered pass as a `datasets.Dataset` (`dataset.select(order)`) plus its stage spans.

    Refuses `shuffle_dataset=True`: TRL's RepeatSampler would then permute the whole set and erase the stages.
    """
    prompts, steps = trl_geometry(args)
    ordered, parts = ScheduleMode.prepare(dataset, curriculum, seed=args.seed if seed is None else seed,
                                          prompts=prompts, steps=steps, shuffle=getattr(args, "shuffle_dataset", False))
    return ordered, parts["spans"]


class CurriculumCallback(TrainerCallback):
    """Logs `curriculum/stage` at every logging step and saves/restores the curriculum state with checkpoints.

    Holds the curriculum's mode object (`rmlite.curriculum.modes`: schedule mode needs the `spans` of
    `schedule_dataset`; adaptive mode owns the `StageSwitcher` and the `StageSampler` built by
    `CurriculumGRPOTrainer`). The logged value is the stage of the data trained at the logged step. Added first in
    the callback list (the trainer does this) so reporters see the metric; `state.log_history` gets it either way.
    """

    def __init__(self, curriculum: Curriculum, spans: Sequence[StageSpan] | None = None,
                 sampler: StageSampler | None = None, steps_per_batch: int = 1):
        self.curriculum, self.steps_per_batch = curriculum, steps_per_batch
        self.mode = mode_of(curriculum.mode)(curriculum, spans=spans, sampler=sampler)

    spans = property(lambda self: self.mode.spans, doc="The scheduled stage spans ([] in adaptive mode).")
    sampler = property(lambda self: self.mode.sampler, doc="The adaptive mode's StageSampler (None: schedule).")
    switcher = property(lambda self: self.mode.switcher, doc="The adaptive mode's StageSwitcher (None: schedule).")
    trained_stage = property(lambda self: self.mode.trained_stage, doc="The stage of the batch being trained.")

    @property
    def transitions(self) -> list[Transition]:
        """Switches so far (adaptive) or all planned ones (schedule), both with `step` = the global_step of the
        old stage's last generation batch (0-based, as `trainer_state.global_step` in the reward functions). The new
        stage's first logged step (metrics.jsonl's 1-based `step`) is `step + steps_per_batch + 1`: `stage_starts`,
        where the curves mark it.
        """
        return self.mode.transitions(self.steps_per_batch)

    def stage_starts(self, until: int | None = None) -> list[tuple[int, int]]:
        """(first logged step, stage) of each stage switched to (schedule: planned), up to logged step `until`:
        where the console and the plot mark it."""
        starts = [(t.step + self.steps_per_batch + 1, t.to_stage) for t in self.transitions]
        return [s for s in starts if until is None or s[0] <= until]

    def stage_at(self, step: int) -> int:
        """The stage trained at global_step `step` (adaptive: the latest generation batch)."""
        return self.mode.stage_at(step)

    def observe(self, step: int, scores: Sequence[float | None], types: Sequence[str] | None) -> Transition | None:
        """Feed one scored generation batch to the switcher (adaptive mode)."""
        return self.mode.observe(step, scores, types)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        stage = self.stage_at(max(state.global_step - 1, 0))
        if logs is not None:
            logs[METRIC] = stage
        # Trainer.log appends to log_history before calling callbacks: patch that row too.
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1][METRIC] = stage

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
        if os.path.isdir(folder):
            self.save(folder, state.global_step)

    def state_dict(self, global_step: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.curriculum.mode, "curriculum": self.curriculum.name,
                               "global_step": global_step, "trained_stage": self.trained_stage,
                               "spans": [dataclasses.asdict(s) for s in self.spans]}
        return {**out, **self.mode.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["mode"] != self.curriculum.mode:
            raise ValueError(f"checkpoint is from a {state['mode']} curriculum, this one is {self.curriculum.mode}")
        self.mode.load_state_dict(state)

    def save(self, folder: str, global_step: int | None = None) -> str:
        """Write the state as JSON into `folder` (atomically); returns the file path."""
        path = os.path.join(folder, STATE_FILE)
        with open(path + ".tmp", "w") as f:
            json.dump(self.state_dict(global_step), f, indent=1)
        os.replace(path + ".tmp", path)
        return path

    def load(self, checkpoint_dir: str) -> None:
        """Restore from a checkpoint folder written by `on_save` (call before `trainer.train(resume_from_...)`)."""
        path = os.path.join(checkpoint_dir, STATE_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no curriculum state in {checkpoint_dir} ({STATE_FILE} missing)")
        with open(path) as f:
            self.load_state_dict(json.load(f))


class CurriculumSampler(Sampler[int]):
    """RepeatSampler's index pattern with each chunk drawn lazily from the current stage.

    Yields `chunk` (batch_size unique indices) as RepeatSampler does: every index `mini_repeat_count` times in a
    row, the chunk `repeat_count` times, `num_batches` chunks per epoch. Chunks are *previews* (not consumed):
    the trainer commits one per generation batch with `commit`, which reports whether the dataloader's rows
    are still the right ones (False after a switch that happened while the chunk sat in the prefetch).
    """

    def __init__(self, stages: StageSampler, current_stage: Callable[[], int], mini_repeat_count: int,
                 repeat_count: int, num_batches: int):
        self.stages, self.current_stage = stages, current_stage
        self.mini_repeat_count, self.repeat_count, self.num_batches = mini_repeat_count, repeat_count, num_batches
        self.pending: deque[tuple[int, int]] = deque()  # (stage, draw number) previewed, not yet committed

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.num_batches):
            # Every chunk still pending will be committed, in order, as the then-current stage: assuming no
            # further switch, that is this stage, so this chunk is its draw number counts + len(pending). After a
            # switch only the chunks previewed before it miss (one per switch); later previews already match.
            stage, ahead = self.current_stage(), len(self.pending)
            chunk = self.stages.peek(stage, ahead)
            self.pending.append((stage, self.stages.counts[stage] + ahead))
            for _ in range(self.repeat_count):
                for index in chunk:
                    yield from [index] * self.mini_repeat_count

    def __len__(self) -> int:
        return self.num_batches * self.stages.batch_size * self.mini_repeat_count * self.repeat_count

    def commit(self, stage: int) -> tuple[list[int], bool]:
        """Consume the next chunk of `stage`; returns it and whether the oldest preview was exactly that chunk."""
        preview = self.pending.popleft() if self.pending else None
        wanted = (stage, self.stages.counts[stage])
        return self.stages.draw(stage), preview == wanted


class CurriculumGRPOTrainer(GRPOTrainer):
    """GRPOTrainer that follows a `Curriculum` (schedule or adaptive), one trainer and one adapter for all stages.

    Args (besides GRPOTrainer's):
        curriculum: stages and mode.
        score_reward: which reward function (index or name) gives correctness per rollout for the adaptive
            switcher; it is wrapped, still weighted and logged as usual (weight 0 works: a diagnostic).
        curriculum_seed: shuffling inside stages (default: `args.seed`).

    Schedule mode reorders `train_dataset` (needs `shuffle_dataset=False`); adaptive mode draws from the current
    stage and applies each switch at the next generation batch. Adaptive checkpoints must fall on generation
    batch boundaries (`save_steps` a multiple of the steps per generation batch), where the sampler state is exact.
    """

    def __init__(self, model: Any, reward_funcs: Any, args: Any, train_dataset: Any, *, curriculum: Curriculum,
                 score_reward: int | str = 0, curriculum_seed: int | None = None, **kwargs: Any):
        seed = args.seed if curriculum_seed is None else curriculum_seed
        prompts, self.curriculum_steps_per_batch = trl_geometry(args)
        self.curriculum = curriculum
        self.curriculum_redraws = 0  # generation batches re-drawn because a switch beat the prefetch
        funcs = list(reward_funcs) if isinstance(reward_funcs, (list, tuple)) else [reward_funcs]
        spb = self.curriculum_steps_per_batch
        shuffle = getattr(args, "shuffle_dataset", False)
        train_dataset, parts = mode_of(curriculum.mode).prepare(train_dataset, curriculum, seed=seed, prompts=prompts,
                                                                steps=spb, shuffle=shuffle)
        callback = CurriculumCallback(curriculum, steps_per_batch=spb, **parts)
        mode = callback.mode
        funcs = mode.scored(funcs, score_reward)
        by_steps = getattr(args.save_strategy, "value", args.save_strategy) == "steps"
        mode.check_saving(args.save_steps if by_steps else None, spb)
        self.curriculum_callback = callback
        super().__init__(model, funcs, args, train_dataset, **kwargs)
        mode.check_processes(self.accelerator.num_processes)
        # First in the list, so reporting callbacks (wandb, tensorboard, the printer) see `curriculum/stage`.
        self.callback_handler.callbacks.insert(0, callback)

    def create_model_card(self, *args: Any, **kwargs: Any) -> None:
        """Off: TRL would write its boilerplate card ("a fine-tuned version of [None]") into the run folder at every
        checkpoint; `rmlite.train.train` writes a README.md that describes the run (`rmlite.train.runfolder`)."""

    @property
    def current_stage(self) -> int:
        """The stage of the data trained at the current step (what to label completions and metrics with).

        In adaptive mode the switcher may already have promoted (decided by this very batch's scores); its
        `curriculum_callback.switcher.current_stage` is the stage of the *next* generation batch.
        """
        return self.curriculum_callback.stage_at(self.state.global_step)

    def _get_train_sampler(self, dataset: Any = None) -> Sampler:
        if not self.curriculum_callback.mode.draws_batches:
            return super()._get_train_sampler(dataset)
        dataset = self.train_dataset if dataset is None else dataset
        cb = self.curriculum_callback
        self._curriculum_sampler = CurriculumSampler(
            cb.sampler, lambda: cb.switcher.current_stage, mini_repeat_count=self.num_generations,
            repeat_count=self.num_iterations * self.args.steps_per_generation,
            num_batches=len(dataset) // cb.sampler.batch_size)  # as many chunks per epoch as RepeatSampler
        return self._curriculum_sampler

    def _prepare_inputs(self, generation_batch: Any) -> Any:
        # Same "is this a generation step" test as GRPOTrainer._prepare_inputs (trl 1.15/1.16).
        generate_every = self.args.steps_per_generation * self.num_iterations
        mode = self.curriculum_callback.mode
        if mode.draws_batches and self.model.training and (self._step % generate_every == 0
                                                          or self._buffered_inputs is None):
            stage = mode.switcher.current_stage
            indices, fresh = self._curriculum_sampler.commit(stage)
            if not fresh:  # the prefetched chunk predates a switch (or a resume): fetch the committed one
                self.curriculum_redraws += 1
                generation_batch = [self.train_dataset[i] for i in indices for _ in range(self.num_generations)]
            mode.trained_stage = stage
        return super()._prepare_inputs(generation_batch)

    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        """TRL's rewards (gathered over processes), plus rmlite's zero-spread metrics computed from them per group."""
        from accelerate.utils import gather_object

        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        types = gather_object([x.get("type") for x in inputs])
        if self.model.training and len(types) == rewards_per_func.shape[0]:
            weights = self.reward_weights.to(rewards_per_func.device)
            totals = (rewards_per_func * weights.unsqueeze(0)).nansum(dim=1)
            totals[rewards_per_func.isnan().all(dim=1)] = float("nan")  # unscorable, as TRL treats them
            per_function = {name: rewards_per_func[:, i].tolist() for i, name in enumerate(self.reward_func_names)}
            for key, value in spread_metrics(per_function, totals.tolist(), types, self.num_generations).items():
                self._metrics["train"][key].append(value)
        return rewards_per_func

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        """As transformers', which loads the optimizer state onto `args.device` under several processes: on a CPU that
        is `cpu:<rank>`, a location torch.load cannot restore ("don't know how to restore data location"), so a
        torchrun job on CPUs could never resume. torch is taught that location first (`_load_cpu_ranks`)."""
        if checkpoint is not None and self.args.world_size > 1 and self.args.device.type == "cpu":
            _load_cpu_ranks()
        super()._load_optimizer_and_scheduler(checkpoint)

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any) -> Any:
        """As Trainer.train; on resume the curriculum state is restored from the checkpoint first.

        Adaptive mode turns off Trainer's batch skipping on resume (`ignore_data_skip`): the data position is
        the restored sampler state, and skipping would draw (and waste) chunks from it.
        """
        if resume_from_checkpoint:
            path = resume_from_checkpoint
            if path is True:
                path = get_last_checkpoint(self.args.output_dir)
                if path is None:
                    raise ValueError(f"no checkpoint found in {self.args.output_dir}")
            self.curriculum_callback.load(path)
            if self.curriculum_callback.mode.draws_batches:  # the restored sampler is the data position
                self.args.ignore_data_skip = True
            resume_from_checkpoint = path
        with quiet_known_warnings():  # TRL calls transformers' deprecated checkpointing names around each rollout
            return super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)


@cache
def _load_cpu_ranks() -> None:
    """Let torch.load restore storages tagged `cpu:<n>` (torch's own CPU deserializer accepts only "cpu"), once."""
    import torch

    def on_cpu(storage: Any, location: str) -> Any:
        return storage if re.fullmatch(r"cpu:\d+", location) else None

    torch.serialization.register_package(100, lambda storage: None, on_cpu)
