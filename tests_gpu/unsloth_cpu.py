"""Unsloth's GPU path on a CPU: the closest a machine without a GPU gets to what a Colab user runs.

On a CUDA machine `import unsloth` replaces TRL's GRPOTrainer/GRPOConfig with its own (UnslothGRPOTrainer, which
rewrites precision, optimiser and clipping defaults); on a CPU it takes a fallback that patches nothing.
`force_gpu_branch` takes unsloth's GPU import branch (UNSLOTH_ALLOW_CPU=1) and runs the TRL patch calls the CUDA
import runs (unsloth skips them under that flag so that CPU CI sees pristine TRL sources). What stays untested here:
FastVisionModel loading, 4-bit CUDA kernels, unsloth's gradient checkpointing and vLLM (scripts/gpu_smoke.py on a GPU).

Each entry point runs in a fresh process (`python -m tests_gpu.unsloth_cpu run|canary --work DIR --out FILE`), since
unsloth's patches cannot be undone: the lane's tests read the JSON facts it writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import traceback
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IMPORT_ORDER_SENSITIVE = ("transformers", "trl", "peft")


def force_gpu_branch() -> None:
    """Import unsloth as on a CUDA machine and patch TRL as its CUDA import does. Must run before trl/transformers."""
    os.environ.setdefault("UNSLOTH_COMPILE_LOCATION", str(Path(os.environ.get("TMPDIR", "/tmp")) /
                                                          f"rmlite-unsloth-cache-{os.getpid()}"))
    os.environ["UNSLOTH_ALLOW_CPU"] = "1"  # take unsloth's GPU import branch
    os.environ.setdefault("UNSLOTH_SKIP_TORCHVISION_CHECK", "1")
    # No torch.compile on the CPU: a GPU compiles unsloth's loss to Triton kernels, a CPU to C++ (a different path
    # nobody trains on), and torch 2.14's CPU inductor failed intermittently there (in CI 1 of ~6 runs:
    # "inductor::_alloc_from_pool ... must not alias any inputs"). unsloth's own switch for cards where compiling
    # breaks: the same three variables, set before it is imported. What the lane tests is the Python path.
    for flag in ("TORCHDYNAMO_DISABLE", "TORCH_COMPILE_DISABLE", "UNSLOTH_COMPILE_DISABLE"):
        os.environ.setdefault(flag, "1")
    import unsloth  # noqa: F401
    from unsloth.models.llama import FastLlamaModel
    from unsloth.models.rl import PatchFastRL

    os.environ["UNSLOTH_ALLOW_CPU"] = "0"  # rl.py skips the TRL rewrite under the flag
    PatchFastRL(FastLanguageModel=FastLlamaModel)
    import unsloth._gpu_init as gpu_init

    gpu_init._patch_trl_trainer()
    os.environ["UNSLOTH_ALLOW_CPU"] = "1"  # device queries at run time expect it on a CPU host


def attach_mode_switches(model: Any) -> Any:
    """Give a transformers-loaded model (and every wrapped inner model) the `for_training` / `for_inference` that
    unsloth's loader attaches, since UnslothGRPOTrainer calls them and FastVisionModel refuses vision models on a
    CPU. Returns the model."""
    from unsloth.models.vision import FastBaseModel

    m = model
    while m is not None:
        m.for_training = functools.partial(FastBaseModel.for_training, m)
        m.for_inference = functools.partial(FastBaseModel.for_inference, m)
        m = getattr(m, "model", None)
    return model


def hash_reward(completion: str, sample: dict) -> float:
    """A reward with spread on any model: a stable hash of the completion in [0, 1). It measures nothing; it keeps
    GRPO groups of untrained models (the tiny one, random weights) from all scoring 0, so the LoRA really moves and
    the saved adapter is a trained one (`verify_adapter` refuses an all-zero LoRA B)."""
    return (zlib.crc32(str(completion).encode()) % 1000) / 1000


def mini_subset(per_kind: int = 8):
    """The first `per_kind` perception and `per_kind` planning questions of data/mini's train split, images loaded."""
    from rmlite.data.build import MINI_DIR
    from rmlite.data.store import load_split

    ds = load_split(MINI_DIR, "train", lazy=False)
    types = list(ds["type"])
    perception = [i for i, t in enumerate(types) if t != "planning"][:per_kind]
    planning = [i for i, t in enumerate(types) if t == "planning"][:per_kind]
    return ds.select(perception + planning)


