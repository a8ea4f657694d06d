"""Helpers for the Colab notebooks in `notebooks/`: smoke mode, knobs, the shared output folder, widgets, live curves.

The notebooks only call these and the rest of rmlite. ipywidgets, IPython and matplotlib are imported inside the
functions, so `import rmlite.notebook` stays light; every widget builds without a display (tests construct them).
Not here: anything a user needs outside a notebook (that lives in the other modules).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

REPO = "https://github.com/rmlite/rmlite"  # the one place the repository address is set (badges, install cell)
BRANCH = "main"
NOTEBOOKS = ("00_setup.ipynb", "01_maps_and_questions.ipynb", "02_reward_playground.ipynb",
             "03_stage1_perception_grpo.ipynb", "04_stage2_route_planning_grpo.ipynb", "05_evaluate.ipynb")
SMOKE_ENV = "RMLITE_SMOKE"  # "1": tiny CPU model, a handful of steps, tiny data (what CI runs)
OUT_ENV = "RMLITE_NB_OUT"  # the folder the notebooks share (data, models, adapters, reports)
DRIVE_DIR = "/content/drive/MyDrive/rmlite"  # on Colab: survives a disconnect


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


def knobs(smoke: dict | None = None, **full: Any) -> SimpleNamespace:
    """The knobs of a notebook: `full` values, with `smoke` overrides applied when RMLITE_SMOKE=1.

    >>> sorted(vars(knobs(steps=200, smoke=dict(steps=4))))
    ['smoke', 'steps']
    """
    unknown = set(smoke or {}) - set(full)
    if unknown:
        raise ValueError(f"smoke overrides for knobs that do not exist: {sorted(unknown)}")
    values = {**full, **((smoke or {}) if is_smoke() else {}), "smoke": is_smoke()}
    return SimpleNamespace(**values)


def output_dir(sub: str = "") -> Path:
    """The folder the notebooks share: $RMLITE_NB_OUT, else Google Drive on Colab, else `runs/notebooks`."""
    env = os.environ.get(OUT_ENV)
    if env:
        root = Path(env)
    elif on_colab():
        from google.colab import drive  # noqa: PLC0415  (only exists on Colab)

        drive.mount("/content/drive")
        root = Path(DRIVE_DIR)
    else:
        root = Path(__file__).resolve().parent.parent / "runs" / "notebooks"
    path = root / sub if sub else root
    path.mkdir(parents=True, exist_ok=True)
    return path


def backend_report() -> str:
    """One paragraph: the GPU (or none), its memory, the backend `load_model` will use and the preset."""
    from rmlite.models import choose_backend, env_summary, gpu_preset

    env = env_summary()
    p = gpu_preset()
    try:
        backend = choose_backend("auto")
    except Exception as exc:  # noqa: BLE001 — report, do not fail the setup notebook
        backend = f"none ({exc})"
    gpu = f"{p['device']} ({p['total_mem_gb']} GB)" if p["tier"] != "cpu" else "no CUDA GPU"
    model = p["model"] or "the tiny CPU model (built locally)"
    return (f"GPU: {gpu}; backend: {backend}; preset tier {p['tier']}: {model}, {p['image_size']} px maps, "
            f"{p['num_generations']} generations, bf16={p['bf16']} fp16={p['fp16']}.\n"
            f"versions: {json.dumps({k: v for k, v in env.items() if k != 'cpu_count'})}")


# ----- data ----------------------------------------------------------------------------------------------------------
# Settings a notebook's knobs may leave out (01 owns the data knobs, 03 the model knobs): (full, smoke) values.
DEFAULTS = {"n_maps": (200, 4), "image_size": (512, 512),
            "real_maps": (("oslo", "geneva", "miami"), ("oslo", "geneva")),
            "seed": (0, 0), "load_in_4bit": (True, True), "lora_rank": (16, 8), "warm_steps": (300, 100)}


def setting(k: SimpleNamespace, name: str) -> Any:
    """`k.<name>`, else the default for the current mode (smoke or full)."""
    return getattr(k, name) if hasattr(k, name) else DEFAULTS[name][int(is_smoke())]


def ensure_data(k: SimpleNamespace) -> Path:
    """Generate the notebooks' data set once into the output folder (re-running reuses it); returns its path."""
    from rmlite.data import DatasetConfig, generate_dataset

    path = output_dir("data")
    if not (path / "manifest.json").is_file():
        cfg = DatasetConfig(n_maps=setting(k, "n_maps"), seed=setting(k, "seed"), size=setting(k, "image_size"),
                            real_maps=tuple(setting(k, "real_maps")))
        generate_dataset(path, cfg, overwrite=True)
    return path


