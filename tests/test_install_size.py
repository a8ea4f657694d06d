"""The CPU set's size on disk, measured, against the figure docs/maintainers.md quotes (issue 25: within 10 %).

Which environment: in CI (`CI=true`), the `.venv` that `make test` has just made from the clean clone with
scripts/setup_env.sh, known by its stamp (the hash setup_env.sh writes, recomputed here from the same files), so CI
pays no second 2-3 minute install. Anywhere else, or with `RMLITE_FRESH_ENV=1`, a fresh venv in tmp that
scripts/setup_env.sh installs exactly as `make setup` does (settings read from the Makefile). The size counts disk
blocks once per inode; the CUDA part is `nvidia*` and `triton` and torch's own CUDA libraries. Where torch is a
CPU build (the PyTorch CPU index, or macOS), the CUDA part must be 0.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STAMP = ".rmlite-installed"
CUDA_LIB = re.compile(r"(cuda|cudnn|cublas|cufft|curand|cusolver|cusparse|nccl|nvrtc|nvjitlink|nvtoolsext)", re.I)
# docs/maintainers.md: "... CPU set ... measured ...: X.X GiB with torch from the ordinary index (...), Y.Y GiB with
# the PyTorch CPU index" (Y may read "not measured").
QUOTE = {"cuda": re.compile(r"([\d.]+) GiB with torch from the ordinary index"),
         "cpu": re.compile(r"([\d.]+) GiB with the PyTorch CPU index")}


def make_default(name: str) -> str:
    found = re.search(rf"^{name}\s*\?=\s*(.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, f"the Makefile has no {name} ?= default"
    return found.group(1).strip()


def settings(env_dir: Path) -> dict[str, str]:
    """setup_env.sh's settings for the CPU set, as the Makefile's `setup` recipe passes them."""
    constraints = make_default("CONSTRAINTS")
    return {"ENV_DIR": str(env_dir), "ENV_KIND": "fresh venv", "CREATE": "1", "PYTHON": sys.executable,
            "TORCH_SPEC": make_default("TORCH_SPEC"), "EXTRAS": make_default("EXTRAS"),
            "TORCH_INDEX": make_default("TORCH_INDEX"), "TORCH_CONSTRAINTS": constraints,
            "PKG_CONSTRAINTS": constraints, "HASH_FILES": f"pyproject.toml {constraints}"}


def stamp_hash(s: dict[str, str], checkout: Path) -> str:
    """What setup_env.sh writes in its stamp: sha256 of the hash files, then 'TORCH_SPEC|EXTRAS|checkout'."""
    data = b"".join((checkout / f).read_bytes() for f in s["HASH_FILES"].split())
    return hashlib.sha256(data + f"{s['TORCH_SPEC']}|{s['EXTRAS']}|{checkout}\n".encode()).hexdigest()


def ci_env() -> Path | None:
    """CI's .venv when setup_env.sh made it for this checkout with the CPU set's settings (its stamp agrees)."""
    env = ROOT / ".venv"
    stamp = env / STAMP
    if os.environ.get("CI") != "true" or os.environ.get("RMLITE_FRESH_ENV") == "1" or not stamp.is_file():
        return None
    return env if stamp.read_text().strip() == stamp_hash(settings(env), ROOT) else None


def fresh_env(tmp: Path) -> Path:
    env = tmp / "venv"
    subprocess.run(["bash", "scripts/setup_env.sh"], cwd=ROOT, env={**os.environ, **settings(env)}, check=True,
                   timeout=1800)
    assert (env / STAMP).read_text().strip() == stamp_hash(settings(env), ROOT)
    return env


def disk_bytes(path: Path) -> int:
    """Bytes of disk blocks under `path`, each inode once, links not followed (what `du` counts)."""
    seen, total = set(), 0
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            st = os.lstat(os.path.join(root, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def cuda_bytes(env: Path) -> int:
    """The CUDA part: nvidia* and triton distributions, and torch's CUDA libraries."""
    total = 0
    for site in env.glob("lib/python3*/site-packages"):
        for p in site.iterdir():
            if p.name.lower().startswith(("nvidia", "triton")):
                total += disk_bytes(p) if p.is_dir() else os.lstat(p).st_blocks * 512
        for lib in site.glob("torch/lib/*"):
            if CUDA_LIB.search(lib.name):
                total += os.lstat(lib).st_blocks * 512
    return total


