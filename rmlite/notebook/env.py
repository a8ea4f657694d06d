"""Helpers for the Colab notebooks in `notebooks/`: smoke mode, knobs, the shared output folder, widgets, live curves.

The notebooks only call these and the rest of rmlite. ipywidgets, IPython and matplotlib are imported inside the
functions, so `import rmlite.notebook` stays light; every widget builds without a display (tests construct them).
Not here: anything a user needs outside a notebook (that lives in the other modules).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rmlite import __version__
from rmlite.data.build import DatasetConfig, generate_dataset, mini_dataset
from rmlite.maps.fonts import QUICK_SIZE
from rmlite.models import gpu as gpu_checks
from rmlite.models.gpu import gpu_preset
from rmlite.notebook.knobs import KnobError
from rmlite.notebook.knobs import check as check_knobs
from rmlite.schema import MANIFEST

REPO = "https://github.com/rmlite/rmlite"  # the one place the repository address is set (badges, install cell)
BRANCH = "main"
NOTEBOOKS = ("00_setup.ipynb", "01_maps_and_questions.ipynb", "02_reward_playground.ipynb",
             "03_stage1_perception_grpo.ipynb", "04_stage2_route_planning_grpo.ipynb", "05_evaluate.ipynb",
             "06_reward_lab.ipynb")
CPU_TRACK = ("00_setup.ipynb", "01_maps_and_questions.ipynb", "02_reward_playground.ipynb", "06_reward_lab.ipynb")
CPU_TRACK_NUMBERS = ", ".join(n[:2] for n in CPU_TRACK)  # "00, 01, 02, 06", as messages and the install cell say it
SMOKE_ENV = "RMLITE_SMOKE"  # "1": tiny CPU model, a handful of steps, tiny data (what CI runs)
OUT_ENV = "RMLITE_NB_OUT"  # the folder the notebooks share (data, models, adapters, reports)
DRIVE_DIR = "/content/drive/MyDrive/rmlite"  # on Colab: survives a disconnect
SMOKE_SUFFIX = "-smoke"  # smoke runs write to <output folder>-smoke, never into the real runs' folder
WIDGETS_ENV = "RMLITE_WIDGETS"  # "static" or "live": overrides how the browsers decide (rmlite.notebook.widgets)


def colab_url(notebook: str) -> str:
    """The Colab address of a notebook in REPO.

    >>> colab_url("00_setup.ipynb")
    'https://colab.research.google.com/github/rmlite/rmlite/blob/main/notebooks/00_setup.ipynb'
    """
    return f"https://colab.research.google.com/github/{REPO.removeprefix('https://github.com/')}/blob/{BRANCH}/" \
           f"notebooks/{notebook}"


def badge(notebook: str) -> str:
    """The Markdown Colab badge for a notebook (the notebooks and the README carry exactly this text)."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def is_smoke() -> bool:
    return os.environ.get(SMOKE_ENV, "") == "1"


def on_colab() -> bool:
    return "google.colab" in sys.modules


def live_frontend() -> tuple[bool, str]:
    """(can a widget be drawn here, why). In order: $RMLITE_WIDGETS = "static" or "live" decides; without ipywidgets,
    or outside a Jupyter kernel (plain Python, terminal IPython), no; in a kernel, yes on Colab, under a Jupyter
    server (it sets JPY_SESSION_NAME in the kernel's environment: JupyterLab, Notebook 7) and in VS Code (its kernels
    define `__vsc_ipynb_file__`); any other kernel was started by a runner with no frontend (nbconvert --execute,
    jupyter execute, papermill, nbmake): no."""
    forced = os.environ.get(WIDGETS_ENV, "").strip().lower()
    if forced in ("static", "live"):
        return forced == "live", f"{WIDGETS_ENV}={forced}"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False, "ipywidgets is not installed"
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is None or not hasattr(shell, "kernel"):
        return False, "not in a Jupyter kernel"
    if on_colab():
        return True, "Colab"
    if os.environ.get("JPY_SESSION_NAME"):
        return True, "a Jupyter server session"
    if "__vsc_ipynb_file__" in getattr(shell, "user_ns", {}):  # VS Code's notebook kernels define it
        return True, "VS Code"
    return False, "a kernel with no frontend (nbconvert, jupyter execute, papermill)"


def progress_bars() -> bool:
    """True where a progress bar (a tqdm widget) is drawn as it moves; elsewhere (nbconvert, `jupyter execute`) the
    saved notebook would show every bar frozen at 0 %, so the notebooks print a line when a step ends instead."""
    return live_frontend()[0]