def _plain(value: Any) -> Any:
    """A JSON-friendly view of a TrainingArguments value (enums by their value)."""
    value = getattr(value, "value", value)
    return value if isinstance(value, (bool, int, float, str, type(None), list, dict)) else str(value)


ARG_NAMES = ("optim", "weight_decay", "warmup_steps", "epsilon_high", "mask_truncated_completions", "bf16", "fp16",
             "generation_kwargs", "learning_rate", "max_completion_length", "num_generations")


def curriculum_run(work: Path, steps: int = 3) -> dict[str, Any]:
    """Train the tiny model `steps` GRPO steps through `rmlite.train.grpo.train` under unsloth's trainer (adaptive
    "coarse" curriculum forced to switch after one step, fp16 as on a T4), reload the adapter frozen; the facts."""
    late = [m for m in IMPORT_ORDER_SENSITIVE if m in sys.modules]
    force_gpu_branch()
    import trl

    from rmlite.curriculum import get_curriculum
    from rmlite.models.load import describe_model, load_model
    from rmlite.models.tiny import build_tiny_vlm
    from rmlite.train.grpo import cpu_tiny_settings, image_token_ids, train

    facts: dict[str, Any] = {"imported_before_unsloth": late, "trl": trl.__version__,
                             "trl_grpo_trainer_mro": [c.__name__ for c in trl.GRPOTrainer.__mro__]}
    tiny = str(build_tiny_vlm(work / "tiny", seed=0))
    model, processor = load_model(tiny, load_in_4bit=False, lora_rank=8, backend="auto")
    attach_mode_switches(model)
    settings = cpu_tiny_settings(str(work / "run"), max_steps=steps, save_steps=1, bf16=False, fp16=True)
    facts["asked"] = {k: _plain(getattr(settings, k)) for k in ARG_NAMES if hasattr(settings, k)}
    facts["image_token_ids"] = image_token_ids(model)
    res = train(model, processor, mini_subset(), reward=hash_reward,
                curriculum=get_curriculum("coarse", mode="adaptive", max_steps=1), settings=settings, progress=False)
    facts["trainer_mro"] = [c.__name__ for c in type(res.trainer).__mro__]
    facts["args"] = {k: _plain(getattr(res.trainer.args, k)) for k in ARG_NAMES}
    facts["steps"] = [r["step"] for r in res.metrics]
    facts["max_steps"] = steps
    facts["transitions"] = [dataclasses.asdict(t) for t in res.transitions]
    facts["stage_starts"] = [list(s) for s in res.stage_starts]
    adapter = res.output_dir / "adapter"
    facts["adapter_files"] = sorted(p.name for p in adapter.iterdir()) if adapter.is_dir() else []
    del model, res
    frozen, _ = load_model(tiny, adapter=adapter, trainable=False)
    facts["reloaded"] = describe_model(frozen)
    return facts


def canary(work: Path) -> dict[str, Any]:
    """One GRPO step of the tiny model through rmlite with the installed TRL and no unsloth: ok, or the error."""
    import trl

    from rmlite.curriculum import get_curriculum
    from rmlite.models.load import load_model
    from rmlite.models.tiny import build_tiny_vlm
    from rmlite.train.grpo import cpu_tiny_settings, train

    facts: dict[str, Any] = {"trl": trl.__version__, "unsloth_imported": "unsloth" in sys.modules}
    model, processor = load_model(str(build_tiny_vlm(work / "tiny", seed=0)), load_in_4bit=False, lora_rank=8)
    try:
        train(model, processor, mini_subset(4), reward=hash_reward, curriculum=get_curriculum("none"),
              settings=cpu_tiny_settings(str(work / "run"), max_steps=1), progress=False)
        facts["trained"], facts["error"] = True, None
    except Exception as e:  # noqa: BLE001 - the error is the finding
        facts["trained"] = False
        facts["error"] = f"{type(e).__name__}: {e}"
        facts["traceback_tail"] = traceback.format_exc()[-2000:]
    return facts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="rmlite's GPU-pin checks on a CPU; writes JSON facts")
    ap.add_argument("what", choices=("run", "canary"))
    ap.add_argument("--work", type=Path, required=True, help="scratch folder (created)")
    ap.add_argument("--out", type=Path, required=True, help="JSON file to write")
    ap.add_argument("--steps", type=int, default=3, help="GRPO steps of `run` (default 3)")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    facts = curriculum_run(args.work, args.steps) if args.what == "run" else canary(args.work)
    args.out.write_text(json.dumps(facts, indent=2, default=str))
    print(json.dumps(facts, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
