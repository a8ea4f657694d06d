"""rmlite.train.memory: the closed-form parameter counts against the architectures built by transformers, and each
term of the estimate against an independent recomputation on a small Qwen2.5-VL (real 4-bit tensors where the CPU
has them: weights, LoRA, KV cache; arithmetic written out differently for the rest)."""

from __future__ import annotations

import json

import pytest

from rmlite import doctor
from rmlite.train.memory import (
    GB,
    RunShape,
    architecture_from_config,
    count_params,
    estimate,
    nf4_bytes,
)

pytest.importorskip("bitsandbytes", reason="4-bit on the CPU needs bitsandbytes >= 0.50")
# Sides multiples of 64: the CPU nf4 kernel wants whole quantisation blocks per row.
SMALL = {"hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 3, "num_attention_heads": 4,
         "num_key_value_heads": 2, "vocab_size": 2048, "tie_word_embeddings": False,
         "vision": {"depth": 4, "hidden_size": 32, "intermediate_size": 96, "num_heads": 2, "out_hidden_size": 64}}


@pytest.mark.parametrize(("size", "published"), [("3b", 3_754_622_976), ("7b", 8_292_166_656)])
def test_closed_form_counts_match_the_published_models(size, published):
    assert count_params(doctor.ARCHITECTURES[size]).total == published


@pytest.mark.parametrize("tied", [True, False])
def test_closed_form_counts_match_the_model_transformers_builds(tied, monkeypatch):
    monkeypatch.setitem(doctor.ARCHITECTURES, "3b", {**SMALL, "tie_word_embeddings": tied})
    assert count_params(doctor.ARCHITECTURES["3b"]).total == doctor.count_parameters("3b")


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, tiny_model_dir):
    """The small architecture with random weights, loaded as the fit check loads it (4-bit, vision kept 16-bit)."""
    from rmlite.models.load import load_model

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(doctor.ARCHITECTURES, "3b", SMALL)
        path = doctor.random_weight_model("3b", tmp_path_factory.mktemp("small") / "m", tiny_model_dir)
    model, _ = load_model(str(path), load_in_4bit=True, keep_16bit_modules=doctor.KEEP_16BIT, dtype="float32")
    return path, model


def _shape(**kw) -> RunShape:
    base = dict(num_generations=2, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                max_completion_length=16, prompt_tokens=20, visual_tokens=4, half_bytes=4)
    return RunShape(**{**base, **kw})


def test_the_architecture_is_read_from_a_saved_config(small_model):
    path, _ = small_model
    assert architecture_from_config(json.loads((path / "config.json").read_text())) == SMALL
    assert doctor.architecture_of(str(path)) == SMALL
    assert doctor.architecture_of("unsloth/Qwen2.5-VL-7B-Instruct-unsloth-bnb-4bit") == doctor.ARCHITECTURES["7b"]
    assert doctor.architecture_of("someone/unknown-model") is None


def test_weight_terms_match_the_loaded_4bit_model(small_model):
    """4-bit: the packed nf4 bytes plus each layer's quantisation state; 16-bit: every other base parameter."""
    _, model = small_model
    packed, other, quantised = 0, 0, 0
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):  # the base layers (PEFT's wrappers are not bnb's class)
            qs = module.weight.quant_state
            quantised += 1
            packed += module.weight.numel() * module.weight.element_size()
            packed += qs.absmax.numel() * qs.absmax.element_size()
            if qs.state2 is not None:
                packed += qs.state2.absmax.numel() * qs.state2.absmax.element_size()
    for name, p in model.named_parameters():
        if "lora_" not in name and not hasattr(p, "quant_state"):
            other += p.numel() * p.element_size()
    est = estimate(SMALL, _shape(), cuda=False)
    assert quantised == SMALL["num_hidden_layers"] * 7, "exactly the decoder's projections are 4-bit"
    assert est.weights_4bit_gb * GB == pytest.approx(packed, rel=0.02)
    assert est.weights_16bit_gb * GB == pytest.approx(other, rel=0.01)
    assert not any("visual" in n and isinstance(m, bnb.nn.Linear4bit) for n, m in model.named_modules())


