"""GRPO advantages: the numpy mirror of TRL, and where the difficulty weight W acts."""

import numpy as np
import pytest

from rmlite.lab.advantages import grpo_advantages, zero_std_fraction


def _trl_reference(r, g, scale):
    # Independent re-statement of TRL's formula with explicit loops.
    r = list(map(float, r))
    out = []
    n = len(r)
    mean_all = sum(r) / n
    std_all = (sum((x - mean_all) ** 2 for x in r) / (n - 1)) ** 0.5
    for i in range(0, n, g):
        grp = r[i:i + g]
        m = sum(grp) / g
        sd = (sum((x - m) ** 2 for x in grp) / (g - 1)) ** 0.5
        for x in grp:
            a = x - m
            if scale == "group":
                a /= sd + 1e-4
            elif scale == "batch":
                a /= std_all + 1e-4
            out.append(a)
    return out


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_matches_loop_reference(scale):
    rng = np.random.default_rng(0)
    r = rng.normal(size=24)
    assert np.allclose(grpo_advantages(r, 4, scale), _trl_reference(r, 4, scale))


def test_weight_cancels_under_group_and_acts_under_batch_and_none():
    raw = np.array([0.0, 1.0, 1.0, 0.5, 0.0, 1.0, 1.0, 0.5])
    w = np.array([1.0] * 4 + [1.7] * 4)
    g = grpo_advantages(raw * w, 4, "group")
    assert np.allclose(g[:4], g[4:], atol=1e-3)
    for scale in ("batch", "none"):
        a = grpo_advantages(raw * w, 4, scale)
        assert np.allclose(a[4:], 1.7 * a[:4])
        assert not np.allclose(a[4:], a[:4])


def test_zero_std_fraction_and_errors():
    assert zero_std_fraction([1, 1, 0, 1, 2, 2, 2, 2], 4) == 0.5
    with pytest.raises(ValueError):
        grpo_advantages([1, 2, 3], 2)
    with pytest.raises(ValueError):
        grpo_advantages([1, 2], 2, "mean")
