"""Run files for people: per-step metrics to `metrics.jsonl` (main process only), then a CSV and a plot.

The plot has four panels: reward and its components; zero-spread groups (rmlite's `zero_spread/*`, with TRL's
`frac_reward_zero_std` grey and dashed for reference: under `scale_rewards="batch"` it tests the batch's spread,
not the group's); sampled accuracy on the training rollouts per type; held-out greedy accuracy (± SE, beside
chance and majority) when a held-out set is evaluated. Stage boundaries are marked on every panel.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rmlite.schema import METRICS_FILE
from rmlite.train.spread import PREFIX as ZERO_SPREAD
from rmlite.train.spread import TOTAL as ZERO_SPREAD_TOTAL

TRL_ZERO_STD = "frac_reward_zero_std"  # TRL's: under scale_rewards="batch" it tests the batch's std, not the group's


class RunLogger(TrainerCallback):
    """Per-step metrics to JSONL/CSV (reward and each component, rmlite's `zero_spread/...`, TRL's
    `frac_reward_zero_std`, sampled accuracy per type, held-out accuracy when evaluated, stage, completion length,
    TRL's `step_time`, peak GPU memory), and a CSV and a plot at the end. Main process only: TRL's logged values
    are already gathered over processes."""

    def __init__(self, out: Path, stage_names: tuple[str, ...]):
        self.out = out
        self.stage_names = stage_names

    def on_log(self, args, state, control, logs=None, **kw):
        if not state.is_world_process_zero or not logs or "loss" not in logs and "reward" not in logs:
            return
        row = {"step": state.global_step, **{k: v for k, v in logs.items() if isinstance(v, (int, float))}}
        try:
            import torch

            if torch.cuda.is_available():
                row["peak_gpu_mem_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 3)
        except ImportError:
            pass
        with open(self.out / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def on_train_end(self, args, state, control, **kw):
        if not state.is_world_process_zero:
            return
        rows = read_metrics(self.out)
        if rows:
            keys = sorted({k for r in rows for k in r})
            with open(self.out / "metrics.csv", "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=keys)
                w.writeheader()
                w.writerows(rows)
            plot_metrics(rows, self.out / "metrics.png", self.stage_names)


def read_metrics(out: str | Path) -> list[dict]:
    p = Path(out) / METRICS_FILE
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def plot_metrics(rows: list[Mapping], path: str | Path, stage_names: tuple[str, ...] = ()) -> Path:
    """Reward and components, zero-spread groups (rmlite's per-group share; TRL's `frac_reward_zero_std` dashed, for
    reference), sampled training accuracy per type and held-out greedy accuracy (± SE, beside chance and majority)
    per step, with stage boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(19, 3.8))
    for ax, (title, draw) in zip(axes, _PANELS, strict=True):
        draw(ax, rows)
        _mark_stages(ax, rows, stage_names)
        ax.set_title(title)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def _series(ax, rows: list[Mapping], keys: list[str], strip: str = "", **style: Any) -> None:
    steps = [r["step"] for r in rows]
    for k in keys:
        ax.plot(steps, [r.get(k, float("nan")) for r in rows], label=k.replace(strip, "", 1) or k, **style)


def _keys(rows: list[Mapping], prefix: str, suffix: str = "") -> list[str]:
    return sorted({k for r in rows for k in r if k.startswith(prefix) and k.endswith(suffix)})


def _reward_panel(ax, rows: list[Mapping]) -> None:
    keys = [k for k in ("reward",) if any(k in r for r in rows)] + _keys(rows, "rewards/", "/mean")
    steps = [r["step"] for r in rows]
    for k in keys:
        ax.plot(steps, [r.get(k, float("nan")) for r in rows], label=k.replace("rewards/", "").replace("/mean", ""))


def _spread_panel(ax, rows: list[Mapping]) -> None:
    _series(ax, rows, [ZERO_SPREAD_TOTAL, *_keys(rows, f"{ZERO_SPREAD}/type/")], f"{ZERO_SPREAD}/")
    if any(TRL_ZERO_STD in r for r in rows):
        _series(ax, rows, [TRL_ZERO_STD], ls="--", color="grey", lw=1)
    ax.set_ylim(-0.02, 1.02)


def _sampled_panel(ax, rows: list[Mapping]) -> None:
    _series(ax, rows, _keys(rows, "accuracy/"), "accuracy/")
    ax.set_ylim(-0.02, 1.02)


def _heldout_panel(ax, rows: list[Mapping]) -> None:
    ev = [r for r in rows if "heldout/accuracy" in r]
    if not ev:
        return
    x = [r.get("heldout/step", r["step"]) for r in ev]
    acc = [r["heldout/accuracy"] for r in ev]
    se = [r.get("heldout/accuracy_se", 0.0) for r in ev]
    ax.errorbar(x, acc, yerr=se, marker="o", lw=2, capsize=3, label="all (± SE)")
    for k in _keys(ev, "heldout/accuracy/"):
        ax.plot(x, [r.get(k, float("nan")) for r in ev], marker=".", lw=1, label=k.removeprefix("heldout/accuracy/"))
    for k, ls in (("heldout/chance", ":"), ("heldout/majority", "-.")):
        if k in ev[-1]:
            ax.axhline(ev[-1][k], color="grey", ls=ls, lw=1, label=k.removeprefix("heldout/"))
    ax.set_ylim(-0.02, 1.02)


_PANELS = (("reward", _reward_panel), ("zero-spread groups", _spread_panel),
           ("sampled accuracy (training rollouts)", _sampled_panel), ("held-out accuracy (greedy)", _heldout_panel))


def _mark_stages(ax, rows: list[Mapping], stage_names: tuple[str, ...]) -> None:
    steps = [r["step"] for r in rows]
    stage = [r.get("curriculum/stage") for r in rows]
    for i in range(1, len(stage)):
        if stage[i] is not None and stage[i] != stage[i - 1]:
            ax.axvline(steps[i], color="grey", ls="--", lw=1)
            name = stage_names[int(stage[i])] if stage_names and int(stage[i]) < len(stage_names) else stage[i]
            ax.text(steps[i], ax.get_ylim()[1], f" {name}", fontsize=7, va="top", color="grey")
