"""Load a vision-language model ready for LoRA GRPO (4-bit base, LoRA adapter), and check saved adapters.

`load_model` has two backends:

* **unsloth** (CUDA + `pip install 'rmlite[gpu]'`): `FastVisionModel` in 4-bit, its LoRA (`get_peft_model`),
  gradient checkpointing "unsloth"; rollouts use Hugging Face `generate` (no vLLM: docs/training.md says why).
  unsloth patches transformers and trl when it is imported, and silently skips the patches if they were imported
  first, so `load_model` imports it before anything else and warns when transformers / trl / peft are already
  loaded. In a script, call `load_model` (or `import unsloth`) before importing trl.
* **transformers** (anywhere, CPU included): `AutoModelForImageTextToText` + bitsandbytes nf4 (bitsandbytes ≥
  0.50 runs nf4 on CPU, so CI covers the 4-bit LoRA path) + PEFT LoRA on the language model's attention and MLP
  projections. `load_in_4bit=False` loads float32 (CPU) or bf16/fp16 (GPU) without quantisation.

Models (Qwen2.5-VL is the safe default: unsloth supports it, and it is fine in fp16 on a T4):

| model | card | notes |
|---|---|---|
| `unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit` (default) | T4 16 GB (free Colab) | dynamic 4-bit |
| `unsloth/Qwen2.5-VL-7B-Instruct-unsloth-bnb-4bit` | L4 / A10 24 GB, A100 | the paper's model size |
| `Qwen/Qwen2.5-VL-3B-Instruct`, `Qwen/Qwen2.5-VL-7B-Instruct` | any | quantised on load when `load_in_4bit` |
| `unsloth/Qwen3-VL-8B-Instruct-unsloth-bnb-4bit` | ≥ 24 GB | untested here |
| `unsloth/gemma-3-4b-it` | L4 (bf16) | fp16 on a T4 is fragile for Gemma VLMs |
| a folder from `rmlite.models.tiny.build_tiny_vlm` | CPU | tests, CI and the demo |

Images are capped at `rmlite.models.gpu.DEFAULT_MAX_PIXELS` (768² = 729 visual tokens) unless told.

Vision layers: `finetune_vision_layers=False` by default: LoRA on the language model only keeps the adapter and
its optimizer state small on a 16 GB card. The paper's RL updated all parameters; to train the vision tower here,
pass `finetune_vision_layers=True` (more memory; measure it with `rmlite doctor --fit`).

Several GPUs (torchrun / accelerate launch): each process loads its whole model onto its own card, `LOCAL_RANK`
(`rmlite.models.gpu.device_map`), in both backends.

Nothing in this module imports torch / transformers at import time, so importing it never spoils unsloth's
import order. Before loading, `rmlite.models.source.model_source` checks that the model can load at all, so a typo
or an offline machine is one line, not a minute of retries and a traceback.
One module on purpose: both backends share one contract (quantisation, LoRA targets, adapter checks).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rmlite.models import gpu
from rmlite.models.gpu import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, DEFAULT_MODEL, native_bf16
from rmlite.models.source import model_source

# Module-name fragments that mark a vision tower or the vision→language projector in HF VLMs
# (Qwen2/2.5/3-VL: visual, incl. its merger; LLaVA / Gemma3: vision_tower + multi_modal_projector; Idefics/SmolVLM:
# vision_model + connector).
VISION_MARKERS = ("visual", "vision_tower", "vision_model", "vision_encoder", "multi_modal_projector",
                  "mm_projector", "connector", "image_newline")
# Kept out of 4-bit on the transformers path (as unsloth's dynamic quants keep them) unless the vision side is trained.
# transformers 5 matches a skip key at the start of a module's full name (or its end), so the vision tower of a
# Qwen2.5-VL is "model.visual", not "visual" (that one matched nothing: the tower was quantised until 2026-12-07).
VISION_16BIT = ("model.visual", "model.vision_tower", "model.multi_modal_projector", "visual", "vision_tower",
                "multi_modal_projector")
LANGUAGE_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
_IMPORT_ORDER_SENSITIVE = ("transformers", "trl", "peft")


class BackendUnavailable(RuntimeError):
    """The requested backend cannot run here (no GPU, a package missing); the message says what to do."""


class AdapterUnusable(RuntimeError):
    """A saved adapter does not match the loaded model, or was never trained (`verify_adapter`): one sentence."""


# ----- known-harmless noise when loading ----------------------------------------------------------------------------
class _DropKernelsHint(logging.Filter):
    """bitsandbytes' CPU backend logs, on import, that the optional `kernels` package (a faster CPU 4-bit matmul)
    is missing; its own fallback is used and rmlite needs nothing from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Failed to load CPU gemm_4bit_forward from kernels-community")


