"""Run files for people: per-step metrics to `metrics.jsonl` (main process only), then a CSV and a plot.

The plot has four panels, each with its own axis and legend: reward and its components (0 to the reward's
maximum); zero-spread groups (rmlite's `zero_spread/*`, 0–1, with TRL's `frac_reward_zero_std` grey and dashed for
reference: under `scale_rewards="batch"` it tests the batch's spread, not the group's); sampled accuracy on the
training rollouts per type (0–1); held-out greedy accuracy per type when a held-out set is evaluated, each point
with its Wilson interval at one SE (`rmlite.stats.share_interval`: inside 0–1, and not empty at 0; the types'
points slightly apart so no interval hides another), beside chance and majority. Each training series is drawn as
its raw points (small markers, so a single point shows) and a running mean over a window that grows with the run
(`smooth_window`). Stage boundaries are dashed lines at the first logged step trained on the new stage
(`stage_starts`), the `step` of metrics.jsonl's rows (1-based: row s holds the s-th optimizer step, trained on the
batch generated at global_step s - 1); the legend names them, so no text sits where a legend may go.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from rmlite.curriculum.stages import stage_starts
from rmlite.records import MetricsRecord
from rmlite.schema import METRICS_FILE
from rmlite.stats import share_interval
from rmlite.train.heldout import PREFIX as HELDOUT
from rmlite.train.spread import PREFIX as ZERO_SPREAD
from rmlite.train.spread import TOTAL as ZERO_SPREAD_TOTAL

TRL_ZERO_STD = "frac_reward_zero_std"  # TRL's: under scale_rewards="batch" it tests the batch's std, not the group's
ACCURACY_REWARD = "accuracy"  # the weight-0 reward that logs sampled correctness (rmlite.train.grpo.AccuracyRecorder)


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

    def on_save(self, args, state, control, **kw):
        """Replace the template card PEFT writes into each checkpoint folder by two lines that say what it is."""
        card = self.out / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}" / "README.md"
        if state.is_world_process_zero and card.is_file():
            card.write_text(f"# Checkpoint at step {state.global_step} of the rmlite GRPO run {self.out.name}\n\n"
                            f"`--resume` continues the run from its last checkpoint; the run is described in "
                            f"`../README.md` once it ends.\n", encoding="utf-8")

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


def read_metrics(out: str | Path) -> list[MetricsRecord]:
    p = Path(out) / METRICS_FILE
    if not p.is_file():
        return []
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def smooth_window(n: int) -> int:
    """The running mean's window for a series of n points: a tenth of the run, at least 1, at most 50.

    >>> smooth_window(8), smooth_window(200), smooth_window(5000)
    (1, 20, 50)
    """
    return max(1, min(50, round(n / 10)))


def running_mean(values: Sequence[float], window: int) -> list[float]:
    """The mean of each value and the `window - 1` before it (fewer at the start).

    >>> running_mean([0.0, 1.0, 0.0, 1.0], 2)
    [0.0, 0.5, 0.5, 0.5]
    """
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v - (values[i - window] if i >= window else 0.0)
        out.append(total / min(i + 1, window))
    return out


def plot_metrics(rows: list[Mapping], path: str | Path, stage_names: tuple[str, ...] = ()) -> Path:
    """Reward and components, zero-spread groups, sampled training accuracy per type and held-out greedy accuracy
    per type (± SE, beside chance and majority), per logged step, with stage boundaries; written to `path`."""
    import matplotlib.pyplot as plt

    fig = metrics_figure(rows, stage_names)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def metrics_figure(rows: list[Mapping], stage_names: tuple[str, ...] = ()) -> Any:
    """The figure `plot_metrics` writes: four panels (reward, zero-spread, sampled accuracy, held-out accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    window = smooth_window(len(rows))
    steps = [r["step"] for r in rows] + [r[f"{HELDOUT}/step"] for r in rows if f"{HELDOUT}/step" in r]
    for ax, (title, draw) in zip(axes.flat, _PANELS, strict=True):
        note = draw(ax, rows, window)
        if steps:  # the same steps on every panel (held-out evaluations may start at step 0, before training)
            ax.set_xlim(min(steps) - 0.5, max(steps) + 0.5)
        _mark_stages(ax, rows, stage_names)
        ax.set_title(f"{title} ({note})" if note else title, fontsize=10)
        ax.set_xlabel("step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def _series(ax, rows: Sequence[Mapping], key: str, label: str, window: int, **style: Any) -> None:
    """One metric: its raw points as small markers and its running mean as a line, in one colour, one legend entry."""
    pts = [(r["step"], float(r[key])) for r in rows if isinstance(r.get(key), (int, float))
           and not math.isnan(float(r[key]))]
    if not pts:
        return
    x, y = zip(*pts, strict=True)
    line, = ax.plot(x, running_mean(y, window), label=label, lw=style.pop("lw", 1.6), **style)
    ax.plot(x, y, ls="none", marker="o", ms=3, alpha=0.45, color=line.get_color())


def _keys(rows: Sequence[Mapping], prefix: str, suffix: str = "") -> list[str]:
    return sorted({k for r in rows for k in r if k.startswith(prefix) and k.endswith(suffix)})


def _reward_panel(ax, rows: Sequence[Mapping], window: int) -> str:
    for k in [k for k in ("reward",) if any(k in r for r in rows)] + _keys(rows, "rewards/", "/mean"):
        if k != f"rewards/{ACCURACY_REWARD}/mean":  # a 0–1 diagnostic: the sampled accuracy panel shows it
            _series(ax, rows, k, k.removeprefix("rewards/").removesuffix("/mean"), window)
    low, high = ax.get_ylim()
    ax.set_ylim(min(0.0, low), max(1.0, high))  # from 0; a flat run at 0 still gets a readable axis
    return _note(rows, window)


def _spread_panel(ax, rows: Sequence[Mapping], window: int) -> str:
    for k in [ZERO_SPREAD_TOTAL, *_keys(rows, f"{ZERO_SPREAD}/type/")]:
        _series(ax, rows, k, k.removeprefix(f"{ZERO_SPREAD}/"), window)
    _series(ax, rows, TRL_ZERO_STD, f"{TRL_ZERO_STD} (TRL, batch std)", window, ls="--", color="grey", lw=1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("share of groups")
    return _note(rows, window)


def _sampled_panel(ax, rows: Sequence[Mapping], window: int) -> str:
    for k in _keys(rows, "accuracy/"):
        _series(ax, rows, k, k.removeprefix("accuracy/"), window)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy")
    return _note(rows, window)


def _heldout_panel(ax, rows: Sequence[Mapping], window: int) -> str:
    ev = [r for r in rows if f"{HELDOUT}/accuracy" in r]
    if not ev:
        ax.text(0.5, 0.5, "no held-out evaluation", transform=ax.transAxes, ha="center", color="grey")
        return ""
    x = [r.get(f"{HELDOUT}/step", r["step"]) for r in ev]
    types = [k.removeprefix(f"{HELDOUT}/accuracy/") for k in _keys(ev, f"{HELDOUT}/accuracy/")]
    # The series' points side by side (all in the middle), so no interval hides another; within half a step, the
    # room the panels leave around each step.
    slots = len(types) + 1
    dodge = min(0.012 * ((max(x) - min(x)) or 1.0), 0.9 / slots)
    shift = [(k - (slots - 1) / 2) * dodge for k in range(slots)]
    middle = shift.pop(slots // 2)
    _interval_series(ax, ev, x, "", middle, marker="o", lw=2, capsize=3, color="black", label="all", zorder=3)
    for t, dx in zip(types, shift, strict=True):
        _interval_series(ax, ev, x, t, dx, marker=".", ms=6, lw=1, capsize=2, label=t)
    for k, ls in ((f"{HELDOUT}/chance", ":"), (f"{HELDOUT}/majority", "-.")):
        if k in ev[-1]:
            ax.axhline(ev[-1][k], color="grey", ls=ls, lw=1, label=k.removeprefix(f"{HELDOUT}/"))
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy (Wilson interval, 1 SE)")
    n = ev[-1].get(f"{HELDOUT}/n")
    return f"{len(ev)} evaluations" + (f" of {n} questions" if n else "")


def _interval_series(ax, ev: Sequence[Mapping], x: Sequence[float], qtype: str, shift: float, **style: Any) -> None:
    """One held-out accuracy series (all types when `qtype` is empty) with its intervals (`heldout_interval`)."""
    acc = f"{HELDOUT}/accuracy" + (f"/{qtype}" if qtype else "")
    pts = [(xi + shift, r[acc], *heldout_interval(r, qtype)) for xi, r in zip(x, ev, strict=True) if acc in r]
    xs, ys, lows, highs = zip(*pts, strict=True)
    ax.errorbar(xs, ys, yerr=[[y - lo for y, lo in zip(ys, lows, strict=True)],
                              [hi - y for y, hi in zip(ys, highs, strict=True)]], **style)


def heldout_interval(row: Mapping, qtype: str = "") -> tuple[float, float]:
    """The interval drawn around one held-out accuracy (of `qtype`, or of all types): Wilson's at one SE from the
    logged n; a row from before `heldout/n/<type>` was logged gets the logged SE clipped to 0–1.

    >>> row = {"heldout/accuracy/torf1": 0.5, "heldout/accuracy_se/torf1": 0.5, "heldout/n/torf1": 2}
    >>> [round(v, 2) for v in heldout_interval(row, "torf1")]
    [0.21, 0.79]
    >>> del row["heldout/n/torf1"]; heldout_interval(row, "torf1")
    (0.0, 1.0)
    """
    tail = f"/{qtype}" if qtype else ""
    p, n = float(row[f"{HELDOUT}/accuracy{tail}"]), row.get(f"{HELDOUT}/n{tail}")
    if isinstance(n, (int, float)) and n >= 1:
        return share_interval(p, int(n))
    se = float(row.get(f"{HELDOUT}/accuracy_se{tail}", 0.0))
    return max(0.0, p - se), min(1.0, p + se)


def _note(rows: Sequence[Mapping], window: int) -> str:
    return f"{len(rows)} steps" + (f", line: running mean over {window}" if window > 1 else "")


_PANELS = (("reward", _reward_panel), ("zero-spread groups", _spread_panel),
           ("sampled accuracy (training rollouts)", _sampled_panel), ("held-out accuracy (greedy)", _heldout_panel))


def _mark_stages(ax, rows: Sequence[Mapping], stage_names: tuple[str, ...]) -> None:
    """A dashed line at each stage's first logged step (not the first stage's), named in the legend (a text on the
    panel could sit under the legend)."""
    for k, (step, stage) in enumerate(stage_starts(rows)[1:]):
        name = stage_names[stage] if stage < len(stage_names) else f"stage {stage}"
        ax.axvline(step, color="0.4", ls=STAGE_STYLES[k % len(STAGE_STYLES)], lw=1,
                   label=f"{name} from step {step}")


STAGE_STYLES = ((0, (6, 2, 1, 2)), (0, (1, 1.5)), (0, (8, 3)))  # one per stage boundary, none like TRL's "--"