def card(data_dir: str | Path, index: int = 0, split: str = "train", **kw: Any):
    """The sample card (map, gold route, question, answer) of question `index` of a split."""
    from rmlite.data import load_maps, load_questions
    from rmlite.preview import sample_card

    q = load_questions(data_dir, split)
    maps = load_maps(data_dir)
    sample = q[index % len(q)]
    return sample_card(sample, maps[maps["map_id"].index(sample["map_id"])], width=640, **kw)


def map_browser(data_dir: str | Path, split: str = "train"):
    """Page through questions by type and map difficulty; shows the sample card. Returns the widget box."""
    import io

    import ipywidgets as w

    from rmlite.data import load_questions

    q = load_questions(data_dir, split)
    types = ["all", *sorted(set(q["type"]))]
    diffs = ["all", *sorted(set(q["difficulty_city"]))]
    typ, diff = w.Dropdown(options=types, description="type"), w.Dropdown(options=diffs, description="map")
    idx, note = w.IntSlider(min=0, max=0, description="#"), w.Label()
    image = w.Image(format="png", layout=w.Layout(max_width="640px"))

    def picks() -> list[int]:
        return [i for i, (t, d) in enumerate(zip(q["type"], q["difficulty_city"], strict=True))
                if typ.value in ("all", t) and diff.value in ("all", d)]

    def show(_=None) -> None:  # an Image widget, not an Output: headless runners (nbclient) hang on Output capture
        rows = picks()
        idx.max = max(0, len(rows) - 1)
        note.value = f"{len(rows)} questions match" if rows else "no question matches"
        if rows:
            buf = io.BytesIO()
            card(data_dir, rows[min(idx.value, idx.max)], split).save(buf, format="png")
            image.value = buf.getvalue()

    for c in (typ, diff, idx):
        c.observe(show, names="value")
    show()
    return w.VBox([w.HBox([typ, diff, idx]), note, image])


# ----- reward --------------------------------------------------------------------------------------------------------
PRESET_NAMES = ("paper", "official", "sparse")


def reward_rows(completion: str, sample: dict) -> list[dict]:
    """The breakdown of one answer under each preset, one row per preset."""
    from rmlite.reward import score

    rows = []
    for name in PRESET_NAMES:
        b = score(completion, sample, name)
        rows.append({"preset": name, "total": round(b.total, 3), **{c: round(v, 3) for c, v in b.components().items()},
                     "weight": b.weight, "parsed": b.parsed, "reason": b.reason})
    return rows


def reward_table(completion: str, sample: dict) -> str:
    from rmlite.lab import format_table

    return format_table(reward_rows(completion, sample))


def reward_widget(samples: list[dict]):
    """Pick a question, type an answer, see its reward under `paper`, `official` and `sparse` side by side."""
    import ipywidgets as w

    labels = [(f"{s['type']} · {s['difficulty_city']} · {s['id']}", i) for i, s in enumerate(samples)]
    pick = w.Dropdown(options=labels, description="question", layout=w.Layout(width="90%"))
    text = w.Textarea(value=samples[0]["answer"], description="answer", layout=w.Layout(width="90%", height="80px"))
    question, table = w.HTML(), w.HTML()

    def show(_=None) -> None:
        s = samples[pick.value]
        question.value = f"<pre style='white-space:pre-wrap'>{s['question']}\n\ngold: {s['answer']}</pre>"
        table.value = f"<pre>{reward_table(text.value, s)}</pre>"

    def new_question(_=None) -> None:
        text.value = samples[pick.value]["answer"]
        show()

    pick.observe(new_question, names="value")
    text.observe(show, names="value")
    show()
    return w.VBox([pick, question, text, table])


