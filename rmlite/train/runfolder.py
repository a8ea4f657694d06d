"""The run folder: claimed before training (refused or cleared), described after it (`run.json`, `README.md`).

A folder that already holds a run (`rmlite.schema.run_contents`) is never overwritten silently: `start` raises
unless the caller resumes it or asks to overwrite it, and overwriting removes exactly the entries `run_contents`
lists, so no old `checkpoint-4` sits beside a new `checkpoint-1`. Resuming cuts the run's records
(`metrics.jsonl`, `completions.jsonl`, `heldout.jsonl`) back to the checkpoint it continues from (`cut_records`):
rows written after it describe steps the checkpoint does not hold, and the resumed run writes them again.

After training, `README.md` says what ran instead of TRL's boilerplate model card ("a fine-tuned version of
[None]"): `run_card` (pure: from a `RunFacts`) gives the base model, the data and its counts, the reward and its
settings, the curriculum with the step each stage began, the steps done, the final sampled reward, held-out accuracy
before and after (± SE), the rmlite version and date, and the command that evaluates the adapter. `adapter/README.md`
gets a short card pointing to it. (TRL writes its card from `create_model_card`, which `CurriculumGRPOTrainer`
turns off; PEFT writes one into every adapter folder it saves, which `write_cards` replaces.)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rmlite import __version__
from rmlite.curriculum.stages import stage_starts
from rmlite.evaluate import type_table
from rmlite.records import MetricsRecord
from rmlite.reward.config import PRESETS, RewardConfig
from rmlite.schema import (
    ADAPTER_DIR,
    COMPLETIONS_FILE,
    HELDOUT_FILE,
    MANIFEST,
    METRICS_FILE,
    RUN_CARD,
    RUN_FILE,
    STATE_FILE,
    run_contents,
)


def start(out: Path, *, resume: bool = False, overwrite: bool = False) -> bool:
    """Create or claim the run folder; True on the main process (the one that writes the run files).

    A folder holding a run raises FileExistsError unless `resume` (continue it: its records are cut back to the last
    checkpoint, `cut_records`) or `overwrite` (its run entries are removed first, and listed on one line). Only the
    main process checks, cuts and clears: the rank comes from the launcher's environment (torchrun and accelerate set
    RANK). Every process appends to the main process's files (the run folder is one folder, shared), so the others
    must write nothing before it is done: `rmlite.train.train` holds them at a barrier before the first step.
    """
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: continue the run, or replace it")
    main = int(os.environ.get("RANK", "0")) == 0
    out.mkdir(parents=True, exist_ok=True)
    if resume:
        checkpoint = last_checkpoint(out)  # every process: each checks that there is one
        if main:
            dropped = cut_records(out, checkpoint_step(checkpoint))
            if any(dropped.values()):
                print(f"resume: from {checkpoint.name}; dropped the rows written after it "
                      f"({', '.join(f'{n} {k}' for k, n in dropped.items() if n)}), which this run writes again")
        return main
    old = run_contents(out) if main else []
    if old and not overwrite:
        again = ("pass --resume to continue it or --overwrite to replace it" if _checkpoints(out) else
                 "it stopped before its first checkpoint, so pass --overwrite to start it again")
        raise FileExistsError(f"{out} already holds a run ({', '.join(old)}): {again}")
    for name in old:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if old:
        print(f"overwrite: removed {', '.join(old)} from {out}")
    return main


CHECKPOINT = "checkpoint-"  # transformers' PREFIX_CHECKPOINT_DIR, without importing transformers here
TRAINER_STATE = "trainer_state.json"  # the last file transformers writes into a checkpoint: there, it is complete
# What a row's `step` means in each record, so the cut keeps exactly the rows the checkpoint holds:
# metrics.jsonl and heldout.jsonl: the optimizer steps done when the row was written (kept up to the checkpoint's
# step); completions.jsonl: global_step when the rollout was generated, trained on by the next step (kept below it).
RECORDS = {METRICS_FILE: 0, HELDOUT_FILE: 0, COMPLETIONS_FILE: -1}


def _checkpoints(out: Path) -> dict[int, Path]:
    """The complete checkpoints in `out` by step: a checkpoint killed while saving lacks the last files written into
    it (transformers' trainer_state.json, then the curriculum state)."""
    found = {}
    for p in out.glob(f"{CHECKPOINT}*"):
        step = p.name.removeprefix(CHECKPOINT)
        if step.isdigit() and (p / TRAINER_STATE).is_file() and (p / STATE_FILE).is_file():
            found[int(step)] = p
    return found


def last_checkpoint(out: Path) -> Path:
    """The complete checkpoint with the largest step, which a resumed run continues from; FileNotFoundError if none."""
    found = _checkpoints(Path(out))
    if not found:
        raise FileNotFoundError(f"{out} holds no complete checkpoint-* folder to resume from: the run stopped before "
                                f"its first checkpoint, so start it again with --overwrite")
    return found[max(found)]


def checkpoint_step(checkpoint: Path) -> int:
    """The optimizer steps a checkpoint holds (its trainer_state.json's `global_step`)."""
    return int(json.loads((Path(checkpoint) / TRAINER_STATE).read_text())["global_step"])


def finished(out: Path, max_steps: int) -> str | None:
    """One line saying that the run in `out` has already trained `max_steps` steps (its last checkpoint's own
    `max_steps` when `max_steps` is not above 0, as for an epoch-based run); None when there is more to train.

    transformers would resume such a run one step past its end, and the adapter saved after it would replace the
    finished one, so `rmlite.train.train` (and `rmlite train` before its model loads) trains nothing and prints this
    line instead. None too when there is no complete checkpoint: `start` says what to do then."""
    found = _checkpoints(Path(out))
    if not found:
        return None
    checkpoint = found[max(found)]
    state = json.loads((checkpoint / TRAINER_STATE).read_text())
    step, target = int(state["global_step"]), max_steps if max_steps > 0 else int(state["max_steps"])
    if step < target:
        return None
    return (f"resume: {out} already trained {step} of {target} steps ({checkpoint.name}); nothing to do (pass --steps "
            f"above {step} to train further)")


def cut_records(out: Path, step: int) -> dict[str, int]:
    """Cut each record in `out` back to a checkpoint at optimizer step `step`; the rows dropped per file.

    A row is kept while its `step` is within the checkpoint (`RECORDS`); a last line cut short by the crash (no
    newline) is dropped, and a line that is not a row with a step is kept. Each file is replaced whole (written
    beside it, then renamed), so a crash during the cut leaves either the old file or the new one; no copy of the
    dropped rows is kept, since the resumed run writes them again.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "metrics.jsonl").write_text('{"step": 1}\\n{"step": 2}\\n{"step": 3}\\n{"st')
    >>> _ = (d / "completions.jsonl").write_text('{"step": 0}\\n{"step": 1}\\n{"step": 2}\\n')
    >>> cut_records(d, 2)
    {'metrics.jsonl': 2, 'heldout.jsonl': 0, 'completions.jsonl': 1}
    >>> (d / "metrics.jsonl").read_text(), (d / "completions.jsonl").read_text()
    ('{"step": 1}\\n{"step": 2}\\n', '{"step": 0}\\n{"step": 1}\\n')
    """
    dropped = {}
    for name, offset in RECORDS.items():
        path = Path(out) / name
        if not path.is_file():
            dropped[name] = 0
            continue
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        keep = [line for line in lines if line.endswith("\n") and _row_step(line) <= step + offset]
        dropped[name] = len(lines) - len(keep)
        if dropped[name]:
            tmp = path.with_name(path.name + ".cut")
            tmp.write_text("".join(keep), encoding="utf-8")
            os.replace(tmp, path)
    return dropped


def _row_step(line: str) -> float:
    """A record line's `step`; -inf (kept) for a line that is not an rmlite row: the cut drops nothing unread."""
    try:
        row = json.loads(line)
    except ValueError:
        return -math.inf
    step = row.get("step") if isinstance(row, dict) else None
    return step if isinstance(step, (int, float)) else -math.inf


def write_run_file(out: Path, reward: Any, curriculum: Any, settings: Any, num_processes: int) -> None:
    """`run.json`: what ran (reward, curriculum, settings, number of processes), written before step 1."""
    (out / RUN_FILE).write_text(json.dumps({"reward": reward_name(reward), "curriculum": curriculum.name,
                                            "mode": curriculum.mode, "num_processes": num_processes,
                                            "settings": dataclasses.asdict(settings)}, indent=1, default=str))


def reward_name(reward: Any) -> str:
    """A preset's name, a config's name, or a callable's name."""
    if isinstance(reward, str):
        return reward
    return getattr(reward, "name", None) or getattr(reward, "__name__", type(reward).__name__)


@dataclass(frozen=True)
class HeldOutLine:
    """Held-out greedy accuracy of one question type (or "all") at the first and the last evaluation."""

    name: str
    n: int
    before: float
    before_se: float
    after: float
    after_se: float


@dataclass(frozen=True)
class RunFacts:
    """Everything `run_card` writes; gathered by `rmlite.train.train` (see `facts_of`)."""

    output_dir: str
    base_model: str | None
    four_bit: bool
    data_dir: str | None
    data_counts: Mapping[str, Any] | None  # the manifest's counts of the training split
    rows: int | None  # the questions given to train (a selection of the split, or all of it)
    reward: str
    reward_settings: Mapping[str, Any] | None  # a preset's RewardConfig fields; None for a user function
    curriculum: str
    mode: str
    stages: Sequence[tuple[str, int | None]]  # (name, first logged step trained on it; None: never reached)
    steps: int
    max_steps: int
    final_reward: float | None
    heldout: Sequence[HeldOutLine] = ()
    heldout_steps: tuple[int, int] | None = None  # the steps of the first and the last evaluation
    heldout_change: tuple[float, float, int] | None = None  # paired (after - before, SE, n)
    version: str = __version__
    date: str = ""


def eval_command(f: RunFacts) -> str:
    """The `python -m rmlite eval ...` command that evaluates this run's adapter on the data's test split."""
    out = Path(f.output_dir)
    words = ["python", "-m", "rmlite", "eval", "--data", f.data_dir or "DATA", "--model", f.base_model or "MODEL",
             "--adapter", str(out / ADAPTER_DIR), "--out", str(out / "eval")]
    return shlex.join(words + ([] if f.four_bit else ["--no-4bit"]))


def _counts(counts: Mapping[str, Any] | None) -> str:
    if not counts:
        return "not known"
    by_type = ", ".join(f"{t} {n}" for t, n in sorted((counts.get("by_type") or {}).items()))
    return f"{counts.get('questions', '?')} questions on {counts.get('maps', '?')} maps ({by_type})"


def _settings(settings: Mapping[str, Any] | None) -> str:
    if settings is None:
        return "a user function (no preset settings)"
    return ", ".join(f"{k} {v}" for k, v in settings.items() if k != "name" and v is not None)


def _stages(f: RunFacts) -> list[str]:
    rows = [f"{i + 1}. {name}: " + (f"from step {s}" if s is not None else "not reached")
            for i, (name, s) in enumerate(f.stages)]
    return [f"Curriculum `{f.curriculum}` ({f.mode}), {len(f.stages)} stage(s):", "", *rows]


def _heldout(f: RunFacts) -> list[str]:
    if not f.heldout or f.heldout_steps is None:
        return ["No held-out evaluation ran (train(heldout=...) turns it on)."]
    a, b = f.heldout_steps
    lines = [f"Greedy accuracy on the held-out set at step {a} and step {b} (± SE):", "",
             "| type | n | before | after |", "|---|---|---|---|"]
    lines += [f"| {h.name} | {h.n} | {h.before:.3f} ± {h.before_se:.3f} | {h.after:.3f} ± {h.after_se:.3f} |"
              for h in f.heldout]
    if f.heldout_change is not None:
        d, se, n = f.heldout_change
        beyond = "beyond" if se > 0 and abs(d) > 2 * se else "not beyond"
        lines += ["", f"Change (paired, n={n}): {d:+.3f} ± {se:.3f}, {beyond} two standard errors."]
    return lines


def run_card(f: RunFacts) -> str:
    """The run folder's README.md: what ran, on what, how it went, and how to evaluate the adapter."""
    reward = "not logged" if f.final_reward is None else f"{f.final_reward:.3f}"
    lines = [f"# rmlite GRPO run: {Path(f.output_dir).name}", "",
             f"Written by rmlite {f.version} on {f.date or 'an unknown date'}.", "",
             "## What ran", "",
             f"- base model: `{f.base_model or 'not known'}`" + (" (4-bit)" if f.four_bit else ""),
             f"- data: `{f.data_dir or 'not known'}`, training split: {_counts(f.data_counts)}; "
             f"{'?' if f.rows is None else f.rows} questions given to this run",
             f"- reward: `{f.reward}`: {_settings(f.reward_settings)}",
             f"- steps: {f.steps} of {f.max_steps}; sampled reward at the last step: {reward}", "",
             *_stages(f), "", "## Held-out accuracy", "", *_heldout(f), "",
             "## Files", "",
             f"`{ADAPTER_DIR}/` the LoRA adapter; `{METRICS_FILE}` every logged metric per step (`metrics.csv`, "
             f"`metrics.png`: the curves); `{COMPLETIONS_FILE}` every completion with its reward; `{RUN_FILE}` the "
             f"settings; `{HELDOUT_FILE}` the held-out evaluations; `checkpoint-*/` for `--resume`.", "",
             "## Evaluate the adapter", "", "```bash", eval_command(f), "```", ""]
    return "\n".join(lines)


def adapter_card(f: RunFacts) -> str:
    """adapter/README.md: what the adapter is, in three lines."""
    return "\n".join([f"# LoRA adapter of the rmlite GRPO run {Path(f.output_dir).name}", "",
                      f"Base model `{f.base_model or 'not known'}`, reward `{f.reward}`, curriculum `{f.curriculum}`, "
                      f"{f.steps} steps (rmlite {f.version}). The run is described in `../{RUN_CARD}`.", "",
                      "```bash", eval_command(f), "```", ""])


def write_cards(out: Path, f: RunFacts) -> None:
    """README.md in the run folder and in its adapter folder (replacing PEFT's template there)."""
    (out / RUN_CARD).write_text(run_card(f), encoding="utf-8")
    if (out / ADAPTER_DIR).is_dir():
        (out / ADAPTER_DIR / RUN_CARD).write_text(adapter_card(f), encoding="utf-8")


def data_folder(dataset: Any) -> Path | None:
    """The data set folder (the one with the manifest) a `load_split` data set was read from; None if unknown."""
    for cache in getattr(dataset, "cache_files", None) or []:
        for parent in list(Path(cache.get("filename", "")).parents)[:4]:
            if (parent / MANIFEST).is_file():
                return parent
    return None


def manifest_counts(folder: Path | None, split: str = "train") -> dict | None:
    """The manifest's counts of one split (None when the folder or the split is not known)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text()) if folder is not None else {}
    except (OSError, ValueError):
        return None
    return (manifest.get("counts") or {}).get(split)


def base_model_name(model: Any) -> str | None:
    """The hub name or folder the base model was loaded from (PEFT forwards `config` to the base model)."""
    return getattr(getattr(model, "config", None), "_name_or_path", None) or None


def is_four_bit(model: Any) -> bool:
    """True when the base model was loaded quantised (bitsandbytes 4-bit, packed as uint8)."""
    cfg = getattr(model, "config", None)
    quant = getattr(cfg, "quantization_config", None)
    if quant is not None:
        return bool(getattr(quant, "load_in_4bit", None) or (isinstance(quant, dict) and quant.get("load_in_4bit")))
    return bool(getattr(model, "is_loaded_in_4bit", False))


def heldout_lines(held: Any) -> tuple[list[HeldOutLine], tuple[int, int] | None, tuple[float, float, int] | None]:
    """Per type and "all": held-out accuracy at the first and the last evaluation of a `HeldOutEval`, their steps
    and the paired change; empty when it evaluated fewer than twice."""
    reports = getattr(held, "reports", None) or {}
    if len(reports) < 2:
        return [], None, None
    a, b = min(reports), max(reports)
    first, last = type_table(reports[a]), type_table(reports[b])
    names = [t for t in sorted(first) if t != "all" and t in last] + ["all"]
    lines = [HeldOutLine(t, first[t]["n"], first[t]["accuracy"], first[t]["se"], last[t]["accuracy"], last[t]["se"])
             for t in names]
    return lines, (a, b), held.change()


def facts_of(out: Path, *, model: Any, dataset: Any, reward: Any, curriculum: Any, rows: Sequence[MetricsRecord],
             max_steps: int, held: Any = None) -> RunFacts:
    """The facts of a finished run, from what `rmlite.train.train` holds (`rows`: metrics.jsonl)."""
    config = reward if isinstance(reward, RewardConfig) else PRESETS.get(reward) if isinstance(reward, str) else None
    data = data_folder(dataset)
    starts = dict((stage, step) for step, stage in reversed(stage_starts(rows)))
    lines, steps, change = heldout_lines(held)
    return RunFacts(output_dir=str(out), base_model=base_model_name(model), four_bit=is_four_bit(model),
                    data_dir=None if data is None else str(data), data_counts=manifest_counts(data),
                    rows=len(dataset) if hasattr(dataset, "__len__") else None,
                    reward=reward_name(reward), reward_settings=None if config is None else dataclasses.asdict(config),
                    curriculum=curriculum.name, mode=curriculum.mode,
                    stages=[(name, starts.get(i)) for i, name in enumerate(curriculum.names)],
                    steps=max((r["step"] for r in rows), default=0), max_steps=max_steps,
                    final_reward=next((r["reward"] for r in reversed(rows) if "reward" in r), None),
                    heldout=lines, heldout_steps=steps, heldout_change=change, date=today())


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
