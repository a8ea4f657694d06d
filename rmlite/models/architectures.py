"""The published Qwen2.5-VL 3B and 7B architectures, and models built from them with random weights.

`rmlite doctor --fit --random-weights` measures memory and speed on a machine with no network: the real
architecture (layers, widths, vocabulary, vision tower) matters for that, the weights do not. The configurations are
checked against the published parameter counts (tests/test_doctor.py) and the analytic memory estimate's closed form
(`rmlite.train.memory.count_params`) against the model built on the meta device. torch and transformers are imported
inside the functions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from rmlite.models import gpu
from rmlite.models.gpu import native_bf16

# Published Qwen2.5-VL configurations (the model cards' config.json): the language model, then the vision tower.
ARCHITECTURES: dict[str, dict[str, Any]] = {
    "3b": {"hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36, "num_attention_heads": 16,
           "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": True,
           "vision": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                      "out_hidden_size": 2048}},
    "7b": {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
           "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": False,
           "vision": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16,
                      "out_hidden_size": 3584}},
}


def architecture_config(size: str, token_ids: dict[str, int] | None = None):
    """The Qwen2.5-VL-`size` configuration ("3b" or "7b"), with a tokenizer's special-token ids if given."""
    from transformers import Qwen2_5_VLConfig

    arch = ARCHITECTURES[size]
    text = {k: v for k, v in arch.items() if k != "vision"}
    half = arch["hidden_size"] // arch["num_attention_heads"] // 2  # mrope sections sum to half the head size
    rest = half - half // 4
    mrope = [half // 4, rest // 2, rest - rest // 2]  # 64 -> [16, 24, 24], the published split
    text["rope_parameters"] = {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": mrope}
    ids = dict(token_ids or {})
    text.update({k: ids.pop(k) for k in ("bos_token_id", "eos_token_id", "pad_token_id") if k in ids})
    depth = arch["vision"]["depth"]
    vision = {**arch["vision"], "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
              "window_size": 112, "fullatt_block_indexes": list(range(depth // 4 - 1, depth, depth // 4))}
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=arch["tie_word_embeddings"],
                            **ids)


def random_weight_model(size: str, out: str | Path, tokenizer_from: str | Path) -> Path:
    """Qwen2.5-VL-`size` with random weights and `tokenizer_from`'s tokenizer and processor, saved under `out`.

    The special-token ids come from that tokenizer's model config, so the processor and the model agree.
    """
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText

    src = AutoConfig.from_pretrained(tokenizer_from)
    ids = {k: getattr(src, k) for k in ("image_token_id", "video_token_id", "vision_start_token_id",
                                         "vision_end_token_id")}
    ids.update({k: getattr(src.text_config, k) for k in ("bos_token_id", "eos_token_id", "pad_token_id")})
    dtype = torch.bfloat16 if gpu.cuda_available() and native_bf16() else torch.float16
    model = AutoModelForImageTextToText.from_config(architecture_config(size, ids), dtype=dtype)
    out = Path(out)
    model.save_pretrained(out)
    for f in Path(tokenizer_from).iterdir():  # tokenizer, processor and chat template; not the tiny weights
        if f.suffix in (".json", ".jinja") and f.name not in ("config.json", "generation_config.json") \
                and "model" not in f.name:
            shutil.copy(f, out / f.name)
    return out


def count_parameters(size: str) -> int:
    """Parameters of the `size` architecture, built on the meta device (no memory, no weights)."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    with torch.device("meta"):
        model = Qwen2_5_VLForConditionalGeneration(architecture_config(size))
    return sum(p.numel() for p in model.parameters())
