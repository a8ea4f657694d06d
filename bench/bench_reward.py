"""Reward throughput: completions scored per second on one core, per question type and preset.

Samples come from `rmlite.data.questions.generate_questions` on the bundled real maps (Oslo, Geneva, Miami); completions
are realistic variants of each answer (exact, with a thinking block, messy markdown, wrong line, wrong stop, detour,
prose only, truncated, each made unique). The reference is timed in the same run, on the same completions:
by default the tests' plain re-implementation of the released `reason_map_compute_score`
(tests/fixtures/reward.py, which the `official` preset must agree with); with `--reference FILE.py:FUNCTION` any
callable `(completion, sample) -> float`, e.g. a small adapter that calls a local copy of the released
`reason_map.py` (not shipped here) the way verl does. Ratios are preset rate ÷ reference rate, and each preset's
rate ÷ `paper`'s, all from the same run.

Time is the scoring thread's CPU time by default (`--clock cpu`), so a figure is the work of one core even on a
machine shared with other jobs (the load average is printed beside it); `--clock wall` times wall-clock seconds,
which on an idle machine agree with it.

Each rate is the best of `--rounds` rounds that take every preset and the reference in turn, so a burst of
load on a shared machine lowers one measurement, not the comparison.

    python bench/bench_reward.py [--seconds 0.3] [--rounds 3] [--clock cpu|wall] [--reference my_adapter.py:score]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fixtures.reward import network, released_score  # noqa: E402

from rmlite.data.answers import boxed, format_route  # noqa: E402
from rmlite.data.questions import QuestionConfig, generate_questions  # noqa: E402
from rmlite.maps.network import routes_from_json  # noqa: E402
from rmlite.reward.config import PRESETS  # noqa: E402
from rmlite.reward.index import index_sample, index_samples  # noqa: E402
from rmlite.reward.score import score  # noqa: E402

CITIES = {"oslo": "middle", "geneva": "middle", "miami": "easy"}


def samples() -> list[dict]:
    cfg = QuestionConfig(per_map={"counting1": 12, "counting2": 12, "counting3": 1, "torf1": 12, "torf2": 12,
                                  "planning": 40}, long_template_share=0.3)
    out = []
    for city, diff in CITIES.items():
        net = network(city)
        net.difficulty = diff
        out += generate_questions(net, map_id=city, seed=0, config=cfg, source=f"reasonmap:{city}")
    return out


def planning_completions(s: dict, k: int) -> list[str]:
    route = routes_from_json(s["routes"])[0]
    tpl = s["template"] or "short"
    ref = format_route(route, tpl)
    other = next(ln for ln in network(s["map_id"]).line_by_name if ln != route[0].route_name)
    think = f"<think>Find {s['station1']} on the map (try {k}), follow the line, check transfers.</think>\n"
    messy = ref.replace("Route Name: ", "**route name:** ").replace("Departure Stop:", "- departure stop:")
    return [
        ref,
        think + ref,
        f"Sure! Here is the route (option {k}):\n\n" + messy.replace("\n--\n", "\n\n---\n\n") + "\nHave a nice trip.",
        ref.replace(f"Route Name: {route[0].route_name}", f"Route Name: {other}", 1),
        ref[: ref.rfind("Arrival Stop:")] + f"Arrival Stop: {s['station1']}",
        ref + f"\n--\nRoute Name: {route[-1].route_name}\nDeparture Stop: {route[-1].arrival_stop}\n"
              f"Arrival Stop: {route[-1].departure_stop}",
        f"Take {route[0].route_name} from {s['station1']} towards {s['station2']} ({k}).",
        think + ref[: len(ref) // 2],
    ]


def perception_completions(s: dict, k: int) -> list[str]:
    key = s["answer"]
    wrong = {"yes": "no", "no": "yes"}.get(key, "B" if key == "A" else "A" if key.isalpha() else str(int(key) + 1))
    return [boxed(key), f"<think>Counting carefully, pass {k}.</think>\n" + boxed(key), f"The answer is {key}.",
            boxed(wrong), f"Looking at the map ({k}) I believe it is \\boxed{{({key})}}.", f"I am not sure ({k})."]


CLOCKS = {"cpu": time.thread_time, "wall": time.perf_counter}


def rate(pairs: list[tuple[str, dict]], fn, seconds: float, clock=time.thread_time) -> float:
    """Completions per second of `clock`. The per-sample indexes stay warm (as in training after its first step);
    the per-sample memo of scored routes is cleared before each pass, so only repeats within one pass hit it."""
    idxs = {id(s): index_sample(s) for _, s in pairs}.values()
    for c, s in pairs:  # warm the per-sample indexes, as training does after its first step
        fn(c, s)
    n, t0 = 0, clock()
    while True:
        for idx in idxs:
            idx.memo.clear()
        for c, s in pairs:
            fn(c, s)
        n += len(pairs)
        if clock() - t0 >= seconds:
            return n / (clock() - t0)


def load_reference(spec: str | None) -> tuple[str, Callable[[str, dict], float]]:
    """(label, callable): the tests' re-implementation, or `FILE.py:FUNCTION` loaded from a local file."""
    if not spec:
        return "re-implementation (tests)", released_score
    path, _, name = spec.rpartition(":")
    mod_spec = importlib.util.spec_from_file_location("bench_reference", path)
    if mod_spec is None or mod_spec.loader is None:
        raise SystemExit(f"cannot load {path!r}")
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return f"{Path(path).name}:{name}", getattr(mod, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=0.3, help="time per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="rounds over all presets; each rate is the best round")
    ap.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                    help="cpu: the scoring thread's CPU time (default); wall: wall-clock time")
    ap.add_argument("--reference", default=None,
                    help="FILE.py:FUNCTION, a (completion, sample) -> float reward timed beside the presets "
                         "(default: the tests' re-implementation)")
    args = ap.parse_args()
    label, ref_fn = load_reference(args.reference)
    data = samples()
    index_samples(data)
    by_type: dict[str, list[tuple[str, dict]]] = {}
    for k, s in enumerate(data):
        make = planning_completions if s["type"] == "planning" else perception_completions
        by_type.setdefault(s["type"], []).extend((c, s) for c in make(s, k))
    mismatch = sum(abs(score(c, s, PRESETS["official"]).total - ref_fn(c, s)) > 1e-9
                   for pairs in by_type.values() for c, s in pairs)
    clock = CLOCKS[args.clock]
    print(f"{len(data)} samples, {sum(map(len, by_type.values()))} completions; reference: {label}; "
          f"official vs reference mismatches: {mismatch}; clock: {args.clock}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"{'type':<10} {'n':>5} " + " ".join(f"{p + '/s':>12}" for p in PRESETS) + f" {'reference/s':>12} "
          + " ".join(f"{p + '÷ref':>12}" for p in PRESETS) + " " + " ".join(f"{p + '÷paper':>13}" for p in PRESETS
                                                                           if p != "paper"))
    for typ, pairs in sorted(by_type.items()):
        fns = {p: (lambda c, s, cfg=cfg: score(c, s, cfg)) for p, cfg in PRESETS.items()} | {"reference": ref_fn}
        best = dict.fromkeys(fns, 0.0)
        for _ in range(args.rounds):
            for p, fn in fns.items():
                best[p] = max(best[p], rate(pairs, fn, args.seconds, clock))
        base = best.pop("reference")
        rates = best
        print(f"{typ:<10} {len(pairs):>5} " + " ".join(f"{r:>12,.0f}" for r in rates.values()) +
              f" {base:>12,.0f} " + " ".join(f"{r / base:>11.1f}x" for r in rates.values()) + " " +
              " ".join(f"{r / rates['paper']:>12.2f}x" for p, r in rates.items() if p != "paper"))
    big = "Route Name: " + "x(" * 500_000
    plan = next(s for s in data if s["type"] == "planning")
    most = max((s for s in data if s["type"] == "planning"), key=lambda s: len(json.loads(s["routes"])))
    for p, cfg in PRESETS.items():
        t0 = time.perf_counter()
        score(big, plan, cfg)
        print(f"1 MB adversarial completion, {p}: {1000 * (time.perf_counter() - t0):.1f} ms")
    rides = long_route(most)
    for p, cfg in PRESETS.items():
        index_sample(most).memo.clear()
        t0 = time.perf_counter()
        score(rides, most, cfg)
        print(f"{rides.count('Route Name')} rides on a question with {len(json.loads(most['routes']))} reference "
              f"routes, {p}: {1000 * (time.perf_counter() - t0):.1f} ms")


def long_route(sample: dict, n: int = 256) -> str:
    """`n` sections that each ride a real line between two of its stops (the parser's bound is 256): the most work
    a junk answer can ask of the robust edit count."""
    metro = json.loads(sample["metro_data"])
    lines = list(metro)
    return "\n--\n".join(f"Route Name: {ln}\nDeparture Stop: {metro[ln][i % len(metro[ln])]}\n"
                          f"Arrival Stop: {metro[ln][(i + 1) % len(metro[ln])]}"
                          for i, ln in ((i, lines[i % len(lines)]) for i in range(n)))


if __name__ == "__main__":
    main()
