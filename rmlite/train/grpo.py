"""GRPO training: TRL's GRPOTrainer with rmlite's reward components, the curriculum, logs and checkpoints.

One trainer and one LoRA adapter for all stages. What this module adds to TRL:

* reward: one TRL reward function per component (`format_reward`, `correctness_reward`, `detail_reward`, each
  already multiplied by W), plus a weight-0 `accuracy` diagnostic that logs accuracy per question type and
  writes one JSONL row per completion (step, stage, sample id, completion, breakdown) for the reward lab;
* advantage scaling `"batch"` by default: W is constant within a GRPO group, so TRL's default per-group
  std scaling cancels it exactly (see `rmlite.lab.advantages`); batch scaling keeps the paper's difficulty weighting;
* the data set is validated before step 1, so a malformed sample stops training at once, never mid-run;
* rmlite's zero-spread metrics (`zero_spread/...`, `rmlite.train.spread`), computed per group from the rewards;
  TRL's `frac_reward_zero_std` is kept under its own name (it tests the batch's spread under batch scaling);
* an optional held-out evaluation during training (`heldout=`, `rmlite.train.heldout`);
* per-step metrics to `metrics.jsonl` (+ CSV and a plot with stage boundaries), checkpoints with the curriculum
  state, and `resume=True` to continue after an interruption: the records are cut back to the checkpoint first
  (`rmlite.train.runfolder.cut_records`), so they read as those of an uninterrupted run; a finished run is left alone;
* a console a person can read (`rmlite.train.console`: one progress bar instead of TRL's metrics dicts, known-harmless
  warnings silenced) and a run folder that describes the run (`rmlite.train.runfolder`: never replaced without
  `overwrite=True`, a README.md instead of TRL's model card).

Under several processes (torchrun, accelerate) the run files (`metrics.*`, `curriculum.json`, `run.json`) are written
by the main process only; every process appends its own rollouts to `completions.jsonl`, each row with its `rank`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlite.curriculum import DEFAULT_CURRICULUM, Curriculum, get_curriculum
from rmlite.curriculum.stages import stage_starts
from rmlite.models.gpu import is_oom, native_bf16, oom_advice
from rmlite.reward.config import PAPER, RewardBreakdown, RewardConfig
from rmlite.reward.functions import as_total, completion_text, load_reward, trl_reward_funcs
from rmlite.reward.score import score
from rmlite.schema import ADAPTER_DIR, COMPLETIONS_FILE, CURRICULUM_FILE, validate_samples
from rmlite.train import console, runfolder
from rmlite.train.heldout import HeldOutEval
from rmlite.train.runlog import ACCURACY_REWARD, RunLogger, plot_metrics, read_metrics  # noqa: F401  (plot_metrics: public here too)
from rmlite.train.settings import GRPOSettings, card_settings, cpu_tiny_settings  # noqa: F401  (public here too)


def choose_precision(model_dtypes: set[str], *, native_bf16: bool, use_cpu: bool) -> tuple[bool, bool]:
    """(bf16, fp16) for GRPOConfig: fp32 on CPU; else the model's own half type (unsloth loads fp16 on a T4 and
    refuses a bf16 trainer); else bf16 where the card has it natively, fp16 elsewhere.

    >>> choose_precision({"float16", "float32"}, native_bf16=True, use_cpu=False)
    (False, True)
    >>> choose_precision({"float32", "uint8"}, native_bf16=False, use_cpu=False)  # 4-bit base, fp32 LoRA, a T4
    (False, True)
    """
    if use_cpu:
        return False, False
    if "bfloat16" in model_dtypes and native_bf16:
        return True, False
    if "float16" in model_dtypes or "bfloat16" in model_dtypes:
        return False, True
    return native_bf16, not native_bf16


def model_dtypes(model) -> set[str]:
    """The dtypes of a model's parameters, as names ("float16", "uint8" for packed 4-bit weights, ...)."""
    return {str(p.dtype).removeprefix("torch.") for p in model.parameters()} if model is not None else set()


