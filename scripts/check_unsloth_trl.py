"""Run rmlite's GRPO training under unsloth's patched TRL on a CPU and print what reached TRL: a thin wrapper around
the GPU-pin lane's support code (tests_gpu/unsloth_cpu.py), which `make test-gpu-stack` runs as tests.

It takes unsloth's GPU import branch (UNSLOTH_ALLOW_CPU=1), runs the TRL patch calls the CUDA import runs, trains the
tiny model a few steps through `rmlite.train.grpo.train` with the adaptive "coarse" curriculum on data/mini, reloads
the adapter frozen, and prints the trainer's class chain and the settings that reached TRL as JSON.

Needs the GPU pins (`make setup-gpu-stack` builds .venv-gpu). Run:
    HF_HUB_OFFLINE=1 .venv-gpu/bin/python scripts/check_unsloth_trl.py [--steps 3]

Not covered on a CPU: FastVisionModel loading, 4-bit CUDA kernels, unsloth's gradient checkpointing and vLLM
(scripts/gpu_smoke.py on a GPU box covers them; docs/gpu_smoke.md).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if __name__ == "__main__":
    from tests_gpu.unsloth_cpu import main

    work = Path(tempfile.mkdtemp(prefix="rmlite-unsloth-"))
    sys.exit(main(["run", "--work", str(work), "--out", str(work / "facts.json"), *sys.argv[1:]]))
