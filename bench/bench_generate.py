"""Benchmark: generate a data set (maps + every question type + PNG storage) vs the PNG-encode-only ceiling, and
what readability costs.

Prints maps/s and questions/s for `rmlite generate` at the given size on all cores, and in the same run the time
just to PNG-encode the same number of images of that size (what storing them costs at the least), so the ratio
says how far generation is from the ceiling. Target (issue 2): 1,000 maps at 1024 px in under 60 s on 2 cores.
With `--readability-cost` it generates the same maps again with the readability checks switched off (the placer's
reading-margin test, the geometric label-over-stroke measure, planning's avoidance of unreadable stations: issue
23's alternative to the 60 s target, "say what readability costs"), wall and CPU time each way.

    python bench/bench_generate.py --maps 1000 --size 1024
    python bench/bench_generate.py --maps 200 --size 1024 --readability-cost
"""

import argparse
import io
import os
import resource
import shutil
import tempfile
import time

import numpy as np

import rmlite.data.build as build
import rmlite.data.questions as questions
import rmlite.maps.labels as labels
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.store import read_manifest


def _cpu() -> float:
    """CPU seconds of this process and its finished workers."""
    return sum(resource.getrusage(w).ru_utime + resource.getrusage(w).ru_stime
               for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))


def timed_generate(maps: int, size: int, workers: int | None) -> tuple[float, float, int]:
    """(wall s, CPU s, questions) of one `generate_dataset` into a temporary folder."""
    tmp = tempfile.mkdtemp(prefix="rmlite-bench-")
    try:
        t, c = time.perf_counter(), _cpu()
        out = generate_dataset(os.path.join(tmp, "d"), DatasetConfig(n_maps=maps, size=size), workers=workers,
                               progress=False)
        wall, cpu = time.perf_counter() - t, _cpu() - c
        n_q = sum(v["questions"] for v in read_manifest(out)["counts"].values())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return wall, cpu, n_q


def readability_off() -> None:
    """Switch the readability checks off in this process (workers are forked from it, so they inherit it)."""
    labels._nearer_other = lambda boxes, xy, own, margin: np.zeros(len(boxes), dtype=bool)
    build.unreadable_stations = lambda net, res, size: res.unreadable
    plan = questions._planning
    questions.MAKERS["planning"] = questions._planning = (
        lambda net, rng, n, cfg, avoid=frozenset(), size=None: plan(net, rng, n, cfg, frozenset(), size))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--maps", type=int, default=1000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--readability-cost", action="store_true", help="also time it with the readability checks off")
    a = ap.parse_args()
    gen_s, cpu_s, n_q = timed_generate(a.maps, a.size, a.workers)
    # ceiling: PNG-encode the same number of real rendered maps of that size (level 1, as the data set stores)
    from rmlite.maps.generate import GeneratorConfig, generate_network
    from rmlite.maps.render import render_map

    ims = [render_map(generate_network(GeneratorConfig(difficulty=d, size=a.size), 7), size=a.size).image
           for d in ("easy", "middle", "hard")]
    t = time.perf_counter()
    for i in range(a.maps):
        ims[i % 3].save(io.BytesIO(), format="PNG", compress_level=1)
    enc_s = (time.perf_counter() - t) / (a.workers or os.cpu_count() or 1)  # same cores as generation
    print(f"{a.maps} maps at {a.size}px, {n_q} questions: {gen_s:.1f} s ({cpu_s:.1f} s CPU) -> "
          f"{a.maps / gen_s:.1f} maps/s, {n_q / gen_s:.0f} questions/s; load average {os.getloadavg()[0]:.1f}")
    print(f"PNG-encode-only ceiling on the same cores: {enc_s:.1f} s; generation / ceiling = {gen_s / enc_s:.1f}x")
    if a.readability_cost:
        readability_off()
        off_s, off_cpu, off_q = timed_generate(a.maps, a.size, a.workers)
        share = (cpu_s - off_cpu) / max(off_cpu, 1e-9)
        print(f"readability checks off: {off_s:.1f} s ({off_cpu:.1f} s CPU, {off_q} questions); readability costs "
              f"{gen_s - off_s:+.1f} s wall, {cpu_s - off_cpu:+.1f} s CPU ({share:+.0%})")


if __name__ == "__main__":
    main()
