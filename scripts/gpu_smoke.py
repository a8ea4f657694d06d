"""GPU smoke kit: run rmlite's GPU path once on a real card (no network) and write what happened to ONE JSON file.

    python3 scripts/gpu_smoke.py --out runs/gpu_smoke.json          # on a CUDA machine, ≤ 10 minutes
    python3 scripts/gpu_smoke.py --cpu --out /tmp/smoke.json        # the same stages on the tiny model (CI lane)

Stages, each recorded with ok / seconds / error (the traceback's tail), so one failure does not lose the rest:

1. `import`: `import unsloth` before anything imports trl/transformers/peft (as rmlite's loader does), the warnings it
   raised (import order among them), the versions of the stack, the device, and TRL's GRPOTrainer class chain
   (UnslothGRPOTrainer when unsloth patched TRL).
2. `fit_check`: `rmlite.doctor.fit_check` of the T4 preset (`gpu_preset("Tesla T4")`) on Qwen2.5-VL-3B's architecture
   with random weights, capped at 15 GB: peak memory, s/step, completion tokens/s and the doctor's own summary.
3. `train`: 2 fp16 GRPO steps (as on a T4) with 128-token completions through `rmlite.train.grpo.train`, the adaptive
   "coarse" curriculum forced to switch stages after step 1, and a held-out evaluation every step.
4. `reload_trainable` / `reload_frozen`: the saved adapter loaded back for more training and for evaluation, and two
   greedy answers from the frozen one.

The model is Qwen2.5-VL-3B with random weights built from its published configuration (nothing downloads), unless
`--model` names a local folder or (with a network) a hub id. Its answers are noise, so the training reward is a hash of
the completion (`tests_gpu.unsloth_cpu.hash_reward`): it gives GRPO groups a spread so the LoRA moves and the adapter
reloads as a trained one. `--cpu` runs every stage on the tiny model with unsloth's GPU branch forced on the CPU
(tests_gpu/unsloth_cpu.py), which is how the GPU-pin lane tests this script. See docs/gpu_smoke.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.metadata as md
import json
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # rmlite from this checkout (and tests_gpu's helpers) without installing it

VERSIONS = ("unsloth", "unsloth_zoo", "trl", "transformers", "peft", "bitsandbytes", "torch", "accelerate",
            "datasets", "torchvision", "xformers", "torchao", "vllm")
ORDER_SENSITIVE = ("transformers", "trl", "peft")
STEPS = 2
COMPLETION_TOKENS = 128
T4 = "Tesla T4"
T4_CAP_GB = 15.0


class Smoke:
    """The report: one JSON file, rewritten after every stage (a killed run still leaves the stages it finished)."""

    def __init__(self, out: Path, cpu: bool):
        self.out = out
        self.report: dict[str, Any] = {"mode": "cpu" if cpu else "gpu", "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                       "argv": sys.argv[1:], "stages": {}}
        out.parent.mkdir(parents=True, exist_ok=True)
        self.write()

    def write(self) -> None:
        tmp = self.out.with_name(self.out.name + ".tmp")
        tmp.write_text(json.dumps(self.report, indent=2, default=str))
        tmp.replace(self.out)

    def stage(self, name: str, fn: Callable[[], dict]) -> dict | None:
        """Run one stage; its dict (or the error) goes into the report under `name`."""
        print(f"gpu_smoke: {name} ...", flush=True)
        t0 = time.perf_counter()
        entry: dict[str, Any] = {}
        try:
            entry = {"ok": True, **fn()}
        except Exception as e:  # noqa: BLE001 - recorded; the next stage still runs
            entry = {"ok": False, "error": f"{type(e).__name__}: {e}"[:2000],
                     "traceback": traceback.format_exc()[-4000:]}
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        self.report["stages"][name] = entry
        self.write()
        print(f"gpu_smoke: {name} {'ok' if entry['ok'] else 'FAILED: ' + entry['error'][:300]} "
              f"({entry['seconds']} s)", flush=True)
        return entry if entry["ok"] else None


# ----- stages ---------------------------------------------------------------------------------------------------------
def import_stage(cpu: bool) -> dict:
    before = [m for m in ORDER_SENSITIVE if m in sys.modules]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if cpu:
            from tests_gpu.unsloth_cpu import force_gpu_branch

            force_gpu_branch()
        else:
            import unsloth  # noqa: F401  -- first, before trl / transformers / peft
        import torch
        import trl
    texts = [f"{w.category.__name__}: {w.message}"[:400] for w in caught]
    versions = {}
    for pkg in VERSIONS:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    cuda = torch.cuda.is_available()
    device = {"cuda_available": cuda, "torch_cuda": torch.version.cuda, "python": sys.version.split()[0]}
    if cuda:
        props = torch.cuda.get_device_properties(0)
        device.update(name=props.name, total_gb=round(props.total_memory / 2**30, 1),
                      capability=list(torch.cuda.get_device_capability(0)))
    return {"versions": versions, "device": device, "imported_before_unsloth": before,
            "trainer_chain": [c.__name__ for c in trl.GRPOTrainer.__mro__],
            "warnings": texts, "import_order_warnings": [t for t in texts if "import" in t.lower()]}


def fit_stage(cpu: bool, work: Path) -> dict:
    from rmlite.doctor import fit_check
    from rmlite.models.gpu import gpu_preset

    preset = gpu_preset() if cpu else gpu_preset(T4)
    if cpu:  # the tiny model loads through transformers; give it the mode switches unsloth's loader attaches
        import rmlite.doctor as doctor
        from tests_gpu.unsloth_cpu import attach_mode_switches

        load = doctor.load_model
        doctor.load_model = lambda *a, **k: (lambda mp: (attach_mode_switches(mp[0]), mp[1]))(load(*a, **k))
    try:
        result = fit_check(preset, steps=STEPS, random_weights=not cpu, memory_cap_gb=None if cpu else T4_CAP_GB,
                           work=work)
    finally:
        _free(uncap=True)
    return {"summary": result.summary(), "fits": result.fits, "peak_allocated_gb": result.peak_allocated_gb,
            "peak_reserved_gb": result.peak_reserved_gb, "step_seconds": result.step_seconds,
            "completion_tokens_per_s": result.completion_tokens_per_s, "result": dataclasses.asdict(result)}


def model_source(cpu: bool, model: str | None, work: Path) -> tuple[str, str]:
    """(what to load, what it is): --model, else the tiny model (CPU) or Qwen2.5-VL-3B with random weights (GPU),
    reusing the folder fit_check built when there is one."""
    if model:
        return model, "given with --model"
    from rmlite.models.tiny import build_tiny_vlm

    tiny = work / "tiny"
    if not (tiny / "config.json").is_file():
        build_tiny_vlm(tiny, seed=0)
    if cpu:
        return str(tiny), "the tiny CPU model"
    built = sorted(work.glob("fit/*random*/config.json"))
    if built:
        return str(built[0].parent), "Qwen2.5-VL-3B architecture, random weights (fit_check's)"
    from rmlite.doctor import random_weight_model

    return str(random_weight_model("3b", work / "qwen2.5-vl-3b-random", tiny)), \
        "Qwen2.5-VL-3B architecture, random weights"


def _load(source: str, cpu: bool, **kw: Any):
    from rmlite.models.gpu import gpu_preset
    from rmlite.models.load import load_model

    if cpu:
        model, processor = load_model(source, load_in_4bit=False, **kw)
        from tests_gpu.unsloth_cpu import attach_mode_switches

        return attach_mode_switches(model), processor
    if "random" in Path(source).name:  # keep the random vision tower 16-bit, as fit_check does
        from rmlite.doctor import KEEP_16BIT

        kw["keep_16bit_modules"] = KEEP_16BIT
    from rmlite.train.settings import card_load_options

    # the T4 preset's load: 4-bit, fp16 (unsloth refuses a fp16 trainer for a bf16 model), its image cap
    return load_model(source, **card_load_options(gpu_preset(T4)), **kw)


def _data():
    from rmlite.data.build import MINI_DIR
    from rmlite.data.store import load_split

    train = load_split(MINI_DIR, "train", lazy=False)
    types = list(train["type"])
    pick = [i for i, t in enumerate(types) if t != "planning"][:4] + [i for i, t in enumerate(types)
                                                                      if t == "planning"][:4]
    test = load_split(MINI_DIR, "test", lazy=False)
    return train.select(pick), test.select(range(min(4, len(test))))


def train_stage(cpu: bool, source: str, work: Path) -> dict:
    from rmlite.curriculum import get_curriculum
    from rmlite.models.gpu import gpu_preset
    from rmlite.train.grpo import train
    from rmlite.train.heldout import HeldOutEval
    from rmlite.train.settings import card_settings, cpu_tiny_settings
    from tests_gpu.unsloth_cpu import hash_reward

    data, held = _data()
    model, processor = _load(source, cpu, lora_rank=16)
    # the T4 preset's run (`card_settings`, as `rmlite train` and the notebooks run it), shortened: fp16, 2 steps
    common = dict(output_dir=str(work / "train"), max_steps=STEPS, max_completion_length=COMPLETION_TOKENS,
                  save_steps=1, bf16=False, fp16=True)
    settings = cpu_tiny_settings(**common) if cpu else card_settings(gpu_preset(T4), **common)
    evals = HeldOutEval(held, every=1, max_new_tokens=64, batch_size=4)
    _reset_peak()
    t0 = time.perf_counter()
    res = train(model, processor, data, reward=hash_reward, settings=settings, heldout=evals, progress=False,
                curriculum=get_curriculum("coarse", mode="adaptive", max_steps=1))
    seconds = time.perf_counter() - t0
    keys = ("step", "reward", "completions/mean_length", "step_time", "stage", "heldout/accuracy", "heldout/step")
    out = {"steps": [r["step"] for r in res.metrics], "seconds_per_step": round(seconds / STEPS, 1),
           "metrics": [{k: r[k] for k in keys if k in r} for r in res.metrics],
           "transitions": [dataclasses.asdict(t) for t in res.transitions],
           "heldout_evaluations": sorted(evals.reports), "args": {k: str(getattr(res.trainer.args, k)) for k in
                                                                  ("bf16", "fp16", "optim", "generation_kwargs")},
           "trainer_chain": [c.__name__ for c in type(res.trainer).__mro__], "adapter": str(res.output_dir / "adapter"),
           "peak_allocated_gb": _peak()}
    del model, res
    _free()
    return out


def reload_stage(cpu: bool, source: str, adapter: str, trainable: bool) -> dict:
    from rmlite.models.inference import answers_for
    from rmlite.models.load import describe_model

    model, processor = _load(source, cpu, adapter=adapter, trainable=trainable)
    out: dict[str, Any] = {"model": describe_model(model)}
    if not trainable:
        _, held = _data()
        out["answers"] = [a[:300] for a in answers_for(model, processor, [held[0], held[1]], max_new_tokens=32,
                                                       progress=False)]
    del model
    _free()
    return out


# ----- CUDA memory ---------------------------------------------------------------------------------------------------
def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _reset_peak() -> None:
    if _cuda():
        import torch

        torch.cuda.reset_peak_memory_stats()


def _peak() -> float | None:
    if not _cuda():
        return None
    import torch

    return round(torch.cuda.max_memory_allocated() / 2**30, 2)


def _free(uncap: bool = False) -> None:
    """Release what a stage held; `uncap` lifts fit_check's T4 memory cap for the stages after it."""
    gc.collect()
    if _cuda():
        import torch

        if uncap:
            torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="the JSON file to write (its folder is created)")
    ap.add_argument("--cpu", action="store_true", help="every stage on the tiny model, unsloth's GPU branch forced")
    ap.add_argument("--model", help="train/reload this model instead of the random-weight 3B (a local folder, or a "
                                    "hub id with a network)")
    ap.add_argument("--skip-fit", action="store_true", help="leave out the fit check (about a third of the time)")
    ap.add_argument("--work", type=Path, help="scratch folder (default: a new temporary one)")
    args = ap.parse_args(argv)
    for k, v in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                 ("TOKENIZERS_PARALLELISM", "false"), ("MPLBACKEND", "Agg")):
        os.environ.setdefault(k, v)
    if args.model:  # a hub id may need the network
        for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            os.environ.pop(k, None)
    work = args.work or Path(tempfile.mkdtemp(prefix="rmlite-gpu-smoke-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("UNSLOTH_COMPILE_LOCATION", str(work / "unsloth_compiled_cache"))  # not into the checkout
    smoke = Smoke(args.out, args.cpu)
    t0 = time.perf_counter()
    smoke.report["work"] = str(work)
    if smoke.stage("import", lambda: import_stage(args.cpu)) is None:
        return _finish(smoke, t0)
    if not args.cpu and not _cuda():
        smoke.report["stages"]["import"].update(ok=False, error="no CUDA device: use --cpu on a machine without one")
        return _finish(smoke, t0)
    if not args.skip_fit:
        smoke.stage("fit_check", lambda: fit_stage(args.cpu, work / "fit"))
    chosen = smoke.stage("model", lambda: dict(zip(("source", "what"), model_source(args.cpu, args.model, work),
                                                   strict=True)))
    if chosen is None:
        return _finish(smoke, t0)
    source = chosen["source"]
    trained = smoke.stage("train", lambda: train_stage(args.cpu, source, work))
    if trained is not None:
        for name, flag in (("reload_trainable", True), ("reload_frozen", False)):
            smoke.stage(name, lambda flag=flag: reload_stage(args.cpu, source, trained["adapter"], flag))
    return _finish(smoke, t0)


def _finish(smoke: Smoke, t0: float) -> int:
    stages = smoke.report["stages"]
    smoke.report["seconds"] = round(time.perf_counter() - t0, 1)
    smoke.report["ok"] = bool(stages) and all(s["ok"] for s in stages.values())
    smoke.write()
    failed = [k for k, s in stages.items() if not s["ok"]]
    verdict = "all stages ok" if smoke.report["ok"] else "FAILED: " + ", ".join(failed)
    print(f"gpu_smoke: {verdict} in {smoke.report['seconds']} s; wrote {smoke.out}")
    return 0 if smoke.report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
