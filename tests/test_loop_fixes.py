"""Small correctness fixes on loops and caches (issues 21/22 follow-ups), each with the case that once went wrong.

* A trip halfway round an even ring has two equally short ways; `robust` once took only the one `ride` returns, so
  the other, equally optimal via list was judged wrong (B→E on A-B-…-F-A via "A, F": 4.89 instead of 16.0).
The truth here is a walk round the ring one hop at a time, written for this file (no slicing, no rmlite code).
* The sample-index cache is keyed by the scored fields, which leave out `choices`; a second sample with the same
  scored fields but broken choices once got the cached index without being validated.
* The map-plan cache was keyed by the network object's id (guarded by a weak reference): a network changed in
  place got its old plan back. The plans are now held by the network, keyed by its value.
* The lab's `detour` and `neighbour_station` read a loop as an open list: no neighbour across the closing link, no
  detour on a trip from the loop's first station, and a "detour" at a stop the ride passes (B→F on the ring: B→A,
  A→F, a right route split in two).
"""

import copy
import itertools
import json
from collections.abc import Mapping

import pytest
from fixtures.reward import pairs, perception_sample, planning_sample, released_score

from rmlite.lab.mistakes import apply_errors
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.layout import cached_plan, plan_map
from rmlite.reward import score
from rmlite.reward.index import index_sample
from rmlite.schema import ANSWER_KIND, SCORED_FIELDS, validate_sample

EVEN = ["A", "B", "C", "D", "E", "F", "A"]  # six stops: a trip of three hops has two ways of two stops each
ODD = ["A", "B", "C", "D", "E", "F", "G", "A"]  # seven stops: every trip has one shortest way


def walk(ring: list[str], a: str, b: str, step: int) -> tuple[str, ...]:
    """The stations passed riding the closed `ring` from a to b, one hop of `step` (+1 or -1) at a time."""
    n, pos, passed = len(ring) - 1, ring.index(a), []
    while True:
        pos = (pos + step) % n
        if ring[pos] == b:
            return tuple(passed)
        passed.append(ring[pos])


def sample(ring: list[str], a: str, b: str, template: str, via: tuple[str, ...] | None = None) -> dict:
    """A one-ride planning sample on the ring map, its reference `via` (default: the way the list runs)."""
    via = walk(ring, a, b, 1) if via is None else via
    ref = [{"route_name": "Ring", "departure_stop": a, "arrival_stop": b, "via_stops": list(via),
            "num_via_stops": len(via)}]
    return {"id": f"ring-planning-{a}{b}-{template}", "type": "planning", "answer": "", "difficulty_city": "easy",
            "metro_data": json.dumps({"Ring": ring, "Line 2": ["C", "Z"]}), "station1": a, "station2": b,
            "question_transfer_count": 0, "template": template, "routes": json.dumps([ref])}


def answer(a: str, b: str, via: tuple[str, ...], template: str, via_first: bool = False) -> str:
    """The route in the answer format; `via_first` writes the via line before the keys (the release reads
    everything after `Arrival Stop:` as the arrival, so a via line after it is part of the stop name there)."""
    last = f"Via Stops: {', '.join(via) or 'None'}" if template == "long2" else f"Number of Via Stops: {len(via)}"
    keys = f"Route Name: Ring\nDeparture Stop: {a}\nArrival Stop: {b}"
    return f"{last}\n{keys}" if via_first else f"{keys}\n{last}"


def tied_trips(ring: list[str]) -> list[tuple[str, str]]:
    stops = ring[:-1]
    return [(a, b) for a in stops for b in stops
            if a != b and len(walk(ring, a, b, 1)) == len(walk(ring, a, b, -1))]


def test_the_rings_tell_a_tie_from_none():
    # Guard: the even ring has trips with two shortest ways, the odd ring none, or this file proves nothing.
    assert len(tied_trips(EVEN)) == 6 and ("B", "E") in tied_trips(EVEN) and tied_trips(ODD) == []


@pytest.mark.parametrize(("a", "b"), tied_trips(EVEN))
@pytest.mark.parametrize("template", ["long1", "long2"])
def test_robust_accepts_either_way_on_a_tie(a, b, template):
    s = sample(EVEN, a, b, template)
    fwd, bwd = walk(EVEN, a, b, 1), walk(EVEN, a, b, -1)
    one, other = score(answer(a, b, fwd, template), s, "robust"), score(answer(a, b, bwd, template), s, "robust")
    assert one.correct and one.reason == "correct route", one
    assert other.correct and other.total == one.total, other  # failed before the fix: 4.89 on long2, not 16.0
    assert score(answer(a, b, bwd[::-1], template), s, "robust").total == one.total  # a list is read as a set
    if template == "long2":  # a list of the right length that is neither way is still wrong
        wrong = (fwd[0], bwd[0])
        assert not score(answer(a, b, wrong, template), s, "robust").correct


