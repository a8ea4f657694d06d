"""Build `.whl/`: the wheels a GPU box without a network needs to run `scripts/gpu_smoke.py` on rmlite's GPU pins.

The box this is sized for (this workplace's device machines; docs/gpu_smoke.md) has Python 3.12, torch 2.11.0+cu130,
transformers 5.17.0, peft, accelerate, pyarrow, pandas, sentencepiece and einops, but not trl, datasets,
bitsandbytes or unsloth. The bundle has to fit the 64 MiB that travels with a working tree, so two wheels are
repacked (same file name, RECORD rewritten):

* bitsandbytes keeps `libbitsandbytes_cpu.so` and only the CUDA libraries named by `--cuda` (default 130 and 132:
  bitsandbytes loads `libbitsandbytes_cuda<torch.version.cuda>.so`, and torch 2.11.0+cu130 asks for 130); the
  other CUDA 11/12, ROCm and XPU builds are 21 MB each uncompressed.
* unsloth loses `studio/` (its web app, 60 MB uncompressed), which `import unsloth` never reads.

Left out on purpose (each is optional for `import unsloth`, `FastVisionModel` and unsloth's TRL patch, checked by
hiding it from the import system in the GPU-pin lane's venv): xformers and torchao (built for one torch version;
unsloth falls back to PyTorch attention and skips torchao), diffusers, hf_transfer, structlog, nest-asyncio.

Usage: python3 scripts/gpu_bundle.py [--out .whl] [--cuda 130 132]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name==version: the GPU pins (requirements/gpu.txt) and the pure-Python needs the box lacks (pins from
# requirements/gpu-lane.txt, the lane's lock). dill and multiprocess: `datasets` imports them; tyro (with
# docstring_parser and typeguard), msgspec and cut_cross_entropy: unsloth_zoo's own requirements, small.
WHEELS = ("trl==1.15.0", "datasets==4.8.5", "bitsandbytes==0.50.2", "unsloth==2026.10.9", "unsloth_zoo==2026.10.9",
          "dill==0.4.1", "multiprocess==0.70.19", "tyro==1.0.17", "docstring_parser==0.18.0", "typeguard==4.6.1",
          "msgspec==0.23.0", "cut_cross_entropy==25.1.1")
PLATFORM = ("--python-version", "3.12", "--implementation", "cp", "--platform", "manylinux_2_28_x86_64",
            "--platform", "manylinux_2_27_x86_64", "--platform", "manylinux_2_24_x86_64", "--platform",
            "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", "--platform", "manylinux1_x86_64")
LIMIT_MIB = 64


def download(dest: Path) -> None:
    """Every wheel in WHEELS for CPython 3.12 on x86-64 Linux, without dependencies (they are listed explicitly)."""
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", *PLATFORM, "-d",
           str(dest), *WHEELS]
    subprocess.run(cmd, check=True)


def repack(wheel: Path, drop) -> int:
    """Rewrite `wheel` in place without the members `drop(name)` selects (RECORD lines too); bytes saved."""
    before = wheel.stat().st_size
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if drop(info.filename):
                continue
            data = src.read(info.filename)
            if info.filename.endswith(".dist-info/RECORD"):
                lines = data.decode().splitlines()
                data = ("\n".join(ln for ln in lines if not drop(ln.split(",", 1)[0])) + "\n").encode()
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(wheel)
    return before - wheel.stat().st_size


def build(out: Path, cuda: list[str]) -> list[tuple[str, int]]:
    """Fill `out` (emptied first) with the bundle; [(wheel name, bytes)]."""
    with tempfile.TemporaryDirectory(prefix="rmlite-bundle-") as tmp:
        download(Path(tmp))
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(tmp, out)
    keep_libs = {f"libbitsandbytes_cuda{v}.so" for v in cuda} | {"libbitsandbytes_cpu.so"}
    lib = re.compile(r"^bitsandbytes/libbitsandbytes_\w+\.so$")
    (bnb,) = out.glob("bitsandbytes-*.whl")
    repack(bnb, lambda n: bool(lib.match(n)) and n.split("/")[-1] not in keep_libs)
    (uns,) = out.glob("unsloth-*.whl")
    repack(uns, lambda n: n.startswith("studio/"))
    return sorted(((w.name, w.stat().st_size) for w in out.glob("*.whl")), key=lambda x: -x[1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / ".whl", help="folder to (re)write (default: .whl)")
    ap.add_argument("--cuda", nargs="+", default=["130", "132"],
                    help="bitsandbytes CUDA libraries to keep: torch.version.cuda without the dot (default: 130 132)")
    args = ap.parse_args(argv)
    bad = [v for v in args.cuda if not v.isdigit()]
    if bad:
        ap.error(f"--cuda takes versions like 130 or 128, got {bad}")
    rows = build(args.out, args.cuda)
    total = sum(size for _, size in rows)
    for name, size in rows:
        print(f"{size / 2**20:8.2f} MiB  {name}")
    print(f"{total / 2**20:8.2f} MiB  total in {args.out}")
    if total > LIMIT_MIB * 2**20:
        print(f"over the {LIMIT_MIB} MiB a working tree may carry: keep fewer --cuda libraries", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