def signal_density_plot(lab_result, path: str | Path):
    """The reward lab's signal-density plot as an image to display."""
    from PIL import Image

    from rmlite.lab import plot_signal_density

    return Image.open(plot_signal_density(lab_result.rows, path))


# ----- models and training -------------------------------------------------------------------------------------------
def base_model(k: SimpleNamespace) -> str:
    """The model to train: `k.model`, or (smoke mode / model None) the tiny CPU model, built and warm-started once."""
    if getattr(k, "model", None):
        return k.model
    from rmlite.data import MapImages, load_maps, load_questions
    from rmlite.tinyvlm import build_tiny_vlm, warm_start

    path = output_dir("tiny_model")
    if not (path / "warm_started.json").is_file():
        data_dir = ensure_data(k)
        rows = [dict(r) for r in load_questions(data_dir, "train")]
        images = MapImages(load_maps(data_dir))
        build_tiny_vlm(path, seed=setting(k, "seed"))
        stats = warm_start(path, None, rows, images,
                           steps=setting(k, "warm_steps"), seed=setting(k, "seed"), progress=False)
        (path / "warm_started.json").write_text(json.dumps(stats.as_dict(), default=str))
        print(stats.summary())
    return str(path)


def load(k: SimpleNamespace, adapter: str | Path | None = None, trainable: bool = True):
    """(model, processor): the base model in 4-bit, with a fresh LoRA (adapter None) or the saved `adapter`.

    A saved adapter is really loaded: its LoRA tensors are checked against the file, and an all-zero LoRA B
    (a fresh, untrained adapter) raises.
    """
    from rmlite.models import load_model

    name = base_model(k)
    if adapter is None:
        return load_model(name, load_in_4bit=setting(k, "load_in_4bit"), lora_rank=setting(k, "lora_rank"))
    from peft import PeftModel

    model, processor = load_model(name, load_in_4bit=setting(k, "load_in_4bit"), lora_rank=0)
    model = PeftModel.from_pretrained(model, str(adapter), is_trainable=trainable)
    print(check_adapter(model, adapter))
    return model, processor


def check_adapter(model, adapter: str | Path) -> str:
    """Compare the model's LoRA weights with the saved adapter file; raise if they differ or are untrained."""
    from safetensors.torch import load_file

    saved = load_file(str(Path(adapter) / "adapter_model.safetensors"))
    params = {n.replace(".default", ""): p for n, p in model.named_parameters() if "lora_" in n}
    matched, trained = 0, 0
    for key, tensor in saved.items():
        hits = [p for n, p in params.items() if n.endswith(key.removeprefix("base_model.model."))]
        if len(hits) != 1:
            raise RuntimeError(f"adapter tensor {key} not found once in the model")
        if not hits[0].detach().float().cpu().allclose(tensor.float(), atol=1e-6):
            raise RuntimeError(f"adapter tensor {key} differs from {adapter}")
        matched += 1
        trained += int("lora_B" in key and bool(tensor.abs().sum() > 0))
    if trained == 0:
        raise RuntimeError(f"{adapter} holds an untrained adapter (every LoRA B is zero)")
    return f"adapter loaded from {adapter}: {matched} LoRA tensors match the file, {trained} trained LoRA B"


def stage_data(data_dir: str | Path, types: tuple[str, ...], n: int | None):
    """The train split with images materialised (TRL inspects columns), only `types`, at most `n` questions."""
    from rmlite.data import load_split

    ds = load_split(data_dir, "train", lazy=False)
    keep = [i for i, t in enumerate(ds["type"]) if t in types]
    return ds.select(keep[:n] if n else keep)


