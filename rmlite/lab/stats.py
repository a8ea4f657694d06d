"""The lab's measurements on scored rollouts: signal density (zero-spread groups) and rank correlation.

`score_rollouts` scores simulated or logged groups with one reward; `measure` reports, per question type and
difficulty, the reward's mean and spread, the share of zero-spread groups and whether they are all correct, the
rank correlation between reward and number of errors (`spearman`, `group_spearman`) and a correct answer's
advantage under each GRPO scaling (`rmlite.lab.advantages`).

>>> round(spearman([1, 2, 3, 4], [10, 20, 30, 25]), 3)
0.8
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from rmlite.lab.advantages import SCALINGS, grpo_advantages, zero_std_fraction
from rmlite.lab.rollouts import Rollouts
from rmlite.reward.config import RewardConfig
from rmlite.reward.functions import PresetReward, as_total, load_reward
from rmlite.reward.score import score
from rmlite.stats import has_spread

ALL = "all"


# ----- scoring ------------------------------------------------------------------------------------------------------
def reward_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, RewardConfig):
        return spec.name
    return getattr(spec, "__name__", type(spec).__name__)


def score_rollouts(r: Rollouts, reward: Any) -> np.ndarray:
    """The scalar reward of every rollout. A reward is a pure function, so equal texts of one question score once."""
    fn = load_reward(reward)
    cfg = fn.config if isinstance(fn, PresetReward) else None
    out = np.empty(len(r))
    g = r.group_size
    for q, s in enumerate(r.samples):
        seen: dict[str, float] = {}
        for k in range(q * g, q * g + g):
            t = r.texts[k]
            v = seen.get(t)
            if v is None:
                v = seen[t] = score(t, s, cfg).total if cfg is not None else as_total(fn(t, s))
            out[k] = v
    return out


# ----- statistics ---------------------------------------------------------------------------------------------------
def rankdata(x: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (as scipy's default).

    >>> rankdata([10, 20, 20, 5]).tolist()
    [2.0, 3.5, 3.5, 1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = ((starts + ends - 1) / 2 + 1)[np.cumsum(first) - 1]
    return ranks


def _row_ranks(x: np.ndarray) -> np.ndarray:
    """`rankdata` along each row of an (n, G) array (pairwise counts: G is small)."""
    return (x[:, None, :] < x[:, :, None]).sum(-1) + ((x[:, None, :] == x[:, :, None]).sum(-1) + 1) / 2


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1), np.nan)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (NaN when either side is constant).

    >>> spearman([1, 2, 3, 4], [10, 9, 2, 1]), spearman([1, 1], [1, 2])
    (-1.0, nan)
    """
    return float(_pearson_rows(rankdata(a)[None], rankdata(b)[None])[0])


def group_spearman(rewards: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Per-group Spearman between reward and error count, (n, G) → (n,); NaN where either is constant."""
    return _pearson_rows(_row_ranks(rewards), _row_ranks(errors))


def _mean(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    return round(float(x.mean()), 4) if x.size else None


def measure(r: Rollouts, rewards: np.ndarray, reward: str, error_rate: float | str) -> list[dict]:
    """Tidy rows (one per question type × difficulty, `"all"` margins included) for one reward's scores.

    | field | meaning |
    |---|---|
    | accuracy | share of ReasonMap-correct rollouts (no fatal error) |
    | reward_mean, reward_std | mean reward; mean within-group standard deviation |
    | frac_reward_zero_std | share of groups whose rewards are all equal (no GRPO gradient) |
    | zero_std_all_correct / _all_wrong | among those groups, the share where every rollout is correct / wrong |
    | spearman | mean within-group rank correlation of reward with the error count (good: near −1) |
    | spearman_pooled | the same over all rollouts at once (W and question mix included) |
    | adv_correct_{group,batch,none} | mean advantage of an error-free rollout in groups that also hold errors |

    Batch scaling uses the standard deviation of all rollouts passed in (one big batch).
    """
    g = r.group_size
    grid = rewards.reshape(-1, g)
    err = np.asarray(r.n_errors, dtype=np.float64).reshape(-1, g)
    ok = np.asarray(r.correct, dtype=bool).reshape(-1, g)
    adv = {s: grpo_advantages(rewards, g, s).reshape(-1, g) for s in SCALINGS}
    zero = np.array([not has_spread(row) for row in grid.tolist()], dtype=bool)
    rho = group_spearman(grid, err)
    best = err == 0
    mixed = best.any(1) & ~best.all(1)  # groups where a correct answer competes with wrong ones
    types = np.array([s["type"] for s in r.samples])
    diffs = np.array([s.get("difficulty_question") or s["difficulty_city"] for s in r.samples])
    rows = []
    for t in [ALL, *sorted(set(types))]:
        for d in [ALL, *[x for x in ("easy", "middle", "hard") if x in set(diffs)]]:
            m = (types == t if t != ALL else np.ones(len(types), bool)) & (diffs == d if d != ALL else True)
            if not m.any():
                continue
            z = zero[m]
            row = {"reward": reward, "error_rate": error_rate, "type": t, "difficulty": d, "groups": int(m.sum()),
                   "accuracy": _mean(ok[m].astype(float)), "reward_mean": _mean(grid[m]),
                   "reward_std": _mean(grid[m].std(axis=1)),
                   "frac_reward_zero_std": round(zero_std_fraction(grid[m].reshape(-1), g), 4),
                   "zero_std_all_correct": _mean(ok[m][z].all(1).astype(float)) if z.any() else None,
                   "zero_std_all_wrong": _mean((~ok[m][z]).all(1).astype(float)) if z.any() else None,
                   "spearman": _mean(rho[m]), "spearman_pooled": _nan_none(spearman(grid[m].ravel(), err[m].ravel()))}
            mm = m & mixed
            for s in SCALINGS:
                row[f"adv_correct_{s}"] = _mean(adv[s][mm][best[mm]]) if mm.any() else None
            rows.append(row)
    return rows


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)
