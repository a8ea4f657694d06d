"""The lab's result and how it is shown: `LabResult`, the headline (which reward leaves the fewest zero-spread
planning groups at each error rate), plain-text tables narrow enough for a console, the signal-density figure, the
run files (the full tables stay in lab.txt / lab.jsonl)."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmlite.lab.probes import probe_table
from rmlite.lab.stats import ALL
from rmlite.stats import share_interval, share_se
from rmlite.tables import MAX_COLUMNS, grid

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
def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None, width: int = MAX_COLUMNS) -> str:
    """A plain text table (numbers to 3 decimals, None as "-"); columns past `width` go on in a further block that
    repeats the first column (`rmlite.tables.grid`; a file passes a large width to keep one block).

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

    return grid(cols, [[cell(r.get(c)) for c in cols] for r in rows], width=width)


FILE_WIDTH = 10_000  # lab.txt: every column in one block
HEADLINE_TYPE = "planning"  # the questions the dense reward is for: the headline and the figure's first panel
ZERO = "frac_reward_zero_std"  # the lab's column: share of groups whose rewards are all equal (no GRPO signal)
CONSOLE_COLUMNS = ("reward", "error_rate", "type", "groups", "accuracy", "reward_mean", "reward_std", ZERO,
                   "spearman")  # what a console shows (under 120 characters); lab.txt has every column
MARKERS, LINESTYLES = ("o", "s", "^", "D", "v", "P", "X", "*"), ("-", "--", ":", "-.")


def zero_spread(rows: Sequence[Mapping], qtype: str = HEADLINE_TYPE, difficulty: str = ALL) -> dict:
    """{reward: [(error rate, zero-spread share, its SE, groups), …]} for one type and difficulty; the SE is
    `rmlite.stats.share_se` (the groups' 0/1 flags, n − 1).

    >>> zero_spread([{"reward": "sparse", "error_rate": 0.5, "type": "planning", "difficulty": "all",
    ...               "groups": 100, ZERO: 0.2}])
    {'sparse': [(0.5, 0.2, 0.040202, 100)]}
    """
    out: dict[str, list] = {}
    for r in rows:
        if r["type"] == qtype and r["difficulty"] == difficulty and isinstance(r["error_rate"], (int, float)):
            p, n = r[ZERO], r["groups"]
            out.setdefault(r["reward"], []).append((r["error_rate"], p, round(share_se(p, n), 6), n))
    return {k: sorted(v) for k, v in out.items()}


def headline(rows: Sequence[Mapping], qtype: str = HEADLINE_TYPE) -> str:
    """One paragraph: at each error rate, the reward(s) with the fewest zero-spread `qtype` groups (± SE), the ones
    within two SEs of it, then the rest, fewest first."""
    by_rate: dict[float, list] = {}
    for name, pts in zero_spread(rows, qtype).items():
        for rate, p, se, n in pts:
            by_rate.setdefault(rate, []).append((p, se, n, name))
    if not by_rate:
        return f"(no {qtype} groups measured at a numeric error rate)"
    parts = []
    for rate in sorted(by_rate):
        ranked = sorted(by_rate[rate])
        p0, se0, n0, _ = ranked[0]
        best = [x for x in ranked if x[0] == p0]
        near = [x for x in ranked[len(best):] if x[0] - p0 <= 2 * math.hypot(x[1], se0)]
        rest = ranked[len(best) + len(near):]
        text = f"At error rate {rate:g}, fewest: {', '.join(x[3] for x in best)} {p0:.3f} ± {se0:.3f} ({n0} groups)"
        if near:
            text += "; within 2 SE: " + ", ".join(f"{x[3]} {x[0]:.3f} ± {x[1]:.3f}" for x in near)
        if rest:
            text += "; then " + ", ".join(f"{x[3]} {x[0]:.3f} ± {x[1]:.3f}" for x in rest)
        parts.append(text + ".")
    return (f"Headline: the share of {qtype} groups whose rollouts all get the same reward (zero spread: GRPO learns "
            f"nothing from them; fewer is better), ± SE. " + " ".join(parts))


def console_summary(res: LabResult, qtype: str | None = None) -> str:
    """What a console shows: the headline, then the headline columns (`CONSOLE_COLUMNS`) over all difficulties, for
    every type or only `qtype`; each line under 120 characters. lab.txt keeps every column and difficulty."""
    rows = [r for r in res.rows if r["difficulty"] == ALL and qtype in (None, r["type"])]
    cols = [c for c in CONSOLE_COLUMNS if c != "type" or qtype is None]
    return textwrap.fill(headline(res.rows), 118) + "\n\n" + format_table(rows, cols)


