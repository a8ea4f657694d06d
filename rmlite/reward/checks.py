"""Route checks shared by the paper's and the released reward: is a resolved route correct, and its detail points.

Sections arrive resolved as `(line or None, departure key, arrival key)`; `check_route` says whether they form a
valid route between the question's stops (and why not), `detail_points` computes R_detail as the `RewardConfig`
table says. `shorten`, `section_text` and `route_text` write the short human-readable parsed answer of a breakdown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from rmlite.reward.parse import ParsedSection

RewardConfig = Any  # `rmlite.reward.config.RewardConfig`, which imports this module through its rules
Resolved = tuple[str | None, str | None, str | None]


class Route(NamedTuple):
    """A route answer as one parser read it: resolved sections `(line or None, departure key, arrival key)`, the
    written sections (None under the released parser), and the map and question as that parser keys them."""

    secs: list[Resolved]
    parsed: Sequence[ParsedSection] | None
    lines: Mapping[str, frozenset]
    s1: str
    s2: str
    direct: frozenset


def shorten(s: str, n: int = 40) -> str:
    """`s` cut to `n` characters (with an ellipsis), so a breakdown's reason stays one short line."""
    return s if len(s) <= n else s[:n] + "…"


def section_text(s: ParsedSection) -> str:
    """One parsed section as `line: departure → arrival`, each part shortened."""
    return f"{shorten(s.route_name, 24)}: {shorten(s.departure, 32)} → {shorten(s.arrival, 32)}"


def route_text(sections: Iterable[ParsedSection]) -> str:
    """A parsed route as its sections' texts joined by ` | ` (a breakdown's `parsed`).

    >>> route_text([ParsedSection("Line 1", "A", "B"), ParsedSection("2", "B", "C" * 50)])
    'Line 1: A → B | 2: B → CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC…'
    """
    return " | ".join([section_text(s) if len(s[0]) > 24 or len(s[1]) > 32 or len(s[2]) > 32
                       else f"{s[0]}: {s[1]} → {s[2]}" for s in sections])  # short names (most): as they are


def check_route(secs: list[tuple[str | None, str | None, str | None]], lines: Mapping[str, frozenset],
                 s1: str, s2: str) -> tuple[bool, str, int | None]:
    """ReasonMap's Algorithm 1 on resolved sections → (correct, reason, index of the offending section or None)."""
    if secs[0][1] != s1:
        return False, "wrong departure stop", None
    if secs[-1][2] != s2:
        return False, "wrong arrival stop", None
    last = len(secs) - 1
    for i, (line, dep, arr) in enumerate(secs):
        stations = lines.get(line) if line is not None else None
        if stations is None:
            return False, f"section {i + 1}: unknown line", i
        if dep not in stations or arr not in stations:
            return False, f"section {i + 1}: stop not on the line", i
        if i < last and arr != secs[i + 1][1]:
            return False, f"section {i + 1}: arrival is not the next departure", i
    return True, "correct route", None


def detail_points(cfg: RewardConfig, r: Any, route: Route, *, q: int) -> float:
    """R_detail of a resolved `route` to a question with `q` transfers under the paper's or the released rules `r`
    (`rmlite.reward.rules`), clipped to `cfg`'s detail bounds; see the RewardConfig table."""
    secs, lines, s1, s2, direct = route.secs, route.lines, route.s1, route.s2, route.direct
    dep_ok, arr_ok = secs[0][1] == s1, secs[-1][2] == s2
    ends = (dep_ok and arr_ok) if r.endpoint_rule == "both" else (dep_ok or arr_ok)
    total = r.endpoint_points if ends else 0.0
    if ends or not r.section_credit_needs_endpoints:
        shift = 1 if r.penalty_off_by_one else 0
        last = len(secs) - 1
        for i, (line, dep, arr) in enumerate(secs):
            if i + shift > q:
                total -= r.transfer_penalty
            stations = lines.get(line) if line is not None else None
            if stations is None:
                continue
            if q == 0:
                if line in direct and (i == 0 or not r.direct_line_first_section_only):
                    total += r.direct_line_points
            else:
                total += r.line_points
            if (i < last and arr == secs[i + 1][1] and dep in stations and arr in stations
                    and (not r.transfer_points_within_budget or i + 1 <= q)):
                total += r.transfer_points
    if cfg.detail_max is not None and total > cfg.detail_max:
        total = cfg.detail_max
    if cfg.detail_min is not None and total < cfg.detail_min:
        total = cfg.detail_min
    return total
