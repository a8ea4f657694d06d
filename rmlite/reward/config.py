"""What a reward is: `RewardConfig` (what every preset shares, and its route rules: a rule set of
`rmlite.reward.rules`), the presets `PAPER`, `OFFICIAL`, `SPARSE`, `ROBUST`, and the `RewardBreakdown` a score returns.

    R = W · (R_format + R_correctness + α · R_detail),    W = W_map + W_question   (RewardMap Sec. 4.2, App. B)

The rules of each preset, side by side, are the table in `RewardConfig`'s docstring. Scoring itself is
`rmlite.reward.score`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any

from rmlite.reward import parse
from rmlite.reward.rules import PaperRules, ReleasedRules, RobustRules, Rules, SparseRules
from rmlite.schema import DIFFICULTY_LEVEL, answer_kind


# ----- configuration -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RewardConfig:
    """What every preset shares (weights, points, detail bounds, parser, size bounds) and its route rules `rules`
    (`PaperRules`, `ReleasedRules`, `RobustRules`, `SparseRules` or your own, `rmlite.reward.rules`), which hold
    the knobs of the table below that only they read. Frozen, hashable, validated on creation.

    Weight. `W = gamma[map difficulty] + W_question`, where W_question = `beta[0]` for a route question (planning)
    whose reference route has no transfer, `beta[1]` when it has one or more, and 0 for the perception types.
    Note: W is the same for every rollout of a question, so under GRPO's default per-group standard-deviation
    scaling (TRL `scale_rewards="group"`, also the released verl setting) it cancels out of the advantage
    exactly; it only matters with batch-level (`scale_rewards="batch"`) or no scaling (`"none"`).

    Route answers (planning only; case → credit). `robust` is rmlite's hardened reward (`RobustRules`,
    `rmlite.reward.robust`); `official` the released `reason_map.py`; `paper` the paper's Algorithm 1 except (†):

    | case | paper | official (released) | robust |
    |---|---|---|---|
    | parser | lenient (†1) | released | lenient |
    | correct | Alg. 1 (†4) | Alg. 1, exact-case keys | Alg. 1 + sensible route (a) |
    | first departure / last arrival right | +2 if either | +2 if both | share: +2 each (e) |
    | per-section credit given | always | only if both ends right | share: always |
    | section i (0-based) over the q transfers | −5 if i > q | −5 if i + 1 > q | share: (c) |
    | q = 0, section on a line serving both stops | +4, first only (†2) | +4 each | - |
    | q > 0, section on any line of the map | 0 | +3 | - |
    | section on a line serving its two stops | - | - | share: +2 each valid one (b), last included |
    | transfer consistent (arrival = next departure) | +1 | +1 while i + 1 ≤ q | share: +1 on both lines (d) |
    | via count / list right (long templates) | 0 | 0 | share: +1 per valid section; wrong: +1 edit |
    | invented line, X→X, broken chain | 0 | 0 | share: −2, −0.5, −8 (on 0–10) |
    | same line twice, line not serving its stops | 0 | 0 | share: −1, −0.5 |
    | stops of an earlier section on another line (a hedge) | 0 | 0 | share: −2; (f) |
    | no section goes from one stop to another (stay-put) | 0 | 0 | the floor, −2 |
    | edits to the nearest reference route (f) | - | - | E, at least 1 |
    | R_detail | clip to [0, 10] (†3) | (−∞, 10] | 10 if correct, else −2 + 12 · 0.7 ^ (E − 0.5 · share) (g) |

    (a) also no X→X section, no two consecutive sections on one line, no stop ridden twice (a detour), exactly q
    transfers, at most best stops + `max_extra_stops`; long templates: each section's via count exact, via list
    equal as a set (both read as `rmlite.reward.forms` says: "6 stops" is 6, "None" no stops, arrows separate).
    (b) only on a valid section: its line serves both of its stops, which differ, and it is no
    needless change (the section before ends where it starts, on a line that serves its own stops and this
    arrival too: staying on would have done, as after a detour's overshoot). (c) each section beyond q + 1 takes
    back what one section can earn (section, transfer and via credit), and −1. (d) not onto a needless change.
    (e) on a section whose line serves that endpoint, whose two stops differ and which is no needless change.
    (f) `rmlite.reward.route_edits` (its spec: docs/reward.md, "The route metric"): one edit per wrong or misread
    line (a name the map lacks), wrong stop (a transfer stop once, though written twice), broken chain, dropped
    section (first, middle or last), added zero-length or repeated section (a hedge: repeated on another line, 2),
    skipped change (two rides merged), needless change or detour (one ride split; each wrong element of a split one
    more), and one for reading the whole route backwards; the fewest over every reference route, counted up to 12.
    So each error costs one edit whatever its kind and wherever it lands. (g) share = credits ÷ a perfect
    route's − penalties ÷ 10, clipped to [0, 1]: it orders answers with the same number of edits and never
    outweighs one (`RobustRules.partial_credit` < 1); every route that goes somewhere scores above the floor −2.
    Deliberate deviations of `paper` from the paper's text: (†1) the paper scores 0 when parsing fails; the
    preset reads messy answers leniently (lowercase keys: 15.6 instead of 0 on a middle map), format credit is
    strict. (†2) the paper's "current transfer times = 0" gives +4 to the first section of *every* route (a
    perfect one-transfer route: detail 7, not 3); the preset gives it only when q = 0. (†3) the paper only caps
    at 10; the preset also floors at 0. (†4) as the paper: no optimality or detour check. `correct_points` is 10
    as in the released code; the paper's text gives R_correctness no number. `official`'s two bounds: only the
    last `max_completion_chars` of a completion are read, and more than `max_sections` sections score 0 (the
    release scores their negative detail).
    """

    name: str = "custom"
    parser: str = "lenient"  # "lenient" (rmlite.reward.parse) or "official" (the released parser and clean_string)
    format_points: float = 1.0  # strict format; the released code has no format term (0)
    correct_points: float = 10.0  # as the released code (the paper's text gives no number)
    alpha: float = 0.5  # weight of the detail term
    gamma: tuple[float, float, float] = (1.0, 1.2, 1.5)  # W_map for easy / middle / hard maps
    beta: tuple[float, float] = (0.0, 0.5)  # W_question for 0 / ≥1 transfers (planning only)
    detail_min: float | None = 0.0  # None: no floor
    detail_max: float | None = 10.0
    max_answer_chars: int = parse.WINDOW  # lenient parsing reads this tail of the answer; longer is never strict
    max_completion_chars: int = 65536  # the official parser reads this tail (released: all; differs only beyond)
    max_sections: int = 256  # more sections than this is scored as unparseable (bounded time; official: a bound)
    max_name_chars: int = 256  # lenient parser: a longer station / line "name" matches nothing (bounded time)
    rules: Rules = PaperRules()  # what a route must be to be correct and what its detail pays (`rmlite.reward.rules`)

    def __post_init__(self) -> None:
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"RewardConfig {self.name!r}: {msg}")

        check(not isinstance(self.rules, type) and all(callable(getattr(self.rules, m, None))
                                                       for m in ("correct", "detail", "judge")),
              f"rules need correct, detail and judge (rmlite.reward.rules), got {type(self.rules).__name__}")
        check(self.parser in getattr(self.rules, "parsers", ("lenient", "official")),
              f"{type(self.rules).__name__} reads only the {' or '.join(self.rules.parsers)} parser, "
              f"got {self.parser!r}")
        check(self.parser in ("lenient", "official"), f"parser must be 'lenient' or 'official', got {self.parser!r}")
        check(len(self.gamma) == 3 and all(_finite(g) and g > 0 for g in self.gamma),
              f"gamma needs three positive weights (easy, middle, hard), got {self.gamma!r}")
        check(len(self.beta) == 2 and all(_finite(b) and b >= 0 for b in self.beta),
              f"beta needs two non-negative weights (0, >=1 transfers), got {self.beta!r}")
        for f in ("format_points", "correct_points", "alpha"):
            check(_finite(getattr(self, f)) and getattr(self, f) >= 0, f"{f} must be finite and >= 0")
        check(self.correct_points > 0, "correct_points must be > 0")
        lo, hi = self.detail_min, self.detail_max
        check(lo is None or _finite(lo), "detail_min must be finite or None")
        check(hi is None or _finite(hi), "detail_max must be finite or None")
        check(lo is None or hi is None or lo <= hi, f"detail_min {lo} > detail_max {hi}")
        for f in ("max_answer_chars", "max_completion_chars", "max_sections", "max_name_chars"):
            v = getattr(self, f)
            check(isinstance(v, int) and not isinstance(v, bool) and v > 0, f"{f} must be a positive int")
        object.__setattr__(self, "gamma", tuple(float(g) for g in self.gamma))
        object.__setattr__(self, "beta", tuple(float(b) for b in self.beta))

    def __hash__(self) -> int:
        """By value, as a frozen dataclass's, but computed once: scoring's memos are keyed by the config (an id could
        be reused by another config once this one is gone), and hashing every field on every lookup is slow."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = self.__dict__["_hash"] = hash(tuple(getattr(self, f.name) for f in fields(self)))
        return h

    def __getstate__(self) -> dict[str, Any]:
        """The fields only: a hash is per process (strings hash differently in each), so it is not pickled."""
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}

    @property
    def dense(self) -> bool:
        """Whether the config has a detail term (every preset but `SPARSE`)."""
        return not isinstance(self.rules, SparseRules)

    def weight(self, difficulty_city: str, qtype: str, transfers: int) -> float:
        """W for one sample.

        >>> PAPER.weight("middle", "planning", 1), PAPER.weight("hard", "torf1", 0)
        (1.7, 1.5)
        """
        w = self.gamma[DIFFICULTY_LEVEL[difficulty_city]]
        if answer_kind(qtype) == "route":
            w += self.beta[1] if transfers > 0 else self.beta[0]
        return w


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