def plot_signal_density(rows: Sequence[Mapping], path: str | Path) -> Path:
    """`signal_density_figure` saved as a PNG."""
    fig = signal_density_figure(rows)
    import matplotlib.pyplot as plt  # after the figure: it chose the Agg backend

    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def signal_density_figure(rows: Sequence[Mapping]):
    """The lab figure: first and large, the zero-spread share of planning groups against the policy's error rate,
    one line per reward (each its own marker and line style, slightly dodged so none hides another, with Wilson's
    interval at one SE, `rmlite.stats.share_interval`: inside 0–1, not empty at 0); below,
    smaller, the same per other question type. n (groups) in every title, one legend for the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rewards = list(dict.fromkeys(r["reward"] for r in rows))
    others = sorted({r["type"] for r in rows} - {ALL, HEADLINE_TYPE}) + [ALL]
    ncol = max(3, len(others))
    fig = plt.figure(figsize=(2.6 * ncol, 8.2))
    grid = fig.add_gridspec(2, ncol, height_ratios=(2.3, 1), hspace=0.45, wspace=0.3)
    top = fig.add_subplot(grid[0, :])
    _zero_panel(top, rows, HEADLINE_TYPE, rewards, big=True)
    for k, t in enumerate(others):
        ax = fig.add_subplot(grid[1, k], sharey=top)
        _zero_panel(ax, rows, t, rewards, big=False)
        ax.set_ylabel("zero-spread share" if k == 0 else "", fontsize=7)
    legend: dict = {}  # one entry per reward, from whichever panel drew it
    for ax in fig.axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, h)
    fig.legend(legend.values(), legend.keys(), loc="upper right", ncol=min(len(legend), 6), fontsize=9,
               frameon=False, title="reward", title_fontsize=9)
    return fig


def _zero_panel(ax, rows: Sequence[Mapping], qtype: str, rewards: Sequence[str], big: bool) -> None:
    pts = zero_spread(rows, qtype)
    rates = sorted({x for v in pts.values() for x, *_ in v})
    dodge = (0.012 if big else 0.03) * ((rates[-1] - rates[0]) or 1.0) if rates else 0.0
    for i, name in enumerate(rewards):
        if name not in pts:
            continue
        x, p, _, n = zip(*pts[name], strict=True)
        spans = [share_interval(pi, ni) for pi, ni in zip(p, n, strict=True)]
        yerr = [[pi - lo for pi, (lo, _) in zip(p, spans, strict=True)],
                [hi - pi for pi, (_, hi) in zip(p, spans, strict=True)]]
        shift = (i - (len(rewards) - 1) / 2) * dodge
        ax.errorbar([v + shift for v in x], p, yerr=yerr, marker=MARKERS[i % len(MARKERS)], capsize=2,
                    linestyle=LINESTYLES[i % len(LINESTYLES)], markersize=7 if big else 4, label=name,
                    linewidth=1.6 if big else 1.0, color=f"C{i}")
    groups = sorted({n for v in pts.values() for *_, n in v})
    n = "/".join(map(str, groups)) if groups else "0"
    title = (f"zero-spread {qtype} groups (no learning signal; fewer is better), n = {n} groups per point"
             if big else f"{qtype} (n = {n})")
    ax.set_title(title, fontsize=11 if big else 8, loc="left")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xticks(rates)
    ax.tick_params(labelsize=9 if big else 7)
    ax.set_xlabel("policy error rate", fontsize=9 if big else 7)
    ax.set_ylabel("zero-spread share", fontsize=9 if big else 7)
    ax.grid(alpha=0.3)


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


def write_outputs(res: LabResult, out: str | Path, *, plots: bool = True) -> list[Path]:
    """lab.jsonl (all rows), lab.txt (the headline and every table in full), probes.jsonl, signal_density.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "lab.jsonl", out / "lab.txt"]
    paths[0].write_text("".join(json.dumps(r) + "\n" for r in res.rows))
    parts = [textwrap.fill(headline(res.rows), 118), format_table(res.rows, width=FILE_WIDTH),
             format_table(res.probes, PROBE_COLUMNS, FILE_WIDTH) if res.probes else "",
             format_table(res.ladders, LADDER_COLUMNS, FILE_WIDTH) if res.ladders else ""]
    paths[1].write_text("\n\n".join(p for p in parts if p) + "\n")
    if res.probes:
        paths.append(out / "probes.jsonl")
        paths[-1].write_text("".join(json.dumps(r) + "\n" for r in res.probes))
    if plots and any(isinstance(r["error_rate"], (int, float)) for r in res.rows):
        paths.append(plot_signal_density(res.rows, out / "signal_density.png"))
    return paths