def live_curves(run_dir: str | Path, stage_names: tuple[str, ...] = ()):
    """A TrainerCallback that redraws the training curves (rmlite.train.plot_metrics) in the notebook each log."""
    from IPython.display import Image, display
    from transformers import TrainerCallback

    from rmlite.train import plot_metrics, read_metrics

    class LiveCurves(TrainerCallback):
        handle = None

        def on_log(self, args, state, control, logs=None, **kw):
            rows = read_metrics(run_dir)
            if not rows:
                return
            img = Image(filename=str(plot_metrics(rows, Path(run_dir) / "live.png", stage_names)))
            if self.handle is None:
                self.handle = display(img, display_id=True)
            else:
                self.handle.update(img)

    return LiveCurves()


def has_checkpoint(run_dir: str | Path) -> bool:
    """True when `run_dir` holds a checkpoint to resume from (a re-run after a disconnect continues)."""
    return any(Path(run_dir).glob("checkpoint-*"))


def curves(run_dir: str | Path, stage_names: tuple[str, ...] = ()):
    """The final training curves of a run, with stage boundaries, as an image."""
    from PIL import Image

    from rmlite.train import plot_metrics, read_metrics

    return Image.open(plot_metrics(read_metrics(run_dir), Path(run_dir) / "metrics.png", stage_names))


# ----- evaluation ----------------------------------------------------------------------------------------------------
def eval_sets(data_dir: str | Path, limit: int) -> dict:
    """{"held-out synthetic": …, "real maps": …}: the test split by source, at most `limit` questions each."""
    from rmlite.data import load_split

    test = load_split(data_dir, "test")
    src = test["source"]
    sets = {"held-out synthetic": [i for i, s in enumerate(src) if not s.startswith("reasonmap")],
            "real maps": [i for i, s in enumerate(src) if s.startswith("reasonmap")]}
    return {name: test.select(ix[:limit]) for name, ix in sets.items() if ix}


def comparison(reports: dict, set_name: str) -> str:
    """One Markdown table per evaluation set: every model (and its image-masked run), chance and majority once."""
    from rmlite.evaluate import markdown_table

    rows, seen = [], set()
    for (_, s), by_name in reports.items():
        for name, rep in by_name.items():
            if s == set_name and name not in seen:
                seen.add(name)
                rows.append(rep)
    return markdown_table(rows)


def adapters(run_names: tuple[str, ...]) -> dict[str, Path]:
    """{run name: adapter folder} for the runs of 03/04 that saved one."""
    found = {name: output_dir(name) / "adapter" for name in run_names}
    return {name: p for name, p in found.items() if (p / "adapter_config.json").is_file()}


def failures(report, dataset, n: int = 3) -> list:
    """Sample cards of the first `n` wrong answers, each with the model's answer and its reward breakdown."""
    from rmlite.data import load_maps
    from rmlite.preview import sample_card

    ids = {dataset[i]["id"]: i for i in range(len(dataset))}
    bad = [r for r in report.records if not r.get("correct")][:n]
    cards = []
    for rec in bad:
        sample = {k: v for k, v in dataset[ids[rec["id"]]].items() if k != "image"}
        cards.append((sample, rec))
    maps = load_maps(output_dir("data"))
    return [sample_card(s, maps[maps["map_id"].index(s["map_id"])], width=512, completion=r["answer"] or "(empty)",
                        breakdown=f"paper reward {r['reward']:.2f}: {r['reason']}") for s, r in cards]


def ask_widget(model, processor, max_new_tokens: int = 256):
    """Upload a map image, type a question, get the model's answer (rmlite.generation.ask)."""
    import io

    import ipywidgets as w
    from PIL import Image

    from rmlite.generation import ask

    upload = w.FileUpload(accept="image/*", multiple=False, description="map image")
    question = w.Text(value="How many stations are on Line 1?", description="question",
                      layout=w.Layout(width="90%"))
    button, out = w.Button(description="ask"), w.Output()

    def run(_=None) -> None:
        out.clear_output()
        with out:
            if not upload.value:
                print("upload a map image first")
                return
            item = upload.value[0] if isinstance(upload.value, (tuple, list)) else next(iter(upload.value.values()))
            image = Image.open(io.BytesIO(bytes(item["content"]))).convert("RGB")
            print(ask(model, processor, image, question.value, max_new_tokens=max_new_tokens))

    button.on_click(run)
    return w.VBox([upload, question, button, out])
