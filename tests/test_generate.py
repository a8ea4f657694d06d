"""Generator tests: config validation, determinism, counts per difficulty, octilinear layout, connectivity, names."""

from __future__ import annotations

import itertools
import random
from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmlite.maps.fonts import legible_station_cap
from rmlite.maps.generate import LINE_RANGES, PALETTE, TRANSFER_RANGES, GeneratorConfig, generate_network
from rmlite.maps.namer import FLAVOURS, StationNamer, is_clean_name
from rmlite.names import normalize_station, rewardmap_clean

FORBIDDEN = ("station", "metro", "road", "univ", "tech", "--", ":", "(", ")", "[", "]", "{", "}", "*", ",", "'")


@pytest.mark.parametrize("kwargs, message", [
    (dict(difficulty="extreme"), "difficulty"),
    (dict(size=100), "size"),
    (dict(line_naming="lettered"), "line_naming"),
    (dict(name_flavours=("klingon",)), "name_flavours"),
    (dict(name_flavours=()), "name_flavours"),
    (dict(lines=(5, 3)), "lines range"),
    (dict(lines=(2, 20)), "at most"),
    (dict(stations_per_line=(1, 5)), "stations_per_line"),
    (dict(size=512, difficulty="hard", lines=(12, 12), stations_per_line=(20, 25)), "legible cap"),
    (dict(corridor_share=1.5), "corridor_share"),
    (dict(max_pixels=1000), "max_pixels"),
])  # fmt: skip
def test_config_validation_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GeneratorConfig(**kwargs).validate()


def test_default_configs_validate():
    for diff, size in itertools.product(("easy", "middle", "hard"), (512, 768, 1024)):
        GeneratorConfig(difficulty=diff, size=size).validate()


def test_same_seed_same_network_and_different_seeds_differ():
    cfg = GeneratorConfig(difficulty="middle", size=768)
    a, b = generate_network(cfg, 7), generate_network(cfg, 7)
    assert a.to_json() == b.to_json()
    assert generate_network(cfg, 8).to_json() != a.to_json()


def _bfs_connected(net) -> bool:
    adj: dict[str, set[str]] = {}
    for ln in net.lines:
        for u, v in itertools.pairwise(ln.stations):
            adj.setdefault(u, set()).add(v)
            adj.setdefault(v, set()).add(u)
    start = next(iter(adj))
    seen, todo = {start}, deque([start])
    while todo:
        for v in adj[todo.popleft()] - seen:
            seen.add(v)
            todo.append(v)
    return seen == set(adj)


def check_network(net, cfg: GeneratorConfig) -> None:
    """Every structural promise of generate_network, checked from the Network alone."""
    lo, hi = LINE_RANGES[cfg.difficulty]
    assert lo <= len(net.lines) <= hi
    tlo, thi = TRANSFER_RANGES[cfg.difficulty]
    assert tlo <= len(net.transfer_stations) <= thi
    assert len(net.stations) <= legible_station_cap(cfg.size)
    assert net.difficulty == cfg.difficulty
    assert _bfs_connected(net)
    # Octilinear polylines through every station of their line, in order; no station visited twice.
    for ln in net.lines:
        poly = net.geometry[ln.name]
        assert len(ln.stations) == len(set(ln.stations)) >= 2
        for (x0, y0), (x1, y1) in itertools.pairwise(poly):
            dx, dy = x1 - x0, y1 - y0
            assert (dx, dy) != (0, 0) and (dx == 0 or dy == 0 or abs(dx) == abs(dy)), (ln.name, poly)
        unit = [tuple(poly[0])]
        for a, b in itertools.pairwise(poly):
            n = max(abs(b[0] - a[0]), abs(b[1] - a[1]))
            sx, sy = (b[0] - a[0]) // n, (b[1] - a[1]) // n
            unit += [(a[0] + sx * i, a[1] + sy * i) for i in range(1, n + 1)]
        idx = [unit.index(tuple(net.positions[s])) for s in ln.stations]
        assert idx == sorted(idx) and idx[0] == 0 and idx[-1] == len(unit) - 1
    # Distinct stations sit at distinct grid points.
    assert len(set(map(tuple, net.positions.values()))) == len(net.positions)
    # Colours: distinct palette colours; named lines carry their colour's name.
    colours = [ln.color for ln in net.lines]
    assert len(set(colours)) == len(colours) and set(colours) <= {c for _, c in PALETTE}
    if cfg.line_naming == "named":
        names = dict((c, n) for n, c in PALETTE)
        assert all(ln.name == f"{names[ln.color]} Line" for ln in net.lines)
    else:
        assert sorted(ln.name for ln in net.lines) == sorted(f"Line {i + 1}" for i in range(len(net.lines)))
    check_names(net.stations)


