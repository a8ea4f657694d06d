"""Integer shares of a count: how many questions of each kind one map asks, so that the kinds keep their weights.

Its own module so that `rmlite.data.questions` stays within the size rule.
"""

from __future__ import annotations

import math
import random


def apportion(n: int, weights: tuple[float, ...], rng: random.Random | None = None) -> list[int]:
    """Split n into integer parts proportional to weights: largest remainder, or with `rng` each part's fraction
    rounded up with its own chance, so parts average n·w over many maps (8 at 50/35/15 % is 4/2.8/1.2, not the
    4/3/1 that largest remainder gives every map: 12.5 % of long routes where 15 % were asked).

    >>> apportion(8, (0.5, 0.35, 0.15))
    [4, 3, 1]
    >>> r = random.Random(0)
    >>> [sum(p) for p in zip(*(apportion(8, (0.5, 0.35, 0.15), r) for _ in range(1000)))]
    [4000, 2810, 1190]
    """
    total = sum(weights)
    raw = [n * w / total for w in weights]
    parts = [int(r) for r in raw]
    frac = [r - p for r, p in zip(raw, parts, strict=True)]
    left = n - sum(parts)
    if rng is None:
        order = sorted(range(len(raw)), key=lambda i: frac[i], reverse=True)
    else:  # systematic sampling: part i rounds up with chance frac[i], exactly `left` of them do
        u, acc, order = rng.random(), 0.0, []
        for i, f in enumerate(frac):
            if math.floor(acc + f - u) > math.floor(acc - u):
                order.append(i)
            acc += f
    for i in order[:left]:
        parts[i] += 1
    return parts
