"""What lets the demo fit a class period: its expected time, said before any work, its thread count on a busy
machine, and its first two steps (data, warm start) with the warm start `rmlite demo --quick` reuses instead of
training (shipped in data/warm_tiny/).

Expected time. The demo's quiet time (on a quiet 2-core machine, `rmlite.demo.QUIET_SECONDS`) times a load factor
from `os.getloadavg()` and `os.cpu_count()`, read before the demo starts (so the load is the others'): with `load`
runnable threads already there and the demo running `threads` of its own on `cpus` cores, fair time sharing gives
each thread cpus / (load + threads) of a core once the run queue is longer than the cores, so the demo runs
max(1, (load + threads) / cpus) times slower. An estimate, not a promise: on 2 cores at load 7–13 with 1 thread, three
runs took between 0.6 and 1.7 times what it said (full: 977 s, said 569 s as the load rose from 7 to 12; full:
750 s, said 938 s; quick: 109 s, said 171 s; 2026-12-07, bench/bench_demo.py).

Threads. torch's intra-op threads busy-wait for each other: on 2 cores at load 7.7, one warm-start step took 8–11 s
with 2 threads and 1.1 s with 1 (measured 2026-12-07), so on a busy machine the demo runs only as many threads as
there are idle cores (at least one, `demo_threads`).

The shipped warm start is exactly what the full demo's warm start writes for its default arguments (the tiny model,
all weights, float32 safetensors, about 4 MB; its learning curve and pass@k in `warm_start.json`). A fingerprint of
the settings that make it (the tiny model's build arguments, the data set's config, the warm start's arguments; no
rmlite version or commit) says whether it is the one these settings would train; a digest of the questions it trained
on catches a generator that changed under the same settings. `make warm-tiny` rebuilds it.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from rmlite import __version__
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.store import MapImages, load_maps, load_questions
from rmlite.models.tiny import build_tiny_vlm
from rmlite.models.warmstart import WarmStartSettings, WarmStartStats, warm_start
from rmlite.schema import Sample

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "data" / "warm_tiny"
MODEL = "model"  # the shipped model folder (what `load_model` reads), under SHIPPED_DIR
STATS = "warm_start.json"  # its `WarmStartStats` (learning curve, pass@k per type)
RECORD = "shipped.json"  # fingerprint, settings and question digest
REBUILD = "make warm-tiny"
REAL_MAPS = ("oslo",)  # the real map the demo's data set adds to its synthetic ones
WARM_HELDOUT = 64  # the warm start's held-out questions (its exact-answer check and pass@k)
QUIET_CORES = 2  # the cores of the quiet machine `rmlite.demo.QUIET_SECONDS` are for


# ----- expected time and threads ---------------------------------------------------------------------------------
def demo_threads(load: float, cpus: int) -> int:
    """The torch threads the demo runs: every core on an idle machine, else the idle ones (at least one).

    >>> demo_threads(0.2, 2), demo_threads(0.7, 2), demo_threads(6.0, 2), demo_threads(3.2, 8)
    (2, 1, 1, 5)
    """
    return max(1, min(cpus, cpus - math.ceil(load - 0.5)))


def load_factor(load: float, cpus: int, threads: int) -> float:
    """How many times the quiet time the demo takes here (the module docstring derives it).

    >>> load_factor(0.0, 2, 2), load_factor(1.0, 2, 1), load_factor(5.0, 2, 1), load_factor(0.0, 16, 16)
    (1.0, 1.0, 3.0, 1.0)
    """
    return max(1.0, (load + threads) / cpus)


def _duration(seconds: float) -> str:
    """ "45 s", "137 s", "7.5 min", "1.2 h". """
    if seconds < 300:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def expected_line(quiet_seconds: float, load: float, cpus: int, threads: int) -> str:
    """The line the demo prints before any work.

    >>> expected_line(137, 0.0, 2, 2)
    'expected time: 137 s (on a quiet 2-core machine); this machine: 2 cores, load 0.0, 2 threads, so about 137 s'
    >>> expected_line(50, 9.0, 2, 1)
    'expected time: 50 s (on a quiet 2-core machine); this machine: 2 cores, load 9.0, 1 thread, so about 250 s (× 5.0: busy)'
    """  # noqa: E501
    f = load_factor(load, cpus, threads)
    busy = f" (× {f:.1f}: busy)" if f > 1.05 else ""
    return (f"expected time: {_duration(quiet_seconds)} (on a quiet {QUIET_CORES}-core machine); this "
            f"machine: {cpus} cores, load {load:.1f}, {threads} thread{'s' * (threads != 1)}, so about "
            f"{_duration(quiet_seconds * f)}{busy}")


@contextmanager
def load_threads(quiet_seconds: float | None = None, label: str = "") -> Iterator[float]:
    """torch runs `demo_threads` for the load now (restored after); with `quiet_seconds`, the expected-time line is
    printed first. Yields the load."""
    import torch

    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    threads = demo_threads(load, cpus)
    if quiet_seconds is not None:
        print(f"[demo] {label}{expected_line(quiet_seconds, load, cpus, threads)}", flush=True)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield load
    finally:
        torch.set_num_threads(before)


# ----- the fingerprint of a warm start ---------------------------------------------------------------------------
def _defaults(fn: Any, skip: Sequence[str]) -> dict:
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()
            if k not in skip and p.default is not p.empty}


def warm_settings(data: DatasetConfig, warm: Mapping[str, Any], tiny_seed: int) -> dict:
    """Everything that decides the warm-started model: the tiny model's build arguments (its defaults and the seed),
    the data set's config, and the warm start's arguments (its defaults overridden by `warm`)."""
    return {"tiny_model": {**_defaults(build_tiny_vlm, ("path", "vocab_texts")), "seed": tiny_seed},
            "data": asdict(data), "warm_start": {**{f.name: f.default for f in fields(WarmStartSettings)}, **warm}}


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A short hash of `warm_settings`' result: equal settings, equal fingerprint, on any machine and version.

    >>> fingerprint({"a": 1, "b": [2, 3]}) == fingerprint({"b": (2, 3), "a": 1}), len(fingerprint({}))
    (True, 16)
    """
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def question_digest(rows: Sequence[Sample], images: Mapping[str, Any]) -> str:
    """A short hash of what a warm start trains on: the questions (id, map, type, question, answer, in order) and
    the pixels of their maps (`images`: map id → PIL image), so a changed renderer counts too."""
    keys = ("id", "map_id", "type", "question", "answer")
    h = hashlib.sha256(json.dumps([[str(r.get(k)) for k in keys] for r in rows]).encode())
    for map_id in sorted({str(r["map_id"]) for r in rows}):
        h.update(images[map_id].convert("RGB").tobytes())
    return h.hexdigest()[:16]


