"""Maps/s for generate + render per size on one core, beside the PNG-encode-only ceiling.

    python bench/bench_render.py [--maps 60] [--gallery docs/gallery.png]

Encode-only = the time to PNG-encode the same rendered images (what any pipeline that stores PNGs pays anyway).
"""

from __future__ import annotations

import argparse
import io
import time

from rmlite.data.cards import gallery
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.render import render_map

DIFFS = ("easy", "middle", "hard")


def bench(size: int, maps: int) -> dict:
    t_gen = t_render = t_png = 0.0
    for i in range(maps):
        cfg = GeneratorConfig(difficulty=DIFFS[i % 3], size=size)
        t0 = time.perf_counter()
        net = generate_network(cfg, i)
        t1 = time.perf_counter()
        img = render_map(net, size).image
        t2 = time.perf_counter()
        img.save(io.BytesIO(), format="PNG")
        t3 = time.perf_counter()
        t_gen, t_render, t_png = t_gen + t1 - t0, t_render + t2 - t1, t_png + t3 - t2
    return {"size": size, "maps_per_s": maps / (t_gen + t_render), "gen_ms": 1e3 * t_gen / maps,
            "render_ms": 1e3 * t_render / maps, "png_ms": 1e3 * t_png / maps,
            "ratio_to_png": (t_gen + t_render) / t_png}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=int, default=60, help="maps per size (difficulties rotate)")
    ap.add_argument("--sizes", default="512,768,1024", help="comma-separated image sizes")
    ap.add_argument("--gallery", default=None, help="also write the easy/middle/hard gallery PNG here")
    ap.add_argument("--real-map", default="data/reasonmap/maps/norway/oslo.png", help="real map for the gallery")
    args = ap.parse_args()
    for size in map(int, args.sizes.split(",")):
        r = bench(size, args.maps)
        print(f"{r['size']:5d}px  {r['maps_per_s']:6.1f} maps/s  (generate {r['gen_ms']:.1f} ms + render "
              f"{r['render_ms']:.1f} ms; PNG encode alone {r['png_ms']:.1f} ms; ratio {r['ratio_to_png']:.2f}x)")
    if args.gallery:
        gallery(args.gallery, real_map=args.real_map)
        print("wrote", args.gallery)


if __name__ == "__main__":
    main()