@pytest.mark.parametrize("a", ODD[:-1])
@pytest.mark.parametrize("b", ODD[:-1])
def test_robust_still_refuses_the_longer_way(a, b):
    if a == b:
        return
    fwd, bwd = walk(ODD, a, b, 1), walk(ODD, a, b, -1)
    short, long = (fwd, bwd) if len(fwd) < len(bwd) else (bwd, fwd)
    s = sample(ODD, a, b, "long2")
    assert score(answer(a, b, short, "long2"), s, "robust").correct
    bad = score(answer(a, b, long, "long2"), s, "robust")
    assert not bad.correct and "wrong via stops" in bad.reason, bad


@pytest.mark.parametrize("template", ["long1", "long2"])
def test_the_other_presets_on_a_tie(template):
    """paper and sparse never read the via line (correctness is lines and stops): both ways score the same, correct.
    official is the release, unchanged: it reads no via stops either, and a via line written after the arrival
    becomes part of the arrival's name there (wrong arrival, either way); written before the keys, both ways are
    correct. Each official score is the tests' re-implementation of the release's."""
    a, b = "B", "E"
    s = sample(EVEN, a, b, template)
    ways = walk(EVEN, a, b, 1), walk(EVEN, a, b, -1)
    for preset in ("paper", "sparse"):
        one, other = (score(answer(a, b, w, template), s, preset) for w in ways)
        assert one.correct and (other.correct, other.total) == (one.correct, one.total), (preset, other)
    for via_first in (False, True):
        texts = [answer(a, b, w, template, via_first) for w in ways]
        got = [score(t, s, "official") for t in texts]
        assert [g.total for g in got] == [released_score(t, s) for t in texts]
        assert [g.correct for g in got] == [via_first, via_first], got


# ----- the sample-index cache validates what it does not key on ---------------------------------------------------
@pytest.mark.parametrize("broken", [None, [1, 2, 3], [1, 2, 3, 4, 5], "ABCD", "missing"])
def test_a_cache_hit_still_validates_the_choices(broken):
    s = perception_sample("oslo", "counting1", k=3)
    hit = index_sample(s)
    assert index_sample(dict(s)) is hit  # an equal sample is a hit: the case below is one too
    bad = {k: v for k, v in s.items() if k != "choices"} if broken == "missing" else dict(s, choices=broken)
    with pytest.raises(ValueError, match="four choices"):  # what validate_sample says of it
        validate_sample(bad)
    with pytest.raises(ValueError, match="four choices"):  # failed before the fix: the cached index came back
        index_sample(bad)
    assert index_sample(dict(s, choices=tuple(s["choices"]))) is hit  # still a hit when the choices are fine


class Reads(Mapping):
    """A sample that records every field read from it."""

    def __init__(self, sample: dict):
        self.sample, self.read = sample, set()

    def __getitem__(self, key):
        self.read.add(key)
        return self.sample[key]

    def __iter__(self):
        return iter(self.sample)

    def __len__(self):
        return len(self.sample)

    def __contains__(self, key):
        self.read.add(key)
        return key in self.sample


def test_every_validated_field_is_keyed_or_checked_on_a_hit():
    """validate_sample reads only the cache key's fields and `choices` (the one `index_sample` checks on a hit):
    a field it starts to check without being keyed fails here."""
    samples = [perception_sample("oslo", t) for t in ANSWER_KIND if t != "planning"]
    samples.append(planning_sample("oslo", *pairs("oslo", 1, 1)[0], template="long2"))
    assert {s["type"] for s in samples} == set(ANSWER_KIND)
    read = set()
    for s in samples:
        r = Reads(dict(s, extra_field=1))
        validate_sample(r)
        read |= r.read
    assert "choices" in read and read - set(SCORED_FIELDS) == {"choices"}, read - set(SCORED_FIELDS)


