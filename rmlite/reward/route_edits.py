"""The route metric of the `robust` reward: the fewest edits that turn a route into one of a question's reference
routes, each error one edit wherever it lands (the formal spec is docs/reward.md, "The route metric").

A route is a list of sections (line or None, departure key, arrival key); a reference is a first stop and rides
(line, arrival). An *alignment* cuts both into blocks, each block one edit (match: none) plus one per wrong element
of what it writes: match (a section for a ride), drop (a ride left out), add (a section from a stop of the route to
itself, on any line, each of its stops compared on its own), repeat (the section before written again, its line
maybe changed), merge (one section for two rides, on either's line: a skipped change) and split (two sections for
one ride, cut at a stop of its line, the other half on it or on a line serving that half: a needless change or a
detour). A stop is compared once where the route is chained (a transfer stop written twice is one stop) and each
written copy where it is broken. Reading the whole route backwards is one edit (when neither end is right). Left
out: via counts (the detail adds those, `rmlite.reward.robust`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rmlite.reward.index import SampleIndex

Resolved = tuple[str | None, str | None, str | None]
MAX_EDITS = 12  # edits are counted up to this (0.7 ** 12: 1.4 % of the detail above the floor); bounds the time
_FAR = 1 << 20


def route_edits(idx: SampleIndex, secs: Sequence[Resolved], enough: int = 0) -> int:
    """The fewest edits that turn a route into one of the sample's reference routes (all equally good ones), or any
    count up to `enough` once one reference is within it (the scorer passes 1: it counts every wrong route as at
    least one edit away). Counted up to `MAX_EDITS`.

    >>> import json
    >>> md = json.dumps({"L1": ["A", "B", "C"], "L2": ["B", "D"]})
    >>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
    ...      "station1": "A", "station2": "D", "question_transfer_count": 1, "template": "short",
    ...      "routes": json.dumps([[{"route_name": "L1", "departure_stop": "A", "arrival_stop": "B"},
    ...                             {"route_name": "L2", "departure_stop": "B", "arrival_stop": "D"}]])}
    >>> idx = SampleIndex(s)
    >>> route_edits(idx, [("L1", "a", "b"), ("L2", "b", "d")]), route_edits(idx, [("L1", "a", "d")])
    (0, 1)
    >>> route_edits(idx, [("L2", "b", "d")]), route_edits(idx, [("L1", "a", "b")])  # first or last dropped
    (1, 1)
    >>> route_edits(idx, [("L2", "d", "b"), ("L1", "b", "a")]), route_edits(idx, [("L1", "a", "x"), ("L9", "x", "d")])
    (1, 2)
    """
    if not idx.refs or len(secs) > MAX_EDITS and min(abs(len(secs) - len(ln)) for _, ln, _ in idx.refs) >= MAX_EDITS:
        return MAX_EDITS  # each section too many or too few is an edit at least: junk is not worth the programme
    serves = idx.map.lines
    best = _nearest(secs, idx.refs, serves, enough)
    if best > max(1, enough) and secs[0][1] != idx.s1 and secs[-1][2] != idx.s2:  # read backwards: one edit more
        back = [(ln, b, a) for ln, a, b in reversed(secs)]
        best = min(best, 1 + _nearest(back, idx.refs, serves, max(0, enough - 1), best - 2))
    return min(best, MAX_EDITS)


def _nearest(secs: Sequence[Resolved], refs: Sequence[tuple], serves: Mapping[str, frozenset], enough: int,
             beat: int = _FAR) -> int:
    """The fewest edits to any of `refs`, or any count up to `enough` once one is within it; a count above `beat`
    is only known to be above it (it would not be used)."""
    best, n = beat + 1, len(secs)
    for start, lines, stops in refs:  # first every reference of the same length, matched in place (an upper bound)
        if len(lines) == n:
            best = min(best, _in_place(secs, start, lines, stops))
            if best <= enough:
                return best
    if best <= 1:
        return best  # a programme cannot go below 1 without matching a reference in place
    for start, lines, stops in refs:
        if abs(len(lines) - n) == 1 and _one_off(secs, start, lines, stops, serves):
            return 1
    if best == 2 or _added_two(secs, refs):  # 2 edits at least from every reference, and at most from one
        return 2
    for start, lines, stops in refs:  # now every reference is 2 edits away at least
        if abs(len(lines) - n) < best:  # each section too many or too few is an edit
            best = min(best, _edits(secs, start, lines, stops, serves, best))
            if best <= max(2, enough):
                break
    return best


def _added_two(secs: Sequence[Resolved], refs: Sequence[tuple]) -> bool:
    """Whether the route is a reference with a section added that has one wrong stop (2 edits: a common shape, a
    ride past the destination or back, counted here without the programme)."""
    n = len(secs)
    for start, lines, stops in refs:
        if len(lines) == n - 1:
            ref = [(ln, a, b) for ln, a, b in zip(lines, (start, *stops[:-1]), stops, strict=True)]
            for k in range(n):
                at = ref[k - 1][2] if k else start
                if (secs[k][1] == at) + (secs[k][2] == at) == 1 and list(secs[:k]) + list(secs[k + 1:]) == ref:
                    return True
    return False


def _one_off(secs: Sequence[Resolved], start: str, lines: tuple, stops: tuple,
             serves: Mapping[str, frozenset]) -> bool:
    """Whether a route one section longer or shorter than a reference is one edit from it: the reference with a
    section added, repeated or split, or dropped, or two merged, and nothing else wrong."""
    n, first, last = len(secs), secs[0][1], secs[-1][2]
    if n > len(lines) and (first != start or last != stops[-1]):  # added, repeated or split: both ends right
        return False
    if n < len(lines) and (first not in (start, stops[0]) or last not in stops[-2:]):  # a ride dropped or merged
        return False
    ref = [(ln, a, b) for ln, a, b in zip(lines, (start, *stops[:-1]), stops, strict=True)]
    route = list(secs)
    if n == len(ref) - 1:
        if any(route == ref[:j] + ref[j + 1:] for j in range(len(ref))):  # drop
            return True
        return any(route[:j] == ref[:j] and route[j + 1:] == ref[j + 2:] and route[j][1] == ref[j][1]
                   and route[j][2] == ref[j + 1][2] and route[j][0] in (ref[j][0], ref[j + 1][0])
                   for j in range(n))  # merge
    for k in range(n):
        ln, a, b = route[k]
        rest = route[:k] + route[k + 1:]
        if rest == ref and (a == b == (ref[k - 1][2] if k else start) or k and route[k] == route[k - 1]):
            return True  # add, repeat
        if k + 1 < n and route[:k] == ref[:k] and route[k + 2:] == ref[k + 1:] and a == ref[k][1] \
                and route[k + 1][2] == ref[k][2] and _split(route[k], route[k + 1], ref[k][0], a, ref[k][2],
                                                            serves) == 0:
            return True  # split
    return False


def _slot(a: str | None, d: str | None, s: str | None) -> int:
    """A chained stop `s` written as an arrival `a` and the next departure `d`: 0 both right, 1 one misread stop
    (both copies alike) or one wrong copy (a broken chain), 2 two different wrong copies."""
    return (a != d) + (a != s and d != s)


def _in_place(secs: Sequence[Resolved], start: str, lines: tuple, stops: tuple) -> int:
    d, prev = int(secs[0][1] != start), None
    for (ln, a, b), r, t in zip(secs, lines, stops, strict=True):
        if prev is not None:
            d += _slot(prev[0], a, prev[1])
        d += ln != r
        prev = (b, t)
    return d + (prev[0] != prev[1])


def _edits(secs: Sequence[Resolved], start: str, lines: tuple, stops: tuple, serves: Mapping[str, frozenset],
           cap: int = _FAR) -> int:
    """`route_edits` against one reference, or `cap` when it is at least that: a dynamic programme over (sections
    written, rides consumed), in two states: chained (the last section's arrival is still to be compared, with the
    next departure as one stop) and broken (a ride was dropped or a section added since: the arrival was compared
    on its own, the next departure will be too). Costs only grow along a path, so cells at `cap` are dead."""
    n, m = len(secs), len(lines)
    at = (start, *stops)  # at[j]: the reference's stop after j rides
    chained = [[cap] * (m + 1) for _ in range(n + 1)]
    broken = [[cap] * (m + 1) for _ in range(n + 1)]
    broken[0] = [min(j, cap) for j in range(m + 1)]  # rides dropped before the first section: compared alone
    last = None  # the arrival of the section before
    for i in range(n + 1):
        ci, bi = chained[i], broken[i]
        cur = secs[i] if i < n else None
        for j in range(m + 1):
            c, b = ci[j], bi[j]
            if c >= cap and b >= cap:
                continue
            s = at[j]
            alone = b if c >= cap else min(b, c + (last != s))  # the arrival before compared on its own
            if j < m and alone + 1 < bi[j + 1]:  # drop ride j
                bi[j + 1] = alone + 1
            if cur is None:
                continue
            ln, dep, arr = cur
            v = b + (dep != s)  # enter at s: from broken, the departure alone; chained, one stop with the arrival
            if c < cap:
                v = min(v, c + (last != dep) + (last != s and dep != s))
            nxt = chained[i + 1]
            if j < m and v + (ln != lines[j]) < nxt[j + 1]:  # match
                nxt[j + 1] = v + (ln != lines[j])
            add = alone + 1 + (dep != s) + (arr != s)  # add a section from s to s, any line; each copy alone
            if add < broken[i + 1][j]:
                broken[i + 1][j] = add
            if i and secs[i - 1][1] == dep and last == arr:  # repeat the section before
                cost = 1 + (ln != secs[i - 1][0])
                nxt[j] = min(nxt[j], c + cost)
                broken[i + 1][j] = min(broken[i + 1][j], b + cost)
            if j + 1 < m:  # merge rides j and j + 1
                nxt[j + 2] = min(nxt[j + 2], v + 1 + (ln != lines[j] and ln != lines[j + 1]))
            if j < m and i + 1 < n and v + 1 < chained[i + 2][j + 1]:  # split ride j
                two = chained[i + 2]
                two[j + 1] = min(two[j + 1], v + 1 + _split(cur, secs[i + 1], lines[j], s, at[j + 1], serves))
        if cur is None:
            break
        last = cur[2]
        if i + 1 < n and min(chained[i + 1]) >= cap and min(broken[i + 1]) >= cap \
                and min(chained[i + 2]) >= cap:  # every way on goes through a dead row
            return cap
    return min(chained[n][m] + (last != at[m]), broken[n][m], cap)


def _split(first: Resolved, second: Resolved, line: str, p: str, t: str, serves: Mapping[str, frozenset]) -> int:
    """Wrong elements of two sections written for one ride on `line` from p to t: the cut stop (one stop, chained
    as any other) must be on `line`, one half must ride `line` and the other `line` or a line serving its own two
    stops. The halves' outer stops are compared by the programme."""
    x, m1, d2, y = first[0], first[2], second[1], second[0]
    if x == line and y == line:  # the cut alone can be wrong
        on = serves.get(line, frozenset())
        return (m1 != d2) + (m1 not in on and d2 not in on)
    on = serves.get(line, frozenset())
    sx, sy = serves.get(x), serves.get(y)
    y_ok = sy is not None and t in sy  # y could be the other line, given a cut it serves
    x_ok = sx is not None and p in sx

    def lines_at(cut: str | None) -> int:
        return min((x != line) + (y != line and not (y_ok and cut in sy)),
                   (y != line) + (x != line and not (x_ok and cut in sx)))

    best = _FAR
    for cut in (m1, d2):
        if cut in on:
            best = min(best, _slot(m1, d2, cut) + lines_at(cut))
    other = 1 + (m1 != d2)  # a cut at any other stop of the line: what is written there is wrong
    if other < best and len(on - {m1, d2}):
        rest = on - {m1, d2}
        keep_x = (x != line) + (y != line and not (y_ok and not rest.isdisjoint(sy)))
        keep_y = (y != line) + (x != line and not (x_ok and not rest.isdisjoint(sx)))
        best = min(best, other + min(keep_x, keep_y))
    return best
