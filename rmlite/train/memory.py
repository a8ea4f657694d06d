"""The analytic memory estimate of a 4-bit LoRA GRPO run on a Qwen2.5-VL model, one named term at a time.

`rmlite doctor --fit` prints it beside every measurement (and alone on a CPU), so a figure that disagrees says which
term is wrong. Parameter counts come from the architecture in closed form (`count_params`; a test checks them
against the model built on the meta device). Left out: the optimizer's and allocator's fragmentation (what
"reserved" adds to "allocated"), the reward and data loader, and a vLLM engine (rmlite generates with transformers).
Light: plain arithmetic, no torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

GB = 2**30
NF4_BLOCK, DQ_BLOCK = 64, 256  # bitsandbytes: one absmax per 64 weights; double quant: one fp32 scale per 256 absmax
LORA_BYTES_PER_PARAM = 4 + 4 + 8  # fp32 weight, its fp32 gradient, AdamW's two fp32 moments
LOGPROB_TOKEN_CHUNK, LOGPROB_VOCAB_CHUNK = 4096, 32768  # TRL's fused lm head: logits in [tokens, vocab] tiles
CUDA_CONTEXT_GB = 0.5  # CUDA context + cuBLAS workspace: outside torch's allocator (nvidia-smi sees it, torch does not)
PATCH, TEMPORAL_PATCH, MERGE, CHANNELS = 14, 2, 2, 3  # Qwen2.5-VL's vision patching
LANGUAGE_LINEARS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Params:
    """Parameter counts of one architecture, split by how a 4-bit load stores them."""

    language_linear: int  # weights of the decoder's q/k/v/o/gate/up/down: the 4-bit ones
    language_other: int  # their biases and the norms
    embedding: int
    lm_head: int  # 0 when tied to the embedding
    vision: int  # the vision tower and its merger (the projector)
    lora: int

    @property
    def total(self) -> int:
        return self.language_linear + self.language_other + self.embedding + self.lm_head + self.vision


def _linear_shapes(arch: dict) -> dict[str, tuple[int, int]]:
    """(in, out) of each decoder projection of one layer."""
    h, i = arch["hidden_size"], arch["intermediate_size"]
    kv = arch["num_key_value_heads"] * (h // arch["num_attention_heads"])
    return {"q_proj": (h, h), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (h, h), "gate_proj": (h, i),
            "up_proj": (h, i), "down_proj": (i, h)}


def count_params(arch: dict, lora_rank: int = 16) -> Params:
    """Closed-form parameter counts of a Qwen2.5-VL `arch` (the `rmlite.doctor.ARCHITECTURES` format).

    q/k/v have biases, o and the MLP do not; two RMSNorms per layer and one at the end. The vision tower: a
    bias-free 3-D patch convolution, per block two norms, qkv and proj (with biases) and a gated MLP (with biases);
    the merger: a norm and two biased linears over 2×2 merged patches. LoRA: rank r on every decoder projection.
    """
    h, layers = arch["hidden_size"], arch["num_hidden_layers"]
    shapes = _linear_shapes(arch)
    linear = layers * sum(a * b for a, b in shapes.values())
    biases = shapes["q_proj"][1] + shapes["k_proj"][1] + shapes["v_proj"][1]
    other = layers * (biases + 2 * h) + h
    embedding = arch["vocab_size"] * h
    lm_head = 0 if arch["tie_word_embeddings"] else embedding
    v = arch["vision"]
    vh, vi, merged = v["hidden_size"], v["intermediate_size"], v["hidden_size"] * MERGE**2
    block = 2 * vh + (vh * 3 * vh + 3 * vh) + (vh * vh + vh) + 2 * (vh * vi + vi) + (vi * vh + vh)
    merger = vh + (merged * merged + merged) + (merged * v["out_hidden_size"] + v["out_hidden_size"])
    vision = CHANNELS * TEMPORAL_PATCH * PATCH * PATCH * vh + v["depth"] * block + merger
    lora = layers * lora_rank * sum(a + b for a, b in shapes.values())
    return Params(linear, other, embedding, lm_head, vision, lora)


def architecture_from_config(config: dict) -> dict | None:
    """A saved Qwen2.5-VL config.json (as a dict) in the `rmlite.doctor.ARCHITECTURES` format; None if it lacks a
    field the estimate needs."""
    text, vision = config.get("text_config", config), config.get("vision_config", {})
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "vocab_size")
    vision_keys = ("depth", "hidden_size", "intermediate_size", "num_heads", "out_hidden_size")
    if not all(k in text for k in keys) or not all(k in vision for k in vision_keys):
        return None
    tied = config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))
    return {**{k: text[k] for k in keys}, "tie_word_embeddings": bool(tied),
            "vision": {k: vision[k] for k in vision_keys}}


def nf4_bytes(n: int, *, double_quant: bool = True) -> float:
    """Bytes of `n` weights in bitsandbytes nf4: half a byte each, plus one absmax per 64 (a byte under double
    quantisation, which adds an fp32 scale per 256 absmax; else fp32).

    >>> nf4_bytes(64 * 256), nf4_bytes(64 * 256, double_quant=False)
    (8452.0, 9216.0)
    """
    blocks = n / NF4_BLOCK
    absmax = blocks * 1 + blocks / DQ_BLOCK * 4 if double_quant else blocks * 4
    return n / 2 + absmax


@dataclass(frozen=True)
class RunShape:
    """What the estimate needs of a run: its settings, its prompt and how the model is loaded."""

    num_generations: int
    per_device_train_batch_size: int
    gradient_accumulation_steps: int
    max_completion_length: int
    prompt_tokens: int  # text tokens of the longest prompt (chat template included)
    visual_tokens: int  # per image, one image per prompt
    load_in_4bit: bool = True
    quantize_vision: bool = False  # the unsloth bnb-4bit checkpoints keep the vision tower 16-bit
    half_bytes: int = 2  # bf16/fp16; 4 on a CPU (float32)
    lora_rank: int = 16
    gradient_checkpointing: bool = True
    offload_checkpoints: bool = False  # unsloth's gradient checkpointing keeps each layer's input in CPU RAM
    chunked_logprobs: bool = True  # TRL ≥ 1.15 (both pins) and unsloth compute log-probs in tiles

    @property
    def generation_batch(self) -> int:
        """Completions generated at once: TRL generates one optimizer step's batch (steps_per_generation = acc.)."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps

    @property
    def sequence(self) -> int:
        return self.prompt_tokens + self.visual_tokens + self.max_completion_length