def check_names(names) -> None:
    for n in names:
        low = n.lower()
        assert not any(f in low for f in FORBIDDEN), n
        assert n == n.strip() and "  " not in n
    for norm in (normalize_station, rewardmap_clean):
        keys = [norm(n) for n in names]
        assert len(set(keys)) == len(keys), f"collision under {norm.__name__}"


@given(seed=st.integers(0, 10**9), difficulty=st.sampled_from(["easy", "middle", "hard"]),
       size=st.sampled_from([512, 768, 1024]), naming=st.sampled_from(["numbered", "named"]))
@settings(deadline=None)
def test_generated_networks_keep_their_promises(seed, difficulty, size, naming):
    cfg = GeneratorConfig(difficulty=difficulty, size=size, line_naming=naming)
    check_network(generate_network(cfg, seed), cfg)


@pytest.mark.parametrize("difficulty", ["easy", "middle", "hard"])
def test_fixed_seeds_per_difficulty(difficulty):
    for seed in range(8):
        cfg = GeneratorConfig(difficulty=difficulty, size=1024)
        check_network(generate_network(cfg, seed), cfg)


def test_transfers_grow_with_difficulty():
    mean = {d: sum(len(generate_network(GeneratorConfig(difficulty=d), s).transfer_stations) for s in range(6)) / 6
            for d in ("easy", "middle", "hard")}
    assert mean["easy"] < mean["middle"] < mean["hard"]


def test_corridors_exist_and_can_be_switched_off():
    def shared_edges(net):
        seen, shared = set(), 0
        for ln in net.lines:
            for a, b in itertools.pairwise(ln.stations):
                e = frozenset((a, b))
                shared += e in seen
                seen.add(e)
        return shared

    on = sum(shared_edges(generate_network(GeneratorConfig("hard"), s)) for s in range(5))
    off = sum(shared_edges(generate_network(GeneratorConfig("hard", corridor_share=0.0), s)) for s in range(5))
    assert on > 0 and off == 0


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_station_names_per_flavour(flavour):
    namer = StationNamer(random.Random(flavour), (flavour,))
    names = [namer.next() for _ in range(150)]
    check_names(names)
    assert all(2 < len(n) <= 16 for n in names)


def test_names_use_accents_and_two_words():
    namer = StationNamer(random.Random(0))
    names = [namer.next() for _ in range(400)]
    text = "".join(names)
    assert any(ch in text for ch in "øåéőłãç")
    assert sum(" " in n for n in names) > 20


@pytest.mark.parametrize("name, ok", [
    ("Place Verte", True), ("Nowa Wola", True), ("Kőhalom", True),
    ("Roadside", False), ("Technopark", False), ("University Hill", False), ("Metro Centre", False),
    ("Gare Station", False), ("A--B", False), ("Pont-d'Arve", False), ("Rive (Transfer)", False),
    ("A: B", False), ("Star*", False), ("One, Two", False), ("", False),
])  # fmt: skip
def test_is_clean_name(name, ok):
    assert is_clean_name(name) is ok
