"""What a GRPO run is set to, and the one place a card's preset becomes a run: `GRPOSettings` (every field a TRL
GRPOConfig field), the tiny CPU model's settings, `card_settings` and `card_load_options`.

`rmlite train`, notebooks 03-04 and `rmlite doctor --fit` all build their run here, so the doctor measures the run
users really start. A preset (`rmlite.models.gpu.gpu_preset`) owns the per-card shape (group size, batch,
accumulation, completion length, precision, image size, 4-bit); GRPOSettings owns every other default. Light on
purpose: it imports neither torch nor transformers nor trl, so it can be read before unsloth is imported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rmlite.models import gpu  # noqa: F401  (the doctests read presets through it)
from rmlite.models.gpu import cpu_preset  # models.gpu owns it; re-exported for the settings users

# The preset keys that are GRPOSettings fields of the same name (precision is mapped separately).
PRESET_FIELDS = ("num_generations", "per_device_train_batch_size", "gradient_accumulation_steps",
                 "max_completion_length")


@dataclass(frozen=True)
class GRPOSettings:
    """GRPO knobs with one-GPU defaults (a T4 with the 3B model in 4-bit). Every field is a GRPOConfig field.

    Why these defaults:
        num_generations=4: the smallest group that still gives a usable spread; 8 (the paper) doubles generation.
        per_device_train_batch_size=4, gradient_accumulation_steps=2: 2 prompts × 4 completions per optimizer
            step; the global batch (8) is divisible by num_generations, as TRL requires.
        max_completion_length=512: routes are short; thinking models need more (1024+ on bigger cards).
        learning_rate=1e-5: LoRA updates tolerate ~10× the paper's full-parameter 1e-6.
        loss_type="dapo": TRL's default; token-level normalisation avoids GRPO's length bias.
        beta=0.0: no KL term (TRL's default, and no reference forward pass); the paper used 1e-3 on 8 GPUs.
        scale_rewards="batch": keeps the difficulty weight W acting on advantages (it cancels under "group").
    """

    output_dir: str = "runs/grpo"
    max_steps: int = -1  # -1: one pass over the (curriculum-ordered) data set
    num_train_epochs: float = 1.0
    num_generations: int = 4
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 2
    max_completion_length: int = 512
    learning_rate: float = 1e-5
    loss_type: str = "dapo"
    beta: float = 0.0
    scale_rewards: str = "batch"
    temperature: float = 1.0
    logging_steps: int = 1
    save_steps: int = 50
    seed: int = 0
    bf16: bool | None = None  # None: from the model's dtype, else the hardware (fp16 on a T4, bf16 on Ampere+)
    fp16: bool | None = None
    # Set explicitly so a run means the same with and without unsloth (its GRPOConfig changes these defaults to
    # adamw_8bit, weight decay 0.001, 10% warm-up, and for "dapo" masked truncations and epsilon_high 0.28).
    optim: str = "adamw_torch_fused"  # transformers 5's default
    weight_decay: float = 0.0
    warmup_steps: float = 0.0  # an int: steps; a float below 1: a share of the run
    epsilon_high: float | None = None  # None: equal to the lower clip `epsilon` (TRL's default); no effect on-policy
    mask_truncated_completions: bool = False
    use_cpu: bool | None = None  # None: True when no CUDA device is visible
    gradient_checkpointing: bool = True
    extra: dict = field(default_factory=dict)  # any other GRPOConfig field

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.num_generations < 2:
            raise ValueError("num_generations must be at least 2: GRPO compares completions within a group")
        batch = self.per_device_train_batch_size * self.gradient_accumulation_steps
        if batch % self.num_generations:
            raise ValueError(f"per_device_train_batch_size × gradient_accumulation_steps ({batch}) must be divisible "
                             f"by num_generations ({self.num_generations})")
        if self.scale_rewards not in ("group", "batch", "none"):
            raise ValueError(f"scale_rewards must be group, batch or none, got {self.scale_rewards!r}")
        if self.max_completion_length < 1 or self.learning_rate <= 0:
            raise ValueError("max_completion_length and learning_rate must be positive")

    def replace(self, **kw: Any) -> GRPOSettings:
        return dataclasses.replace(self, **kw)


def cpu_tiny_settings(output_dir: str = "runs/tiny", **kw: Any) -> GRPOSettings:
    """Settings for the tiny CPU model (tests, CI, the demo): the CPU preset's shape (short completions, fp32) with
    a higher learning rate (a 1 M-parameter model), no gradient checkpointing and rare checkpoints."""
    p = cpu_preset()
    base = dict(output_dir=output_dir, **{k: p[k] for k in PRESET_FIELDS}, bf16=p["bf16"], fp16=p["fp16"],
                use_cpu=True, learning_rate=1e-4, save_steps=1000, gradient_checkpointing=False)
    return GRPOSettings(**{**base, **kw})


def card_settings(preset: dict, output_dir: str = GRPOSettings.output_dir, **overrides: Any) -> GRPOSettings:
    """The GRPOSettings of a card's preset: its group size, batch, accumulation, completion length and precision;
    every other field GRPOSettings' own default; `overrides` last. The CPU preset gives `cpu_tiny_settings`.

    >>> s = card_settings(gpu.gpu_preset("Tesla T4"), "runs/x", max_steps=10)
    >>> (s.num_generations, s.max_completion_length, s.fp16, s.bf16, s.max_steps, s.learning_rate)
    (4, 512, True, False, 10, 1e-05)
    """
    base = {k: int(preset[k]) for k in PRESET_FIELDS}
    if preset["use_cpu"]:
        return cpu_tiny_settings(str(output_dir), **{**base, **overrides})
    base.update(bf16=bool(preset["bf16"]), fp16=bool(preset["fp16"]))
    return GRPOSettings(output_dir=str(output_dir), **{**base, **overrides})


def card_load_options(preset: dict) -> dict:
    """`load_model` keywords for a card's preset: 4-bit, the image cap, and the dtype of its precision (a T4 preset
    run on a bigger card loads fp16, as on a T4; the CPU preset loads float32).

    >>> card_load_options(gpu.gpu_preset("Tesla T4"))
    {'load_in_4bit': True, 'max_pixels': 589824, 'dtype': 'fp16'}
    """
    dtype = "float32" if preset["use_cpu"] else ("bf16" if preset["bf16"] else "fp16")
    return {"load_in_4bit": bool(preset["load_in_4bit"]), "max_pixels": int(preset["max_pixels"]), "dtype": dtype}
