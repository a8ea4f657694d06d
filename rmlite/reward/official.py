"""The released reward's path (`OFFICIAL`): RewardMap's `reason_map.py`, parser and name cleaning included.

Kept apart from the paper's path so the differences are in one place: the released parser
(`rmlite.reward.official_parse`), its twice-applied name cleaning, and its Beijing line aliases.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from rmlite.names import official_clean_string
from rmlite.reward.checks import check_route, detail_points, shorten
from rmlite.reward.config import RewardBreakdown, RewardConfig, make_breakdown
from rmlite.reward.index import SampleIndex
from rmlite.reward.official_parse import official_extract, official_match, official_sections

# ----- the released behaviour ---------------------------------------------------------------------------------------
_RELEASED_LINE_HACKS = (("八通", "Line 1"), ("大兴", "Line 4"))  # Beijing special cases of the released code


def score_official_perception(text: str, idx: SampleIndex, cfg: RewardConfig, w: float) -> RewardBreakdown:
    """A perception answer as the released reward scores it: its extraction, then an exact match by answer kind."""
    ans = official_extract(text[-cfg.max_completion_chars:])
    ok = official_match(ans, idx.answer, idx.kind)
    return make_breakdown(cfg, w, False, ok, 0.0, ans, "correct" if ok else f"{shorten(ans)!r} is wrong")


@lru_cache(maxsize=65536)
def _clean_twice(raw: str) -> str:
    """The released code cleans departures and arrivals twice (once when parsed, once when compared). No length
    cap: a long note after the last stop is part of the arrival, as released (the cleaning is linear in time)."""
    return official_clean_string(official_clean_string(raw))


def _off_resolve(cfg: RewardConfig, secs: list[tuple[str, str, str]], lines: Mapping[str, frozenset]) -> list:
    out = []
    for name, dep, arr in secs:
        for needle, repl in _RELEASED_LINE_HACKS:
            if needle in name:
                name = repl
        out.append((name if name in lines else None, _clean_twice(dep), _clean_twice(arr)))
    return out


def score_official_planning(text: str, idx: SampleIndex, cfg: RewardConfig, w: float) -> RewardBreakdown:
    """A route answer as the released reward scores it: its section parser, cleaning and detail rules."""
    text = text[-cfg.max_completion_chars:]
    strict = official_sections(text, False, cfg.max_sections)
    loose = official_sections(text, True, cfg.max_sections)
    if strict is None or loose is None:
        return make_breakdown(cfg, w, False, False, 0.0, None, "too many sections", "too many sections")
    lines = idx.map.off_lines
    ok, why = False, "no route sections found"
    if strict:
        ok, why, _ = check_route(_off_resolve(cfg, strict, lines), lines, idx.off_s1, idx.off_s2)
    detail = 0.0
    if loose and cfg.detail:
        detail = detail_points(cfg, _off_resolve(cfg, loose, lines), lines, idx.off_s1, idx.off_s2, idx.q,
                               idx.off_direct)
    parsed = " | ".join(f"{shorten(n, 24)}: {shorten(d, 32)} → {shorten(a, 32)}" for n, d, a in strict) or None
    return make_breakdown(cfg, w, False, ok, detail, parsed, why, None if strict or loose else why)
