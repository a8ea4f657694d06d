"""Run rmlite's GRPO training under unsloth's patched TRL on a CPU: the closest check of the Colab GPU path that a
machine without a GPU can make. Not part of `make test` (it needs the GPU pins installed).

On a CUDA machine `import unsloth` rewrites TRL's GRPOTrainer/GRPOConfig (UnslothGRPOTrainer); on a CPU it takes a
fallback that patches nothing. This script takes unsloth's GPU import branch (UNSLOTH_ALLOW_CPU=1), runs the same
TRL patch calls the CUDA import runs, then trains the tiny model for a few steps through `rmlite.train.grpo.train` with
the adaptive curriculum on `data/mini`, and prints the trainer's class chain and the settings that reached TRL.

Set-up (once, about 3 minutes; a venv apart from the project's, since the pins differ):
    python3 -m venv /tmp/unsloth-venv && . /tmp/unsloth-venv/bin/activate
    pip install torch==2.14.1 torchvision==0.29.1
    pip install -e ".[train,gpu]" -c requirements/gpu.txt -c <(echo torch==2.14.1; echo torchvision==0.29.1)
Run:
    HF_HUB_OFFLINE=1 python scripts/check_unsloth_trl.py

Session 2 (2026-11-24; unsloth 2026.10.9, trl 1.15.0, transformers 5.17.0) found two GPU-path bugs with it: a
bf16 trainer for unsloth's fp16 model on a T4, and rollouts sampling the image token. Neither does it test
FastVisionModel loading, 4-bit, unsloth's gradient checkpointing or vLLM: those need CUDA.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from pathlib import Path


def patch_trl_like_cuda() -> None:
    os.environ["UNSLOTH_ALLOW_CPU"] = "1"  # take unsloth's GPU import branch
    os.environ.setdefault("UNSLOTH_SKIP_TORCHVISION_CHECK", "1")
    import unsloth  # noqa: F401
    from unsloth.models.llama import FastLlamaModel
    from unsloth.models.rl import PatchFastRL

    os.environ["UNSLOTH_ALLOW_CPU"] = "0"
    PatchFastRL(FastLanguageModel=FastLlamaModel)
    import unsloth._gpu_init as gpu_init

    gpu_init._patch_trl_trainer()
    os.environ["UNSLOTH_ALLOW_CPU"] = "1"  # device queries at run time expect it on a CPU host


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="rmlite-unsloth-"))
    # unsloth writes generated trainer sources (~2.6 MB) to ./unsloth_compiled_cache unless told otherwise
    os.environ.setdefault("UNSLOTH_COMPILE_LOCATION", str(work / "unsloth_compiled_cache"))
    patch_trl_like_cuda()
    import trl
    from unsloth.models.vision import FastBaseModel

    from rmlite.curriculum import get_curriculum
    from rmlite.data.build import MINI_DIR
    from rmlite.data.store import load_split
    from rmlite.models.load import load_model
    from rmlite.models.tiny import build_tiny_vlm
    from rmlite.train.grpo import cpu_tiny_settings, train

    print("trl", trl.__version__, "GRPOTrainer:", [c.__name__ for c in trl.GRPOTrainer.__mro__][:4])
    model, processor = load_model(str(build_tiny_vlm(work / "tiny", seed=0)), load_in_4bit=False, lora_rank=8,
                                  backend="transformers")  # FastVisionModel refuses vision models on a CPU
    m = model
    while m is not None:  # what unsloth's loader attaches, so its trainer's for_training() calls work
        m.for_training = functools.partial(FastBaseModel.for_training, m)
        m.for_inference = functools.partial(FastBaseModel.for_inference, m)
        m = getattr(m, "model", None)
    ds = load_split(MINI_DIR, "train", lazy=False)
    types = list(ds["type"])
    ds = ds.select([i for i, t in enumerate(types) if t != "planning"][:8] +
                   [i for i, t in enumerate(types) if t == "planning"][:8])
    res = train(model, processor, ds, reward="paper", curriculum=get_curriculum("coarse", mode="adaptive", max_steps=1),
                settings=cpu_tiny_settings(str(work / "run"), max_steps=3, save_steps=1))
    a = res.trainer.args
    print("trainer:", [c.__name__ for c in type(res.trainer).__mro__][:4])
    print({k: str(getattr(a, k)) for k in ("optim", "weight_decay", "warmup_steps", "epsilon_high",
                                           "mask_truncated_completions", "bf16", "fp16", "generation_kwargs")})
    print(f"OK: {len(res.metrics)} steps, stage switches {res.transitions}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