def torch_build(env: Path) -> str:
    """"cpu" or "cuda", from torch/version.py as installed (torch is not imported)."""
    for version in env.glob("lib/python3*/site-packages/torch/version.py"):
        found = re.search(r"^cuda\s*(?::\s*[^=]*)?=\s*(.+)$", version.read_text(), re.M)
        return "cpu" if found is None or found.group(1).strip() in ("None", "''") else "cuda"
    raise AssertionError(f"no torch in {env}")


def quoted(build: str) -> float | None:
    found = QUOTE[build].search((ROOT / "docs" / "maintainers.md").read_text())
    return float(found.group(1)) if found else None


@pytest.mark.slow  # a fresh install outside CI: minutes
def test_the_cpu_set_size_is_what_the_docs_say(tmp_path):
    env = ci_env() or fresh_env(tmp_path)
    build, size, cuda = torch_build(env), disk_bytes(env) / 2**30, cuda_bytes(env) / 2**30
    print(f"\nCPU set at {env}: {size:.2f} GiB on disk, torch {build} build, CUDA parts {cuda:.2f} GiB "
          f"({'CI .venv' if env == ROOT / '.venv' else 'fresh venv'})")
    if build == "cpu":
        assert cuda == 0, f"torch is a CPU build, but {cuda:.2f} GiB of CUDA libraries came with it"
    figure = quoted(build)
    assert figure is not None, (f"docs/maintainers.md quotes no size for the {build} build: measured {size:.1f} GiB; "
                                f"quote it ('{size:.1f} GiB with ...', see QUOTE)")
    assert not quote_off(figure, size), f"docs/maintainers.md says {figure} GiB, measured {size:.2f} GiB"


def quote_off(figure: float, size: float) -> bool:
    """The quoted figure is more than 10 % away from the measured size."""
    return abs(figure - size) > 0.1 * size


def test_the_measures_see_what_they_count(tmp_path):
    """disk_bytes counts a hard link once; cuda_bytes finds an nvidia package and torch's CUDA library and nothing
    else; torch_build reads both kinds of version file; a wrong quote is outside 10 %."""
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    (site / "nvidia" / "cublas").mkdir(parents=True)
    (site / "torch" / "lib").mkdir(parents=True)
    (site / "nvidia" / "cublas" / "libcublas.so").write_bytes(b"x" * 100_000)
    (site / "torch" / "lib" / "libtorch_cuda.so").write_bytes(b"x" * 50_000)
    (site / "torch" / "lib" / "libtorch_cpu.so").write_bytes(b"x" * 70_000)
    os.link(site / "torch" / "lib" / "libtorch_cpu.so", site / "torch" / "lib" / "libtorch_cpu_link.so")
    blocks = {p: os.lstat(p).st_blocks * 512 for p in site.rglob("*.so")}
    under_nvidia = sum(os.lstat(p).st_blocks * 512 for p in (site / "nvidia").rglob("*"))  # files and folders
    cuda = under_nvidia + blocks[site / "torch" / "lib" / "libtorch_cuda.so"]
    assert cuda_bytes(tmp_path / "env") == cuda
    assert disk_bytes(tmp_path / "env") < sum(blocks.values()) + 64 * 4096  # the link once, plus folders
    (site / "torch" / "version.py").write_text("__version__ = '2.14.1'\ncuda: Optional[str] = '13.0'\n")
    assert torch_build(tmp_path / "env") == "cuda"
    (site / "torch" / "version.py").write_text("__version__ = '2.14.1+cpu'\ncuda: Optional[str] = None\n")
    assert torch_build(tmp_path / "env") == "cpu"
    assert quote_off(6.4, 5.0) and quote_off(6.4, 7.2) and not quote_off(6.4, 6.37)  # the 2026-12-08 figure
