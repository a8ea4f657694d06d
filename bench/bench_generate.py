"""Benchmark: generate a data set (maps + every question type + PNG storage) vs the PNG-encode-only ceiling.

Prints maps/s and questions/s for `rmlite generate` at the given size on all cores, and in the same run the time
just to PNG-encode the same number of images of that size (what storing them costs at the least), so the ratio
says how far generation is from the ceiling. Target (issue 2): 1,000 maps at 1024 px in under 60 s on 2 cores.

    python bench/bench_generate.py --maps 1000 --size 1024
"""

import argparse
import io
import os
import shutil
import tempfile
import time

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.store import read_manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--maps", type=int, default=1000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rmlite-bench-")
    try:
        t = time.perf_counter()
        out = generate_dataset(os.path.join(tmp, "d"), DatasetConfig(n_maps=a.maps, size=a.size), workers=a.workers,
                               progress=False)
        gen_s = time.perf_counter() - t
        m = read_manifest(out)
        n_q = sum(c["questions"] for c in m["counts"].values())
        # ceiling: PNG-encode the same number of real rendered maps of that size (level 1, as the data set stores)
        from rmlite.maps.generate import GeneratorConfig, generate_network
        from rmlite.maps.render import render_map

        ims = [render_map(generate_network(GeneratorConfig(difficulty=d, size=a.size), 7), size=a.size).image
               for d in ("easy", "middle", "hard")]
        t = time.perf_counter()
        for i in range(a.maps):
            ims[i % 3].save(io.BytesIO(), format="PNG", compress_level=1)
        enc_s = (time.perf_counter() - t) / (a.workers or os.cpu_count() or 1)  # same cores as generation
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.maps} maps at {a.size}px, {n_q} questions: {gen_s:.1f} s -> {a.maps / gen_s:.1f} maps/s, "
          f"{n_q / gen_s:.0f} questions/s")
    print(f"PNG-encode-only ceiling on the same cores: {enc_s:.1f} s; generation / ceiling = {gen_s / enc_s:.1f}x")


if __name__ == "__main__":
    main()
