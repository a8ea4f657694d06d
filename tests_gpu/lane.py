"""Helpers of the GPU-pin lane's tests: run a check in a fresh, offline interpreter and read the JSON it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lane_env(tmp: Path) -> dict[str, str]:
    """Offline, and unsloth's generated trainer sources in `tmp` (by default it writes ./unsloth_compiled_cache)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", PYTHONHASHSEED="0",
               TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg", UNSLOTH_COMPILE_LOCATION=str(tmp / "unsloth_cache"),
               TORCHDYNAMO_DISABLE="1", TORCH_COMPILE_DISABLE="1", UNSLOTH_COMPILE_DISABLE="1",  # see force_gpu_branch
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    return env


def run_json(argv: list[str], tmp: Path, out: Path, timeout: int = 900) -> dict:
    """Run `argv` (a Python command line) in a fresh interpreter from the checkout; the JSON it wrote to `out`."""
    proc = subprocess.run([sys.executable, *argv], cwd=ROOT, env=lane_env(tmp), capture_output=True, text=True,
                          timeout=timeout)
    if not out.is_file():
        pytest.fail(f"{' '.join(argv)} wrote no {out.name} (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n"
                    f"{proc.stderr[-5000:]}")
    return json.loads(out.read_text())


def lane_facts(what: str, tmp: Path) -> dict:
    """`python -m tests_gpu.unsloth_cpu WHAT`'s facts."""
    out = tmp / f"{what}.json"
    return run_json(["-m", "tests_gpu.unsloth_cpu", what, "--work", str(tmp / "work"), "--out", str(out)], tmp, out)
