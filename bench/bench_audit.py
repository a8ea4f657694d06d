"""Benchmark and acceptance check: audit fresh data at every size against issue 11's targets.

Generates `--maps` maps of each difficulty at each size (a fresh seed), runs `rmlite.data.audit` on each set and
prints the audit tables, the time taken, and whether every target is met (exit status 1 if not):

    python bench/bench_audit.py --maps 200 --sizes 512,768,1024 --seed 1111

Targets: misplaced labels <= 0.5 %, 0 questions naming an unreadable station, minimum colour distance >= 12
CIEDE2000, counting1 choices-only accuracy <= 30 %, counting2 majority <= 45 %, hard maps with varying line counts,
no label over a station mark, no neighbours' labels in swapped order, no hairpin lines, and no question naming a station
whose label covers another line's stroke (such stations get no question). Labels over another
line's track are reported, not targeted: the placer takes such a spot only when every free spot covers track.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from rmlite.data.audit import audit_dataset, format_audit
from rmlite.data.build import DatasetConfig, generate_dataset


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maps", type=int, default=200, help="maps per difficulty and size")
    ap.add_argument("--sizes", default="512,768,1024")
    ap.add_argument("--seed", type=int, default=1111)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--picture-dir", default=None, help="keep the closest-call label pictures here")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rmlite-audit-")
    missed = 0
    try:
        for size in map(int, a.sizes.split(",")):
            t0 = time.perf_counter()
            out = generate_dataset(os.path.join(tmp, str(size)), DatasetConfig(n_maps=3 * a.maps, seed=a.seed,
                                                                               size=size), workers=a.workers,
                                   progress=False)
            t1 = time.perf_counter()
            pic = os.path.join(a.picture_dir or tmp, f"audit-labels-{size}.png")
            report = audit_dataset(out, picture=pic)
            t2 = time.perf_counter()
            print(f"## {size}px: {3 * a.maps} maps generated in {t1 - t0:.1f} s, audited in {t2 - t1:.1f} s")
            print(format_audit(report), "\n", flush=True)
            missed += len(report.failures())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
