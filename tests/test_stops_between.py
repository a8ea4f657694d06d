"""One rule for the stops between two stations: every caller agrees on a loop line, and with a walk round the ring.

The trip B → F on the ring A-B-C-D-E-F(-A) has one stop the short way (A, through the closing link) and three the
way the list runs (C, D, E); a caller that reads the list as an open line gets three. The truth here is a walk round
the ring one station at a time, written for this test (no slicing, no shared code).
"""

import itertools
import json
import random

import pytest

from rmlite.lab.mistakes import apply_errors, map_of
from rmlite.maps import rides
from rmlite.maps.network import Network
from rmlite.reward import score
from rmlite.reward.index import index_sample, ride

RING = ["A", "B", "C", "D", "E", "F", "A"]  # a loop, written closed
METRO = {"Ring": RING, "Line 2": ["C", "Z"]}
N = len(RING) - 1


def walk(a: str, b: str, step: int) -> tuple[str, ...]:
    """The stations passed riding the ring from a to b, one hop of `step` (+1 or -1) at a time."""
    pos, passed = RING.index(a), []
    while True:
        pos = (pos + step) % N
        if RING[pos] == b:
            return tuple(passed)
        passed.append(RING[pos])


def brute(a: str, b: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the shorter way, the other way); on a tie the way the list runs first."""
    fwd, bwd = walk(a, b, 1), walk(a, b, -1)
    return (fwd, bwd) if len(fwd) <= len(bwd) else (bwd, fwd)


PAIRS = list(itertools.permutations("ABCDEF", 2))


def planning(a: str, b: str, via: tuple[str, ...], template: str) -> dict:
    """A one-ride planning sample on the ring map, its reference route written by hand."""
    ref = [{"route_name": "Ring", "departure_stop": a, "arrival_stop": b, "via_stops": list(via),
            "num_via_stops": len(via)}]
    return {"id": f"ring-planning-{a}{b}-{template}", "type": "planning", "answer": "", "difficulty_city": "easy",
            "metro_data": json.dumps(METRO), "station1": a, "station2": b, "question_transfer_count": 0,
            "template": template, "routes": json.dumps([ref])}


def answer(a: str, b: str, via: tuple[str, ...], template: str) -> str:
    last = f"Via Stops: {', '.join(via) or 'None'}" if template == "long2" else f"Number of Via Stops: {len(via)}"
    return f"Route Name: Ring\nDeparture Stop: {a}\nArrival Stop: {b}\n{last}"


def test_the_trip_is_one_a_list_reading_gets_wrong():
    # Guard: the trip must tell a loop-aware rule from an open-line one, or this file proves nothing.
    assert brute("B", "F") == (("A",), ("C", "D", "E"))
    assert brute("B", "F")[0] != tuple(RING[RING.index("B") + 1:RING.index("F")])


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_rides_and_network_agree_with_the_walk(a, b):
    short, other = brute(a, b)
    assert rides.ways(RING, a, b) == (short, other) and rides.between(RING, a, b) == short
    net = Network.from_metro_data(METRO)
    assert net.ways_between("Ring", a, b) == (len(short), len(other))
    # The router rides the same stops: every optimal route is the short way, or either way on a tie.
    ties = {short, other} if len(short) == len(other) else {short}
    assert {r[0].via_stops for r in net.routes(a, b)} == ties


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_reward_and_lab_agree_with_the_walk(a, b):
    short, _ = brute(a, b)
    s = planning(a, b, short, "long2")
    assert ride(index_sample(s).map, "Ring", a.lower(), b.lower()) == tuple(x.lower() for x in short)
    assert map_of(s).via("Ring", a, b) == short


def test_the_loop_trip_through_every_caller():
    a, b = "B", "F"
    short, other = brute(a, b)
    net = Network.from_metro_data(METRO)
    (route,) = net.routes(a, b)
    assert route[0].via_stops == short == rides.between(RING, a, b)
    # The reward's via-stop detail (robust preset) takes the short way's list and count, and refuses the long way's.
    for template in ("long1", "long2"):
        s = planning(a, b, short, template)
        good, bad = score(answer(a, b, short, template), s, "robust"), score(answer(a, b, other, template), s, "robust")
        assert good.correct and good.reason == "correct route", good
        assert not bad.correct and "wrong via stops" in bad.reason, bad
    # The lab: `_Map.via`, and the extra-transfer operator changes at a stop of the short way (the long way's
    # stops C, D, E would make a detour the lab calls a still-valid route).
    s = planning(a, b, short, "long2")
    assert map_of(s).via("Ring", a, b) == short
    for seed in range(5):
        text = apply_errors(s, ["extra_transfer"], seed=random.Random(seed))
        changes = [ln.split(": ", 1)[1] for ln in text.splitlines() if ln.startswith("Arrival Stop")][:-1]
        assert changes and set(changes) <= set(short), text