PAPER = RewardConfig(name="paper")
OFFICIAL = RewardConfig(name="official", parser="official", format_points=0.0, rules=ReleasedRules(), detail_min=None)
SPARSE = RewardConfig(name="sparse", rules=SparseRules(), gamma=(1.0, 1.0, 1.0), beta=(0.0, 0.0))
ROBUST = RewardConfig(name="robust", rules=RobustRules(), detail_min=-2.0)
PRESETS: dict[str, RewardConfig] = {c.name: c for c in (PAPER, OFFICIAL, SPARSE, ROBUST)}


def get_config(config: RewardConfig | str = "paper", **overrides: Any) -> RewardConfig:
    """A preset by name (or a config), with keyword overrides of its fields or of its rules' knobs.

    A knob its rule set does not read is refused, naming the knobs it has:

    >>> get_config("paper", alpha=1.0, transfer_penalty=8.0).rules
    PaperRules(endpoint_points=2.0, transfer_penalty=8.0, direct_line_points=4.0, transfer_points=1.0)
    >>> get_config("robust", line_points=3.0)
    Traceback (most recent call last):
    TypeError: RobustRules has no knob 'line_points' (robust's knobs: edit_decay, partial_credit, ...)
    """
    if isinstance(config, str):
        if config not in PRESETS:
            raise ValueError(f"unknown reward preset {config!r}; expected one of {sorted(PRESETS)}")
        config = PRESETS[config]
    if not isinstance(config, RewardConfig):
        raise TypeError(f"expected a RewardConfig or preset name, got {type(config).__name__}")
    mine = {f.name for f in fields(RewardConfig)}
    knobs = {k: v for k, v in overrides.items() if k not in mine}
    if knobs:
        rules = overrides.get("rules", config.rules)
        have = [f.name for f in fields(rules)] if is_dataclass(rules) else []
        for k in knobs:
            if k not in have:
                shown = ", ".join(have[:2]) + (", ..." if len(have) > 2 else "")
                raise TypeError(f"{type(rules).__name__} has no knob {k!r} ({config.name}'s knobs: {shown or 'none'})")
        overrides = {k: v for k, v in overrides.items() if k in mine} | {"rules": replace(rules, **knobs)}
    return replace(config, **overrides) if overrides else config


