"""Routing: the generator's hand-written router vs networkx's own algorithms, on the same state graph.

On generated maps of each difficulty, every timed query asks for the equally good routes between two stations (the
fewest transfers, then the fewest stops) and how many there are, as a planning question stores them:

- `hand`: `Network.routes_and_count` (Dijkstra from every start state at once, stopped at the cheapest end, paths
  counted on its predecessor DAG and at most `_ENUMERATE` × the cap of them enumerated). The baseline.
- `nx-all`: `nx.all_shortest_paths` (Dijkstra) from a super-source to a super-sink wired to the start and end
  states of the same (station, line) graph, every path enumerated, sorted the same way, cut at the same cap.
- `nx-pred`: `nx.dijkstra_predecessor_and_distance` from the super-source, paths counted on its predecessors and
  listed as `nx-all` lists them (the count without enumerating: what a hand-written router adds to networkx).

Each figure is queries per CPU-second (the process's CPU time, so a shared machine slows it little), the best of
`--rounds` rounds, with the ratio to `hand` measured in the same run; `same` is the share of queries whose routes
(in order) and count are bit-identical to `hand`'s. Graph building is not timed (networkx gets a copy of the
router's own adjacency lists, built once per map).

    python bench/bench_routing.py [--maps 6] [--pairs 150] [--rounds 3] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import networkx as nx

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from rmlite.maps.generate import GeneratorConfig, generate_network  # noqa: E402
from rmlite.maps.network import MAX_ROUTES, Network, _path_to_route, _route_sort_key  # noqa: E402
from rmlite.schema import DIFFICULTIES  # noqa: E402


def wired(net: Network, g: nx.DiGraph, a: str, b: str) -> None:
    """Wire a super-source to a's states and b's states to a super-sink (weight 0), so one search covers them all."""
    g.add_edges_from((("<from>", (a, ln)) for ln in net.station_lines[a]), weight=0)
    g.add_edges_from((((b, ln), "<to>") for ln in net.station_lines[b]), weight=0)


def nx_all(net: Network, g: nx.DiGraph, a: str, b: str, cap: int = MAX_ROUTES) -> tuple[list, int]:
    wired(net, g, a, b)
    try:
        paths = list(nx.all_shortest_paths(g, "<from>", "<to>", weight="weight"))
    finally:
        g.remove_nodes_from(["<from>", "<to>"])
    found = sorted((_path_to_route(p[1:-1]) for p in paths), key=_route_sort_key)
    return found[:cap], len(paths)


def nx_pred(net: Network, g: nx.DiGraph, a: str, b: str, cap: int = MAX_ROUTES) -> tuple[list, int]:
    wired(net, g, a, b)
    try:
        pred, dist = nx.dijkstra_predecessor_and_distance(g, "<from>", weight="weight")
    finally:
        g.remove_nodes_from(["<from>", "<to>"])
    count = {"<from>": 1}
    for node in sorted(dist, key=dist.get):
        if node != "<from>":
            count[node] = sum(count[p] for p in pred[node])
    paths = nx.algorithms.shortest_paths.generic._build_paths_from_predecessors({"<from>"}, "<to>", pred)
    found = sorted((_path_to_route(p[1:-1]) for p in paths), key=_route_sort_key)
    return found[:cap], count["<to>"]


def hand(net: Network, g: nx.DiGraph, a: str, b: str, cap: int = MAX_ROUTES) -> tuple[list, int]:
    return net.routes_and_count(a, b, cap)


ROUTERS = {"hand": hand, "nx-all": nx_all, "nx-pred": nx_pred}


def queries(difficulty: str, n_maps: int, n_pairs: int, seed: int) -> list[tuple[Network, nx.DiGraph, str, str]]:
    """`n_pairs` random connected station pairs on each of `n_maps` generated maps (graphs built once per map)."""
    rng = random.Random(seed)
    out = []
    for k in range(n_maps):
        net = generate_network(GeneratorConfig(difficulty=difficulty), seed=seed + k)
        g = nx.DiGraph()  # the router's own state graph, each link both ways, as networkx's weighted digraph
        g.add_weighted_edges_from((u, v, w) for u, nbs in net._state_adjacency.items() for v, w in nbs)
        pairs = [tuple(rng.sample(net.stations, 2)) for _ in range(n_pairs)]
        out += [(net, g, a, b) for a, b in pairs]
    return out


def rate(qs: list, fn, rounds: int) -> float:
    """Queries per CPU-second, the best of `rounds` passes."""
    best = 0.0
    for _ in range(rounds):
        t = time.process_time()
        for net, g, a, b in qs:
            fn(net, g, a, b)
        best = max(best, len(qs) / max(time.process_time() - t, 1e-9))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maps", type=int, default=6, help="generated maps per difficulty")
    ap.add_argument("--pairs", type=int, default=150, help="random station pairs asked per map")
    ap.add_argument("--rounds", type=int, default=3, help="timed passes; each figure is the best")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"{a.maps} maps x {a.pairs} pairs per difficulty, cap {MAX_ROUTES} routes; queries per CPU-second")
    print(f"{'difficulty':<10} {'states':>7} " + " ".join(f"{r + '/s':>10}" for r in ROUTERS)
          + " " + " ".join(f"{r + '÷hand':>12}" for r in ROUTERS if r != "hand")
          + " " + " ".join(f"{r + ' same':>12}" for r in ROUTERS if r != "hand") + f" {'most routes':>12}")
    for diff in DIFFICULTIES:
        qs = queries(diff, a.maps, a.pairs, a.seed)
        want = [hand(*q) for q in qs]
        same = {r: sum(ROUTERS[r](*q) == w for q, w in zip(qs, want, strict=True)) / len(qs)
                for r in ROUTERS if r != "hand"}
        rates = {r: rate(qs, fn, a.rounds) for r, fn in ROUTERS.items()}
        states = sum(g.number_of_nodes() for g in {id(q[1]): q[1] for q in qs}.values()) // a.maps
        print(f"{diff:<10} {states:>7} " + " ".join(f"{v:>10,.0f}" for v in rates.values())
              + " " + " ".join(f"{rates[r] / rates['hand']:>11.2f}x" for r in same)
              + " " + " ".join(f"{v:>12.1%}" for v in same.values()) + f" {max(w[1] for w in want):>12,}")


if __name__ == "__main__":
    main()
