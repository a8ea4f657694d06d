"""`python -m rmlite doctor`: what this runtime will run, and (`--fit`) whether a preset fits, before a long run.

A Colab user should learn that the settings do not fit in two minutes, not after the model downloads and the first
steps run out of memory. `runtime_report()` names the device (memory, compute capability), the precision and the
backend rmlite will use, the training stack's versions against the tested pins and what is missing.
`fit_check()` runs the run users start: the card's `card_settings` and `card_load_options` (as `rmlite train` and
notebooks 03-04 do), loads the model through `load_model` (unsloth imported first), runs a few GRPO steps on planning
questions (the longest prompts) with every completion forced to full length (the worst case for memory), and reports
peak memory (allocated and reserved) beside the analytic estimate (`rmlite.train.memory`), step time, completion
tokens/s, and `oom_advice` when it runs out. Its temporary folder is removed whatever happens (Ctrl-C included).

With no network, `random_weights=True` builds the real Qwen2.5-VL-3B or -7B architecture from its published
configuration (`rmlite.models.architectures`) with random weights and the tiny model's tokenizer, saves it and loads
it through the same `load_model` path, the vision tower kept 16-bit as in the unsloth checkpoints; `memory_cap_gb`
caps the process at a card's memory (15 for a T4) on a bigger GPU. Both need a GPU. On a CPU the same steps run on
the tiny model, so the tests cover every line except the CUDA calls, and only the estimate is a memory figure.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from rmlite.data.build import MINI_DIR, SIZES, DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_questions, load_split
from rmlite.models import gpu
from rmlite.models.architectures import (  # noqa: F401  (architecture_config, count_parameters: public here too)
    ARCHITECTURES,
    architecture_config,
    count_parameters,
    random_weight_model,
)
from rmlite.models.gpu import gpu_preset, is_oom, native_bf16, oom_advice
from rmlite.models.load import choose_backend, load_model
from rmlite.models.tiny import build_tiny_vlm
from rmlite.schema import answer_kind
from rmlite.train.memory import Estimate, RunShape, architecture_from_config, estimate
from rmlite.train.settings import GRPOSettings, card_load_options, card_settings

STACK = ("torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "unsloth", "vllm")
PINS = Path(__file__).resolve().parent.parent / "requirements"  # present in a checkout, absent in a wheel
_SIZE_OF_MODEL = re.compile(r"(\d+)[bB]")
# What the unsloth bnb-4bit checkpoints keep 16-bit, named as transformers 5 matches it (a module's full name starts
# with it): the whole vision tower with its merger. lm_head is kept by every backend already.
KEEP_16BIT = ("model.visual",)
CHARS_PER_TOKEN = 3  # Qwen's tokenizer on rmlite's prompts (station names split finely): for the estimate only
CHAT_TEMPLATE_TOKENS = 30  # system prompt, role markers and the vision start/end tokens
NEEDS_GPU = ("no GPU here: --card, --memory-cap and --random-weights build and train a hub-size model (Qwen2.5-VL-3B: "
             "7.5 GB); run them on a CUDA GPU, or `rmlite doctor --fit` alone for the tiny CPU model")


def pinned_versions() -> dict[str, str]:
    """The tested versions from requirements/gpu.txt (CUDA) or cpu.txt; empty outside a checkout."""
    name = "gpu.txt" if gpu.cuda_available() else "cpu.txt"
    path = PINS / name
    if not path.is_file():
        return {}
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", line.strip())
        if m:
            pins[m.group(1).lower()] = m.group(2)
    return pins


def runtime_report() -> dict[str, Any]:
    """Device, precision, backend, versions against the pins, and what is missing (no model is loaded)."""
    preset = gpu_preset()
    pins = pinned_versions()
    versions, missing, drift = {}, [], []
    for dist in STACK:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
            if dist in pins:
                missing.append(dist)
            continue
        want = pins.get(dist)
        if want and versions[dist].split("+")[0] != want:
            drift.append(f"{dist} {versions[dist]} (tested {want})")
    try:
        backend = choose_backend("auto")
    except Exception as e:  # noqa: BLE001 - the report says why instead of failing
        backend = f"none ({e})"
    cuda = gpu.cuda_available()
    precision = "fp32 (CPU)" if not cuda else ("bf16" if native_bf16() else "fp16")
    return {"device": preset["device"], "total_mem_gb": preset["total_mem_gb"], "tier": preset["tier"],
            "compute_capability": _capability(), "precision": precision, "backend": backend, "versions": versions,
            "missing": missing, "drift": drift, "preset": preset}


def _capability() -> str | None:
    if not gpu.cuda_available():
        return None
    import torch

    major, minor = torch.cuda.get_device_capability()
    return f"{major}.{minor}"


def format_runtime(report: dict[str, Any]) -> str:
    """The report as the few lines a person reads."""
    mem = f", {report['total_mem_gb']} GB" if report["total_mem_gb"] else ""
    cc = f", compute capability {report['compute_capability']}" if report["compute_capability"] else ""
    p = report["preset"]
    lines = [f"device: {report['device']}{mem}{cc} (preset {report['tier']})",
             f"precision: {report['precision']}; backend: {report['backend']}",
             f"preset: {p['model'] or 'the tiny CPU model'}, {p['image_size']} px maps ({p['visual_tokens']} visual "
             f"tokens), {p['num_generations']} generations, completions up to {p['max_completion_length']} tokens",
             "versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v)]
    if report["missing"]:
        lines.append("MISSING (pinned, not installed): " + ", ".join(report["missing"]))
    if report["drift"]:
        lines.append("not the tested versions: " + "; ".join(report["drift"]))
    return "\n".join(lines)


@dataclass
class FitResult:
    """What `fit_check` measured (memory in GB; None on a CPU) and what `rmlite.train.memory` estimates."""

    model: str
    preset: dict
    steps: int
    fits: bool
    step_seconds: float | None = None
    completion_tokens_per_s: float | None = None
    mean_completion_tokens: float | None = None  # as TRL logged it: equals the preset's length when forced
    peak_allocated_gb: float | None = None
    peak_reserved_gb: float | None = None
    memory_cap_gb: float | None = None
    advice: str | None = None
    notes: list[str] = field(default_factory=list)
    estimate: Estimate | None = None  # None when the architecture is not one rmlite knows
    prompt_tokens: int | None = None  # the longest prompt's text tokens the estimate assumed (≈, from characters)

    def memory_line(self) -> str:
        """Measured peak beside the estimate; on a CPU the estimate alone, said so."""
        est = f"estimate {self.estimate.line()}" if self.estimate else "estimate: unknown architecture"
        if self.peak_allocated_gb is None:
            return f"memory: {est.replace('estimate', 'estimate (no GPU here: nothing measured):', 1)}"
        cap = f" (cap {self.memory_cap_gb:g} GB)" if self.memory_cap_gb else ""
        return (f"memory: measured peak {self.peak_allocated_gb:.1f} GB allocated / {self.peak_reserved_gb:.1f} GB "
                f"reserved{cap}; {est}")

    def summary(self) -> str:
        if not self.fits:
            return f"DOES NOT FIT: {self.model} with preset {self.preset['tier']}\n{self.memory_line()}\n{self.advice}"
        return (f"fits: {self.model}, preset {self.preset['tier']}: {self.steps} GRPO steps, "
                f"{self.step_seconds:.1f} s/step, {self.completion_tokens_per_s:.0f} completion tokens/s\n"
                f"{self.memory_line()}")


def _fit_data(work: Path, image_size: int, n: int):
    """Planning questions (the longest prompts) on maps at the preset's size, enough for `n` prompts."""
    size = min((s for s in SIZES if s >= image_size), default=max(SIZES))
    q = QuestionConfig(per_map={"planning": 4})
    generate_dataset(work / "data", DatasetConfig(n_maps=max(2, n // 4 + 1), size=size, seed=0, real_maps=(),
                                                  test_fraction=0.0, questions=q), progress=False, workers=1)
    ds = load_split(work / "data", "train")
    keep = [i for i, t in enumerate(ds["type"]) if answer_kind(t) == "route"][:n]
    return ds.select(keep)


def fit_settings(preset: dict, out: str | Path, steps: int) -> GRPOSettings:
    """The card's settings (`card_settings`, as `rmlite train` runs them) with only what a fit check must set: its
    folder, its steps, no checkpoint, and every completion forced to full length (the worst case for memory)."""
    length = card_settings(preset, out).max_completion_length
    return card_settings(preset, out, max_steps=steps, save_steps=10**6,
                         extra={"generation_kwargs": {"min_new_tokens": length}})


def _model_source(preset: dict, work: Path, model: str | None, random_weights: bool) -> tuple[str, list[str]]:
    """The folder or hub name to load, and notes on what it is."""
    if preset["use_cpu"] or (model is None and preset["model"] is None):
        return str(build_tiny_vlm(work / "tiny", seed=0)), ["the tiny CPU model (no GPU): every step but CUDA's"]
    name = model or preset["model"]
    if not random_weights:
        return name, []
    size = _size_of(name) or "3b"
    tiny = build_tiny_vlm(work / "tiny", seed=0)
    path = random_weight_model(size, work / f"qwen2.5-vl-{size}-random", tiny)
    return str(path), [f"Qwen2.5-VL-{size.upper()} architecture with random weights (for memory and speed only)"]


def _size_of(name: str) -> str | None:
    m = _SIZE_OF_MODEL.search(str(name).split("/")[-1])
    return f"{m.group(1)}b" if m and f"{m.group(1)}b" in ARCHITECTURES else None


def architecture_of(source: str) -> dict | None:
    """`source`'s architecture in the `ARCHITECTURES` format: from a local folder's config.json, else by the size in
    a hub name (3B or 7B); None when neither says. Reads JSON only (no transformers before unsloth)."""
    config = Path(source) / "config.json"
    if config.is_file():
        return architecture_from_config(json.loads(config.read_text()))
    size = _size_of(source)
    return ARCHITECTURES[size] if size else None


def fit_estimate(preset: dict, settings: GRPOSettings, source: str, prompt_chars: int,
                 backend: str, *, cuda: bool | None = None) -> tuple[Estimate | None, int]:
    """The analytic estimate of the fit check's run (`rmlite.train.memory`), and the prompt tokens it assumed."""
    tokens = -(-prompt_chars // CHARS_PER_TOKEN) + CHAT_TEMPLATE_TOKENS
    arch = architecture_of(source)
    if arch is None:
        return None, tokens
    load = card_load_options(preset)
    shape = RunShape(num_generations=settings.num_generations,
                     per_device_train_batch_size=settings.per_device_train_batch_size,
                     gradient_accumulation_steps=settings.gradient_accumulation_steps,
                     max_completion_length=settings.max_completion_length, prompt_tokens=tokens,
                     visual_tokens=int(preset["visual_tokens"]), load_in_4bit=load["load_in_4bit"],
                     half_bytes=4 if load["dtype"] == "float32" else 2,
                     gradient_checkpointing=settings.gradient_checkpointing,
                     offload_checkpoints=backend == "unsloth")
    return estimate(arch, shape, cuda=gpu.cuda_available() if cuda is None else cuda), tokens


def card_estimate(preset: dict, model: str | None = None) -> str:
    """What a machine without the card can say about its run: the analytic estimate of the fit check's run for
    `preset` (its model, or `model`), from the longest planning prompt of the shipped data set. Builds nothing."""
    name = model or preset["model"]
    settings = fit_settings(preset, "unused", steps=2)
    chars = max(len(q["question"]) for q in load_questions(MINI_DIR, "train") if answer_kind(q["type"]) == "route")
    est, _ = fit_estimate(preset, settings, name, chars, "unsloth", cuda=True)
    head = (f"{preset['device']} (preset {preset['tier']}): {name}, {preset['image_size']} px maps, "
            f"{settings.num_generations} generations, completions up to {settings.max_completion_length} tokens")
    body = est.line() if est else "unknown architecture (rmlite knows Qwen2.5-VL 3B and 7B)"
    return f"{head}\nmemory: estimate (no GPU here: nothing measured): {body}"


def _cap_memory(cap_gb: float | None) -> float | None:
    if cap_gb is None or not gpu.cuda_available():
        return None
    import torch

    total = torch.cuda.get_device_properties(0).total_memory / 2**30
    torch.cuda.set_per_process_memory_fraction(min(1.0, cap_gb / total))
    return cap_gb


def _backend_first() -> str:
    """The backend `load_model` will use, with unsloth imported now when it is that backend: building a random
    model or a tokenizer imports transformers, and unsloth must patch it before."""
    backend = choose_backend("auto")
    if backend == "unsloth":
        import unsloth  # noqa: F401  -- before transformers / trl / peft
    return backend


def fit_check(preset: dict | None = None, *, model: str | None = None, steps: int = 2, random_weights: bool = False,
              memory_cap_gb: float | None = None, work: str | Path | None = None) -> FitResult:
    """Load the preset's model and run `steps` worst-case GRPO steps; see the module docstring.

    `work` (kept) holds the data, the model built and the run; without it a temporary folder is used and removed
    at the end, after an error or a Ctrl-C too. Raises ValueError for a GPU preset, `random_weights` or a memory cap
    on a machine without CUDA (a hub-size model on a CPU) before building anything.
    """
    preset = dict(preset or gpu_preset())
    if not gpu.cuda_available() and (not preset["use_cpu"] or random_weights or memory_cap_gb is not None):
        raise ValueError(NEEDS_GPU)
    backend = _backend_first()
    own = work is None
    work = Path(tempfile.mkdtemp(prefix="rmlite-doctor-")) if own else Path(work)
    try:
        work.mkdir(parents=True, exist_ok=True)
        return _fit(preset, work, model, steps, random_weights, memory_cap_gb, backend)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def _fit(preset: dict, work: Path, model: str | None, steps: int, random_weights: bool,
         memory_cap_gb: float | None, backend: str) -> FitResult:
    cap = _cap_memory(memory_cap_gb)
    source, notes = _model_source(preset, work, model, random_weights)
    settings = fit_settings(preset, work / "run", steps)
    prompts = settings.per_device_train_batch_size * settings.gradient_accumulation_steps // settings.num_generations
    data = _fit_data(work, int(preset["image_size"]), max(prompts * steps, 2))
    est, tokens = fit_estimate(preset, settings, source, max(map(len, data["question"])), backend)
    result = FitResult(model=source if not notes else f"{source} ({notes[0]})", preset=preset, steps=steps,
                       fits=True, memory_cap_gb=cap, notes=notes, estimate=est, prompt_tokens=tokens)
    _reset_peak()
    try:
        lm, processor = load_model(source, **card_load_options(preset),
                                   keep_16bit_modules=KEEP_16BIT if random_weights else ())
        from rmlite.train.grpo import train  # deferred: torch / trl (unsloth first: the model is loaded before)

        t0 = time.perf_counter()
        run = train(lm, processor, data, reward="paper", curriculum="none", settings=settings)
        seconds = time.perf_counter() - t0
    except Exception as e:  # noqa: BLE001 - out of memory is the answer; anything else is re-raised
        if not is_oom(e):
            raise
        result.fits, result.advice = False, oom_advice(preset)
        return result
    finally:
        result.peak_allocated_gb, result.peak_reserved_gb = _peak()
    completions = steps * settings.per_device_train_batch_size * settings.gradient_accumulation_steps
    lengths = [float(m["completions/mean_length"]) for m in run.metrics if "completions/mean_length" in m]
    result.mean_completion_tokens = sum(lengths) / len(lengths) if lengths else None
    result.step_seconds = seconds / steps
    result.completion_tokens_per_s = completions * (result.mean_completion_tokens or 0) / seconds
    return result


def _reset_peak() -> None:
    if gpu.cuda_available():
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak() -> tuple[float | None, float | None]:
    if not gpu.cuda_available():
        return None, None
    import torch

    return torch.cuda.max_memory_allocated() / 2**30, torch.cuda.max_memory_reserved() / 2**30


def write_report(out: str | Path, runtime: dict, fit: FitResult | None) -> Path:
    """doctor.json under `out` (created): the runtime report and, if run, the fit check."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "doctor.json"
    path.write_text(json.dumps({"runtime": runtime, "fit": asdict(fit) if fit else None}, indent=2, default=str))
    return path


def main_lines(*, fit: bool = False, **kw: Any) -> int:
    """What `python -m rmlite doctor` prints; 0 when everything needed is there (and fits), 1 otherwise."""
    report = runtime_report()
    print(format_runtime(report))
    out = kw.pop("out", None)
    result = fit_check(**kw) if fit else None
    if result is not None:
        print(result.summary())
    if out:
        print(f"wrote {write_report(out, report, result)}")
    sys.stdout.flush()
    return 0 if not report["missing"] and (result is None or result.fits) else 1