def quiet_bars() -> None:
    """Without a frontend, turn off the bars transformers and huggingface_hub draw while loading or saving a model
    (they would stay at 0 % in the saved notebook); the notebooks' own steps print a summary line each."""
    if progress_bars():
        return
    from huggingface_hub.utils import disable_progress_bars  # deferred: heavy, only for the model notebooks
    from transformers.utils import logging as hf_logging  # deferred: transformers (unsloth must come first)

    disable_progress_bars()
    hf_logging.disable_progress_bar()


def knobs(smoke: dict | None = None, **full: Any) -> SimpleNamespace:
    """The knobs of a notebook: `full` values, with `smoke` overrides applied when RMLITE_SMOKE=1. Every name and
    value is checked against the schema (`rmlite.notebook.knobs`): a misspelt knob stops the cell in one line.

    >>> sorted(vars(knobs(steps=200, smoke=dict(steps=4))))
    ['smoke', 'steps']
    """
    unknown = set(smoke or {}) - set(full)
    if unknown:
        raise KnobError(f"smoke overrides for knobs that do not exist: {sorted(unknown)}")
    check_knobs(full)
    check_knobs(smoke or {})
    values = {**full, **((smoke or {}) if is_smoke() else {}), "smoke": is_smoke()}
    return SimpleNamespace(**values)


def output_dir(sub: str = "") -> Path:
    """The folder the notebooks share: $RMLITE_NB_OUT, else Google Drive on Colab, else `runs/notebooks`. In smoke
    mode the same path with `SMOKE_SUFFIX` (`runs/notebooks-smoke`): smoke runs never mix with real ones (06 lists
    only real runs, 05 finds only real adapters, a real 03 never resumes from a smoke checkpoint)."""
    root = _root()
    if is_smoke():
        root = root.with_name(root.name + SMOKE_SUFFIX)
    path = root / sub if sub else root
    path.mkdir(parents=True, exist_ok=True)
    return path


def _root() -> Path:
    env = os.environ.get(OUT_ENV)
    if env:
        return Path(env)
    if on_colab():
        try:
            mounted = Path(DRIVE_DIR).parent.is_dir()
        except OSError:  # a dropped FUSE mount ("Transport endpoint is not connected")
            mounted = False
        if not mounted:  # mount once (every helper calls this)
            from google.colab import drive  # noqa: PLC0415  (only exists on Colab)

            drive.mount(str(Path(DRIVE_DIR).parent.parent), force_remount=True)
        return Path(DRIVE_DIR)
    return Path(__file__).resolve().parents[2] / "runs" / "notebooks"


# Modules a Colab kernel may have imported before the install cell, with their distributions: if pip replaced one,
# the running kernel still holds the old code and only a restart picks up the new one.
WATCHED = {"numpy": "numpy", "PIL": "pillow", "pyarrow": "pyarrow", "pandas": "pandas", "torch": "torch",
           "transformers": "transformers", "datasets": "datasets", "huggingface_hub": "huggingface_hub",
           "tokenizers": "tokenizers", "accelerate": "accelerate", "peft": "peft", "trl": "trl",
           "matplotlib": "matplotlib", "networkx": "networkx", "fsspec": "fsspec", "ipywidgets": "ipywidgets",
           "torchvision": "torchvision", "triton": "triton", "google.protobuf": "protobuf"}


def stale_modules() -> list[str]:
    """`module loaded-version -> installed-version` for each watched module whose code in this kernel is older (or
    newer) than what pip just installed; empty when no restart is needed."""
    from importlib import metadata

    stale = []
    for mod, dist in WATCHED.items():
        loaded = getattr(sys.modules.get(mod), "__version__", None)
        if loaded is None:
            continue
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        if str(loaded).split("+")[0] != installed.split("+")[0]:
            stale.append(f"{mod} {loaded} -> {installed}")
    return stale


