"""The `robust` route rules: correctness needs a sensible, optimal route; detail pays only for real progress.

The paper's detail term pays for answers a GRPO policy can learn instead of routes (riding from the origin to
the origin, copying the question's stops, an unchecked last section), and its correctness accepts detours and
longer routes. Here, on resolved sections `(line or None, departure key, arrival key)`:

* `robust_check`: Algorithm 1 plus no X→X section, no two consecutive sections on one line, no stop ridden twice,
  exactly q transfers, at most the best route's stops plus a tolerance, and right via counts / lists.
* `robust_detail`: the floor for an answer that rides no real line from one stop to another (stay-put, prompt
  copy, invented lines); else credits for valid sections (the last one too; not a needless change, where the line
  before would have done), right transfer stops, endpoints on sections whose line serves them and right via
  stops, scaled so a perfect route has `detail_max`; then penalties for invented lines, X→X sections, broken
  chains, extra sections, repeated lines, lines not serving their stops and hedges.

The rule table is in `RewardConfig`'s docstring; the numbers are `RobustRules`.
"""

from __future__ import annotations

from collections.abc import Sequence

from rmlite.names import normalize_station
from rmlite.reward.config import RewardConfig, RobustRules
from rmlite.reward.index import SampleIndex, ride
from rmlite.reward.parse import ParsedSection

Resolved = tuple[str | None, str | None, str | None]


def robust_route(cfg: RewardConfig, idx: SampleIndex, secs: Sequence[Resolved], parsed: Sequence[ParsedSection],
                 ok: bool, why: str) -> tuple[bool, str, float]:
    """(correct, reason, detail) under the robust rules, given Algorithm 1's verdict `ok, why` on the sections.

    Pure in the resolved sections (and the written via stops on the long templates), so it is memoised per sample:
    the rollouts of one GRPO group often resolve to the same route. When Algorithm 1 already failed, its reason
    stands, so the memo keeps only the detail.
    """
    owner, memo = idx.memo.get(id(cfg), (None, None))
    if owner is not cfg:  # keyed by identity (hashing a config is slow); holding it keeps its id unique
        memo = {}
        if len(idx.memo) >= MEMO_SIZE:
            idx.memo.clear()
        idx.memo[id(cfg)] = (cfg, memo)
    short = idx.template == "short"
    key = (tuple(secs), ok) if short else (tuple(secs), ok, tuple([(p.num_via, p.via) for p in parsed]))
    hit = memo.get(key)
    if hit is None:
        rules = cfg.robust or RobustRules()
        vias = None if short else [via_ok(idx, s, p, cfg.max_name_chars) for s, p in zip(secs, parsed, strict=True)]
        verdict = robust_check(idx, secs, vias, rules) if ok else None
        hit = verdict, robust_detail(cfg, idx, secs, vias) if cfg.detail else 0.0
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        memo[key] = hit
    verdict, detail = hit
    return (ok, why, detail) if verdict is None else (verdict[0], verdict[1], detail)


MEMO_SIZE = 1024  # routes remembered per sample and config (and configs per sample)


def via_ok(idx: SampleIndex, sec: Resolved, parsed: ParsedSection, max_chars: int) -> bool | None:
    """Whether the written via count (long1) or via list (long2) is the ride's; None on the short template."""
    if idx.template == "long1":
        r = ride(idx.map, *sec)
        n = (parsed.num_via or "").strip()
        return r is not None and n.isdigit() and len(n) <= 6 and int(n) == len(r)
    if idx.template == "long2":
        r = ride(idx.map, *sec)
        text = parsed.via or ""
        if r is None or len(text) > max_chars * (len(r) + 1):  # a long ride's list is long; junk is bounded
            return False
        written = {normalize_station(v) for v in text.split(",") if v.strip()}
        return written == set(r)
    return None


def robust_check(idx: SampleIndex, secs: Sequence[Resolved], vias: Sequence[bool | None] | None,
                 rules: RobustRules) -> tuple[bool, str]:
    """Whether an Algorithm-1-correct route (see `check_route`) is also sensible and optimal, and why not.
    `vias`: each section's `via_ok` (None on the short template)."""
    for i, (line, a, b) in enumerate(secs):
        if a == b:
            return False, f"section {i + 1}: zero length"
        if i and line == secs[i - 1][0]:
            return False, f"section {i + 1}: same line as the section before"
    if len(secs) - 1 != idx.q:
        return False, f"{len(secs) - 1} transfers where {idx.q} suffice"
    seen, m = [secs[0][1]], idx.map
    for sec in secs:
        r = ride(m, *sec)
        if r is None:  # an ambiguous ride (a stop twice on an open line): no stop count
            break
        seen += r
        seen.append(sec[2])
    else:
        if len(set(seen)) < len(seen):
            return False, "a stop is ridden twice (detour)"
        stops = len(seen) - 1
        if rules.max_extra_stops is not None and idx.best_stops is not None \
                and stops > idx.best_stops + rules.max_extra_stops:
            return False, f"{stops} stops where {idx.best_stops} suffice"
    if vias is not None:
        for i, v in enumerate(vias):
            if v is False:
                return False, f"section {i + 1}: wrong via stops"
    return True, "correct route"