# ----- ship and reuse --------------------------------------------------------------------------------------------
def ship(model_dir: Path, stats: Mapping[str, Any], settings: Mapping[str, Any], digest: str,
         dest: Path | None = None, **facts: Any) -> Path:
    """Write a warm start into `dest` (default `SHIPPED_DIR`): the model folder, its stats and the record. Files
    of `dest` other than these (its README.md) are kept."""
    dest = Path(dest or SHIPPED_DIR)
    dest.mkdir(parents=True, exist_ok=True)
    if (dest / MODEL).exists():
        shutil.rmtree(dest / MODEL)
    shutil.copytree(model_dir, dest / MODEL)
    (dest / STATS).write_text(json.dumps(dict(stats), indent=1, default=str) + "\n")
    record = {"fingerprint": fingerprint(settings), "questions": digest, "settings": settings, **facts}
    (dest / RECORD).write_text(json.dumps(record, indent=1, default=str) + "\n")
    return dest


def shipped_record(src: Path | None = None) -> dict:
    """The shipped record (fingerprint, settings, question digest); raises OSError or ValueError."""
    return json.loads((Path(src or SHIPPED_DIR) / RECORD).read_text())


def reuse(settings: Mapping[str, Any], digest: str, model_dest: Path, src: Path | None = None) -> tuple[dict | None,
                                                                                                           str]:
    """(the shipped warm start's stats, "") with its model copied to `model_dest`, when it is the one `settings`
    train on these questions; else (None, one line saying why not). Nothing is copied then."""
    src = Path(src or SHIPPED_DIR)
    try:
        record, stats = shipped_record(src), json.loads((src / STATS).read_text())
        if not (src / MODEL / "model.safetensors").is_file():
            raise FileNotFoundError(src / MODEL / "model.safetensors")
        want = fingerprint(settings)
        if record.get("fingerprint") != want:
            return None, (f"the shipped warm start in {src} was made for other settings (fingerprint "
                          f"{record.get('fingerprint')}, these settings {want})")
        if record.get("questions") != digest:
            return None, (f"the shipped warm start in {src} was trained on other questions than this run generated "
                          f"or maps (the data generator or renderer changed since it was made)")
    except (OSError, ValueError, TypeError, AttributeError) as e:
        return None, f"no usable shipped warm start in {src} ({type(e).__name__}: {e})"
    shutil.copytree(src / MODEL, model_dest, dirs_exist_ok=True)
    return stats, ""


# ----- the demo's steps 1 and 2 ------------------------------------------------------------------------------------
def demo_settings(n_maps: int, seed: int, size: int, warm_steps: int, pass_k: int) -> tuple[DatasetConfig, dict]:
    """The demo's data set config and everything its warm start is made with (`warm_settings`): what the demo runs
    and what the shipped warm start's fingerprint hashes, from one place."""
    data = DatasetConfig(n_maps=n_maps, seed=seed, size=size, real_maps=REAL_MAPS)
    warm = {"steps": warm_steps, "seed": seed, "pass_k": pass_k, "max_heldout": WARM_HELDOUT}
    return data, warm_settings(data, warm, tiny_seed=seed)


