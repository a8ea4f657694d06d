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

from rmlite.curriculum import (
    Curriculum,
    StageSampler,
    StageSpan,
    StageSwitcher,
    Transition,
    generation_geometry,
    group_by_stage,
    order_samples,
    stage_at_step,
)
from rmlite.curriculum.stages import STAGE_METRIC as METRIC
from rmlite.schema import STATE_FILE
from rmlite.train.console import quiet_known_warnings
from rmlite.train.spread import spread_metrics


def trl_geometry(args: Any) -> tuple[int, int]:
    """(unique prompts per generation batch, optimizer steps per generation batch) for a GRPOConfig."""
    return generation_geometry(args.per_device_train_batch_size, args.num_generations,
                               args.gradient_accumulation_steps, args.steps_per_generation, args.num_iterations,
                               num_processes=args.world_size)


def _stage_rows(dataset: Any, curriculum: Curriculum) -> Any:
    # Read only the fields the curriculum needs: a full row may carry a lazily rendered map image.
    cols = ["type", curriculum.difficulty_field]
    if hasattr(dataset, "select_columns") and all(c in dataset.column_names for c in cols):
        return dataset.select_columns(cols)
    return dataset


def schedule_dataset(dataset: Any, curriculum: Curriculum, args: Any, seed: int | None = None
                     ) -> tuple[Any, list[StageSpan]]:
    """The paper's ordered pass as a `datasets.Dataset` (`dataset.select(order)`) plus its stage spans.

    Refuses `shuffle_dataset=True`: TRL's RepeatSampler would then permute the whole set and erase the stages.
    """
    if getattr(args, "shuffle_dataset", False):
        raise ValueError("a scheduled curriculum is one ordered pass: set GRPOConfig(shuffle_dataset=False)")
    prompts, steps = trl_geometry(args)
    order, spans = order_samples(_stage_rows(dataset, curriculum), curriculum, args.seed if seed is None else seed,
                                 prompts_per_batch=prompts, steps_per_batch=steps)
    return dataset.select(order), spans


class CurriculumCallback(TrainerCallback):
    """Logs `curriculum/stage` at every logging step and saves/restores the curriculum state with checkpoints.

    Schedule mode needs the `spans` of `schedule_dataset`; adaptive mode owns the `StageSwitcher` and the
    `StageSampler` (built by `CurriculumGRPOTrainer`). The logged value is the stage of the data trained at the
    logged step. Added first in the callback list (the trainer does this) so reporters see the metric;
    `state.log_history` gets it either way.
    """

    def __init__(self, curriculum: Curriculum, spans: Sequence[StageSpan] | None = None,
                 sampler: StageSampler | None = None, steps_per_batch: int = 1):
        if curriculum.mode == "schedule" and spans is None:
            raise ValueError("schedule mode needs the stage spans (see schedule_dataset)")
        if curriculum.mode == "adaptive" and sampler is None:
            raise ValueError("adaptive mode needs a StageSampler")
        self.curriculum, self.spans, self.sampler = curriculum, list(spans or []), sampler
        self.steps_per_batch = steps_per_batch
        self.switcher = StageSwitcher(curriculum) if curriculum.mode == "adaptive" else None
        self.trained_stage = 0  # adaptive: the stage of the generation batch being trained

    @property
    def transitions(self) -> list[Transition]:
        """Switches so far (adaptive) or all planned ones (schedule), both with `step` = the global_step of the
        old stage's last generation batch (0-based, as `trainer_state.global_step` in the reward functions). The new
        stage's first logged step (metrics.jsonl's 1-based `step`) is `step + steps_per_batch + 1`: `stage_starts`;
        `plot_stages(ax, t, offset=steps_per_batch)` marks it there.
        """
        if self.switcher is not None:
            return list(self.switcher.transitions)
        live = [s for s in self.spans if s.num_batches]
        return [Transition(b.start_step - self.steps_per_batch, a.index, b.index, "schedule", None)
                for a, b in zip(live, live[1:], strict=False)]

    def stage_starts(self, until: int | None = None) -> list[tuple[int, int]]:
        """(first logged step, stage) of each stage switched to (schedule: planned), up to logged step `until`:
        where the console and the plot mark it."""
        starts = [(t.step + self.steps_per_batch + 1, t.to_stage) for t in self.transitions]
        return [s for s in starts if until is None or s[0] <= until]

    def stage_at(self, step: int) -> int:
        """The stage trained at global_step `step` (adaptive: the latest generation batch)."""
        return self.trained_stage if self.switcher is not None else stage_at_step(self.spans, step)

    def observe(self, step: int, scores: Sequence[float | None], types: Sequence[str] | None) -> Transition | None:
        """Feed one scored generation batch to the switcher (adaptive mode)."""
        if self.switcher is None:
            raise ValueError("observe() is for adaptive mode")
        return self.switcher.update(step, scores, types)

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
        if self.switcher is not None:
            out["switcher"] = self.switcher.state_dict()
            out["sampler"] = self.sampler.state_dict()
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["mode"] != self.curriculum.mode:
            raise ValueError(f"checkpoint is from a {state['mode']} curriculum, this one is {self.curriculum.mode}")
        if self.switcher is None:
            saved = [StageSpan(**s) for s in state["spans"]]
            if saved != self.spans:
                raise ValueError("the scheduled stage spans differ from the checkpoint's (other data, seed, "
                                 "curriculum or batch geometry): resuming would repeat or skip stages")
            return
        self.switcher.load_state_dict(state["switcher"])
        self.sampler.load_state_dict(state["sampler"])
        self.trained_stage = state["trained_stage"]

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


