"""What a reader cannot see, checked with `rmlite.data.legibility`'s own geometry: labels over station marks or
other lines' track, neighbours' labels in swapped order, hairpin lines.

Each red-team test switches one safeguard off (the placer's mark check, its order rule, its track cost, the
generator's hairpin rule) and checks that the measurement then finds the fault, so no check here passes by
construction; the property tests check fresh maps keep every promise.
"""

from __future__ import annotations

import math

import pytest

import rmlite.maps.generate as generate
import rmlite.maps.labels as labels
from rmlite.data.legibility import hairpin_lines, label_cover, order_flips
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.layout import cached_plan
from rmlite.maps.network import Line, Network

CASES = [(d, size, seed) for d in ("easy", "middle", "hard") for size in (512, 1024) for seed in (21, 22, 23)]


def _measure(cases) -> dict:
    """Summed counts over freshly generated maps (no plan cache shared with other tests: new network objects)."""
    out = {"labels": 0, "other": 0, "mark": 0, "flips": 0, "pairs": 0, "hairpins": 0, "lines": 0, "thin": 0}
    for d, size, seed in cases:
        net = generate_network(GeneratorConfig(d, size=size), seed)
        plan = cached_plan(net, size, False, None)
        other, _, mark = label_cover(plan, net)
        pairs, flips = order_flips(plan, net)
        out["labels"] += len(plan.label_boxes)
        out["other"] += len(other)
        out["mark"] += len(mark)
        out["pairs"] += pairs
        out["flips"] += flips
        out["hairpins"] += hairpin_lines(net)
        out["lines"] += len(net.lines)
        out["thin"] += _thin_margins(plan, size)
    return out


def _thin_margins(plan, size: int) -> int:
    """Labels not nearer their own mark than every other mark by size/256 px (issue 23's rule), measured with
    plain point-to-box distances here rather than the placer's `_reading_margin`."""
    count = 0
    for s, (x0, y0, x1, y1) in plan.label_boxes.items():
        def dist(p, x0=x0, y0=y0, x1=x1, y1=y1):
            return math.hypot(max(x0 - p[0], 0.0, p[0] - x1), max(y0 - p[1], 0.0, p[1] - y1))
        others = min((dist(p) for t, p in plan.station_xy.items() if t != s), default=math.inf)
        count += others - dist(plan.station_xy[s]) < size / 256 - 0.01
    return count


@pytest.fixture(scope="module")
def fresh():
    return _measure(CASES)


def test_fresh_maps_hide_no_mark_swap_no_neighbours_and_have_no_hairpins(fresh):
    assert fresh["labels"] > 500 and fresh["pairs"] > 300
    assert fresh["mark"] == 0, "a label covers a tick, terminus bar or transfer pill"
    assert fresh["flips"] == 0, "two neighbours' labels read in the opposite order to their marks"
    assert fresh["hairpins"] == 0
    assert fresh["thin"] == 0, "a label is nearer its own mark by less than the margin: it reads as either"
    # Track is covered only where every free spot covers some (measured 0–2.7 % of labels per group, 40 maps each)
    assert fresh["other"] <= 0.03 * fresh["labels"], fresh


def test_red_team_labels_over_marks_are_found(monkeypatch):
    monkeypatch.setattr(labels.Placer, "split", staticmethod(lambda c: (c % labels.MARK_WEIGHT, 0 * c)))
    assert _measure(CASES)["mark"] > 0, "with the mark check off, some label must land on a mark"


def test_red_team_labels_midway_between_marks_are_found(monkeypatch):
    monkeypatch.setattr(labels, "min_label_margin", lambda size: 0.0)  # any positive margin reads as its own
    assert _measure(CASES)["thin"] > 0, "with no margin, some label must sit nearly midway between two marks"


def test_red_team_swapped_neighbours_are_found(monkeypatch):
    monkeypatch.setattr(labels, "_run_neighbours", lambda net, st_pts, paths, xy: {s: [] for s in xy})
    assert _measure(CASES)["flips"] > 0, "with the order rule off, some neighbours must swap"


def test_red_team_labels_over_track_rise_without_the_track_cost(monkeypatch, fresh):
    monkeypatch.setattr(labels, "_COVER", -1000.0)  # track now *attracts* labels
    off = _measure(CASES[12:])  # hard maps: the most foreign track near labels
    assert off["other"] > 0.03 * off["labels"] and off["other"] > fresh["other"]


def test_red_team_hairpins_are_found(monkeypatch):
    monkeypatch.setattr(generate, "HAIRPIN_TURN", 9)  # no direction is ever "turning back": the rule is off
    cases = [(d, 768, seed) for d in ("easy", "middle", "hard") for seed in range(30, 36)]
    assert _measure(cases)["hairpins"] > 0


def _net(geometry: list, stations: list) -> Network:
    positions = {s: p for s, p in zip(stations, [geometry[0], *geometry[1:]], strict=True)}
    return Network((Line("L", tuple(stations), "#0072B2"),), positions=positions, geometry={"L": geometry})


def test_hairpin_measure_on_hand_made_lines():
    # east, east, then straight back west one row down after a south step: 180° within three hops
    u_turn = _net([(0, 0), (2, 0), (4, 0), (4, 1), (2, 1)], ["A", "B", "C", "D", "E"])
    assert hairpin_lines(u_turn) == 1
    # a 90° bend is a bend, not a hairpin
    bend = _net([(0, 0), (2, 0), (4, 0), (4, 2), (4, 4)], ["A", "B", "C", "D", "E"])
    assert hairpin_lines(bend) == 0
    # a slow U over many hops is no hairpin either: east ×4, south, west ×4 (turns 90° at each end of the south hop)
    slow = _net([(0, 0), (2, 0), (4, 0), (6, 0), (8, 0), (8, 2), (8, 4), (6, 4), (4, 4), (2, 4), (0, 4)],
                list("ABCDEFGHIJK"))
    assert hairpin_lines(slow) == 0
