"""Questions: every answer key recomputed from the sample's own metro data by the independent oracle.

Covers random networks (hypothesis), generated synthetic maps, the three real maps, the balance of the counting1
key letter and of yes/no answers, the planning mix, templates, determinism and config validation.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter

import pytest
from fixtures import oracle
from fixtures.networks import chain, metro_data
from hypothesis import given
from hypothesis import strategies as st

import rmlite.data.planning as planning
from rmlite.data.apportion import apportion
from rmlite.data.questions import (
    OPTION_STEPS,
    QuestionConfig,
    counting1_pairs,
    generate_questions,
)
from rmlite.maps.network import Network
from rmlite.schema import QUESTION_TYPES, validate_sample

CITIES = {"oslo": "norway/oslo", "geneva": "switzerland/geneva", "miami": "america/miami"}
MANY = QuestionConfig(per_map={"counting1": 8, "counting2": 8, "counting3": 3, "torf1": 8, "torf2": 8,
                               "planning": 10}, long_template_share=0.3)


def city_net(reasonmap_dir, city: str) -> Network:
    raw = json.loads((reasonmap_dir / "stations" / f"{CITIES[city]}.json").read_text(encoding="utf-8"))
    return Network.from_metro_data(raw, name=city)


def check_all(qs: list[dict], map_id: str) -> None:
    ids = [q["id"] for q in qs]
    assert len(set(ids)) == len(ids), "ids must be unique"
    for q in qs:
        validate_sample(q)
        oracle.check_sample(q)
        assert q["map_id"] == map_id
        content = [{"type": "image"}, {"type": "text", "text": q["question"]}]
        assert q["prompt"] == [{"role": "user", "content": content}]
        if q["type"] != "planning":
            assert q["routes"] == "[]" and q["question_transfer_count"] == 0 and q["template"] == ""
    assert sum(q["type"] == "counting3" for q in qs) <= 1


def assert_balanced(qs: list[dict], md: dict, cfg: QuestionConfig) -> None:
    """Per map |yes - no| <= 1 for torf1 and torf2, whenever the map has enough pairs of both kinds."""
    yes_pairs, no_pairs = oracle.same_line_pairs(md)
    n = cfg.per_map["torf1"]
    if yes_pairs >= 4 * n and no_pairs >= 4 * n:
        c = oracle.yes_no(qs, "torf1")
        assert abs(c["yes"] - c["no"]) <= 1 and c.total() == n, c
    stations = {s for st in md.values() for s in st}
    on = sum(len(oracle.lines_at(md, s)) for s in stations)
    off = len(stations) * len(md) - on
    n = cfg.per_map["torf2"]
    if on >= 4 * n and off >= 4 * n:
        c = oracle.yes_no(qs, "torf2")
        assert abs(c["yes"] - c["no"]) <= 1 and c.total() == n, c


# ----- random networks ---------------------------------------------------------------------------------------------
@given(metro_data(), st.integers(0, 2**31 - 1))
def test_keys_on_random_networks(md, seed):
    net = Network.from_metro_data(md)
    qs = generate_questions(net, map_id="rnd", seed=seed, config=MANY)
    check_all(qs, "rnd")
    assert_balanced(qs, net.metro_data(), MANY)


@given(metro_data(max_lines=6, max_len=14, loops=False, min_lines=3), st.integers(0, 2**31 - 1))
def test_balance_on_random_networks_without_loops(md, seed):
    net = Network.from_metro_data(md)
    cfg = QuestionConfig()
    qs = generate_questions(net, map_id="rnd", seed=seed, config=cfg)
    check_all(qs, "rnd")
    assert_balanced(qs, net.metro_data(), cfg)


# ----- synthetic generated maps ------------------------------------------------------------------------------------
@given(st.sampled_from(["easy", "middle", "hard"]), st.sampled_from(["numbered", "named"]), st.integers(0, 10**6))
def test_keys_on_generated_maps(difficulty, naming, seed):
    from rmlite.maps.generate import GeneratorConfig, generate_network

    net = generate_network(GeneratorConfig(difficulty=difficulty, line_naming=naming, size=512), seed)
    cfg = QuestionConfig(long_template_share=0.5)
    qs = generate_questions(net, map_id="m", seed=seed, config=cfg)
    check_all(qs, "m")
    assert_balanced(qs, net.metro_data(), cfg)
    assert {q["type"] for q in qs} == set(QUESTION_TYPES)
    assert all(q["difficulty_city"] == difficulty for q in qs)


# ----- real maps ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("city", sorted(CITIES))
@pytest.mark.parametrize("seed", [0, 1])
def test_keys_on_real_maps(reasonmap_dir, city, seed):
    net = city_net(reasonmap_dir, city)
    qs = generate_questions(net, map_id=f"real-{city}", seed=seed, config=MANY, source=f"reasonmap:{city}")
    check_all(qs, f"real-{city}")
    assert_balanced(qs, net.metro_data(), MANY)
    assert {q["type"] for q in qs} == set(QUESTION_TYPES)
    assert all(q["source"] == f"reasonmap:{city}" for q in qs)
    assert all("(" not in q["station1"] for q in qs)


# ----- balance of the counting1 key letter ---------------------------------------------------------------------------
@pytest.mark.parametrize("per_map", [3, 4])
def test_counting1_key_letter_is_balanced(reasonmap_dir, per_map):
    cfg = QuestionConfig(per_map={"counting1": per_map})
    nets = [city_net(reasonmap_dir, c) for c in CITIES] + [Network.from_metro_data(chain())]
    letters = Counter()
    seed = 0
    while letters.total() < 240:
        for net in nets:
            for q in generate_questions(net, map_id=f"{net.name}-{seed}", seed=seed, config=cfg):
                oracle.check_sample(q)
                letters[q["answer"]] += 1
        seed += 1
    for letter in "ABCD":
        assert 0.15 <= letters[letter] / letters.total() <= 0.35, letters


def test_counting1_small_truths_are_not_over_asked():
    # Adjacent stops only (truth 0): only letter A can hold the key with ascending options from 0. The letter
    # that cannot be served is skipped, not handed to another letter, so such a map gives ⌈n/4⌉ questions at most.
    net = Network.from_metro_data({f"Line {i}": [f"A{i}", f"B{i}"] for i in range(1, 9)})
    for seed in range(30):
        for n in (4, 6):
            qs = generate_questions(net, map_id="pairs", seed=seed, config=QuestionConfig(per_map={"counting1": n}))
            for q in qs:
                oracle.check_sample(q)
                assert q["answer"] == "A" and q["choices"][0] == 0
            assert len(qs) <= -(-n // 4)


def test_counting1_skips_ambiguous_pairs_and_close_loop_pairs():
    # Two lines give different counts for (P, S); on a 3-stop ring both ways are close for every pair.
    net = Network.from_metro_data({"Ring": ["A", "B", "C", "A"], "Line 2": ["P", "Q", "S"], "Line 3": ["P", "S"]})
    for seed in range(20):
        qs = generate_questions(net, map_id="amb", seed=seed, config=QuestionConfig(per_map={"counting1": 10}))
        pairs = {frozenset((q["station1"], q["station2"])) for q in qs}
        assert pairs <= {frozenset(("P", "Q")), frozenset(("Q", "S"))}


def test_counting1_on_a_loop_counts_the_short_way_and_never_offers_the_long_way():
    ring = [f"R{i}" for i in range(20)]
    net = Network.from_metro_data({"Ring": [*ring, ring[0]], "Spur": ["R0", "X1", "X2"]})
    asked = 0
    for seed in range(40):
        for q in generate_questions(net, map_id="ring", seed=seed, config=QuestionConfig(per_map={"counting1": 4})):
            oracle.check_sample(q)   # the oracle counts the short way and rejects a long-way option
            if q["station1"] in ring and q["station2"] in ring:
                d = abs(ring.index(q["station1"]) - ring.index(q["station2"]))
                short, long = min(d, 20 - d) - 1, max(d, 20 - d) - 1
                assert q["choices"]["ABCD".index(q["answer"])] == short and long not in q["choices"]
                assert long - short >= 4
                asked += 1
    assert asked > 50


def test_regression_counting1_pair_asked_once_when_two_lines_share_a_corridor_in_opposite_directions():
    md = {"Red": ["A", "B", "C", "D", "E", "F"], "Blue": ["F", "E", "D", "C", "B", "A"]}
    net = Network.from_metro_data(md)
    assert len(counting1_pairs(net)) == 15
    for seed in range(20):
        qs = generate_questions(net, map_id="twin", seed=seed, config=QuestionConfig(per_map={"counting1": 12}))
        pairs = [frozenset((q["station1"], q["station2"])) for q in qs]
        assert len(pairs) == len(set(pairs))


def test_counting1_options_ascend_in_one_step_around_the_key(reasonmap_dir):
    for city in CITIES:
        net = city_net(reasonmap_dir, city)
        for seed in range(5):
            for q in generate_questions(net, map_id=city, seed=seed, config=QuestionConfig(per_map={"counting1": 4})):
                ch = q["choices"]
                steps = {b - a for a, b in itertools.pairwise(ch)}
                assert len(steps) == 1 and steps <= set(OPTION_STEPS) and min(ch) >= 0


# ----- planning ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mix", [(0.5, 0.35, 0.15), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 2)])
def test_planning_mix_is_honoured_when_the_map_allows_it(mix):
    # With no image size (so no trade between a difficulty's maps: `planning.ASK_WEIGHTS`) a map asks the mix; each
    # count is its share of 8 rounded down or up, and over many seeds the counts average the shares.
    w = mix
    share = {d: 8 * x / sum(w) for d, x in zip(("easy", "middle", "hard"), w, strict=True)}
    net = Network.from_metro_data(chain(4, 8))
    total: Counter = Counter()
    for seed in range(60):
        qs = generate_questions(net, map_id="chain", seed=seed,
                                config=QuestionConfig(per_map={"planning": 8}, planning_mix=mix))
        check_all(qs, "chain")
        got = Counter(q["difficulty_question"] for q in qs)
        assert sum(got.values()) == 8 and all(math.floor(v) <= got[d] <= math.ceil(v) for d, v in share.items())
        total += got
        for q in qs:
            assert q["difficulty_question"] == ("easy", "middle", "hard")[min(q["question_transfer_count"], 2)]
    assert all(abs(total[d] / 60 - v) < 0.25 for d, v in share.items()), (total, share)


def _planning_shares(n_maps: int) -> list[float]:
    """Shares of 0 / 1 / ≥ 2-transfer planning questions over a fresh 512 px set built as `rmlite generate` does."""
    from rmlite.data.build import DatasetConfig, build_synthetic_map, map_specs

    cfg = DatasetConfig(n_maps=n_maps, seed=23, size=512)
    got = Counter(min(q["question_transfer_count"], 2) for spec in map_specs(cfg)
                  for q in build_synthetic_map(spec, cfg)[1] if q["type"] == "planning")
    return [got[k] / sum(got.values()) for k in range(3)]


def test_planning_mix_is_met_over_a_fresh_set_within_three_points():
    # issue 23: asked 50/35/15 %, the set gave 53.9/37.7/8.4 % (small maps and maps with unreadable hubs have no
    # readable long route, and every map rounded 1.2 long routes down to 1)
    shares = _planning_shares(48)
    assert all(abs(s - w) <= 0.03 for s, w in zip(shares, (0.5, 0.35, 0.15), strict=True)), shares


def test_red_team_without_the_trade_between_maps_long_routes_fall_short(monkeypatch):
    monkeypatch.setattr(planning, "ASK_WEIGHTS", {})
    assert _planning_shares(48)[2] < 0.12


def test_planning_mix_falls_back_when_a_bucket_is_empty():
    net = Network.from_metro_data({"Line 1": ["A", "B", "C", "D", "E"]})
    qs = generate_questions(net, map_id="one", seed=0, config=QuestionConfig(per_map={"planning": 6},
                                                                            planning_mix=(0, 0, 1)))
    check_all(qs, "one")
    assert len(qs) == 6 and all(q["question_transfer_count"] == 0 for q in qs)


def test_planning_skips_disconnected_pairs():
    net = Network.from_metro_data({"Line 1": ["A", "B", "C"], "Line 2": ["X", "Y", "Z"]})
    qs = generate_questions(net, map_id="islands", seed=3, config=QuestionConfig(per_map={"planning": 6}))
    check_all(qs, "islands")
    assert qs and all(({q["station1"], q["station2"]} <= {"A", "B", "C"}) or
                      ({q["station1"], q["station2"]} <= {"X", "Y", "Z"}) for q in qs)


@pytest.mark.parametrize(("share", "templates"), [(0.0, {"short"}), (1.0, {"long1", "long2"})])
def test_planning_templates(reasonmap_dir, share, templates):
    net = city_net(reasonmap_dir, "oslo")
    qs = generate_questions(net, map_id="oslo", seed=1,
                            config=QuestionConfig(per_map={"planning": 16}, long_template_share=share))
    check_all(qs, "oslo")
    assert {q["template"] for q in qs} <= templates and len({q["template"] for q in qs}) == len(templates)
    for q in qs:
        assert f"how do I get from {q['station1']} to {q['station2']}?" in q["question"]
        marker = {"short": "Arrival Stop: xx Station\n--\n", "long1": "Number of Via Stops: x",
                  "long2": "Via Stops: xx Station, xx Station"}[q["template"]]
        assert marker in q["question"]


def test_max_routes_caps_reference_routes(reasonmap_dir):
    net = city_net(reasonmap_dir, "oslo")
    for k in (1, 3):
        qs = generate_questions(net, map_id="oslo", seed=0, config=QuestionConfig(per_map={"planning": 10},
                                                                                  max_routes=k))
        for q in qs:
            oracle.check_sample(q, max_routes=k)   # exactly min(total, k) routes, all optimal, none repeated
        assert max(len(json.loads(q["routes"])) for q in qs) <= k
        assert any(q["route_count"] > k for q in qs), "the total count must say when the list was cut"


# ----- determinism, counts, wording --------------------------------------------------------------------------------
def test_same_seed_same_questions_different_seed_different(reasonmap_dir):
    net = city_net(reasonmap_dir, "oslo")
    a = generate_questions(net, map_id="oslo", seed=5)
    b = generate_questions(city_net(reasonmap_dir, "oslo"), map_id="oslo", seed=5)
    c = generate_questions(net, map_id="oslo", seed=6)
    assert a == b
    assert [q["question"] for q in a] != [q["question"] for q in c]
    assert all(q["seed"] == 5 for q in a)


def test_per_map_counts():
    net = Network.from_metro_data(chain(4, 8))
    cfg = QuestionConfig(per_map={"counting1": 3, "counting2": 5, "counting3": 4, "torf1": 2, "torf2": 0,
                                  "planning": 7})
    got = Counter(q["type"] for q in generate_questions(net, map_id="c", seed=0, config=cfg))
    assert got == Counter({"counting1": 3, "counting2": 5, "counting3": 1, "torf1": 2, "planning": 7})
    assert generate_questions(net, map_id="c", seed=0, config=QuestionConfig(per_map={})) == []


def test_counting2_mixes_transfer_and_plain_stations(reasonmap_dir):
    qs = generate_questions(city_net(reasonmap_dir, "oslo"), map_id="oslo", seed=0,
                            config=QuestionConfig(per_map={"counting2": 8}))
    answers = Counter(q["answer"] for q in qs)
    net = city_net(reasonmap_dir, "oslo")
    values = {str(len(v)) for v in net.station_lines.values()}
    # Answers cycle through every line count the map has: no value is asked more than ⌈8 / values⌉ times.
    assert set(answers) == values and max(answers.values()) <= -(-8 // len(values)), answers


def test_question_wording():
    net = Network.from_metro_data({"Line 1": ["A", "B", "C", "D", "F", "G"], "Line 2": ["E", "B"]})
    qs = {q["type"]: q for q in generate_questions(net, map_id="w", seed=0)}
    assert "\\boxed{}" in qs["counting2"]["question"] and "how many lines pass through" in qs["counting2"]["question"]
    assert "one of ABCD" in qs["counting1"]["question"]
    assert "only answer yes or no" in qs["torf1"]["question"]
    assert f"is on the line {qs['torf2']['line']}?" in qs["torf2"]["question"]
    assert "how many subway (metro) lines are there in total?" in qs["counting3"]["question"]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"per_map": {"counting9": 1}}, "unknown question type"),
    ({"per_map": {"torf1": -1}}, "non-negative integers"),
    ({"per_map": {"torf1": 1.5}}, "non-negative integers"),
    ({"planning_mix": (1, 1)}, "three non-negative weights"),
    ({"planning_mix": (1, -1, 1)}, "three non-negative weights"),
    ({"planning_mix": (0, 0, 0)}, "positive sum"),
    ({"long_template_share": 1.5}, r"\[0, 1\]"),
    ({"long_template_share": -0.1}, r"\[0, 1\]"),
    ({"max_routes": 0}, "at least 1"),
])
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuestionConfig(**kwargs)


@pytest.mark.parametrize(("n", "weights", "parts"), [
    (8, (0.5, 0.35, 0.15), [4, 3, 1]), (0, (1, 1, 1), [0, 0, 0]), (7, (1, 0, 0), [7, 0, 0]), (5, (1, 1, 1), None),
])
def test_apportion(n, weights, parts):
    got = apportion(n, weights)
    assert sum(got) == n and all(p >= 0 for p in got)
    if parts is not None:
        assert got == parts


# ----- readable questions and small maps ---------------------------------------------------------------------------
def test_no_question_names_an_unreadable_station(reasonmap_dir):
    net = city_net(reasonmap_dir, "oslo")
    hidden = set(sorted(net.stations)[::3])
    for seed in range(5):
        qs = generate_questions(net, map_id="oslo", seed=seed, config=MANY, unreadable=hidden)
        check_all(qs, "oslo")
        assert qs and not any(q[f] in hidden for q in qs for f in ("station1", "station2"))
    assert any(q["station1"] in hidden for q in generate_questions(net, map_id="oslo", seed=0, config=MANY))


def test_regression_a_map_with_no_no_answer_is_not_all_yes():
    # Every pair shares a line (one line): torf1 cannot ask a "no", so it asks at most one "yes" (Sydney was all "yes").
    net = Network.from_metro_data({"Line 1": list("ABCDEFGH")})
    for seed in range(10):
        c = oracle.yes_no(generate_questions(net, map_id="one", seed=seed, config=MANY), "torf1")
        assert c == Counter({"yes": 1}), c
