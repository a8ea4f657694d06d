"""The few statistics every rmlite number uses, in one place: the zero-spread rule and standard errors.

Zero spread. A GRPO group whose rewards are all equal gives no gradient. Training telemetry, the lab, the warm
start's spread probe and the demo all ask "does this group have spread?", and they must give one answer: rewards
equal within `SPREAD_RTOL` of the group's largest |reward| count as equal, because TRL sums float64 rewards in
float32 (11.5 + 1e-7 is the same reward). None and NaN rewards (unscorable) are left out, as TRL does.

Standard errors. One convention for a mean (shares included): the sample standard deviation (n − 1) over √n, SE 0
for one value. Where observations come in clusters that are not independent (several groups drawn on one question),
`cluster_mean_se` takes the mean per cluster first. `binomial_se` is only for a share whose p is known in advance
(a chance baseline), never for an estimated one. Pictures draw an estimated share's uncertainty as `share_interval`
(Wilson's score interval at one standard error): it stays inside [0, 1] and is not empty at 0 or 1, where p ± SE
would reach past the axis (0.5 ± 0.5 from two questions) or vanish (0 ± 0).

>>> has_spread([11.5, 11.5 + 1e-7, 11.5, 11.5]), has_spread([11.5, 11.6])
(False, True)
>>> zero_spread_share([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
0.5
>>> mean_se([1, 0, 1, 1])
(0.75, 0.25)
>>> cluster_mean_se([1, 1, 0, 0], ["a", "a", "b", "b"])
(0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

SPREAD_RTOL = 1e-6  # relative to the group's largest |reward|: float32 sums of float64 rewards differ by ~1e-7


def _finite(rewards: Sequence[float | None]) -> list[float]:
    return [float(r) for r in rewards if r is not None and not math.isnan(float(r))]


def has_spread(rewards: Sequence[float | None]) -> bool:
    """True when the finite rewards of one group are not all equal (within `SPREAD_RTOL`)."""
    vals = _finite(rewards)
    if len(vals) < 2:
        return False
    return max(vals) - min(vals) > SPREAD_RTOL * max(1.0, max(abs(v) for v in vals))


def zero_spread_share(groups: Sequence[Sequence[float | None]]) -> float:
    """The share of groups without spread (NaN for no groups)."""
    return sum(not has_spread(g) for g in groups) / len(groups) if groups else float("nan")


def split_groups(values: Sequence[float], size: int) -> list[Sequence[float]]:
    """Consecutive runs of `size` values (TRL's layout: each prompt's completions in a row).

    >>> split_groups([1, 2, 3, 4], 2)
    [[1, 2], [3, 4]]
    """
    values = list(values)
    if size < 1 or len(values) % size:
        raise ValueError(f"{len(values)} rewards do not split into groups of {size}")
    return [values[i:i + size] for i in range(0, len(values), size)]


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean and its standard error (sample standard deviation, n − 1, over √n); SE 0 for one value, NaN for
    none."""
    n = len(values)
    if not n:
        return float("nan"), float("nan")
    m = sum(values) / n
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n) if n > 1 else 0.0


def share_se(p: float, n: int) -> float:
    """The standard error of a share `p` estimated from `n` 0/1 values: `mean_se`'s convention, computed from the
    share alone (sqrt(p(1 − p) / (n − 1)); 0 for one value).

    >>> round(share_se(0.75, 4), 4) == round(mean_se([1, 0, 1, 1])[1], 4)
    True
    """
    return math.sqrt(p * (1 - p) / (n - 1)) if n > 1 else 0.0


def cluster_mean_se(values: Sequence[float], clusters: Sequence[Hashable]) -> tuple[float, float]:
    """The mean of the per-cluster means and its standard error across clusters: observations in one cluster (the
    groups drawn on one question) are not independent of each other, the clusters are."""
    by: dict[Hashable, list[float]] = {}
    for v, c in zip(values, clusters, strict=True):
        by.setdefault(c, []).append(v)
    return mean_se([sum(v) / len(v) for v in by.values()])


def cluster_share_se(counts: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """A share pooled over clusters, from each cluster's (hits, draws), and its standard error across clusters (the
    ratio estimator's, with the n − 1 style factor m / (m − 1)): draws in one cluster (the questions of one map) are
    not independent, the clusters are. (0, inf) with no draws; the error is inf with fewer than two clusters.

    >>> [round(v, 4) for v in cluster_share_se([(1, 2), (3, 4)])]
    [0.6667, 0.1111]
    """
    n = sum(d for _, d in counts)
    if not n:
        return 0.0, math.inf
    share = sum(h for h, _ in counts) / n
    m = len(counts)
    if m < 2:
        return share, math.inf
    resid = sum((h - share * d) ** 2 for h, d in counts)
    return share, math.sqrt(m / (m - 1) * resid) / n


def share_interval(p: float, n: int, z: float = 1.0) -> tuple[float, float]:
    """Wilson's score interval for a share `p` of `n` 0/1 values: the shares p0 whose own binomial SE puts `p` within
    `z` of them (z = 1: the interval a ± SE bar means). Always inside [0, 1]; (0, 1) for no values.

    >>> [round(v, 3) for v in share_interval(0.5, 2)], [round(v, 4) for v in share_interval(0.0, 15)]
    ([0.211, 0.789], [0.0, 0.0625])
    """
    if n < 1:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n))
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))  # it holds p; rounding could leave it


def binomial_se(p: float, n: int) -> float:
    """The standard error of a share over `n` draws when its probability `p` is known in advance (a chance level).

    >>> round(binomial_se(0.25, 12), 4)
    0.125
    """
    return math.sqrt(p * (1 - p) / max(1, n))