@dataclass(frozen=True)
class Estimate:
    """Each term in GB; `peak_gb` = weights + LoRA state + the larger of generation and the training step."""

    weights_4bit_gb: float
    weights_16bit_gb: float
    lora_state_gb: float
    kv_cache_gb: float
    activations_gb: float
    vision_activations_gb: float
    logits_gb: float
    logits_unchunked_gb: float
    logits_note: str
    cuda_context_gb: float
    peak_gb: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        """One line a person reads: the peak, then every term (GB, three significant digits)."""
        context = f" (+{self.cuda_context_gb:.3g} CUDA context)" if self.cuda_context_gb else ""
        return (f"{self.peak_gb:.3g} GB peak allocated{context} = weights {self.weights_4bit_gb:.3g} (4-bit) + "
                f"{self.weights_16bit_gb:.3g} (16-bit) + LoRA, grads and AdamW {self.lora_state_gb:.3g} + "
                f"max(KV cache {self.kv_cache_gb:.3g}, activations {self.activations_gb:.3g} + vision "
                f"{self.vision_activations_gb:.3g} + logits {self.logits_gb:.3g} [{self.logits_note}; unchunked "
                f"{self.logits_unchunked_gb:.3g}])")


def estimate(arch: dict, run: RunShape, *, cuda: bool = True) -> Estimate:
    """The memory of `run` on the Qwen2.5-VL `arch`, term by term (see each comment for what is counted)."""
    p = count_params(arch, run.lora_rank)
    half = run.half_bytes
    h, layers, vocab = arch["hidden_size"], arch["num_hidden_layers"], arch["vocab_size"]
    kv_dim = arch["num_key_value_heads"] * (h // arch["num_attention_heads"])
    # Weights by quantisation map: the decoder's projections in nf4; embeddings, lm_head, norms, biases and (as in
    # the unsloth checkpoints) the vision tower in 16-bit.
    vision_4bit = run.load_in_4bit and run.quantize_vision
    quantised = (p.language_linear if run.load_in_4bit else 0) + (p.vision if vision_4bit else 0)
    w4 = nf4_bytes(quantised) if quantised else 0.0
    w16 = (p.total - quantised) * half
    lora = p.lora * LORA_BYTES_PER_PARAM
    # KV cache while generating: K and V per layer for every completion of the generation batch, full length.
    kv = 2 * layers * kv_dim * half * run.generation_batch * run.sequence
    # Training step, one micro-batch: with gradient checkpointing each layer keeps its input and one layer at a time
    # holds its working set (input, q, k, v, attention output, gate, up, activation, and their gradients).
    b, s = run.per_device_train_batch_size, run.sequence
    layer_set = b * s * (3 * h + 2 * kv_dim + 3 * arch["intermediate_size"]) * half
    kept = 0 if run.offload_checkpoints else layers * b * s * h * half
    acts = (kept + 2 * layer_set) if run.gradient_checkpointing else layers * layer_set
    # The frozen vision tower keeps nothing for backward: one block's working set over the micro-batch's patches.
    v = arch["vision"]
    patches = b * run.visual_tokens * MERGE**2
    vision = patches * (6 * v["hidden_size"] + 3 * v["intermediate_size"]) * half
    # Log-probs of the completion tokens: tiles of [4096 tokens, 32768 vocab] and their gradient, or full fp32 logits.
    tokens = b * run.max_completion_length
    chunked = 2 * min(tokens, LOGPROB_TOKEN_CHUNK) * min(vocab, LOGPROB_VOCAB_CHUNK) * half
    full = tokens * vocab * 4
    logits = chunked if run.chunked_logprobs else full
    note = "chunked: TRL's fused lm head" if run.chunked_logprobs else "unchunked: full fp32 logits"
    peak = w4 + w16 + lora + max(kv, acts + vision + logits)
    return Estimate(w4 / GB, w16 / GB, lora / GB, kv / GB, acts / GB, vision / GB, logits / GB, full / GB, note,
                    CUDA_CONTEXT_GB if cuda else 0.0, peak / GB)
