"""The released reward's path (`OFFICIAL`): RewardMap's `reason_map.py`, parser and name cleaning included.

Kept apart from the paper's path so the differences are in one place: the released parser
(`rmlite.reward.official_parse`), its twice-applied name cleaning, and its Beijing line aliases.
"""

from __future__ import annotations

from collections.abc import Mapping

from rmlite.names import rewardmap_clean
from rmlite.reward.checks import Route, shorten
from rmlite.reward.config import RewardBreakdown, RewardConfig, make_breakdown
from rmlite.reward.index import SampleIndex, SizedCache
from rmlite.reward.official_parse import official_extract, official_match, official_sections

# ----- the released behaviour ---------------------------------------------------------------------------------------
_RELEASED_LINE_HACKS = (("八通", "Line 1"), ("大兴", "Line 4"))  # Beijing special cases of the released code


def score_official_perception(text: str, idx: SampleIndex, cfg: RewardConfig, w: float) -> RewardBreakdown:
    """A perception answer as the released reward scores it: its extraction, then an exact match by answer kind."""
    ans = official_extract(text[-cfg.max_completion_chars:])
    ok = official_match(ans, idx.answer, idx.kind)
    return make_breakdown(cfg, w, reason="correct" if ok else f"{shorten(ans)!r} is wrong", correct=ok, parsed=ans)


CLEAN_CACHE_BYTES = 8 << 20  # the cleaned names kept (8 MiB of names and their cleanings; pays: see _clean_twice)
_CLEANED = SizedCache(CLEAN_CACHE_BYTES)
_clean = rewardmap_clean.__wrapped__  # uncached: that cache is bounded by entries, and arrivals can be long


def _clean_twice(raw: str) -> str:
    """The released code cleans departures and arrivals twice (once when parsed, once when compared). No length
    cap: a long note after the last stop is part of the arrival, as released (the cleaning is linear in time).

    Cached by bytes (`CLEAN_CACHE_BYTES`), not entries: 8,000 long arrivals once kept 185 MB. The cache pays: a
    name cleaned twice costs about 3 µs, a lookup 0.03 µs, and a route has two to four names per section.
    """
    hit = _CLEANED.get(raw)
    return hit if hit is not None else _CLEANED.put(raw, _clean(_clean(raw)))


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
        return make_breakdown(cfg, w, reason="too many sections", error="too many sections")
    lines = idx.map.off_lines
    ok, why = False, "no route sections found"
    if strict:
        ok, why = cfg.rules.correct(cfg, idx, Route(_off_resolve(cfg, strict, lines), None, lines, idx.off_s1,
                                                     idx.off_s2, idx.off_direct))
    detail = 0.0
    if loose:
        detail = cfg.rules.detail(cfg, idx, Route(_off_resolve(cfg, loose, lines), None, lines, idx.off_s1, idx.off_s2,
                                                  idx.off_direct))
    parsed = " | ".join([f"{n}: {d} → {a}" if len(n) <= 24 and len(d) <= 32 and len(a) <= 32
                         else f"{shorten(n, 24)}: {shorten(d, 32)} → {shorten(a, 32)}" for n, d, a in strict]) or None
    return make_breakdown(cfg, w, reason=why, correct=ok, detail=detail, parsed=parsed,
                          error=None if strict or loose else why)
