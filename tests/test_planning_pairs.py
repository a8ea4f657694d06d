"""`rmlite.data.planning`: pairs sorted by transfers from the lines alone must agree with the router (the pairs are
routed only once drawn), and the trade between a difficulty's maps goes where it should."""

from __future__ import annotations

import random

import pytest

from rmlite.data.planning import ASK_WEIGHTS, planning_pairs, shares_for, transfer_counts
from rmlite.maps.generate import GeneratorConfig, generate_network


@pytest.mark.parametrize(("difficulty", "seed"), [("easy", 3), ("middle", 4), ("hard", 5), ("hard", 6)])
def test_transfer_counts_from_the_lines_match_the_router(difficulty, seed):
    net = generate_network(GeneratorConfig(difficulty, size=512), seed)
    counts = transfer_counts(net, list(net.stations))
    n = len(net.stations)
    assert len(counts) == n * (n - 1) // 2, "every pair of a connected map"
    for (a, b), t in random.Random(seed).sample(sorted(counts.items()), 60):
        assert len(net.routes(a, b, max_routes=1)[0]) - 1 == t, (a, b)


def test_a_map_without_long_routes_asks_direct_and_one_transfer_in_proportion():
    net = generate_network(GeneratorConfig("hard", size=768), 1)
    x = ASK_WEIGHTS[("hard", 768)]
    without = shares_for(net, (0.5, 0.35, 0.15), 768, has_long=False)
    assert without[2] == 0.0 and without[0] + without[1] == pytest.approx(1.0, abs=1e-3)
    assert without[0] / without[1] == pytest.approx(0.5 * x[0] / (0.35 * x[1]), rel=1e-3)
    with_long = shares_for(net, (0.5, 0.35, 0.15), 768)
    assert with_long[2] > 0.15 and ASK_WEIGHTS[("hard", 768)][2] > 1, "maps that can make up for those that cannot"


def test_pairs_avoid_unreadable_stations_and_follow_the_asked_kinds():
    net = generate_network(GeneratorConfig("hard", size=1024), 2)
    hidden = frozenset(sorted(net.transfer_stations)[:2])
    got = list(planning_pairs(net, random.Random(0), 8, (0.0, 0.0, 1.0), 64, hidden))
    assert got and all(hidden.isdisjoint({s for r in routes for sec in r
                                          for s in (sec.departure_stop, sec.arrival_stop, *sec.via_stops)})
                       for _, _, routes, _ in got)
    assert all(len(routes[0]) - 1 >= 2 for _, _, routes, _ in got[:8]), "long routes first when only they are asked"