def robust_detail(cfg: RewardConfig, idx: SampleIndex, secs: Sequence[Resolved],
                  vias: Sequence[bool | None] | None) -> float:
    """R_detail under the robust rules: scaled credits minus penalties, clipped to [detail_min, detail_max].
    `vias`: each section's `via_ok` (None on the short template)."""
    rules = cfg.robust or RobustRules()
    top = cfg.detail_max if cfg.detail_max is not None else 10.0
    tally = _tally(rules, idx, secs)
    if tally is None:
        total = -top  # no ride on a real line from one stop to another: useless (stay-put, prompt copy, …)
    else:
        valid, ends, transfers, penalty = tally
        earned, best = _credits(cfg, rules, idx, secs, vias, valid, ends, transfers)
        total = top * earned / best - penalty
    if total > top:
        total = top
    if cfg.detail_min is not None and total < cfg.detail_min:
        total = cfg.detail_min
    return total


def _tally(rules: RobustRules, idx: SampleIndex,
           secs: Sequence[Resolved]) -> tuple[list[bool], int, int, float] | None:
    """One pass over the sections: (valid flags, right endpoints, right transfers, penalty points); None when
    nothing rides.

    A section is valid when its line serves both of its stops, which differ, unless it is a needless change: the
    section before it ends where it starts, on a line that serves its own stops and this arrival too (staying on
    would have done, as after a detour's overshoot or an unneeded transfer). Only a valid section earns, and a
    change onto a needless section is no right transfer. The first departure and the last arrival are right when
    they are the question's stops on a section whose line serves them, whose two stops differ and which is no
    needless change (a wrong line or stop at the other end loses that section's credit, not the endpoint's).
    Penalties: invented lines, lines not serving their stops, X→X sections, broken chains, one line twice in a row,
    hedges (one ride written again on another line) and sections beyond q + 1.
    """
    lines, valid, transfers, penalty, rides = idx.map.lines, [], 0, 0.0, False
    seen: dict[tuple, str | None] = {}
    first, prev_line, prev_a, prev_b, prev_st, prev_serves = True, None, None, None, None, False
    ends, needless, st, a, b = 0, False, None, None, None
    for line, a, b in secs:
        st = lines.get(line)  # None for None: line names are strings
        serves = st is not None and a != b and a in st and b in st
        needless = prev_serves and prev_b == a and b in prev_st
        valid.append(serves and not needless)
        if first and a == idx.s1 and a != b and st is not None and a in st:
            ends += 1
        if st is None:
            penalty += rules.unknown_line_penalty
        elif a != b:
            rides = True
            if not serves:
                penalty += rules.wrong_line_penalty
        if a == b:
            penalty += rules.zero_length_penalty
        if seen.setdefault((a, b), line) != line:
            penalty += rules.hedge_penalty
        if not first:
            if prev_b != a:
                penalty += rules.break_penalty
            elif prev_line != line and prev_a != a and a != b and prev_st is not None and st is not None \
                    and a in prev_st and a in st and not needless:
                transfers += 1
            if line is not None and line == prev_line:
                penalty += rules.same_line_penalty
        first, prev_line, prev_a, prev_b, prev_st, prev_serves = False, line, a, b, st, serves
    if not rides:
        return None
    if b == idx.s2 and a != b and st is not None and b in st and not needless:
        ends += 1
    return valid, ends, transfers, penalty + rules.extra_section_penalty * max(0, len(secs) - idx.q - 1)


def _credits(cfg: RewardConfig, rules: RobustRules, idx: SampleIndex, secs: Sequence[Resolved],
             vias: Sequence[bool | None] | None, valid: list[bool], ends: int,
             transfers: int) -> tuple[float, float]:
    """(points earned, points of a perfect route) for right endpoints, valid sections, transfers and via stops.

    Each section beyond q + 1 takes back what one section can earn (its own, a transfer's and a via's credit), so
    extra rides never make up for wrong ones.
    """
    q, n = idx.q, len(secs)
    per_section = rules.section_points + cfg.transfer_points
    earned = cfg.endpoint_points * ends + rules.section_points * sum(valid) + cfg.transfer_points * transfers
    best = 2 * cfg.endpoint_points + rules.section_points * (q + 1) + cfg.transfer_points * q
    if vias is not None:
        right = sum(1 for v, ok in zip(valid, vias, strict=True) if v and ok)
        earned += rules.via_points * right
        best += rules.via_points * (q + 1)
        per_section += rules.via_points
    return earned - per_section * max(0, n - q - 1), best