# ----- the result --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RewardBreakdown:
    """One scored completion. `format`, `correctness` and `detail` are unweighted points;
    `total = weight · (format + correctness + alpha · detail)`, and `components()` gives the weighted terms."""

    total: float
    format: float
    correctness: float
    detail: float
    weight: float
    alpha: float
    correct: bool
    parsed: str | None
    reason: str
    error: str | None = None

    def components(self) -> dict[str, float]:
        """The weighted terms (what TRL logs); they sum to `total`."""
        return {"format": self.weight * self.format, "correctness": self.weight * self.correctness,
                "detail": self.weight * self.alpha * self.detail}


def make_breakdown(cfg: RewardConfig, w: float, *, reason: str, fmt: bool = False, correct: bool = False,
                   detail: float = 0.0, parsed: str | None = None, error: str | None = None) -> RewardBreakdown:
    """A `RewardBreakdown` from what a scorer found (format kept, correct, detail points) under `cfg` and weight `w`.

    >>> make_breakdown(PAPER, 1.5, reason="correct route", fmt=True, correct=True, detail=3.0).total
    18.75
    """
    f = cfg.format_points if fmt else 0.0
    c = cfg.correct_points if correct else 0.0
    # What `RewardBreakdown(...)` builds, without its frozen __init__'s ten `object.__setattr__` calls (a tenth of
    # the time of scoring a route; tests/test_reward_caches.py checks the two agree).
    b = _new(RewardBreakdown)
    _set(b, "__dict__", {"total": w * f + w * c + w * cfg.alpha * detail, "format": f, "correctness": c,
                         "detail": detail, "weight": w, "alpha": cfg.alpha, "correct": correct, "parsed": parsed,
                         "reason": reason, "error": error})
    return b


_new, _set = object.__new__, object.__setattr__