def quiet_known_warnings() -> None:
    """Silence, by exact source and message, the warnings every load prints that rmlite cannot act on. Idempotent.

    * bitsandbytes (backends/cpu/ops.py): the `kernels` hint above (a logging record, filtered on its logger).
    * transformers (modeling_utils.py): FutureWarning "`is_gradient_checkpointing` is deprecated", raised when PEFT
      (peft_model.py) reads the old property while wrapping the model; PEFT has to change, not rmlite.
    """
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    if not any(isinstance(f, _DropKernelsHint) for f in logger.filters):
        logger.addFilter(_DropKernelsHint())
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning,
                            module="transformers.modeling_utils")


def set_max_pixels(processor, max_pixels: int, min_pixels: int | None = None) -> None:
    """Cap the image size a (Qwen-style) processor feeds the model; processors without the setting are left alone."""
    ip = getattr(processor, "image_processor", None)
    if ip is None:
        return
    size = getattr(ip, "size", None)
    if isinstance(size, dict) or hasattr(size, "longest_edge"):
        new = dict(size)
        if "longest_edge" in new or "shortest_edge" in new:
            new["longest_edge"] = int(max_pixels)
            if min_pixels is not None:
                new["shortest_edge"] = int(min_pixels)
            new["shortest_edge"] = min(new.get("shortest_edge", DEFAULT_MIN_PIXELS), int(max_pixels))
            ip.size = type(size)(**new) if not isinstance(size, dict) else new
    for attr, val in (("max_pixels", max_pixels), ("min_pixels", min_pixels)):
        # unsloth_zoo turns these into read-only properties over `size` (set just above): leave those alone
        prop = getattr(type(ip), attr, None)
        if val is not None and hasattr(ip, attr) and not (isinstance(prop, property) and prop.fset is None):
            setattr(ip, attr, int(val))
    if get_max_pixels(processor) not in (None, int(max_pixels)):
        raise RuntimeError(f"could not cap the image processor at {max_pixels} pixels ({type(ip).__name__} still "
                           f"says {get_max_pixels(processor)})")


def get_max_pixels(processor) -> int | None:
    ip = getattr(processor, "image_processor", None)
    size = getattr(ip, "size", None)
    if size is None:
        return getattr(ip, "max_pixels", None)
    try:
        return int(size["longest_edge"])
    except (KeyError, TypeError):
        return getattr(ip, "max_pixels", None)


def _resolve_dtype(dtype, *, on_cuda: bool):
    import torch

    if dtype is None or dtype == "auto":
        if not on_cuda:
            return torch.float32
        return torch.bfloat16 if native_bf16() else torch.float16
    if isinstance(dtype, str):
        return {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
                "float16": torch.float16, "fp16": torch.float16}[dtype]
    return dtype


