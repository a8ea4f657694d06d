"""Which station pairs one map's planning questions ask: the mix of 0, 1 and 2+ transfers, per map difficulty.

Pairs are sorted by their transfer count first, from the lines alone (the fewest line changes between a line of
one stop and a line of the other: breadth-first over which lines meet), and only the pairs drawn are routed, so a
map routes about as many pairs as it asks, not a hundred (routing was a third of generation time, issue 23 part 7).

The mix is asked of each map difficulty, not only of the set (issue 23 part 3). A map that has too few readable
routes of some kind gives the next longest instead (a two-line map has no 2-transfer route at all), and the maps
of its difficulty that have them make up for it (`shares_for`, by `ASK_WEIGHTS`: fitted, see the constant).
Deterministic for (network, rng state, n, mix, avoid, size).

>>> from rmlite.maps.network import Network
>>> net = Network.from_metro_data({"L1": list("ABCD"), "L2": list("DEFG"), "L3": list("GHIJ")}, name="toy")
>>> sorted(transfer_counts(net, ["A", "E", "J"]).items())
[(('A', 'E'), 1), (('A', 'J'), 2), (('E', 'J'), 1)]
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Iterator

from rmlite.data.apportion import apportion
from rmlite.maps.network import Network

# What each map asks, per (map difficulty, image size), relative to the mix asked of the set (x 0 / 1 / 2+ transfers):
# a map with no readable 2+-transfer route asks 0 and 1 transfers in these weights' proportion, and a map short of
# some kind fills in with the next longest, so these weights are not the mix: they are fitted so that each
# difficulty's maps, as they come, give the mix (`bench/bench_planning_mix.py` on 200 maps a group, seeds 6<size> and
# 9<size>; the 2+-transfer weights of middle and hard maps at 768 / 1024 px then corrected once on the same maps run
# through `generate_questions`). Easy maps seldom have such a route (2 lines: never; 3 or 4 lines that all meet:
# never; at 512 px about 15 % of them), so those that have one ask mostly such routes; at 512 px even all of them
# cannot make 15 % (11.6 % measured). A size not listed asks the mix itself.
ASK_WEIGHTS = {("easy", 512): (1.0, 1.21, 50.0), ("easy", 768): (1.0, 1.17, 13.3), ("easy", 1024): (1.0, 1.13, 6.9),
               ("middle", 512): (1.0, 1.14, 2.15), ("middle", 768): (1.0, 1.08, 2.9),
               ("middle", 1024): (1.0, 0.99, 1.85), ("hard", 512): (1.0, 1.12, 1.94), ("hard", 768): (1.0, 1.01, 2.05),
               ("hard", 1024): (1.0, 1.0, 1.43)}
LONG_TRIES = 20  # readable 2+-transfer pairs are looked for among at most this many candidates per question


def shares_for(net: Network, mix: tuple[float, float, float], size: int | None = None, *,
               has_long: bool = True) -> tuple[float, float, float]:
    """The mix this map asks for: `mix` scaled by `ASK_WEIGHTS` of its difficulty and size, without 2+-transfer
    routes when it has no readable one.

    >>> from rmlite.maps.network import Network
    >>> net = Network.from_metro_data({"L1": list("ABCD"), "L2": list("DEFG"), "L3": list("GHIJ")})
    >>> shares_for(net, (0.5, 0.35, 0.15)), shares_for(net, (0.5, 0.35, 0.15), has_long=False)
    ((0.5, 0.35, 0.15), (0.5882, 0.4118, 0.0))
    """
    x = ASK_WEIGHTS.get((net.difficulty, size), (1.0, 1.0, 1.0))
    w = [m * k for m, k in zip(mix, x, strict=True)]
    if not has_long:
        w[2] = 0.0
        if w[0] + w[1] == 0:  # only long routes asked: the next longest instead
            w[1] = 1.0
    total = sum(w) or 1.0
    return tuple(round(v / total, 4) for v in w)


def _line_hops(net: Network) -> dict[tuple[str, str], int]:
    """(line, line) → fewest changes between them (lines that share a stop are one change apart)."""
    meets = {ln.name: set() for ln in net.lines}
    for lines in net.station_lines.values():
        for a, b in itertools.permutations(lines, 2):
            meets[a].add(b)
    hops = {}
    for start in meets:
        dist, queue = {start: 0}, deque([start])
        while queue:
            u = queue.popleft()
            for v in sorted(meets[u]):
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        hops.update({(start, v): d for v, d in dist.items()})
    return hops


def transfer_counts(net: Network, stations: list[str]) -> dict[tuple[str, str], int]:
    """(a, b) → transfers on an optimal route, for every pair a < b of `stations` that is connected (from the lines
    alone: the routing's first criterion is the fewest transfers)."""
    hops = _line_hops(net)
    out = {}
    for a, b in itertools.combinations(sorted(stations), 2):
        d = [hops[(x, y)] for x in net.station_lines[a] for y in net.station_lines[b] if (x, y) in hops]
        if d:
            out[(a, b)] = min(d)
    return out


def planning_pairs(net: Network, rng: random.Random, n: int, mix: tuple[float, float, float], max_routes: int,
                   avoid: frozenset[str] = frozenset(), size: int | None = None
                   ) -> Iterator[tuple[str, str, list, int]]:
    """(start, end, routes, route count) for the planning questions of one map: first the share of each kind
    `shares_for` gives (rounded at random by `apportion`), then every other readable pair, longest routes first (a
    map short of some kind fills in with the next longest). A pair whose reference routes pass a stop in `avoid`
    (unreadable) is skipped. The caller takes the first n it keeps."""
    pools: list[list[tuple[str, str]]] = [[], [], []]
    for pair, t in transfer_counts(net, list(net.stations)).items():
        pools[min(t, 2)].append(pair)
    for pool in pools:
        rng.shuffle(pool)
    drawn = [_readable(net, rng, pool, max_routes, avoid) for pool in (pools[0], pools[1], pools[2][:LONG_TRIES * n])]
    long = list(itertools.islice(drawn[2], 1))  # routed only as far as needed: routing is the costly part
    want = apportion(n, shares_for(net, mix, size, has_long=bool(long)), rng)
    long += itertools.islice(drawn[2], max(0, want[2] - 1))
    if want[2] > len(long):  # fewer long routes than asked: the rest as a map without them asks
        w = shares_for(net, mix, size, has_long=False)
        want = [*apportion(n - len(long), (w[0], w[1] + 1e-12), rng), len(long)]
    yield from long[:want[2]]
    for k in (0, 1):
        yield from itertools.islice(drawn[k], want[k])
    yield from long[want[2]:]
    for k in (2, 1, 0):
        yield from drawn[k]


def _readable(net: Network, rng: random.Random, pool: list, max_routes: int, avoid: frozenset[str]):
    """The pairs of `pool` in order, each routed, oriented at random, those whose routes avoid `avoid`."""
    for a, b in pool:
        if rng.random() < 0.5:
            a, b = b, a
        routes, total = net.routes_and_count(a, b, max_routes=max_routes)
        if avoid.isdisjoint(st for r in routes for sec in r
                            for st in (sec.departure_stop, sec.arrival_stop, *sec.via_stops)):
            yield a, b, routes, total
