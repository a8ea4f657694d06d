"""Route rules: what a route answer must be to be correct, and what its detail term pays. One class per rule set.

`RewardConfig` holds what every preset shares (weights, points, bounds, the parser); its `rules` is one of these,
and `rmlite.reward.score` asks it, so a knob a rule set does not read is not a field of it and cannot be set:

* `PaperRules`: the paper's Algorithm 1 and detail term (fixed off-by-one, +4 on the first section only).
* `ReleasedRules`: the released `reason_map.py`'s detail rules (both endpoints, per-line points, off-by-one).
* `RobustRules`: rmlite's hardened rules (`rmlite.reward.robust`).
* `SparseRules`: Algorithm 1, no detail term.

A rule set is any object with `correct`, `detail` and `judge` as below and a `parsers` tuple; write a new one in a
file of its own (docs/reward.md, "Writing your own reward"). The rule table is in `RewardConfig`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rmlite.reward.checks import Route, check_route, detail_points, section_text
from rmlite.reward.index import SampleIndex
from rmlite.reward.robust import robust_route

RewardConfig = Any  # `rmlite.reward.config.RewardConfig`, which holds a rule set (it imports this module)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _non_negative(obj: Any, names: Sequence[str]) -> None:
    for f in names:
        v = getattr(obj, f)
        if not (_finite(v) and v >= 0):
            raise ValueError(f"{type(obj).__name__}: {f} must be finite and >= 0, got {v!r}")


class _AlgorithmOne:
    """Correct is Algorithm 1 (the offending section named in the reason); `judge` is `correct` then `detail`."""

    parsers: ClassVar[tuple[str, ...]] = ("lenient", "official")

    def correct(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> tuple[bool, str]:
        ok, why, bad = check_route(route.secs, route.lines, route.s1, route.s2)
        if bad is not None and route.parsed is not None:
            why += f" ({section_text(route.parsed[bad])})"
        return ok, why

    def detail(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> float:
        return detail_points(cfg, self, route, q=idx.q)

    def judge(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> tuple[bool, str, float]:
        ok, why = self.correct(cfg, idx, route)
        return ok, why, self.detail(cfg, idx, route)


@dataclass(frozen=True)
class PaperRules(_AlgorithmOne):
    """The paper's detail term (`PAPER`): +`endpoint_points` if the first departure or the last arrival is right,
    −`transfer_penalty` per section beyond q + 1, +`direct_line_points` when q = 0 and the first section's line
    serves both stops, +`transfer_points` per consistent transfer; clipped to the config's detail bounds."""

    endpoint_points: float = 2.0
    transfer_penalty: float = 5.0
    direct_line_points: float = 4.0
    transfer_points: float = 1.0
    # Algorithm 1's fixed choices (what `ReleasedRules` does differently), read by `checks.detail_points`:
    endpoint_rule: ClassVar[str] = "either"
    section_credit_needs_endpoints: ClassVar[bool] = False
    penalty_off_by_one: ClassVar[bool] = False
    direct_line_first_section_only: ClassVar[bool] = True
    line_points: ClassVar[float] = 0.0
    transfer_points_within_budget: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _non_negative(self, ("endpoint_points", "transfer_penalty", "direct_line_points", "transfer_points"))


@dataclass(frozen=True)
class ReleasedRules(_AlgorithmOne):
    """The released `reason_map.py`'s detail term (`OFFICIAL`): +`endpoint_points` only if both endpoints are right,
    and per-section credit only then; −`transfer_penalty` when i + 1 > q; +`direct_line_points` on every section
    when q = 0, +`line_points` on every section on a line of the map when q > 0; +`transfer_points` while
    i + 1 ≤ q."""

    endpoint_points: float = 2.0
    transfer_penalty: float = 5.0
    direct_line_points: float = 4.0
    line_points: float = 3.0
    transfer_points: float = 1.0
    endpoint_rule: ClassVar[str] = "both"
    section_credit_needs_endpoints: ClassVar[bool] = True
    penalty_off_by_one: ClassVar[bool] = True
    direct_line_first_section_only: ClassVar[bool] = False
    transfer_points_within_budget: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _non_negative(self, ("endpoint_points", "transfer_penalty", "direct_line_points", "line_points",
                             "transfer_points"))