CORE_DISTS = ("numpy", "pillow", "networkx", "datasets", "tqdm", "matplotlib")
GPU_DISTS = ("torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "unsloth")


def missing_distributions(*, gpu: bool | None = None) -> list[str]:
    """Distributions the notebooks need that are not installed: the core set, plus the training stack when a CUDA
    GPU is present (`gpu=None`: detect). `%pip` does not raise when an install fails, so this is how we notice."""
    from importlib import metadata

    if gpu is None:
        gpu = gpu_checks.cuda_available()
    missing = []
    for dist in CORE_DISTS + (GPU_DISTS if gpu else ()):
        try:
            metadata.version(dist)
        except metadata.PackageNotFoundError:
            missing.append(dist)
    return missing


def install_report() -> str:
    """Where rmlite was imported from, what is missing, and whether the kernel must restart after the install
    (said, not guessed)."""
    import importlib

    importlib.invalidate_caches()  # see packages pip added to this running kernel
    stale = stale_modules()
    lines = [f"rmlite {__version__} imported from {Path(__file__).resolve().parents[1]}"]
    missing = missing_distributions()
    if missing:
        lines.append(f"INSTALL INCOMPLETE: {', '.join(missing)} not installed; read the pip output above, fix it, and "
                     "run the install cell again.")
    if stale:
        lines.append(f"RESTART NEEDED: pip replaced modules this kernel had loaded ({'; '.join(stale)}). "
                     "Runtime > Restart session, then run this notebook again from the top (the install is kept).")
    else:
        lines.append("no restart needed")
    return "\n".join(lines)


def preset_report(preset: dict | None = None) -> str:
    """00's view of a card's preset beside the runtime report: how a run on it batches, and what to shrink first if
    it runs out of GPU memory (a CPU has none to run out of, so it says so rather than print the OOM advice).

    >>> print(preset_report(gpu_preset("Tesla T4")))  # doctest: +NORMALIZE_WHITESPACE
    a run on Tesla T4 (preset 16gb): 8 completions per optimizer step (4 per device x 2 accumulated), fp16, 4-bit base
    weights. If it runs out of GPU memory, try first smaller images: max_pixels=254016 (504px, 324 tokens per map)
    (the full list: rmlite.models.oom_advice()).
    """
    p = preset or gpu_preset()
    per, acc = p["per_device_train_batch_size"], p["gradient_accumulation_steps"]
    precision = "bf16" if p["bf16"] else "fp16" if p["fp16"] else "fp32"
    text = (f"a run on {p['device']} (preset {p['tier']}): {per * acc} completions per optimizer step ({per} per "
            f"device x {acc} accumulated), {precision}, {'4-bit' if p['load_in_4bit'] else '16-bit'} base weights. ")
    if p["tier"] == "cpu":
        text += (f"No CUDA GPU here, so nothing can run out of GPU memory; 03-05 need a GPU runtime for a real model "
                 f"(the CPU track is {CPU_TRACK_NUMBERS}).")
    else:
        first = gpu_checks.oom_advice(p).splitlines()[1].split(". ", 1)[1].rstrip(";")
        text += f"If it runs out of GPU memory, try first {first} (the full list: rmlite.models.oom_advice())."
    return textwrap.fill(text, 118)


# ----- data ----------------------------------------------------------------------------------------------------------
# Settings a notebook's knobs may leave out (01 owns the data knobs, 03 the model knobs): (full, smoke) values.
DEFAULTS = {"n_maps": (200, 4), "image_size": (QUICK_SIZE, QUICK_SIZE),
            "real_maps": (("oslo", "geneva", "miami"), ("oslo", "geneva")),
            "seed": (0, 0), "load_in_4bit": (True, True), "lora_rank": (16, 8), "warm_steps": (300, 100)}


def setting(k: SimpleNamespace, name: str) -> Any:
    """`k.<name>`, else the default for the current mode (smoke or full)."""
    return getattr(k, name) if hasattr(k, name) else DEFAULTS[name][int(is_smoke())]


DATA_MODES = ("generate", "shipped", "auto")


def ensure_data(k: SimpleNamespace) -> Path:
    """The data set a notebook uses, by its `data` knob (default "generate"):

    - "shipped": the small pre-generated set in `data/mini` (the CPU track; nothing is generated);
    - "generate": the notebooks' own set in the output folder, generated once from the data knobs (`n_maps`,
      `image_size`, `real_maps`, `seed`). A notebook that sets those knobs (01) regenerates when they changed;
      the others (03-05) reuse whatever 01 generated, or generate 01's defaults;
    - "auto": the notebooks' set if 01 generated one, else the shipped one.
    """
    mode = getattr(k, "data", "generate")
    if mode not in DATA_MODES:
        raise ValueError(f"data must be one of {DATA_MODES}, got {mode!r}")
    if mode == "shipped":
        return mini_dataset()
    path = output_dir("data")
    manifest = path / MANIFEST
    if mode == "auto":
        return path if manifest.is_file() else mini_dataset()
    cfg = DatasetConfig(n_maps=setting(k, "n_maps"), seed=setting(k, "seed"), size=setting(k, "image_size"),
                        real_maps=tuple(setting(k, "real_maps")))
    if manifest.is_file():
        old = json.loads(manifest.read_text()).get("config", {})
        wanted = {"n_maps": cfg.n_maps, "seed": cfg.seed, "size": cfg.size, "real_maps": list(cfg.real_maps)}
        if not hasattr(k, "n_maps") or all(old.get(key) == v for key, v in wanted.items()):
            return path
        print(f"the data knobs changed ({ {key: old.get(key) for key in wanted} } -> {wanted}): regenerating")
    live = progress_bars()  # a widget bar where one is drawn; elsewhere it would stay at 0 % in the saved output
    if not live:
        print(f"generating {cfg.n_maps} synthetic maps and {len(cfg.real_maps)} real ones in {path} ...")
    generate_dataset(path, cfg, overwrite=True, progress=live)
    return path
