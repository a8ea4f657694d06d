"""GRPO advantages under TRL's three reward-scaling choices, in numpy (no torch).

Mirrors `GRPOTrainer._generate_and_score_completions` (trl 1.15/1.16, `multi_objective_aggregation=
"sum_then_normalize"`): advantage = (r − group mean) / (std + 1e-4), where std is the group's (`"group"`, TRL's
default and verl's), the whole generation batch's (`"batch"`), or no division at all (`"none"`).

Why it matters for RewardMap: the difficulty weight W is the same for every rollout of a question, so under
`"group"` it cancels exactly — (W·r − W·mean) / (W·std) — and the paper's difficulty-aware weighting does
nothing. Under `"batch"` or `"none"` it scales the advantages of harder questions up. rmlite trains with
`"batch"` by default for that reason.

>>> import numpy as np
>>> r = np.array([0., 1., 0., 1.,  0., 1., 0., 1.])   # two questions, G = 4, same raw rewards
>>> w = np.array([1.] * 4 + [1.5] * 4)                 # the second is on a hard map
>>> bool(np.allclose(grpo_advantages(r * w, 4, "group")[:4], grpo_advantages(r * w, 4, "group")[4:], atol=1e-3))
True
>>> bool(np.allclose(grpo_advantages(r * w, 4, "batch")[4:], 1.5 * grpo_advantages(r * w, 4, "batch")[:4]))
True
"""

from __future__ import annotations

import numpy as np

from rmlite.stats import zero_spread_share

SCALINGS = ("group", "batch", "none")
EPS = 1e-4  # TRL's constant


def grpo_advantages(rewards, group_size: int, scale: str = "group") -> np.ndarray:
    """Advantages for a flat batch of rewards laid out group after group (G consecutive rollouts per prompt).

    Standard deviations are unbiased (ddof=1), as torch's `std` that TRL's `nanstd` uses.
    """
    if scale not in SCALINGS:
        raise ValueError(f"scale must be one of {SCALINGS}, got {scale!r}")
    r = np.asarray(rewards, dtype=np.float64)
    if group_size < 1 or r.size % group_size:
        raise ValueError(f"{r.size} rewards do not split into groups of {group_size}")
    g = r.reshape(-1, group_size)
    adv = (g - g.mean(axis=1, keepdims=True)).reshape(-1)
    if scale == "none":
        return adv
    if scale == "group":
        std = np.repeat(g.std(axis=1, ddof=1) if group_size > 1 else np.zeros(len(g)), group_size)
    else:
        std = np.full(r.size, r.std(ddof=1) if r.size > 1 else 0.0)
    return adv / (std + EPS)


def zero_std_fraction(rewards, group_size: int) -> float:
    """Share of groups whose rewards are all equal (no gradient from them), by `rmlite.stats.has_spread`: the one
    rule training, the lab, the warm start and the demo share."""
    g = np.asarray(rewards, dtype=np.float64).reshape(-1, group_size)
    return zero_spread_share(g.tolist())