# GRPOSettings fields that reach GRPOConfig resolved, not as given (every other field passes on under its own name):
# precision and the CPU switch (None: chosen from the model and the hardware), checkpointing (its GRPOConfig name
# depends on the transformers version, `_checkpointing`) and epsilon_high (None: the lower clip, as a number, since
# unsloth turns None into 0.28 for "dapo").
RESOLVED = ("bf16", "fp16", "use_cpu", "gradient_checkpointing", "epsilon_high")
RMLITE_ONLY = ("extra",)  # not a GRPOConfig field: its items are GRPOConfig fields, merged last
# GRPOConfig fields every rmlite run sets whatever the settings: the curriculum orders the data set, extra columns
# reach the reward functions, checkpoints on `save_steps`, no logging service, rmlite's console draws the bar.
FIXED = {"shuffle_dataset": False, "report_to": "none", "remove_unused_columns": False, "save_strategy": "steps",
         "disable_tqdm": False}


def grpo_config(settings: GRPOSettings, model=None):
    """A TRL GRPOConfig from settings, with precision chosen from the model and the hardware when not given."""
    import torch
    from trl import GRPOConfig

    cuda = torch.cuda.is_available()
    use_cpu = (not cuda) if settings.use_cpu is None else settings.use_cpu
    bf16, fp16 = settings.bf16, settings.fp16
    if bf16 is None and fp16 is None:
        bf16, fp16 = choose_precision(model_dtypes(model), native_bf16=native_bf16(), use_cpu=use_cpu)
    same = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
            if f.name not in RESOLVED + RMLITE_ONLY}
    epsilon_high = settings.epsilon_high if settings.epsilon_high is not None else settings.extra.get("epsilon", 0.2)
    kw = {**same, **FIXED, "bf16": bool(bf16), "fp16": bool(fp16), "use_cpu": use_cpu, "epsilon_high": epsilon_high,
          **_checkpointing(GRPOConfig, on=settings.gradient_checkpointing), **settings.extra}
    return GRPOConfig(**kw)