def make_data(data_dir: Path, config: DatasetConfig) -> tuple[Any, MapImages, list[dict]]:
    """1. A small data set (synthetic maps of every difficulty plus Oslo): (maps table, images, train rows)."""
    generate_dataset(data_dir, config, overwrite=True)
    maps = load_maps(data_dir)
    return maps, MapImages(maps), [dict(r) for r in load_questions(data_dir, "train")]


def warm_up(out_dir: Path, train_rows: list[dict], images: MapImages, settings: dict,
            quick: bool) -> tuple[Path, WarmStartStats, bool]:
    """2. The tiny Qwen2.5-VL, warm-started on rmlite's answer formats, its learning curve and pass@k per type:
    (model folder, stats, whether they are the shipped ones). `quick` reuses the shipped warm start when it is the one
    `settings` train on these questions, and says in one line why not when it is not."""
    model_dir = out_dir / "model"
    shipped = None
    if quick:
        shipped, why = reuse(settings, question_digest(train_rows, images), model_dir)
        print(f"[demo] quick: reusing the shipped warm start ({SHIPPED_DIR}, fingerprint {fingerprint(settings)})"
              if shipped else f"[demo] quick: {why}; warming up instead (`{REBUILD}` rebuilds it)", flush=True)
    if shipped:
        stats = WarmStartStats(**shipped)
    else:
        build_tiny_vlm(model_dir, **settings["tiny_model"])
        stats = warm_start(model_dir, None, train_rows, images, **settings["warm_start"])
    (out_dir / "warm_start.json").write_text(json.dumps(stats.as_dict(), indent=1, default=str))
    plot_curve(stats.losses, out_dir / "warm_start.png")
    return model_dir, stats, shipped is not None


def plot_curve(losses: list[float], path: Path) -> None:
    """`curve_figure` saved as a PNG."""
    fig = curve_figure(losses)
    import matplotlib.pyplot as plt  # after the figure: it chose the Agg backend

    fig.savefig(path, dpi=110)
    plt.close(fig)


def curve_figure(losses: list[float]) -> Any:
    """The warm start's loss per step: raw points, and their running mean as a line (the training plots' window);
    a log axis with plain tick numbers (0.3, 1, 6: not 3×10⁻¹)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from rmlite.train.runlog import running_mean, smooth_window  # deferred: rmlite.train imports transformers

    steps, window = range(1, len(losses) + 1), smooth_window(len(losses))
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(steps, losses, ls="none", marker="o", ms=2, alpha=0.35, color="C0", label="per step")
    ax.plot(steps, running_mean(losses, window), color="C0", lw=1.8, label=f"running mean of {window}")
    ax.set(xlabel="warm-start step", ylabel="cross-entropy on the answer", yscale="log", title="warm start")
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "1236" else ""))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def rebuild(defaults: Mapping[str, int], dest: Path | None = None) -> Path:
    """The full demo's data and warm start for `defaults` (n_maps, seed, size, warm_steps, pass_k: `run_demo`'s),
    made by its own steps under its thread rule and shipped into `dest` (default `SHIPPED_DIR`)."""
    import torch

    data, settings = demo_settings(**defaults)
    with load_threads() as load, tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(data.seed)  # as run_demo does before its steps
        _, images, rows = make_data(Path(tmp) / "data", data)
        digest = question_digest(rows, images)  # before training: the images are not left as loaded
        model_dir, stats, _ = warm_up(Path(tmp), rows, images, settings, quick=False)
        return ship(model_dir, stats.as_dict(), settings, digest, dest,
                    torch_threads=torch.get_num_threads(), load=round(load, 1), rmlite_version=__version__)


def quick_section(args: Mapping[str, Any], full: Mapping[str, Any], shipped: bool, settings: Mapping) -> str:
    """The report's account of what a `--quick` run (`args`) did differently from the full demo (`full`: its
    defaults)."""
    warm = (f"not trained in this run: it is the one shipped in `data/warm_tiny/` (fingerprint "
            f"{fingerprint(settings)}), which the full demo's warm start trains for these settings (`{REBUILD}` "
            f"rebuilds it)" if shipped else
            "trained in this run, as the full demo does (the shipped one did not match these settings)")
    cuts = "; ".join(f"{what}: {args[k]} (full demo: {full[k]})" for k, what in (
        ("spread_repeats", "groups per planning question"), ("stage_prompts", "GRPO steps per curriculum stage"),
        ("eval_limit", "held-out questions")) if args[k] != full[k])
    return (f"## Quick mode (`rmlite demo --quick`)\n\nThe same sections as the full demo. The warm start is {warm}. "
            f"Cut to save time: {cuts or 'nothing else (these arguments were already at or below the caps)'}; so the "
            f"standard errors below are wider than the full demo's.\n")
