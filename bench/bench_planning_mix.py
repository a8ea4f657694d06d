"""Fit `rmlite.data.planning.ASK_WEIGHTS`: what each map must ask so that each map difficulty's planning questions
come out in the mix asked (50 / 35 / 15 % for 0 / 1 / 2+ transfers), per image size.

For each map (drawn as `rmlite generate` draws it: network, picture, unreadable stations) it counts the readable
pairs of each kind, up to the questions a map asks; then it simulates `planning_pairs`' choice (random rounding,
maps short of a kind filling in with the next longest) and moves the weights until every difficulty's simulated
mix is the asked one. Prints the weights to paste and the simulated mix; check them on fresh seeds with
`rmlite generate` then `rmlite audit` (its planning-mix check).

    python bench/bench_planning_mix.py --maps 300 --size 768 --seeds 6768,9768
"""

import argparse
import random
from multiprocessing import Pool

from rmlite.data.apportion import apportion
from rmlite.data.build import DatasetConfig, map_specs, synthetic_network, unreadable_stations
from rmlite.data.planning import LONG_TRIES, transfer_counts
from rmlite.maps.render import render_map

MIX = (0.5, 0.35, 0.15)
N = 8  # planning questions a map asks (QuestionConfig.per_map)


def readable_counts(args) -> tuple[str, tuple[int, int, int]]:
    """(difficulty, readable pairs with 0 / 1 / 2+ transfers, each counted up to N) for one map spec."""
    spec, cfg = args
    net = synthetic_network(spec, cfg)
    hidden = unreadable_stations(net, render_map(net, size=cfg.size), cfg.size)
    pools = [[], [], []]
    for pair, t in transfer_counts(net, list(net.stations)).items():
        pools[min(t, 2)].append(pair)
    out = []
    for k, pool in enumerate(pools):
        ok = 0
        for a, b in pool[:LONG_TRIES * N] if k == 2 else pool:
            routes, _ = net.routes_and_count(a, b, 64)
            ok += hidden.isdisjoint(st for r in routes for s in r for st in (s.departure_stop, s.arrival_stop,
                                                                                *s.via_stops))
            if ok == N:
                break
        out.append(ok)
    return net.difficulty, tuple(out)


def simulate(caps: list[tuple[int, int, int]], shares: list[float], reps: int = 20) -> list[float]:
    """The mix `planning_pairs` gives these maps when each asks `shares` (see its docstring)."""
    got_all, rng = [0, 0, 0], random.Random(1)
    for _ in range(reps):
        for c in caps:
            want = apportion(N, shares if c[2] else (shares[0], shares[1], 0.0), rng)
            if want[2] > c[2]:
                want = [*apportion(N - c[2], (shares[0], shares[1] + 1e-12), rng), c[2]]
            got = [min(w, k) for w, k in zip(want, c, strict=True)]
            for k in (2, 1, 0):
                more = min(N - sum(got), c[k] - got[k])
                got[k] += more
            got_all = [a + b for a, b in zip(got_all, got, strict=True)]
    return [v / sum(got_all) for v in got_all]


def fit(caps: list[tuple[int, int, int]]) -> tuple[list[float], list[float]]:
    """(shares each map asks, the mix they give), by multiplicative steps toward the asked mix."""
    x = list(MIX)
    for _ in range(30):
        got = simulate(caps, x, reps=5)
        x = [min(50.0, xi * (t / max(g, 1e-6)) ** 0.7) for xi, t, g in zip(x, MIX, got, strict=True)]
        x = [v / sum(x) for v in x]
    return x, simulate(caps, x)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--maps", type=int, default=300)
    ap.add_argument("--size", type=int, default=768)
    ap.add_argument("--seeds", default="6768,9768")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    jobs = [(s, cfg) for seed in a.seeds.split(",")
            for cfg in [DatasetConfig(n_maps=a.maps, seed=int(seed), size=a.size)] for s in map_specs(cfg)]
    with Pool(a.workers) as pool:
        counted = pool.map(readable_counts, jobs, chunksize=4)
    for d in ("easy", "middle", "hard"):
        caps = [c for dd, c in counted if dd == d]
        x, got = fit(caps)
        rel = tuple(round(v / m / (x[0] / MIX[0]), 3) for v, m in zip(x, MIX, strict=True))
        print(f'("{d}", {a.size}): {rel},  # {len(caps)} maps; simulated mix '
              + " / ".join(f"{100 * g:.1f}" for g in got))


if __name__ == "__main__":
    main()
