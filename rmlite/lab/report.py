"""The lab's result and how it is shown: `LabResult`, plain-text tables, the signal-density plot, the run files."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlite.lab.probes import probe_table
from rmlite.lab.stats import ALL

TABLE_COLUMNS = ("reward", "error_rate", "type", "difficulty", "groups", "accuracy", "reward_mean", "reward_std",
                 "frac_reward_zero_std", "zero_std_all_correct", "spearman", "adv_correct_group",
                 "adv_correct_batch", "adv_correct_none")


# ----- the lab ------------------------------------------------------------------------------------------------------
@dataclass
class LabResult:
    rows: list[dict] = field(default_factory=list)
    probes: list[dict] = field(default_factory=list)
    ladders: list[dict] = field(default_factory=list)  # per reward: monotonicity on error ladders
    rollouts: dict = field(default_factory=dict)  # error rate (or "logged") → Rollouts
    rewards: dict = field(default_factory=dict)  # (reward name, error rate) → per-rollout rewards

    def table(self, columns: Sequence[str] | None = None, **where: Any) -> str:
        """The rows matching `where` (e.g. `type="planning", difficulty="all"`) as text, optionally some columns."""
        return format_table([r for r in self.rows if all(r.get(k) == v for k, v in where.items())], columns)


# ----- output -------------------------------------------------------------------------------------------------------
def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> str:
    """A plain text table (numbers to 3 decimals, None as "-").

    >>> print(format_table([{"a": 1, "b": 0.12345}, {"a": 22, "b": None}]))
    a   b
    --  -----
    1   0.123
    22  -
    """
    if not rows:
        return "(no rows)"
    cols = list(columns or [c for c in TABLE_COLUMNS if c in rows[0]] or rows[0].keys())

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    body = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def plot_signal_density(rows: Sequence[Mapping], path: str | Path) -> Path:
    """Signal density (1 − frac_reward_zero_std) against error rate, one line per reward; top row per question type,
    bottom row per difficulty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if isinstance(r["error_rate"], (int, float))]
    types = [ALL] + sorted({r["type"] for r in rows} - {ALL})
    diffs = [d for d in ("easy", "middle", "hard") if any(r["difficulty"] == d for r in rows)]
    ncol = max(len(types), len(diffs) + 1)
    fig, axes = plt.subplots(2, ncol, figsize=(3.2 * ncol, 6.4), sharey=True, squeeze=False)
    panels = [(0, i, {"type": t, "difficulty": ALL}, f"type: {t}") for i, t in enumerate(types)]
    panels += [(1, i, {"type": ALL, "difficulty": d}, f"difficulty: {d}") for i, d in enumerate([ALL, *diffs])]
    for ax in axes.ravel():
        ax.set_visible(False)
    for r_i, c_i, where, title in panels:
        ax = axes[r_i][c_i]
        ax.set_visible(True)
        for name in dict.fromkeys(r["reward"] for r in rows):
            pts = sorted((r["error_rate"], 1 - r["frac_reward_zero_std"]) for r in rows
                         if r["reward"] == name and all(r[k] == v for k, v in where.items()))
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=name)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("policy error rate")
    axes[0][0].set_ylabel("signal density (1 − zero-spread share)")
    axes[1][0].set_ylabel("signal density")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


LADDER_COLUMNS = ("reward", "questions", "steps", "reversed", "tied", "spearman_within", "spearman_pooled")
PROBE_COLUMNS = ("reward", "kind", "probe", "rule", "n", "reward_mean", "reference_mean", "correct", "keeps_detail",
                 "above_near_miss", "positive_advantage", "fails")


def probe_summary(res: LabResult) -> str:
    """The hack-probe table (per reward: does it pay each exploit?) and the error-ladder table, as text."""
    rewards = list(dict.fromkeys(r["reward"] for r in res.probes))
    return ("hack probes on planning questions (FAIL: the reward pays the exploit its rule names):\n"
            + format_table(probe_table(res.probes), ("probe", "rule", *rewards))
            + "\n\nerror ladders (one more error per rung; reversed: the reward went up):\n"
            + format_table(res.ladders, LADDER_COLUMNS))


def write_outputs(res: LabResult, out: str | Path, plots: bool = True) -> list[Path]:
    """lab.jsonl (all rows), lab.txt (the tables), probes.jsonl, signal_density.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "lab.jsonl", out / "lab.txt"]
    paths[0].write_text("".join(json.dumps(r) + "\n" for r in res.rows))
    parts = [format_table(res.rows), format_table(res.probes, PROBE_COLUMNS) if res.probes else "",
             format_table(res.ladders, LADDER_COLUMNS) if res.ladders else ""]
    paths[1].write_text("\n\n".join(p for p in parts if p) + "\n")
    if res.probes:
        paths.append(out / "probes.jsonl")
        paths[-1].write_text("".join(json.dumps(r) + "\n" for r in res.probes))
    if plots and any(isinstance(r["error_rate"], (int, float)) for r in res.rows):
        paths.append(plot_signal_density(res.rows, out / "signal_density.png"))
    return paths