class _ScoredReward:
    """Wraps the correctness reward: passes its values through to TRL and feeds them to the switcher.

    Keeps the wrapped function's name, so TRL still logs it as `rewards/<name>/mean`.
    """

    def __init__(self, func: Callable, callback: CurriculumCallback):
        self.func, self.callback = func, callback
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> list[float | None]:
        rewards = self.func(*args, **kwargs)
        self.callback.observe(kwargs["trainer_state"].global_step, rewards, kwargs.get("type"))
        return rewards


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
        if curriculum.mode == "schedule":
            train_dataset, spans = schedule_dataset(train_dataset, curriculum, args, seed)
            callback = CurriculumCallback(curriculum, spans=spans, steps_per_batch=self.curriculum_steps_per_batch)
        else:
            groups = group_by_stage(_stage_rows(train_dataset, curriculum), curriculum)
            empty = [curriculum.stages[k].name for k, g in enumerate(groups) if not g]
            if empty:
                raise ValueError(f"adaptive curriculum: no samples for stage(s) {empty}")
            callback = CurriculumCallback(curriculum, sampler=StageSampler(groups, prompts, seed),
                                          steps_per_batch=self.curriculum_steps_per_batch)
            names = [getattr(f, "__name__", type(f).__name__) for f in funcs]
            i = names.index(score_reward) if isinstance(score_reward, str) and score_reward in names else score_reward
            if not isinstance(i, int) or not 0 <= i < len(funcs) or isinstance(funcs[i], (str, os.PathLike)):
                raise ValueError(f"score_reward {score_reward!r} must name or index a callable reward in {names}")
            funcs[i] = _ScoredReward(funcs[i], callback)
            spb = self.curriculum_steps_per_batch
            by_steps = getattr(args.save_strategy, "value", args.save_strategy) == "steps"
            if by_steps and args.save_steps >= 1 and int(args.save_steps) % spb:
                raise ValueError(f"save_steps={args.save_steps} is not a multiple of the {spb} optimizer steps per "
                                 f"generation batch: an adaptive curriculum checkpoints at batch boundaries only")
        self.curriculum_callback = callback
        super().__init__(model, funcs, args, train_dataset, **kwargs)
        if curriculum.mode == "adaptive" and self.accelerator.num_processes > 1:
            raise ValueError("the adaptive curriculum runs in a single process (each process would score only "
                             "its own rollouts); use schedule mode for multi-GPU")
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
        if self.curriculum.mode != "adaptive":
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
        if (self.curriculum.mode == "adaptive" and self.model.training
                and (self._step % generate_every == 0 or self._buffered_inputs is None)):
            cb = self.curriculum_callback
            stage = cb.switcher.current_stage
            indices, fresh = self._curriculum_sampler.commit(stage)
            if not fresh:  # the prefetched chunk predates a switch (or a resume): fetch the committed one
                self.curriculum_redraws += 1
                generation_batch = [self.train_dataset[i] for i in indices for _ in range(self.num_generations)]
            cb.trained_stage = stage
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
            if self.curriculum.mode == "adaptive":
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
