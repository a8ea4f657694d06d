"""The `robust` route rules: correctness needs a sensible, optimal route; detail pays only for real progress.

The paper's detail term pays for answers a GRPO policy can learn instead of routes (riding from the origin to
the origin, copying the question's stops, an unchecked last section), and its correctness accepts detours and
longer routes. Here, on resolved sections `(line or None, departure key, arrival key)`:

* `robust_check`: Algorithm 1 plus no X→X section, no two consecutive sections on one line, no stop ridden twice,
  exactly q transfers, at most the best route's stops plus a tolerance, and right via counts / lists.
* the detail (`_detail_and_edits`): the floor for an answer none of whose sections goes from one stop to another
  (stay-put); full detail for a correct route; else a detail that decays by a fixed factor per edit to the nearest
  reference route (`rmlite.reward.route_edits`: a misread line or stop is one edit, a split counts each wrong
  element), so every error costs the same wherever it lands and k errors always score below k − 1; the old
  credits (`_tally`, `_credits`: valid sections, right transfers, endpoints and via stops, less penalties) only
  order answers with the same number of edits.

The rule table is in `RewardConfig`'s docstring; the numbers are `rmlite.reward.rules.RobustRules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmlite.maps.rides import ways
from rmlite.names import drop_brackets, normalize_station
from rmlite.reward.checks import check_route, section_text
from rmlite.reward.forms import via_count, via_list
from rmlite.reward.index import SampleIndex, ride, station_key
from rmlite.reward.parse import ParsedSection
from rmlite.reward.route_edits import MAX_EDITS, route_edits

# A `RewardConfig` and its `rmlite.reward.rules.RobustRules` (both import this module: typed Any, no cycle).
RewardConfig = RobustRules = Any
Resolved = tuple[str | None, str | None, str | None]


def robust_route(cfg: RewardConfig, rules: RobustRules, idx: SampleIndex, secs: Sequence[Resolved],
                 parsed: Sequence[ParsedSection], ok: bool, why: str) -> tuple[bool, str, float]:
    """(correct, reason, detail) under the robust rules, given Algorithm 1's verdict `ok, why` on the sections.

    Pure in the config and the resolved sections (and the written via stops on the long templates), so it is
    memoised per sample (`SampleIndex.memo`, keyed by value): the rollouts of one GRPO group often resolve to the
    same route. When Algorithm 1 already failed, its reason
    stands. A wrong route that rides something has its edit count (`route_edits`) added to the reason. A stop
    written with a note in brackets that names no station is read without it (`bracket_free`), and Algorithm 1
    is then run again.
    """
    for p in parsed:  # a loop, not `any`: most routes have no bracket, and a generator costs more than the test
        if "(" in p.departure or "(" in p.arrival or "（" in p.departure or "（" in p.arrival:
            rekeyed = [(ln, bracket_free(idx, p.departure, a, cfg.max_name_chars),
                        bracket_free(idx, p.arrival, b, cfg.max_name_chars))
                       for (ln, a, b), p in zip(secs, parsed, strict=True)]
            if rekeyed != list(secs):
                secs = rekeyed
                ok, why, bad = check_route(secs, idx.map.lines, idx.s1, idx.s2)
                if bad is not None:
                    why += f" ({section_text(parsed[bad])})"
            break
    short = idx.template == "short"
    # Keyed by the config's value (a frozen config hashes once, `RewardConfig.__hash__`) and the resolved route.
    key = (cfg, tuple(secs), ok) if short else (cfg, tuple(secs), ok, tuple([(p.num_via, p.via) for p in parsed]))
    hit = idx.memo.get(key)
    if hit is None:
        vias = None if short else [via_ok(idx, s, p, cfg.max_name_chars) for s, p in zip(secs, parsed, strict=True)]
        verdict = robust_check(idx, secs, vias, rules) if ok else None
        correct = ok if verdict is None else verdict[0]
        hit = idx.memo.put(key, (verdict, *_detail_and_edits(cfg, rules, idx, secs, vias, correct)))
    verdict, detail, edits = hit
    if verdict is not None:
        ok, why = verdict
    if edits is not None:  # what the detail counted, so a reader sees why a wrong route scored what it did
        why = f"{why}; {edits} edit{'s' if edits > 1 else ''} from a right route"
    return ok, why, detail


def bracket_free(idx: SampleIndex, name: str, key: str | None, max_chars: int) -> str | None:
    """`key`, or when it names no station of the map, the key of `name` without its bracketed parts if that one
    does: ReasonMap's evaluation drops every bracketed part, so "Rive (exit B)" is Rive there and here too (a
    station whose own name has brackets is still told apart: "Fairmoor (Heath)" is not Fairmoor).

    >>> import json
    >>> md = json.dumps({"L1": ["Rive", "Fairmoor (Heath)"], "L2": ["Fairmoor", "X"]})
    >>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
    ...      "station1": "Rive", "station2": "Fairmoor (Heath)", "question_transfer_count": 0, "template": "short",
    ...      "routes": json.dumps([[{"route_name": "L1", "departure_stop": "Rive", "arrival_stop": "Rive"}]])}
    >>> idx = SampleIndex(s)
    >>> [bracket_free(idx, n, station_key(n, 256), 256) for n in ("Rive (exit B)", "Fairmoor (Heath)", "Fairmoor")]
    ['rive', 'fairmoorheath', 'fairmoor']
    """
    if key is None or "(" not in name and "（" not in name:
        return key
    every = idx.map.stations
    if key in every:
        return key
    plain = station_key(drop_brackets(name), max_chars)
    return plain if plain in every else key


def via_ok(idx: SampleIndex, sec: Resolved, parsed: ParsedSection, max_chars: int) -> bool | None:
    """Whether the written via count (long1) or via list (long2) is the ride's; None on the short template.

    Read as `rmlite.reward.forms` reads them ("6 stops" is 6, "None" no stops, "B → C" two names); a list is
    compared as a set, without the section's own departure and arrival (a list written from end to end).
    """
    if idx.template == "long1":
        r = ride(idx.map, *sec)
        return r is not None and via_count(parsed.num_via) == len(r)
    if idx.template == "long2":
        r = ride(idx.map, *sec)
        text = parsed.via or ""
        if r is None or len(text) > max_chars * (len(r) + 1):  # a long ride's list is long; junk is bounded
            return False
        if "(" in text or "（" in text:
            written = {bracket_free(idx, v, station_key(v, max_chars), max_chars) for v in via_list(text)}
        else:  # no brackets (most lists): `bracket_free` keeps every key
            written = {normalize_station(v) if len(v) <= max_chars else None for v in via_list(text)}
        written.difference_update(sec[1:])  # the section's own stops are not via stops
        return written == set(r) or written == _tied_way(idx, sec, r)  # the other way: only when that way is right
    return None


def _tied_way(idx: SampleIndex, sec: Resolved, short: tuple[str, ...]) -> set[str] | None:
    """The stops the other way round a loop when it is as short as `ride`'s way (a trip halfway round an even ring:
    both ways are optimal, and `ride` returns the one the list runs); None when there is no such way.

    >>> import json
    >>> md = json.dumps({"Ring": ["A", "B", "C", "D", "E", "F", "A"]})
    >>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
    ...      "station1": "B", "station2": "E", "question_transfer_count": 0, "template": "long2",
    ...      "routes": json.dumps([[{"route_name": "Ring", "departure_stop": "B", "arrival_stop": "E"}]])}
    >>> idx = SampleIndex(s)
    >>> sorted(_tied_way(idx, ("Ring", "b", "e"), ("c", "d"))), _tied_way(idx, ("Ring", "b", "d"), ("c",))
    (['a', 'f'], None)
    """
    w = ways(idx.map.order[sec[0]], sec[1], sec[2])  # a section that rides: its line is known, its stops on it once
    return set(w[1]) if w is not None and w[1] is not None and len(w[1]) == len(short) else None


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


def _detail_and_edits(cfg: RewardConfig, rules: RobustRules, idx: SampleIndex, secs: Sequence[Resolved],
                      vias: Sequence[bool | None] | None, correct: bool) -> tuple[float, int | None]:
    """R_detail under the robust rules, and the edits it counted (None for a correct or a useless route).

    The detail is `detail_max` for a correct route, the floor (`detail_min`) for one none of whose sections goes from
    one stop to another, else

        floor + (detail_max − floor) · edit_decay ** (edits − partial_credit · share)

    with `edits` the fewest edits to a right route (`route_edits`, at least 1; a wrong via count or list on a right
    ride is one more) and `share` ∈ [0, 1] the route's
    credits (`_tally`, `_credits`) less its penalties. Each error costs one edit wherever it lands and whatever its
    kind (a line the map lacks is one wrong line), so k errors always score below k − 1; the credits only order
    answers with the same number of edits (an invented line earns none, so it scores below a real line's near
    miss), and every attempt that goes somewhere scores above the floor. `vias`: each section's `via_ok` (None on
    the short template).
    """
    top = cfg.detail_max if cfg.detail_max is not None else 10.0
    floor = cfg.detail_min if cfg.detail_min is not None else 0.0
    if correct:  # a correct route rides (each section's line serves its two different stops): no tally needed
        return top, None
    tally = _tally(rules, idx, secs)
    if tally is None:
        return floor, None  # no section goes from one stop to another: useless (stay-put)
    valid, ends, transfers, penalty = tally
    lines, extra = idx.map.lines, 0
    if vias is not None:  # a wrong via count / list on a right ride is one more edit
        extra += sum(1 for (ln, a, b), v in zip(secs, vias, strict=True)
                     if v is False and ln is not None and a != b and a in lines[ln] and b in lines[ln])
    edits = route_edits(idx, secs, enough=max(0, 1 - extra)) + extra  # exact wherever max(1, ·) can tell
    earned, best = _credits(rules, idx, secs, vias, valid, ends, transfers)
    share = min(1.0, max(0.0, earned / best - penalty / 10.0))
    edits = min(max(1, edits), MAX_EDITS)
    return floor + (top - floor) * rules.edit_decay ** (edits - rules.partial_credit * share), edits


def _tally(rules: RobustRules, idx: SampleIndex,
           secs: Sequence[Resolved]) -> tuple[list[bool], int, int, float] | None:
    """One pass over the sections: (valid flags, right endpoints, right transfers, penalty points); None when no
    section goes from one stop to another (the floor).

    A section is valid when its line serves both of its stops, which differ, unless it is a needless change: the
    section before it ends where it starts, on a line that serves its own stops and this arrival too (staying on
    would have done, as after a detour's overshoot or an unneeded transfer). Only a valid section earns, and only a
    change onto a valid section is a right transfer (so misreading its arrival never adds one). The first
    departure and the last arrival are right when they are the question's stops on a section whose line serves
    them, whose two stops differ and which is no needless change (a wrong line or stop at the other end loses
    that section's credit, not the endpoint's).
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
        elif a != b and not serves:
            penalty += rules.wrong_line_penalty
        if a == b:
            penalty += rules.zero_length_penalty
        else:
            rides = True
        if seen.setdefault((a, b), line) != line:
            penalty += rules.hedge_penalty
        if not first:
            if prev_b != a:
                penalty += rules.break_penalty
            elif prev_line != line and prev_a != a and serves and prev_st is not None and a in prev_st \
                    and not needless:
                transfers += 1
            if line is not None and line == prev_line:
                penalty += rules.same_line_penalty
        first, prev_line, prev_a, prev_b, prev_st, prev_serves = False, line, a, b, st, serves
    if not rides:
        return None
    if b == idx.s2 and a != b and st is not None and b in st and not needless:
        ends += 1
    return valid, ends, transfers, penalty + rules.extra_section_penalty * max(0, len(secs) - idx.q - 1)


def _credits(rules: RobustRules, idx: SampleIndex, secs: Sequence[Resolved],
             vias: Sequence[bool | None] | None, valid: list[bool], ends: int,
             transfers: int) -> tuple[float, float]:
    """(points earned, points of a perfect route) for right endpoints, valid sections, transfers and via stops.

    Each section beyond q + 1 takes back what one section can earn (its own, a transfer's and a via's credit), so
    extra rides never make up for wrong ones.
    """
    q, n = idx.q, len(secs)
    per_section = rules.section_points + rules.transfer_points
    earned = rules.endpoint_points * ends + rules.section_points * sum(valid) + rules.transfer_points * transfers
    best = 2 * rules.endpoint_points + rules.section_points * (q + 1) + rules.transfer_points * q
    if vias is not None:
        right = sum(1 for v, ok in zip(valid, vias, strict=True) if v and ok)
        earned += rules.via_points * right
        best += rules.via_points * (q + 1)
        per_section += rules.via_points
    return earned - per_section * max(0, n - q - 1), best