def choose_backend(backend: str = "auto") -> str:
    """'unsloth' or 'transformers'; `BackendUnavailable` (one sentence) when unsloth is asked for but cannot run."""
    if backend not in ("auto", "unsloth", "transformers"):
        raise ValueError(f"backend must be 'auto', 'unsloth' or 'transformers', got {backend!r}")
    if backend == "transformers":
        return backend
    cuda, installed = gpu.cuda_available(), gpu.unsloth_installed()
    if backend == "auto":
        return "unsloth" if cuda and installed else "transformers"
    if not cuda:
        raise BackendUnavailable("unsloth needs a CUDA GPU and none was found (unsloth's CPU backend refuses vision "
                                 "models); use backend='transformers' (or 'auto') on this machine.")
    if not installed:
        raise BackendUnavailable("unsloth is not installed; run pip install 'rmlite[gpu]' -c requirements/gpu.txt "
                                 "on this CUDA machine, or use backend='transformers'.")
    return backend


@dataclass(frozen=True)
class LoadSettings:
    """How `load_model` loads a model: every field is also a `load_model` keyword (see there), so a caller can keep
    one object for a run (`rmlite.train.settings.card_load_options` gives a card's) or name the few it changes.

    >>> LoadSettings(load_in_4bit=False).replace(lora_rank=0)
    LoadSettings(load_in_4bit=False, lora_rank=0, lora_alpha=None, ...)
    >>> LoadSettings().replace(rank=8)
    Traceback (most recent call last):
    TypeError: load_model got unknown option(s) ['rank']; its options are the fields of LoadSettings
    """

    load_in_4bit: bool = True
    lora_rank: int | None = 16
    lora_alpha: int | None = None
    lora_dropout: float = 0.0
    finetune_vision_layers: bool = False
    max_pixels: int | str | None = "auto"
    min_pixels: int | None = None
    backend: str = "auto"
    dtype: Any = None
    gradient_checkpointing: bool | None = None
    max_seq_length: int = 16384
    seed: int = 3407
    keep_16bit_modules: tuple[str, ...] = ()

    def replace(self, **options: Any) -> LoadSettings:
        """These settings with `options` changed; a name that is not a field is one clear TypeError."""
        unknown = sorted(set(options) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise TypeError(f"load_model got unknown option(s) {unknown}; its options are the fields of LoadSettings")
        return dataclasses.replace(self, **options)


def load_model(name: str = DEFAULT_MODEL, settings: LoadSettings | None = None, *,
               adapter: str | os.PathLike | None = None, trainable: bool = True, **options: Any):
    """Load `name` (hub id or local folder) and return `(model, processor)` ready for LoRA GRPO.

    With `adapter` (a folder saved by `rmlite train` / a notebook), the base model is loaded and that LoRA adapter
    attached instead of a fresh one (its rank comes from the adapter, `lora_rank` is ignored); `trainable=True`
    continues training it (stage 2 after stage 1), False is for evaluation. The loaded LoRA tensors are compared
    with the file (`verify_adapter`), so a silently ignored adapter fails here, not after hours of training.

    Args:
        settings: a LoadSettings (default: its defaults); `options`, its field names as keywords, change fields of it.
        adapter: a saved LoRA adapter folder to attach (see above).
        trainable: False loads for evaluation: the adapter frozen (or, without one, no LoRA at all), eval mode.
    Options (the fields of LoadSettings):
        load_in_4bit: nf4 quantisation of the base weights (QLoRA). False: float32 on CPU, bf16/fp16 on GPU.
        lora_rank: LoRA rank; 0 or None attaches no adapter (full model, e.g. for the tiny model's warm start).
        lora_alpha: LoRA alpha (default: equal to the rank, as unsloth's notebooks).
        finetune_vision_layers: also put LoRA on the vision tower and projector.
        max_pixels: image size cap; "auto" keeps the processor's own cap but at most `DEFAULT_MAX_PIXELS`
            (768² → 729 tokens); None leaves the processor untouched; an int sets it.
        backend: "auto" (unsloth when CUDA and unsloth are present), "unsloth" or "transformers".
        dtype: compute dtype ("float32", "bf16", "fp16", a torch dtype or None for the device's best).
        gradient_checkpointing: default on for CUDA, off on CPU (tiny models do not need it).
        max_seq_length, seed: unsloth's sequence budget; the seed of a fresh LoRA's initial weights.
        keep_16bit_modules: kept out of 4-bit beside the backend's own list, e.g. "model.visual" (the vision tower,
            as unsloth's bnb-4bit checkpoints keep it; transformers 5 matches a name's start or end).
    Raises:
        BackendUnavailable: the backend (or bitsandbytes for 4-bit) cannot run here; one sentence says why.
        ModelUnavailable: (transformers backend) `name` cannot load from here (`model_source`); raised before any
            heavy import.
    """
    s = (settings or LoadSettings()).replace(**options)
    chosen = choose_backend(s.backend)
    if chosen == "transformers":  # (unsloth resolves names its own way; `rmlite train/eval` check them first)
        model_source(name)
    quiet_known_warnings()
    if adapter is not None:
        adapter = check_adapter_base(adapter, name, chosen)
    elif not trainable:
        s = s.replace(lora_rank=0)  # evaluating the base model: no fresh (all-zero) LoRA, no k-bit preparation
    backend_load = _load_unsloth if chosen == "unsloth" else _load_transformers
    model, processor = backend_load(name, s, adapter=adapter, trainable=trainable)
    if adapter is not None:
        print(verify_adapter(model, adapter))
    _cap_pixels(processor, s.max_pixels, s.min_pixels)
    tok = getattr(processor, "tokenizer", processor)
    if hasattr(tok, "padding_side"):
        tok.padding_side = "left"  # generation (GRPO rollouts, evaluation) needs left padding
    return model, processor


def _cap_pixels(processor, max_pixels: int | str | None, min_pixels: int | None) -> None:
    """`load_model`'s `max_pixels`: "auto" keeps the processor's cap but at most `DEFAULT_MAX_PIXELS`."""
    if max_pixels == "auto":
        current = get_max_pixels(processor)
        if current is None or current > DEFAULT_MAX_PIXELS:
            set_max_pixels(processor, DEFAULT_MAX_PIXELS, min_pixels)
        elif min_pixels is not None:
            set_max_pixels(processor, current, min_pixels)
    elif max_pixels is not None:
        set_max_pixels(processor, int(max_pixels), min_pixels)


def _load_unsloth(name: str, s: LoadSettings, *, adapter: Path | None = None, trainable: bool = True):
    late = [m for m in _IMPORT_ORDER_SENSITIVE if m in sys.modules and "unsloth" not in sys.modules]
    if late:
        warnings.warn(f"{', '.join(late)} imported before unsloth: unsloth's patches may be silently skipped. "
                      "Call rmlite.models.load.load_model (or import unsloth) before importing trl/transformers/peft.",
                      UserWarning, stacklevel=3)
    import unsloth  # noqa: F401  -- first, before anything that imports transformers / trl / peft
    from unsloth import FastVisionModel

    kwargs: dict[str, Any] = dict(load_in_4bit=s.load_in_4bit, use_gradient_checkpointing="unsloth",
                                  max_seq_length=s.max_seq_length, device_map=_own_gpu())
    if s.dtype is not None:
        kwargs["dtype"] = _resolve_dtype(s.dtype, on_cuda=True)
    if s.keep_16bit_modules and s.load_in_4bit:  # unsloth's own BitsAndBytesConfig, these added to its skip list
        from unsloth_zoo.peft_utils import SKIP_QUANTIZATION_MODULES as skip

        kwargs["quantization_config"] = _nf4(_resolve_dtype(s.dtype, on_cuda=True), [*skip, *s.keep_16bit_modules])
    if adapter is not None:
        # unsloth's own resume path (unsloth 2026.10.9 loader.py): given an adapter folder, from_pretrained loads
        # the base named in adapter_config.json, attaches the adapter with PeftModel(is_trainable=True) and runs
        # post_patch_model (LoRA weights trainable, gradient checkpointing "unsloth"). get_peft_model must not be
        # called again (it raises "You already added LoRA adapters").
        model, processor = FastVisionModel.from_pretrained(str(adapter), **kwargs)
    else:
        model, processor = FastVisionModel.from_pretrained(name, **kwargs)
    if not trainable:
        FastVisionModel.for_inference(model)  # no gradient checkpointing, cache on, left padding
    if adapter is None and s.lora_rank and trainable:
        model = FastVisionModel.get_peft_model(
            model, finetune_vision_layers=s.finetune_vision_layers, finetune_language_layers=True,
            finetune_attention_modules=True, finetune_mlp_modules=True, r=s.lora_rank,
            lora_alpha=s.lora_alpha or s.lora_rank, lora_dropout=s.lora_dropout, bias="none", random_state=s.seed,
            use_rslora=False, loftq_config=None, use_gradient_checkpointing="unsloth")
    return model, processor


def _own_gpu() -> dict:
    """This process's GPU as a device map (`gpu.device_map`), made the current CUDA device too: bitsandbytes
    quantises on the current device, and under torchrun every process would otherwise load onto GPU 0."""
    import torch

    placement = gpu.device_map(True)
    torch.cuda.set_device(placement[""])
    return placement


def _nf4(compute_dtype, skip: list[str]):
    """bitsandbytes nf4 with double quantisation, `skip` left unquantised (both backends' 4-bit)."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype, llm_int8_skip_modules=skip)


def lora_target_modules(model, *, vision: bool = False) -> list[str]:
    """Full names of the Linear layers LoRA should wrap: the language model's attention/MLP projections, plus
    every Linear of the vision tower and projector when `vision` (`finetune_vision_layers`). Never `lm_head`."""
    import torch

    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
            continue
        is_vision = any(m in name.split(".") or f"{m}." in name for m in VISION_MARKERS)
        if is_vision:
            if vision:
                names.append(name)
        elif name.rsplit(".", 1)[-1] in LANGUAGE_PROJECTIONS:
            names.append(name)
    if not names:
        raise ValueError("found no Linear layers to put LoRA on; is this a supported VLM?")
    return names


def _load_transformers(name: str, s: LoadSettings, *, adapter: Path | None = None, trainable: bool = True):
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    on_cuda = gpu.cuda_available()
    torch_dtype = _resolve_dtype(s.dtype, on_cuda=on_cuda)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "device_map": _own_gpu() if on_cuda else "cpu"}
    if s.load_in_4bit:
        if importlib.util.find_spec("bitsandbytes") is None:
            raise BackendUnavailable("4-bit loading needs bitsandbytes (>= 0.50 for CPU); pip install bitsandbytes, "
                                     "or pass load_in_4bit=False.")
        # keep the vision tower in full precision unless it is trained (as unsloth's dynamic quants do)
        skip = ["lm_head"] if s.finetune_vision_layers else ["lm_head", *VISION_16BIT]
        kwargs["quantization_config"] = _nf4(torch_dtype, [*skip, *s.keep_16bit_modules])
    model = AutoModelForImageTextToText.from_pretrained(name, **kwargs)
    processor = AutoProcessor.from_pretrained(name)
    gradient_checkpointing = on_cuda if s.gradient_checkpointing is None else s.gradient_checkpointing
    if adapter is not None and not trainable:
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(adapter), is_trainable=False).eval(), processor
    if s.lora_rank or adapter is not None:
        from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

        if s.load_in_4bit:
            model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
        elif gradient_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        if adapter is not None:  # continue training a saved adapter (same preparation as a fresh one)
            return PeftModel.from_pretrained(model, str(adapter), is_trainable=True), processor
        torch.manual_seed(s.seed)
        config = LoraConfig(r=s.lora_rank, lora_alpha=s.lora_alpha or s.lora_rank, lora_dropout=s.lora_dropout,
                            bias="none", target_modules=lora_target_modules(model, vision=s.finetune_vision_layers),
                            task_type="CAUSAL_LM")
        model = get_peft_model(model, config)
    elif gradient_checkpointing and trainable:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if not trainable:
        model.eval()
    return model, processor


def _adapter_config(path: Path) -> dict:
    import json

    return json.loads((path / "adapter_config.json").read_text())


def check_adapter_base(adapter: str | os.PathLike, name: str, backend: str = "transformers") -> Path:
    """The adapter folder as a Path; a clear error when it is not a saved adapter, a warning when it was trained on
    another base model than `name`, saying which base will really be used: unsloth loads the base the adapter names,
    the transformers path loads `name` (PEFT then fails on shapes or, worse, fits onto other weights)."""
    path = Path(adapter)
    cfg = path / "adapter_config.json"
    if not cfg.is_file() or not (path / "adapter_model.safetensors").is_file():
        raise FileNotFoundError(f"{path} is not a saved LoRA adapter (needs adapter_config.json and "
                                "adapter_model.safetensors); train one first (rmlite train / notebook 03)")
    base = _adapter_config(path).get("base_model_name_or_path") or ""
    same = base == name or (Path(base).exists() and Path(name).exists() and Path(base).resolve() ==
                            Path(name).resolve())
    if base and not same:
        used = base if backend == "unsloth" else name
        warnings.warn(f"adapter {path} was trained on {base!r} but {name!r} was asked for; {backend} loads it onto "
                      f"{used!r}", UserWarning, stacklevel=3)
    return path


def verify_adapter(model, adapter: str | os.PathLike) -> str:
    """Compare the model's LoRA weights with the saved adapter file (rounded to the loaded dtype); raise
    `AdapterUnusable` when a tensor is missing, differs, or every LoRA B is zero (an untrained adapter: the model
    would behave exactly as the base). Returns a summary."""
    from safetensors.torch import load_file

    saved = load_file(str(Path(adapter) / "adapter_model.safetensors"))
    params = {n.replace(".default", ""): p for n, p in model.named_parameters() if "lora_" in n}
    matched, trained = 0, 0
    for key, tensor in saved.items():
        if "lora_" not in key:  # e.g. embeddings PEFT saves beside the LoRA weights
            continue
        suffix = key.removeprefix("base_model.model.")
        hits = [p for n, p in params.items() if n == key or n.endswith("." + suffix)]
        if len(hits) != 1:
            raise AdapterUnusable(f"adapter tensor {key} is not in the loaded model once (found {len(hits)}): "
                               "was the adapter trained on another base model?")
        loaded = hits[0].detach().cpu()
        # the file rounded the way loading rounds it (fp32 file → fp16 LoRA, fp16 file → bf16 LoRA, ...)
        if not loaded.float().allclose(tensor.to(loaded.dtype).float(), atol=1e-6, rtol=1e-3):
            raise AdapterUnusable(f"adapter tensor {key} differs from the file in {adapter}")
        matched += 1
        trained += int("lora_B" in key and bool(tensor.abs().sum() > 0))
    if matched == 0 or trained == 0:
        raise AdapterUnusable(f"{adapter} holds an untrained adapter (every LoRA B is zero: no step changed it, "
                              "e.g. every group had zero reward spread); train more steps")
    return f"adapter loaded from {adapter}: {matched} LoRA tensors match the file, {trained} trained LoRA B"


def describe_model(model) -> dict:
    """Counts for logs and tests: total / trainable parameters, LoRA layers on language and vision modules."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    lora = sorted({n.rsplit(".lora_", 1)[0] for n, _ in model.named_parameters() if ".lora_" in n})
    vision = [n for n in lora if any(m in n for m in VISION_MARKERS)]
    quant = sorted({type(m).__name__ for m in model.modules() if "4bit" in type(m).__name__ or "8bit" in
                    type(m).__name__})
    return {"params": total, "trainable": trainable, "lora_layers": len(lora), "lora_vision_layers": len(vision),
            "lora_language_layers": len(lora) - len(vision), "quantized_layer_types": quant}
