"""rmlite.stats is the one home of the zero-spread rule and of standard errors: every caller gives the same answer.

The independent path: a group's spread is recomputed here as "max − min over the finite rewards, against the
tolerance", and standard errors with the standard library's `statistics`.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmlite import stats
from rmlite.demo import zero_flags
from rmlite.lab.advantages import zero_std_fraction
from rmlite.lab.rollouts import Rollouts
from rmlite.lab.stats import measure
from rmlite.models import warmstart
from rmlite.train.spread import TOTAL, spread_metrics

# A float32 sum of float64 rewards: the same reward (no spread), then a group that really differs.
ALMOST = [11.5, 11.5 + 1e-7, 11.5, 11.5]
REAL = [11.5, 11.6, 11.5, 11.5]


def test_the_rule():
    assert not stats.has_spread(ALMOST) and stats.has_spread(REAL)
    assert not stats.has_spread([1.0, float("nan")]) and stats.has_spread([0.0, None, float("nan"), 1.0])
    assert not stats.has_spread([3.0]) and math.isnan(stats.zero_spread_share([]))
    with pytest.raises(ValueError, match="groups of 4"):
        stats.split_groups([1, 2, 3], 4)


@given(st.lists(st.floats(-100, 100), min_size=2, max_size=8))
def test_has_spread_equals_a_recomputation(values):
    expected = max(values) - min(values) > 1e-6 * max(1.0, max(abs(v) for v in values))
    assert stats.has_spread(values) == expected


class _Breakdown:
    def __init__(self, total: float):
        self.total = total

    def components(self) -> dict:
        return {"correctness": self.total, "detail": 0.0}


def _rollouts(groups: list[list[float]]) -> Rollouts:
    samples = [{"type": "planning", "difficulty_city": "easy", "id": str(i)} for i in range(len(groups))]
    n = 4 * len(groups)
    return Rollouts(samples, 4, ["x"] * n, [0, 1, 1, 1] * len(groups), [True, False, False, False] * len(groups),
                    [()] * n)


def _warm_start_share(monkeypatch, group: list[float]) -> float:
    """reward_spread_share with generation replaced by four fixed completions whose rewards are `group`."""
    monkeypatch.setattr(warmstart, "SampleEncoder", lambda processor: None)
    monkeypatch.setattr(warmstart, "generate_answers", lambda *a, **k: ["a", "b", "c", "d"])
    reward = dict(zip("abcd", group, strict=True))
    return warmstart.reward_spread_share(None, None, [{"type": "planning", "question": "q"}], [None],
                                         lambda c, s: reward[c], group_size=4, n_prompts=1, max_new_tokens=4)


@pytest.mark.parametrize(("group", "spread"), [(ALMOST, False), (REAL, True)])
def test_every_caller_gives_the_same_answer(monkeypatch, group, spread):
    zero = float(not spread)
    assert spread_metrics({}, group, ["planning"] * 4, 4)[TOTAL] == zero  # training telemetry
    assert zero_std_fraction(group, 4) == zero  # the lab's advantages
    row = next(r for r in measure(_rollouts([group]), np.array(group), "robust", 0.5)
               if r["type"] == "planning" and r["difficulty"] == "all")
    assert row["frac_reward_zero_std"] == zero  # the lab's table
    assert row["zero_std_all_wrong"] is None if spread else row["zero_std_all_wrong"] == 0.0  # the same flag
    assert zero_flags({"robust": [[_Breakdown(v) for v in group]]})["total"]["robust"] == [zero]  # the demo
    assert _warm_start_share(monkeypatch, group) == 1.0 - zero  # the warm start's spread probe


@given(st.lists(st.floats(-50, 50), min_size=2, max_size=30))
def test_mean_se_equals_the_standard_library(values):
    m, se = stats.mean_se(values)
    assert m == pytest.approx(statistics.fmean(values), abs=1e-9)
    assert se == pytest.approx(statistics.stdev(values) / math.sqrt(len(values)), rel=1e-6, abs=1e-9)


@given(st.lists(st.integers(0, 1), min_size=2, max_size=60))
def test_share_se_is_mean_se_of_the_flags(flags):
    assert stats.share_se(sum(flags) / len(flags), len(flags)) == pytest.approx(stats.mean_se(flags)[1], abs=1e-12)


def test_edge_cases_and_clusters():
    assert stats.mean_se([2.0]) == (2.0, 0.0) and all(math.isnan(x) for x in stats.mean_se([]))
    values, clusters = [1, 1, 0, 0, 1, 0], ["a", "a", "b", "b", "c", "c"]
    means = [1.0, 0.0, 0.5]
    assert stats.cluster_mean_se(values, clusters) == pytest.approx(
        (statistics.fmean(means), statistics.stdev(means) / math.sqrt(3)))
    assert stats.binomial_se(0.5, 100) == pytest.approx(0.05)
