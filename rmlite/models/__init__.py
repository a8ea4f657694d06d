"""The model: load a VLM for LoRA GRPO, settings for the GPU at hand, greedy answers, the tiny CPU model.

Import-light on purpose: torch, transformers and unsloth are imported inside functions, so unsloth can still be
imported before trl and transformers. Rooms: `gpu` (presets, OOM advice, visual tokens, CUDA checks), `load`
(unsloth | transformers + bitsandbytes + PEFT, adapter checks), `inference` (greedy answers, `ask`), `tiny` (the
CPU model), `warmstart` (its supervised warm start and the reward-spread share), `passk` (pass@k per type
against a guesser, before GRPO).
"""

from rmlite.models.gpu import DEFAULT_MODEL, PAPER_MODEL, gpu_preset, is_oom, oom_advice, visual_tokens
from rmlite.models.inference import answers_for, ask, generate_answers
from rmlite.models.load import (
           BackendUnavailable,
           LoadSettings,
           choose_backend,
           describe_model,
           load_model,
           verify_adapter,
)
from rmlite.models.tiny import build_tiny_vlm, toy_dataset
from rmlite.models.warmstart import reward_spread_share, warm_start

__all__ = ["DEFAULT_MODEL", "PAPER_MODEL", "gpu_preset", "is_oom", "oom_advice", "visual_tokens",
           "answers_for", "ask", "generate_answers", "BackendUnavailable", "LoadSettings", "choose_backend",
           "describe_model", "load_model", "verify_adapter", "build_tiny_vlm", "toy_dataset", "reward_spread_share",
           "warm_start"]
