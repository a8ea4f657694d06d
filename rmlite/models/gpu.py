"""Settings for the GPU at hand: model presets per memory tier, precision, visual tokens, OOM advice.

Visual tokens: Qwen2.5-VL cuts images into 14-px patches and merges 2×2 of them, so one token covers 28×28
pixels: a 768×768 map costs 27×27 = 729 tokens, 512×512 costs 324 (see `visual_tokens`). Hub processors allow
up to 12.8 M pixels (16,384 tokens); `load_model` caps images at `DEFAULT_MAX_PIXELS` (768²) unless told.

Nothing here imports torch at import time (CUDA is asked inside functions), so `gpu_preset`, `oom_advice` and
`visual_tokens` are cheap and importing this never spoils unsloth's import order.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import sys

from rmlite.maps.fonts import TRAIN_SIZE

DEFAULT_MODEL = "unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit"
PAPER_MODEL = "unsloth/Qwen2.5-VL-7B-Instruct-unsloth-bnb-4bit"
DEFAULT_MAX_PIXELS = TRAIN_SIZE * TRAIN_SIZE  # 729 visual tokens for a square map
DEFAULT_MIN_PIXELS = 56 * 56


# ----- visual tokens --------------------------------------------------------------------------------------------
def smart_resize(height: int, width: int, *, factor: int = 28, min_pixels: int = DEFAULT_MIN_PIXELS,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Qwen2-VL's resize rule (as in transformers' `smart_resize`): sides multiples of `factor`, area in range."""
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt(height * width / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def visual_tokens(width: int, height: int, max_pixels: int = DEFAULT_MAX_PIXELS, *,
                  min_pixels: int = DEFAULT_MIN_PIXELS, patch_size: int = 14, merge_size: int = 2) -> int:
    """Visual tokens one image costs a Qwen2/2.5-VL model: one per (patch_size·merge_size)² pixels after resizing.

    >>> visual_tokens(768, 768, 768 * 768)
    729
    >>> visual_tokens(1024, 1024, 768 * 768), visual_tokens(512, 512, 768 * 768)
    (729, 324)
    >>> visual_tokens(1024, 1024, 112 * 112)  # the tiny CPU model
    16
    """
    factor = patch_size * merge_size
    h, w = smart_resize(height, width, factor=factor, min_pixels=min_pixels, max_pixels=max_pixels)
    return (h // factor) * (w // factor)


# ----- loading --------------------------------------------------------------------------------------------------
def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def local_rank(environ: dict | None = None, device_count: int | None = None) -> int:
    """The GPU index this process owns on its host: `LOCAL_RANK` (set by torchrun, accelerate launch and deepspeed),
    0 when run alone. Not `RANK`: that one is global and names a card that does not exist on a second node.

    A launcher that gives each process one visible card (CUDA_VISIBLE_DEVICES per rank) leaves that card at index 0.

    >>> local_rank({"LOCAL_RANK": "1", "WORLD_SIZE": "2"}, device_count=2), local_rank({}, device_count=2)
    (1, 0)
    >>> local_rank({"LOCAL_RANK": "3"}, device_count=1)  # one visible card per process
    0
    """
    env = os.environ if environ is None else environ
    raw = str(env.get("LOCAL_RANK", "") or "").strip()
    if not raw:
        return 0
    try:
        rank = int(raw)
    except ValueError:
        raise ValueError(f"LOCAL_RANK={raw!r} is not a number; unset it or launch with torchrun/accelerate") from None
    if rank < 0:
        raise ValueError(f"LOCAL_RANK={rank} is negative; unset it or launch with torchrun/accelerate")
    if device_count is None:
        import torch

        device_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device_count == 1:
        return 0
    if device_count and rank >= device_count:
        raise ValueError(f"LOCAL_RANK={rank} but this process sees {device_count} GPUs: start one process per GPU "
                         f"(torchrun --nproc_per_node {device_count})")
    return rank


def device_map(cuda: bool, environ: dict | None = None, device_count: int | None = None) -> dict | str:
    """`from_pretrained`'s `device_map`: the whole model on this process's own GPU (`local_rank`), "cpu" without
    CUDA. Accelerate refuses to train a 4-bit model that sits on another process's card, and a strategy such as
    "auto" would spread every process over every card.

    >>> device_map(True, {"LOCAL_RANK": "1"}, device_count=2), device_map(False)
    ({'': 1}, 'cpu')
    """
    return {"": local_rank(environ, device_count)} if cuda else "cpu"


def unsloth_installed() -> bool:
    return "unsloth" in sys.modules or importlib.util.find_spec("unsloth") is not None


def native_bf16() -> bool:
    """True on a CUDA card with bf16 in hardware (compute capability 8.0+: Ampere and newer). Not
    `torch.cuda.is_bf16_supported()`: that also counts emulation and says True on a T4, where unsloth loads fp16
    and refuses a bf16 trainer ("Model is in float16 precision but you want to use bfloat16")."""
    import torch

    return bool(torch.cuda.is_available()) and tuple(torch.cuda.get_device_capability()) >= (8, 0)


# ----- GPU presets ----------------------------------------------------------------------------------------------
# Cards without bf16 (compute capability < 8.0): TRL's GRPOConfig defaults to bf16 and fails on them.
_NO_BF16 = re.compile(r"\b(t4|v100|p100|p40|p4|k80|m60|quadro|gtx|rtx 20\d\d|titan (v|xp|x|rtx)|t1000|t400)\b", re.I)
_BF16 = re.compile(r"(a100|a10g?|a30|a40|a16|a2\b|a\d000|l4|l40|rtx 30\d\d|rtx 40\d\d|rtx 50\d\d|h100|h200|h800|"
                   r"gh200|b100|b200|gb200|rtx pro|ada)", re.I)
_KNOWN_MEM_GB = (  # (pattern, usable GB) for names that do not state their memory
    (r"t4", 15.0), (r"l4\b", 22.5), (r"a10g", 22.5), (r"a10\b", 24.0), (r"v100", 16.0), (r"p100", 16.0),
    (r"a100", 40.0), (r"h100 nvl", 94.0), (r"h100", 80.0), (r"h200", 141.0), (r"l40", 48.0), (r"a40", 48.0),
    (r"a6000", 48.0), (r"rtx 3090|rtx 4090", 24.0), (r"rtx 5090", 32.0), (r"b200", 180.0),
)  # fmt: skip


def _mem_from_name(name: str) -> float | None:
    m = re.search(r"(\d+)\s*gb", name, re.I)
    if m:
        return float(m.group(1))
    for pat, gb in _KNOWN_MEM_GB:
        if re.search(pat, name, re.I):
            return gb
    return None


def _detect() -> tuple[str | None, float | None, tuple[int, int] | None]:
    try:
        import torch
    except ImportError:
        return None, None, None
    if not torch.cuda.is_available():
        return None, None, None
    props = torch.cuda.get_device_properties(0)
    return props.name, props.total_memory / 1024**3, (props.major, props.minor)


def gpu_preset(device_name: str | None = None, total_mem_gb: float | None = None, *,
               compute_capability: tuple[int, int] | None = None) -> dict:
    """Training settings for a card, from its name and memory (detected from CUDA when both are None).

    A pure function of its arguments when either is given. Tiers: CPU (tiny model), < 12 GB (3B, 448 px),
    ≤ 16 GB (T4: the 3B 4-bit model, 768 px), ≤ 32 GB (L4/A10/3090/4090: 3B, 768 px, a bigger batch), ≤ 56 GB
    (A100-40/L40/A6000: 7B, 768 px) and larger (A100-80/H100/H200: 7B, 768 px, bigger groups). `num_generations`
    divides the per-device batch. Maps are never shrunk below the size they were generated at (768 px, the
    README's recipe): a label judged readable at 768 px may not be at 512. Memory per tier is an analytic estimate
    (`rmlite doctor --fit --card NAME` prints it; T4: about 5 GB of 15), not yet measured on any GPU.

    >>> p = gpu_preset("Tesla T4")
    >>> p["tier"], p["fp16"], p["bf16"], p["visual_tokens"]
    ('16gb', True, False, 729)
    """
    cc = compute_capability
    if device_name is None and total_mem_gb is None:
        device_name, total_mem_gb, cc = _detect()
    if device_name is None and total_mem_gb is None:
        return cpu_preset()
    name = device_name or "unknown GPU"
    mem = total_mem_gb if total_mem_gb is not None else _mem_from_name(name)
    if cc is not None:
        bf16 = cc >= (8, 0)
    elif _NO_BF16.search(name):
        bf16 = False
    elif _BF16.search(name):
        bf16 = True
    else:
        bf16 = False  # unknown card: fp16 runs everywhere; pass compute_capability to decide precisely
    if mem is None:
        mem = 16.0  # unknown memory: assume the smallest supported card
    if mem < 12:
        tier = dict(tier="small", model=DEFAULT_MODEL, image_size=448, num_generations=2, per_device_train_batch_size=2,
                    gradient_accumulation_steps=4, max_completion_length=256)
    elif mem <= 17:
        tier = dict(tier="16gb", model=DEFAULT_MODEL, image_size=TRAIN_SIZE, num_generations=4,
                    per_device_train_batch_size=4, gradient_accumulation_steps=2, max_completion_length=512)
    elif mem <= 32:
        tier = dict(tier="24gb", model=DEFAULT_MODEL, image_size=TRAIN_SIZE, num_generations=4,
                    per_device_train_batch_size=8, gradient_accumulation_steps=1, max_completion_length=512)
    elif mem <= 56:
        tier = dict(tier="48gb", model=PAPER_MODEL, image_size=TRAIN_SIZE, num_generations=8,
                    per_device_train_batch_size=8, gradient_accumulation_steps=2, max_completion_length=512)
    else:
        tier = dict(tier="80gb", model=PAPER_MODEL, image_size=TRAIN_SIZE, num_generations=8,
                    per_device_train_batch_size=16, gradient_accumulation_steps=1, max_completion_length=512)
    px = tier["image_size"] ** 2
    return {
        "device": name, "total_mem_gb": round(float(mem), 1), **tier,
        "max_pixels": px, "visual_tokens": visual_tokens(tier["image_size"], tier["image_size"], px),
        "bf16": bf16, "fp16": not bf16, "load_in_4bit": True, "finetune_vision_layers": False, "use_cpu": False,
    }


def cpu_preset() -> dict:
    """The tiny CPU model's run (tests, CI, the demo, notebooks in smoke mode): 4-bit like the GPU path, so a CPU
    covers the 4-bit LoRA code, and short completions."""
    return {"device": "cpu", "total_mem_gb": None, "tier": "cpu", "model": None,  # None: the tiny built model
            "image_size": 112, "max_pixels": 112 * 112, "visual_tokens": 16, "num_generations": 4,
            "per_device_train_batch_size": 4, "gradient_accumulation_steps": 1, "max_completion_length": 64,
            "bf16": False, "fp16": False, "load_in_4bit": True, "finetune_vision_layers": False, "use_cpu": True}


def oom_advice(preset: dict | None = None) -> str:
    """What to change after CUDA out-of-memory, most effective first, with concrete values from `preset`."""
    p = preset or gpu_preset()
    size = int(p.get("image_size") or TRAIN_SIZE)
    smaller = max(224, (size * 2 // 3) // 28 * 28)
    gens = int(p.get("num_generations") or 4)
    comp = int(p.get("max_completion_length") or 512)
    tier = f"preset {p['tier']}: " if p.get("tier") else ""
    lines = [
        f"Out of GPU memory on {p.get('device', 'this device')} ({tier}{size}px maps = "
        f"{visual_tokens(size, size, size * size)} visual tokens, {gens} generations, completions ≤ {comp} tokens). "
        "Try, in this order:",
        f"  1. smaller images: max_pixels={smaller * smaller} ({smaller}px, "
        f"{visual_tokens(smaller, smaller, smaller * smaller)} tokens per map);",
        f"  2. fewer generations per prompt: num_generations={max(2, gens // 2)} (keep per_device_train_batch_size "
        "divisible by it; raise gradient_accumulation_steps to keep the batch);",
        f"  3. shorter completions: max_completion_length={max(128, comp // 2)};",
    ]
    lines.append(f"  {len(lines)}. a smaller model (the 3B 4-bit default) and load_in_4bit=True; "
                 "restart the runtime after an OOM.")
    return "\n".join(lines)


def is_oom(exc: BaseException) -> bool:
    """True for CUDA out-of-memory errors (torch.OutOfMemoryError or its message)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()
