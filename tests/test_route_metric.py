"""The route metric of `robust` (issue 22 part 2; docs/reward.md, "The route metric"): the programme
(`rmlite.reward.route_edits`) against a brute force of the spec (tests/fixtures/route_brute.py: every alignment
listed, no table), the spec's hand-counted examples, and the issue's examples as regression tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from fixtures.reward_robust import FLOOR, closed_form, credit_share
from fixtures.route_brute import distance, random_case, random_route

from rmlite.lab.measure import load_samples
from rmlite.maps.network import Network, route_to_json
from rmlite.names import normalize_station
from rmlite.reward import route_edits as rm
from rmlite.reward.config import ROBUST
from rmlite.reward.index import index_sample
from rmlite.reward.score import score

MINI = Path(__file__).resolve().parent.parent / "data" / "mini"


def planning_on(metro: dict, a: str, b: str) -> dict:
    """A planning sample on a hand-drawn map (every equally good route a reference), easy map, short template."""
    routes = Network.from_metro_data(metro, name="custom").routes(a, b)
    return {"id": "custom-planning-0", "map_id": "custom", "type": "planning", "question": "", "answer": "",
            "choices": [], "station1": a, "station2": b, "line": "", "metro_data": json.dumps(metro),
            "routes": route_to_json(routes), "difficulty_city": "easy", "difficulty_question": "easy",
            "question_transfer_count": len(routes[0]) - 1, "template": "short", "seed": 0, "source": "test",
            "prompt": []}


def text(secs) -> str:
    return "\n--\n".join(f"Route Name: {ln}\nDeparture Stop: {a}\nArrival Stop: {b}" for ln, a, b in secs)


def keyed(secs, metro) -> list:
    """Sections as the scorer resolves them (a line the map lacks is None)."""
    return [(ln if ln in metro else None, normalize_station(a), normalize_station(b)) for ln, a, b in secs]


def brute(secs, sample) -> int:
    metro = json.loads(sample["metro_data"])
    refs = [(r[0]["departure_stop"], [(s["route_name"], s["arrival_stop"]) for s in r])
            for r in json.loads(sample["routes"])]
    return distance([tuple(s) for s in secs], metro, refs)


# ----- the programme is the spec ------------------------------------------------------------------------------------
def mismatches(cases: int, seed: int, first: bool = False) -> list:
    """Random routes on random small maps where the programme and the brute force disagree (up to the first)."""
    rng, out = random.Random(seed), []
    for _ in range(cases):
        metro, refs, sample = random_case(rng)
        idx = index_sample(sample)
        for _ in range(4):
            secs = random_route(rng, metro, refs)
            want, got = min(rm.MAX_EDITS, distance(secs, metro, refs)), rm.route_edits(idx, secs)
            if got != want:
                out.append((secs, got, want))
                if first:
                    return out
    return out


def test_the_programme_agrees_with_the_brute_force():
    """400 random routes (every kind of edit, 1–5 sections) on 100 random maps: exactly the same count (run once
    by hand on 6,000 routes: no disagreement)."""
    assert mismatches(100, seed=22) == []


@pytest.mark.parametrize("corrupt", ["slot", "cut", "half"])
def test_the_agreement_check_fails_on_a_corrupted_programme(monkeypatch, corrupt):
    """The check above catches a programme that counts a transfer stop's two copies apart, or (the bug of issue
    22) never checks a split's cut or its second half's line."""
    real = rm._split
    if corrupt == "slot":
        monkeypatch.setattr(rm, "_slot", lambda a, d, s: (a != s) + (d != s))
    elif corrupt == "cut":
        monkeypatch.setattr(rm, "_split", lambda first, second, line, p, t, serves: 0)
    else:
        monkeypatch.setattr(rm, "_split", lambda first, second, line, p, t, serves:
                            real(first, (line, *second[1:]), line, p, t, serves))
    assert mismatches(100, seed=22, first=True)


# ----- the spec's examples, counted by hand -------------------------------------------------------------------------
CHAIN = {"Red": ["A", "B", "C", "D", "P"], "Blue": ["B", "C", "D"], "Green": ["D", "E"], "Yellow": ["E", "F"],
         "Grey": ["Q", "R"]}
REF = [["Red", "A", "D"], ["Green", "D", "E"], ["Yellow", "E", "F"]]
SPEC = [  # (route, edits, what): the reference is Red A→D, Green D→E, Yellow E→F
    (REF, 0, "the reference"),
    ([["Grey", "A", "D"], *REF[1:]], 1, "wrong line"),
    ([["Red 3", "A", "D"], *REF[1:]], 1, "misread line (a name the map lacks)"),
    ([["Red", "A", "D"], ["Green", "D", "Ex"], ["Yellow", "Ex", "F"]], 1, "misread transfer stop, both copies"),
    ([["Red", "A", "D"], ["Green", "D", "Q"], ["Yellow", "E", "F"]], 1, "one copy of a transfer stop wrong"),
    ([["Red", "A", "Q"], ["Green", "D", "E"], ["Yellow", "E", "F"]], 1, "the other copy wrong"),
    (REF[1:], 1, "first section dropped"),
    ([REF[0], REF[2]], 1, "middle section dropped"),
    (REF[:2], 1, "last section dropped"),
    ([REF[0], ["Grey", "D", "D"], *REF[1:]], 1, "a section added at a stop of the route"),
    ([REF[0], REF[0], *REF[1:]], 1, "a section repeated"),
    ([REF[0], ["Blue", "A", "D"], *REF[1:]], 2, "a hedge: repeated on another line"),
    ([["Red", "A", "D"], ["Green", "D", "F"]], 1, "skipped change (merge)"),
    ([["Red", "A", "B"], ["Blue", "B", "D"], *REF[1:]], 1, "needless change onto a line serving the rest"),
    ([["Red", "A", "P"], ["Red", "P", "D"], *REF[1:]], 1, "detour past D and back"),
    ([["Red", "A", "Q"], ["Red", "Q", "D"], *REF[1:]], 2, "split at a stop off the line"),
    ([["Red", "A", "Q"], ["Line 9", "Q", "D"], *REF[1:]], 3, "split off the line, a half on an invented line"),
    ([["Yellow", "F", "E"], ["Green", "E", "D"], ["Red", "D", "A"]], 1, "read backwards"),
    ([["Yellow", "F", "E"], ["Green", "E", "D"], ["Red", "D", "B"]], 2, "backwards, and an end misplaced"),
    ([["Red", "A", "D"], ["Green", "D", "E"], ["Yellow", "E", "F"], ["Grey", "F", "Q"]], 2, "a ride past the end"),
]


@pytest.mark.parametrize("secs, edits, what", SPEC, ids=[w for _, _, w in SPEC])
def test_each_edit_of_the_spec_costs_what_it_says(secs, edits, what):
    s = planning_on(CHAIN, "A", "F")
    assert len(json.loads(s["routes"])) == 1 and s["question_transfer_count"] == 2
    assert brute(secs, s) == edits
    assert rm.route_edits(index_sample(s), keyed(secs, CHAIN)) == edits


def test_an_error_costs_the_same_wherever_it_lands():
    """The symmetry the spec guarantees, on every transfer question of data/mini: dropping the first, any middle
    or the last section is one edit; so is a wrong line or a misread stop in any section."""
    samples = [s for s in load_samples(MINI) if s["type"] == "planning" and s["question_transfer_count"] >= 1]
    assert len(samples) > 60
    for s in samples:
        metro, idx = json.loads(s["metro_data"]), index_sample(s)
        ref = [[x["route_name"], x["departure_stop"], x["arrival_stop"]] for x in json.loads(s["routes"])[0]]
        variants = [ref[:i] + ref[i + 1:] for i in range(len(ref))]
        variants += [ref[:i] + [["Line 99", *ref[i][1:]]] + ref[i + 1:] for i in range(len(ref))]
        variants += [ref[:i] + [[ref[i][0], ref[i][1], ref[i][2] + "x"]] + ref[i + 1:] for i in range(len(ref))]
        for v in variants:
            assert rm.route_edits(idx, keyed(v, metro)) == 1, (s["id"], v)


# ----- the examples -----------------------------------------------------------------------------------------
DIRECT = {"Line 1": ["Alna", "Brekke", "Dal", "Frogner"], "Line 2": ["Elv", "Dal", "Gran"]}  # no Line 3


@pytest.mark.parametrize("line", ["Line 3", "Line 01", "L1", "Line 1 (northbound)", "Line 2"])
def test_a_misread_line_on_a_direct_question_is_one_edit(line):
    """Issue 22: naming a line the map lacks with both stops right got the floor (total 0, like an empty answer)
    while a wrong real line (Line 2) scored 4.4 and the honest answer 16; each is now one edit."""
    s = planning_on(DIRECT, "Alna", "Frogner")
    assert s["question_transfer_count"] == 0
    secs = [[line, "Alna", "Frogner"]]
    b = score(text(secs), s, ROBUST)
    assert not b.correct and b.reason.endswith("; 1 edit from a right route")
    assert b.detail == pytest.approx(closed_form(1, credit_share(secs, s)), abs=1e-9) and b.detail > FLOOR + 8
    assert b.total > 4.0 and score(text([["Line 1", "Alna", "Frogner"]]), s, ROBUST).total == 16.0


def test_a_split_counts_each_wrong_element():
    """Issue 22: splitting a ride at a stop off its line with one half on an invented line (three errors) counted
    as one edit and beat two-error answers; it is three now, below each two-error answer of the question."""
    s = planning_on(DIRECT, "Alna", "Frogner")
    three = [["Line 1", "Alna", "Elv"], ["Line 9", "Elv", "Frogner"]]
    twos = [[["Line 9", "Alna", "Dal"], ["Line 1", "Dal", "Frogner"]],  # needless change, a half's line invented
            [["Line 1", "Alna", "Elv"], ["Line 1", "Elv", "Frogner"]],  # split at a stop off the line
            [["Line 2", "Alna", "Frogx"]],  # wrong line and misread stop
            [["Line 1", "Frogner", "Alnx"]]]  # backwards and misread
    assert brute(three, s) == 3 and rm.route_edits(index_sample(s), keyed(three, DIRECT)) == 3
    low = score(text(three), s, ROBUST)
    for two in twos:
        assert brute(two, s) == 2
        assert score(text(two), s, ROBUST).total > low.total, two


def test_dropping_the_first_or_the_last_section_costs_the_same():
    """Issue 22: dropping the first section cost 2 edits, dropping the last 1 (on 105 of 105 transfer questions)."""
    s = planning_on(CHAIN, "A", "F")
    first, last = score(text(REF[1:]), s, ROBUST), score(text(REF[:2]), s, ROBUST)
    assert first.reason.endswith("; 1 edit from a right route") and last.reason.endswith("; 1 edit from a right route")
