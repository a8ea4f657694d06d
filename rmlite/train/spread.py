"""rmlite's zero-spread metrics: the share of GRPO groups whose rewards are all equal, per component, total and type.

A group with zero spread gives GRPO no gradient: every completion gets the same advantage. This is the number the
RewardMap argument rests on, so rmlite computes it itself, from the rewards of each group, and logs it as
`zero_spread/total` (the weighted sum TRL trains on), `zero_spread/rewards/<function>` (each reward function) and
`zero_spread/type/<question type>` (total, per type; absent types are not logged), plus `zero_spread/groups`.

TRL's own `frac_reward_zero_std` stays in the run files under its name, but it is not this number: under
`scale_rewards="batch"` (rmlite's default) TRL 1.16 tests the *batch's* standard deviation, so it reads 0 as soon
as a step holds more than one prompt with different rewards. It agrees with `zero_spread/total` only with one
prompt per generation batch, or under `scale_rewards="group"`.

Pure Python (no torch): the trainer passes gathered rewards as nested lists. The rule for "no spread" (and its
tolerance) is `rmlite.stats.has_spread`, shared with the lab, the warm start and the demo.

>>> from rmlite.stats import zero_spread_share
>>> zero_spread_share([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
0.5
>>> spread_metrics({"fmt": [1, 1, 0, 1, 1, 1, 1, 1]}, [1, 1, 0, 1, 1, 1, 1, 1], ["torf1"] * 4 + ["planning"] * 4, 4)
{'zero_spread/groups': 2, 'zero_spread/total': 0.5, 'zero_spread/rewards/fmt': 0.5, 'zero_spread/type/planning': 1.0, \
'zero_spread/type/torf1': 0.0}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rmlite.stats import split_groups, zero_spread_share

PREFIX = "zero_spread"
TOTAL = f"{PREFIX}/total"
GROUPS = f"{PREFIX}/groups"


def spread_metrics(per_function: Mapping[str, Sequence[float]], totals: Sequence[float],
                   types: Sequence[str | None], group_size: int) -> dict[str, float]:
    """The logged metrics for one generation batch: consecutive runs of `group_size` rewards are one group (TRL's
    layout: each prompt repeated `num_generations` times in a row). `types` gives each completion's question type."""
    groups = split_groups(list(totals), group_size)
    out: dict[str, float] = {GROUPS: len(groups), TOTAL: zero_spread_share(groups)}
    for name, values in per_function.items():
        out[f"{PREFIX}/rewards/{name}"] = zero_spread_share(split_groups(list(values), group_size))
    group_types = [types[i] for i in range(0, len(types), group_size)]
    for t in sorted({t for t in group_types if t is not None}):
        out[f"{PREFIX}/type/{t}"] = zero_spread_share([g for g, gt in zip(groups, group_types, strict=True)
                                                        if gt == t])
    return out
