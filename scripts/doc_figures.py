"""Regenerate the pictures the README shows (docs/figures/) from a demo run and the lab on the shipped data.

    make demo                          # writes runs/demo (about 2-3 minutes on a CPU)
    python scripts/doc_figures.py      # copies its figures, runs the lab on data/mini, writes docs/figures/

The figures are copies of what rmlite itself writes (the demo's curves, evaluation chart and sample card; the lab's
signal-density figure), so the README shows exactly what a user gets; docs/gallery.png is `rmlite.data.cards.gallery`
with the real Oslo map (pixel-identical on every run: the maps are seeded).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from rmlite.data.cards import gallery
from rmlite.lab.measure import load_samples, run_lab
from rmlite.lab.report import write_outputs

ROOT = Path(__file__).resolve().parents[1]
FROM_DEMO = {"grpo/metrics.png": "training_curves.png", "eval/accuracy.png": "accuracy.png",
             "sample_answer.png": "sample_card.png", "warm_start.png": "warm_start.png"}
LAB_DATA = ROOT / "data" / "mini"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--demo", default="runs/demo", help="a folder written by `rmlite demo` (default: %(default)s)")
    p.add_argument("--out", default=str(ROOT / "docs" / "figures"), help="default: docs/figures")
    a = p.parse_args(argv)
    demo, out = Path(a.demo), Path(a.out)
    missing = [name for name in FROM_DEMO if not (demo / name).is_file()]
    if missing:
        print(f"doc_figures: {demo} lacks {', '.join(missing)}: run `make demo` first (or pass --demo)",
              file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for name, target in FROM_DEMO.items():
        shutil.copyfile(demo / name, out / target)
        print(f"wrote {out / target}")
    res = run_lab(load_samples(LAB_DATA, "train"), ("sparse", "paper", "official", "robust"), probes=False)
    with tempfile.TemporaryDirectory() as tmp:
        written = write_outputs(res, tmp)
        figure = next(path for path in written if path.suffix == ".png")
        shutil.copyfile(figure, out / "lab_signal_density.png")
    print(f"wrote {out / 'lab_signal_density.png'}")
    gallery(ROOT / "docs" / "gallery.png", real_map="oslo")
    print(f"wrote {ROOT / 'docs' / 'gallery.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