def test_lora_term_matches_the_trainable_parameters(small_model):
    _, model = small_model
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count_params(SMALL).lora == trainable
    assert estimate(SMALL, _shape(), cuda=False).lora_state_gb * GB == trainable * (4 + 4 + 8)  # fp32 w, grad, moments


def test_kv_cache_term_matches_the_cache_a_forward_pass_fills(small_model):
    import torch

    _, model = small_model
    shape = _shape(per_device_train_batch_size=2, gradient_accumulation_steps=2, visual_tokens=0)
    batch, seq = shape.generation_batch, shape.sequence
    with torch.no_grad():
        out = model(input_ids=torch.ones(batch, seq, dtype=torch.long), use_cache=True)
    cache = out.past_key_values
    measured = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    assert estimate(SMALL, shape, cuda=False).kv_cache_gb * GB == measured


def test_activation_vision_and_logit_terms_recomputed_by_hand():
    s = _shape(gradient_checkpointing=True, chunked_logprobs=True)
    e = estimate(SMALL, s, cuda=False)
    b, seq, h, layers, half = 2, 20 + 4 + 16, 64, 3, 4
    kv_dim = 2 * (64 // 4)
    one_layer = b * seq * (h + h + kv_dim + kv_dim + h + 192 + 192 + 192) * half  # in, q, k, v, out, gate, up, act
    assert e.activations_gb * GB == layers * b * seq * h * half + 2 * one_layer
    offloaded = estimate(SMALL, _shape(offload_checkpoints=True), cuda=False)
    assert offloaded.activations_gb * GB == 2 * one_layer
    assert estimate(SMALL, _shape(gradient_checkpointing=False), cuda=False).activations_gb * GB == layers * one_layer
    patches = b * 4 * 4  # 2×2 patches merge into one visual token
    assert e.vision_activations_gb * GB == patches * (6 * 32 + 3 * 96) * half
    tokens = b * 16
    assert e.logits_gb * GB == 2 * tokens * 2048 * half  # a tile of all the tokens × the whole (small) vocabulary
    assert e.logits_unchunked_gb * GB == tokens * 2048 * 4
    unchunked = estimate(SMALL, _shape(chunked_logprobs=False), cuda=False)
    assert unchunked.logits_gb == e.logits_unchunked_gb and "unchunked" in unchunked.logits_note
    assert e.peak_gb == pytest.approx(e.weights_4bit_gb + e.weights_16bit_gb + e.lora_state_gb
                                      + max(e.kv_cache_gb, e.activations_gb + e.vision_activations_gb + e.logits_gb))
    assert e.cuda_context_gb == 0 and estimate(SMALL, s, cuda=True).cuda_context_gb > 0


def test_nf4_overhead_of_double_quantisation():
    n = 64 * 256 * 10
    assert nf4_bytes(n) == n / 2 + n / 64 + n / 64 / 256 * 4
    assert nf4_bytes(n, double_quant=False) == n / 2 + n / 64 * 4


def test_the_3b_t4_run_keeps_the_vision_tower_16bit():
    """~0.9 GB: what quantising the vision tower would wrongly save on the 3B model."""
    shape = RunShape(4, 4, 2, 512, prompt_tokens=150, visual_tokens=324)
    kept, quantised = estimate(doctor.ARCHITECTURES["3b"], shape), estimate(doctor.ARCHITECTURES["3b"],
                                                                             RunShape(**{**shape.__dict__,
                                                                                         "quantize_vision": True}))
    saved = (kept.weights_4bit_gb + kept.weights_16bit_gb) - (quantised.weights_4bit_gb + quantised.weights_16bit_gb)
    assert 0.8 < saved < 1.0