# ----- the map-plan cache is keyed by value -----------------------------------------------------------------------
def placed(plan) -> tuple:
    """What a plan decided, comparable across plan objects: where each label and badge went, and the misses."""
    return sorted(plan.label_boxes.items()), [b[0] for b in plan.badges], plan.failed


def test_the_plan_cache_is_held_by_the_network_and_follows_its_value():
    net = generate_network(GeneratorConfig(difficulty="easy", size=512), 3)
    plan = cached_plan(net, 512, False, None)
    assert cached_plan(net, 512, False, None) is plan  # a cache: the same arguments give the same plan
    twin = copy.deepcopy(net)  # another object plans afresh (tests that patch the planner rely on it), alike
    assert cached_plan(twin, 512, False, None) is not plan and placed(cached_plan(twin, 512, False, None)) == \
        placed(plan)
    # The same object changed in place: a new plan, the one plan_map makes for it (failed before the fix: the old
    # plan came back, its labels where the stations used to be).
    before = placed(plan)
    for k, (x, y) in net.positions.items():  # the map mirrored left to right (still octilinear): labels move
        net.positions[k] = (-x, y)
    for ln in net.lines:
        net.geometry[ln.name][:] = [(-x, y) for x, y in net.geometry[ln.name]]
    changed = cached_plan(net, 512, False, None)
    assert changed is not plan and placed(changed) == placed(plan_map(net, 512, False, None)) != before
    assert cached_plan(net, 512, True, None) is not changed  # other arguments: another plan


# ----- the lab's loop-aware operators ----------------------------------------------------------------------------
def sections(text: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(line, departure, arrival, via stops) of each section of a long2 answer, read with plain string operations."""
    out = []
    for part in text.split("\n--\n"):
        f = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in part.splitlines())
        via = f["Via Stops"].strip()
        out.append((f["Route Name"], f["Departure Stop"], f["Arrival Stop"], tuple(via.split(", ")) if via else ()))
    return out


def short_way(ring: list[str], a: str, b: str) -> tuple[int, tuple[str, ...]]:
    """(the step, +1 or -1, and the stops) of the shorter walk from a to b; on a tie the way the list runs."""
    fwd, bwd = walk(ring, a, b, 1), walk(ring, a, b, -1)
    return (1, fwd) if len(fwd) <= len(bwd) else (-1, bwd)


@pytest.mark.parametrize("ring", [EVEN, ODD], ids=["even", "odd"])
def test_a_detour_overshoots_the_way_the_ride_goes(ring):
    n, made = len(ring) - 1, 0
    for a, b in itertools.permutations(ring[:-1], 2):
        step, via = short_way(ring, a, b)
        s = sample(ring, a, b, "long2", via)
        x = ring[(ring.index(b) + step) % n]  # one stop past b, riding on
        through = walk(ring, a, x, step)
        other = walk(ring, a, x, -step)
        text = apply_errors(s, ["detour"], seed=0)
        if x == a or len(through) > len(other):  # riding on to x is no detour: the other way there is shorter
            assert text is None, (a, b, text)
            continue
        made += 1
        assert sections(text) == [("Ring", a, x, through), ("Ring", x, b, ())], (a, b, text)
        assert through[-1] == b and score(text, s, "paper").correct  # past b and back: a valid, longer route
    assert made >= n  # from every stop of the loop, its first included (failed before the fix)


@pytest.mark.parametrize(("a", "b"), [("A", "C"), ("F", "B"), ("B", "E")])
def test_a_neighbour_station_is_a_neighbour_round_the_loop(a, b):
    s = sample(EVEN, a, b, "long2", short_way(EVEN, a, b)[1])
    moved = {"departure": set(), "arrival": set()}
    for seed in range(60):
        ((line, dep, arr, via),) = sections(apply_errors(s, ["neighbour_station"], seed=seed))
        end, old, new = ("departure", a, dep) if dep != a else ("arrival", b, arr)
        assert line == "Ring" and (dep == a) != (arr == b) and new not in (a, b), (dep, arr)
        assert via == short_way(EVEN, dep, arr)[1]  # the via stops of the new ride
        moved[end].add((old, new))
    for end, stop in (("departure", a), ("arrival", b)):  # both of the stop's neighbours round the ring, but the
        want = {x for x in EVEN[:-1] if x not in (a, b) and min(len(walk(EVEN, stop, x, 1)),  # section's other end
                                                                len(walk(EVEN, stop, x, -1))) == 0}
        assert moved[end] == {(stop, x) for x in want}, (end, moved[end])  # failed before the fix on A and F