def _checkpointing(config_class: type, *, on: bool) -> dict:
    """transformers 5.24 renamed `gradient_checkpointing` to `activation_checkpointing` (the old name warns); 5.17,
    the unsloth pin, has only the old one."""
    names = {f.name for f in dataclasses.fields(config_class)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": on}


def image_token_ids(model) -> list[int]:
    """The image/video placeholder token ids of a VLM. A rollout that samples one breaks the next forward pass
    ("Image features and image tokens do not match"); trl 1.16 suppresses the image token itself, trl 1.15 (the
    unsloth pin) does not, so rmlite passes them as `suppress_tokens` on both."""
    cfg = getattr(model, "config", None)
    ids = [getattr(cfg, name, None) for name in ("image_token_id", "video_token_id")]
    return sorted({i for i in ids if isinstance(i, int)})


def with_suppressed_image_tokens(model, extra: dict) -> dict:
    """GRPOConfig extras with the model's image/video token ids added to `generation_kwargs["suppress_tokens"]`;
    unchanged (with a warning) when rollouts come from vLLM, whose sampling parameters have no such field."""
    suppress = image_token_ids(model)
    vllm = bool(extra.get("use_vllm")) or hasattr(model, "vllm_engine")  # unsloth turns use_vllm on by itself
    if suppress and vllm:
        warnings.warn("rollouts generated by vLLM: rmlite cannot suppress the image placeholder token there; a "
                      "sampled one stops training with 'Image features and image tokens do not match'",
                      UserWarning, stacklevel=3)
    if not suppress or vllm:
        return extra
    gen = dict(extra.get("generation_kwargs") or {})
    gen["suppress_tokens"] = sorted(set(gen.get("suppress_tokens") or []) | set(suppress))
    return {**extra, "generation_kwargs": gen}


def _check_unsloth_model(model) -> None:
    """Once unsloth is imported it has replaced TRL's GRPOTrainer with its own, which calls `model.for_training()`:
    a model loaded without unsloth fails deep inside. Say so up front."""
    if "unsloth" in sys.modules and model is not None and not hasattr(model, "for_training"):
        import torch

        if torch.cuda.is_available():
            raise ValueError("unsloth is imported in this process and has patched TRL's GRPOTrainer, which only "
                             "trains models loaded by unsloth: load with rmlite.models.load_model(backend='auto' or "
                             "'unsloth'), or restart without importing unsloth to use backend='transformers'.")


class AccuracyRecorder:
    """Weight-0 TRL reward `accuracy`: returns correctness (0/1) per completion, logs accuracy per question type,
    and appends one JSONL row per completion. Also the score the adaptive curriculum reads."""

    __name__ = ACCURACY_REWARD

    def __init__(self, reward: Any, path: Path | None, stage_of_step=None, rank: int = 0):
        self.reward = reward
        self.reward_is_paper_preset = getattr(getattr(reward, "config", None), "name", None) == PAPER.name
        self.path = path
        self.stage_of_step = stage_of_step
        self.rank = rank  # this process's index: every process appends its own rollouts

    def __call__(self, prompts: Any = None, completions: list | None = None, completion_ids: Any = None,
                 **columns: Any) -> list[float]:
        completions = list(completions or [])
        n = len(completions)
        state = columns.get("trainer_state")
        step = int(getattr(state, "global_step", 0) or 0)
        stage = self.stage_of_step(step) if self.stage_of_step else 0
        rows = [{k: v[i] for k, v in columns.items() if isinstance(v, list) and len(v) == n and k != "image"}
                for i in range(n)]
        out, per_type = [], {}
        lines = []
        for c, r in zip(completions, rows, strict=True):
            text = completion_text(c)
            text = text if isinstance(text, str) else ""
            b = self.reward(text, r)
            # Accuracy is ReasonMap correctness whatever reward trains: the paper preset's (lenient) check.
            correct = float(b.correct if isinstance(b, RewardBreakdown) and self.reward_is_paper_preset
                            else score(text, r).correct)
            out.append(correct)
            per_type.setdefault(r.get("type", "?"), []).append(correct)
            if self.path is not None:
                bd = dataclasses.asdict(b) if isinstance(b, RewardBreakdown) else {"total": as_total(b)}
                lines.append(json.dumps({"step": step, "stage": stage, "rank": self.rank, "id": r.get("id"),
                                         "type": r.get("type"), "completion": text, "reward": bd},
                                        ensure_ascii=False))
        log_metric = columns.get("log_metric")
        if callable(log_metric):
            for t, v in per_type.items():
                log_metric(f"accuracy/{t}", sum(v) / len(v))
        if lines:
            append_lines(self.path, lines)
        return out


def append_lines(path: Path, lines: list[str]) -> None:
    """Append lines with one write() on an O_APPEND descriptor, so processes appending at once never interleave."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode("utf-8"))
    finally:
        os.close(fd)


@dataclass
class TrainResult:
    """What `train` returns. `transitions`: the curriculum's switches (`step`: the 0-based global_step that decided
    each); `stage_starts`: (first logged step, stage) of each stage switched to, as the console and the plot show.
    For a finished run given `resume=True` nothing trains: `trainer` is None, `transitions` empty, the rest read back
    from its `metrics.jsonl`."""

    output_dir: Path
    metrics: list[dict]
    transitions: list
    trainer: Any = None
    stage_starts: list[tuple[int, int]] = field(default_factory=list)


def _validate(dataset) -> int:
    cols = [c for c in dataset.column_names if c not in ("image", "images")]
    return validate_samples(dataset.select_columns(cols)) if hasattr(dataset, "select_columns") else \
        validate_samples(dataset)


def train(model, processor, dataset, *, reward: str | RewardConfig | Any = PAPER.name,
          curriculum: str | Curriculum = DEFAULT_CURRICULUM, settings: GRPOSettings | None = None, resume: bool = False,
          overwrite: bool = False, callbacks: tuple = (), log_completions: bool = True, heldout: Any = None,
          progress: bool = True) -> TrainResult:
    """GRPO on `dataset` (rows in rmlite's schema with an `image` column) following `curriculum`.

    Args:
        model, processor: from `rmlite.models.load.load_model` (LoRA already attached).
        reward: a preset name ("paper", "official", "sparse"), a RewardConfig, a `(completion, sample)` callable or
            "package.module:function".
        curriculum: a name in `rmlite.curriculum.CURRICULA` or a Curriculum (schedule or adaptive).
        settings: GRPOSettings (defaults fit a T4 with the 3B model).
        resume: continue from the last checkpoint in `settings.output_dir`.
        overwrite: replace the run already in `settings.output_dir` (without it, or `resume`, such a folder raises
            FileExistsError; see `rmlite.train.runfolder.start`).
        heldout: a small held-out data set (rows with `image`) evaluated greedily at the start, every
            `rmlite.train.heldout.EVAL_EVERY` steps and at the end, or a `HeldOutEval` (its own `every`); None: off.
        progress: show the progress bar (`rmlite.train.console`); False: nothing per step (tests, scripts).
    """
    settings = settings or GRPOSettings()
    if _validate(dataset) == 0:
        raise ValueError("the training data set is empty")
    cur = get_curriculum(curriculum) if isinstance(curriculum, str) else curriculum
    out = Path(settings.output_dir)
    done = runfolder.finished(out, settings.max_steps) if resume and not overwrite else None  # both: start refuses
    if done is not None:  # resuming would train one step past the end and replace the adapter
        print(done)
        rows = read_metrics(out)  # the finished run's, as a notebook re-run after it shows them
        return TrainResult(out, rows, [], stage_starts=stage_starts(rows)[1:])
    main = runfolder.start(out, resume=resume, overwrite=overwrite)
    with console.quiet_known_warnings():
        trainer, held = _trainer(model, processor, dataset, reward=reward, curriculum=cur, settings=settings,
                                 callbacks=callbacks, log_completions=log_completions, heldout=heldout)
        console.install(trainer, cur.names, progress=progress)
        if main:
            runfolder.write_run_file(out, reward, cur, settings, trainer.accelerator.num_processes)
        trainer.accelerator.wait_for_everyone()  # no process appends a row before the main one has cut the records
        _run(trainer, settings, runfolder.last_checkpoint(out) if resume else None)
        trainer.save_model(str(out / ADAPTER_DIR))
    cb = trainer.curriculum_callback
    rows = read_metrics(out)
    if trainer.accelerator.is_main_process:
        state = {**cb.state_dict(trainer.state.global_step), "num_processes": trainer.accelerator.num_processes}
        (out / CURRICULUM_FILE).write_text(json.dumps(state, default=str, indent=2))
        facts = runfolder.facts_of(out, model=model, dataset=dataset, reward=reward, curriculum=cur, rows=rows,
                                   max_steps=trainer.state.max_steps, held=held)
        runfolder.write_cards(out, facts)
    trainer.accelerator.wait_for_everyone()  # every process returns with the run files complete
    return TrainResult(out, rows, list(cb.transitions), trainer, cb.stage_starts(trainer.state.global_step))


def _trainer(model, processor, dataset, *, reward: Any, curriculum: Curriculum, settings: GRPOSettings,
             callbacks: tuple, log_completions: bool, heldout: Any) -> tuple[Any, HeldOutEval | None]:
    """The CurriculumGRPOTrainer with rmlite's reward functions, the accuracy recorder and the run-file callbacks
    (in `settings.output_dir`)."""
    from rmlite.train.curriculum_trainer import CurriculumGRPOTrainer  # deferred: torch / trl (unsloth must come first)

    cur, out = curriculum, Path(settings.output_dir)
    reward_fn = load_reward(reward)
    funcs = list(trl_reward_funcs(reward if not callable(reward) or isinstance(reward, str) else reward_fn))
    recorder = AccuracyRecorder(reward_fn, out / COMPLETIONS_FILE if log_completions else None)
    funcs.append(recorder)
    extra = {**settings.extra, "reward_weights": [1.0] * (len(funcs) - 1) + [0.0]}
    extra = with_suppressed_image_tokens(model, extra)
    _check_unsloth_model(model)
    args = grpo_config(settings.replace(extra=extra), model)
    held = _heldout_callback(heldout, out)
    trainer = CurriculumGRPOTrainer(model=model, reward_funcs=funcs, args=args, train_dataset=dataset,
                                    processing_class=processor, curriculum=cur, score_reward=ACCURACY_REWARD,
                                    callbacks=[*held, RunLogger(out, cur.names), *callbacks])
    recorder.stage_of_step = lambda step: trainer.current_stage
    recorder.rank = trainer.accelerator.process_index
    return trainer, (held[0] if held else None)


def _run(trainer: Any, settings: GRPOSettings, checkpoint: Path | None) -> None:
    try:  # the checkpoint `runfolder.start` cut the records back to, named (not left to the trainer to find)
        trainer.train(resume_from_checkpoint=None if checkpoint is None else str(checkpoint))
    except Exception as e:
        if is_oom(e):  # say what to shrink rather than leave the user with a CUDA traceback alone
            print(oom_advice({"num_generations": settings.num_generations,
                              "max_completion_length": settings.max_completion_length}))
        raise


def _heldout_callback(heldout: Any, out: Path) -> list:
    """[] for None, else one HeldOutEval writing into the run folder."""
    if heldout is None:
        return []
    cb = heldout if isinstance(heldout, HeldOutEval) else HeldOutEval(heldout)
    if cb.out is None:
        cb.out = out
    return [cb]