@dataclass(frozen=True)
class SparseRules(_AlgorithmOne):
    """Algorithm 1 and no detail term (`SPARSE`): a route is right or it earns nothing beyond its format."""

    def detail(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> float:
        return 0.0


@dataclass(frozen=True)
class RobustRules:
    """The `robust` preset's route rules (`rmlite.reward.robust`): what correctness demands and what detail pays.

    A wrong route's detail decays by `edit_decay` per edit to the nearest reference route (above the config's
    floor `detail_min`); its credits, as a share of a perfect route's less penalties on a 0–10 scale, take back up
    to `partial_credit` of one edit. A perfect direct route's credits, which the share divides by, are
    2·endpoint_points + section_points, so one of them must be above 0. Lenient parser only.
    """

    parsers: ClassVar[tuple[str, ...]] = ("lenient",)
    edit_decay: float = 0.7  # each edit to the nearest right route keeps this share of the detail above the floor
    partial_credit: float = 0.5  # how far the route's credits (a share in [0, 1]) take back one edit; < 1
    max_extra_stops: int | None = 2  # correct needs no more stops than the best route plus this; None: no check
    # The credits behind the share (raw points, scaled by a perfect route's) and their penalties (0–10 scale):
    endpoint_points: float = 2.0  # a right first departure / last arrival, each
    section_points: float = 2.0  # a section whose line serves both of its (different) stops, at most q + 1 of them
    transfer_points: float = 1.0  # a consistent transfer on both lines
    via_points: float = 1.0  # long templates: a valid section whose via count / via set is the ride's
    unknown_line_penalty: float = 2.0  # a section on a line the map does not have
    zero_length_penalty: float = 0.5  # a section from a stop to itself
    break_penalty: float = 8.0  # an arrival that is not the next departure
    extra_section_penalty: float = 1.0  # each section beyond q + 1
    same_line_penalty: float = 1.0  # two consecutive sections on one line
    wrong_line_penalty: float = 0.5  # a real line that does not serve both stops of its section
    hedge_penalty: float = 2.0  # a section repeating an earlier section's stops on another line (listing lines)

    def __post_init__(self) -> None:
        _non_negative(self, ("endpoint_points", "section_points", "transfer_points", "via_points",
                             "unknown_line_penalty", "zero_length_penalty", "break_penalty", "extra_section_penalty",
                             "same_line_penalty", "wrong_line_penalty", "hedge_penalty"))
        if self.max_extra_stops is not None and not (isinstance(self.max_extra_stops, int)
                                                     and not isinstance(self.max_extra_stops, bool)
                                                     and self.max_extra_stops >= 0):
            raise ValueError(f"RobustRules: max_extra_stops must be an int >= 0 or None, got {self.max_extra_stops!r}")
        if not (_finite(self.edit_decay) and 0 < self.edit_decay < 1):
            raise ValueError(f"RobustRules: edit_decay must be in (0, 1), got {self.edit_decay!r}")
        if not (_finite(self.partial_credit) and 0 <= self.partial_credit < 1):
            raise ValueError(f"RobustRules: partial_credit must be in [0, 1), got {self.partial_credit!r}")
        # The only division in scoring: the share's denominator, never 0 exactly when this holds (q = 0, short).
        if not 2 * self.endpoint_points + self.section_points > 0:
            raise ValueError("RobustRules: endpoint_points > 0 or section_points > 0 needed: a perfect direct "
                             "route's credits are their sum, and a route's credit share divides by it")

    def correct(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> tuple[bool, str]:
        return self.judge(cfg, idx, route)[:2]

    def detail(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> float:
        return self.judge(cfg, idx, route)[2]

    def judge(self, cfg: RewardConfig, idx: SampleIndex, route: Route) -> tuple[bool, str, float]:
        ok, why = _AlgorithmOne.correct(self, cfg, idx, route)  # type: ignore[arg-type]
        return robust_route(cfg, self, idx, route.secs, route.parsed, ok, why)


Rules = PaperRules | ReleasedRules | RobustRules | SparseRules
