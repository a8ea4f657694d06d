"""The notebooks' model, training and evaluation helpers (03, 04, 05): the base model (or the tiny CPU model), loading
with a fresh or saved adapter, stage data, the stage-2 curriculum knob, live curves, evaluation sets, comparison tables
and failure cards. Reached as `nb.<name>` through `rmlite.notebook`; heavy imports stay inside the functions.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

from rmlite.curriculum import get_curriculum
from rmlite.curriculum.stages import stage_starts
from rmlite.data.cards import answer_card
from rmlite.data.store import MapImages, load_maps, load_questions, load_split, map_row, read_manifest
from rmlite.evaluate import markdown_table, pass_at_k, plot_reports
from rmlite.models import gpu
from rmlite.models.load import load_model
from rmlite.models.tiny import build_tiny_vlm
from rmlite.models.warmstart import warm_start
from rmlite.notebook.env import ensure_data, output_dir, quiet_bars, setting
from rmlite.notebook.text import wrap
from rmlite.train.settings import GRPOSettings, card_load_options, card_settings, cpu_preset


def base_model(k: SimpleNamespace) -> str:
    """The model to train: `k.model`, or (smoke mode / model None) the tiny CPU model, built and warm-started once."""
    if getattr(k, "model", None):
        return k.model

    quiet_bars()
    path = output_dir("tiny_model")
    if not (path / "warm_started.json").is_file():
        data_dir = ensure_data(k)
        rows = [dict(r) for r in load_questions(data_dir, "train")]
        images = MapImages(load_maps(data_dir))
        build_tiny_vlm(path, seed=setting(k, "seed"))
        stats = warm_start(path, None, rows, images,
                           steps=setting(k, "warm_steps"), seed=setting(k, "seed"), progress=False)
        (path / "warm_started.json").write_text(json.dumps(stats.as_dict(), default=str))
        print(wrap(stats.summary()))  # one long line: within 120 columns
    return str(path)


def run_preset(k: SimpleNamespace) -> dict:
    """The preset a notebook runs: this card's (`gpu_preset`), or the CPU preset for the tiny model."""
    return gpu.gpu_preset() if getattr(k, "model", None) else cpu_preset()


def settings(k: SimpleNamespace, run_dir: str | Path, **overrides) -> GRPOSettings:
    """The run's GRPOSettings: the card's (`card_settings`, what `rmlite train` and `rmlite doctor --fit` run), with
    `k.steps` and every knob that is not None (num_generations, max_completion_length, learning_rate) on top."""
    knobs = {name: getattr(k, name, None) for name in ("num_generations", "max_completion_length", "learning_rate")}
    given = {name: v for name, v in knobs.items() if v is not None}
    return card_settings(run_preset(k), str(run_dir), max_steps=k.steps, **given, **overrides)


def completion_length(k: SimpleNamespace) -> int:
    """`k.max_completion_length`, or the card's when None: the answers' length outside training too."""
    return getattr(k, "max_completion_length", None) or int(run_preset(k)["max_completion_length"])


def load(k: SimpleNamespace, adapter: str | Path | None = None, *, trainable: bool = True):
    """(model, processor): the base model as the card loads it (`card_load_options`: image cap, dtype) in 4-bit
    unless the load_in_4bit knob says otherwise, with a fresh LoRA (adapter None) or the saved `adapter`, really
    loaded (rmlite.models.load.load_model checks its LoRA tensors against the file)."""
    name = base_model(k)
    require_gpu_for(name)
    quiet_bars()
    options = {**card_load_options(run_preset(k)), "load_in_4bit": setting(k, "load_in_4bit")}
    return load_model(name, **options, lora_rank=setting(k, "lora_rank"),
                      adapter=adapter, trainable=trainable)  # trainable=False: no fresh LoRA (load_model's rule)


def require_gpu_for(name: str) -> None:
    """Refuse a hub model on a machine without a CUDA GPU: a 3B VLM would download ~3 GB and then take hours
    per GRPO step on a CPU. The message says how to get a GPU runtime or use the tiny model."""
    if Path(name).exists() or gpu.cuda_available():
        return
    raise RuntimeError(f"{name} needs a CUDA GPU and this runtime has none. On Colab: Runtime > Change runtime type "
                       "> T4 GPU, then run 00_setup again. To try the notebook on a CPU, set model=None in the "
                       "knobs (the tiny CPU model; it runs everything but learns little).")


STAGE2_MODES = ("adaptive", "schedule", "none")


def stage2_curriculum(k: SimpleNamespace):
    """04's curriculum from its knobs: "adaptive" (perception until mastered, then planning), "schedule" (one
    ordered pass: all perception questions, then planning) or "none" (everything mixed; with reward="sparse" this is
    the paper's RL baseline)."""
    mode = getattr(k, "curriculum", "adaptive")
    if mode not in STAGE2_MODES:
        raise ValueError(f"curriculum must be one of {STAGE2_MODES}, got {mode!r}")
    if mode == "none":
        return get_curriculum("none")
    if mode == "schedule":  # the paper's way: one ordered pass, every perception question, then planning
        return get_curriculum("coarse")
    return get_curriculum("coarse", mode="adaptive", threshold=k.threshold, window=k.window,
                          max_steps=k.max_stage_steps)


def stage_data(data_dir: str | Path, types: tuple[str, ...], n: int | None):
    """The train split with images materialised (TRL inspects columns), only `types`, at most `n` questions."""
    ds = load_split(data_dir, "train", lazy=False)
    keep = [i for i, t in enumerate(ds["type"]) if t in types]
    return ds.select(keep[:n] if n else keep)


def heldout_set(data_dir: str | Path, types: tuple[str, ...], n: int):
    """A small fixed held-out set: the first `n` test questions of `types` on synthetic (unseen) maps, with images."""
    test = load_split(data_dir, "test", lazy=False)
    keep = [i for i, (t, src) in enumerate(zip(test["type"], test["source"], strict=True))
            if t in types and not src.startswith("reasonmap")]
    return test.select(keep[:n])


def amplifiable(model, processor, held, k: SimpleNamespace) -> str:
    """Before GRPO: greedy accuracy and pass@`k.pass_k` per type on the held-out set against guessing (a Markdown
    table); one printed warning line per type where GRPO has nothing to amplify."""
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # its warning lines run past 120 columns: shown wrapped
        report = pass_at_k(model, processor, held, k=k.pass_k, max_new_tokens=completion_length(k))
    if printed.getvalue():
        print(wrap(printed.getvalue().rstrip("\n")))
    return report.table()


def heldout_eval(held, k: SimpleNamespace):
    """The held-out evaluation callback for `train(heldout=...)`: greedy, every `k.eval_every` steps (None when the
    `heldout` knob is 0)."""
    from rmlite.train.heldout import HeldOutEval  # deferred: torch / transformers (unsloth must come first)

    if not k.heldout or len(held) == 0:
        return None
    return HeldOutEval(held, every=k.eval_every, max_new_tokens=completion_length(k))


def heldout_change(cb, run_dir: str | Path | None = None) -> str:
    """"held-out accuracy changed by +0.021 ± 0.010 (n=48)", overall and per type, from the first evaluation to
    the last (paired standard errors). A re-run of a finished run trains nothing and evaluates nothing, so the
    evaluations are read back from the run's `heldout.jsonl` in `run_dir`."""
    if cb is None:
        return "no held-out evaluation (set the heldout knob)"
    if len(cb.reports) < 2 and run_dir is not None:
        cb.out = cb.out or Path(run_dir)
        cb.restore()
    if len(cb.reports) < 2:
        where = f" in {cb.out}" if cb.out else ""
        return f"fewer than two held-out evaluations recorded{where}: no change to report"
    lines = []
    for t in [None, *sorted({s["type"] for s in cb.samples})]:
        d, se, n = cb.change(t)
        lines.append(f"{t or 'all'}: held-out accuracy changed by {d:+.3f} ± {se:.3f} (n={n})")
    return "\n".join(lines)


def live_curves(run_dir: str | Path, stage_names: tuple[str, ...] = ()):
    """A TrainerCallback that redraws the training curves (rmlite.train.grpo.plot_metrics) in the notebook each log."""
    from IPython.display import Image, Markdown, display
    from transformers import TrainerCallback

    from rmlite.train.grpo import plot_metrics, read_metrics  # deferred: torch / trl (unsloth must come first)

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

        def on_train_end(self, args, state, control, **kw):
            if self.handle is not None:  # the final curves are the next cell's: do not show the same figure twice
                self.handle.update(Markdown(f"*live curves: training ended at step {state.global_step}; the final "
                                            "curves are drawn below*"))

    return LiveCurves()


def free_memory() -> None:
    """Give back the memory of models no longer referenced (set them to None first): a T4 holds one 3B model."""
    import gc

    gc.collect()
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def has_checkpoint(run_dir: str | Path) -> bool:
    """True when `run_dir` holds a checkpoint to resume from (a re-run after a disconnect continues)."""
    return any(Path(run_dir).glob("checkpoint-*"))




def stage_switches(metrics: list[dict], transitions: list = (), names: tuple[str, ...] = ()) -> str:
    """The stage switches as the curves mark them: the first logged step trained on a new stage (the run's
    `curriculum/stage` column), with the switcher's decision beside it. The switcher decides on the batch scored at
    step t; the new stage's data starts with the next generation batch, so the two steps differ.

    >>> rows = [{"step": s, "curriculum/stage": int(s >= 3)} for s in (1, 2, 3)]
    >>> stage_switches(rows, names=("perception", "planning"))
    'stage switch: perception → planning at step 3'
    """
    lines = []
    decided = {t.to_stage: t for t in transitions}
    starts = stage_starts(metrics)
    for (_, prev), (step, stage) in zip(starts, starts[1:], strict=False):
        line = f"stage switch: {_stage_name(prev, names)} → {_stage_name(stage, names)} at step {step}"
        t = decided.get(stage)
        if t is not None:
            mean = "" if t.mean is None else f", accuracy {t.mean:.2f} over the window"
            line += f" (decided at step {t.step}: {t.reason}{mean})"
        lines.append(line)
    return "\n".join(lines) or "no stage switch (the run stayed in its first stage)"


def _stage_name(k: int, names: tuple[str, ...]) -> str:
    return names[k] if k < len(names) else f"stage {k}"


def curves(run_dir: str | Path, stage_names: tuple[str, ...] = ()):
    """The final training curves of a run, with stage boundaries, as an image."""
    from PIL import Image

    from rmlite.train.grpo import plot_metrics, read_metrics  # deferred: torch / trl (unsloth must come first)

    return Image.open(plot_metrics(read_metrics(run_dir), Path(run_dir) / "metrics.png", stage_names))


# ----- evaluation ----------------------------------------------------------------------------------------------------
def eval_sets(data_dir: str | Path, limit: int) -> dict:
    """{"held-out synthetic": …, "real maps": …}: the test split by source, at most `limit` questions each."""
    test = load_split(data_dir, "test")
    src = test["source"]
    sets = {"held-out synthetic": [i for i, s in enumerate(src) if not s.startswith("reasonmap")],
            "real maps": [i for i, s in enumerate(src) if s.startswith("reasonmap")]}
    return {name: test.select(ix[:limit]) for name, ix in sets.items() if ix}


def data_summary(data_dir: str | Path) -> str:
    """One line about a data set from its manifest: maps, questions per split, image size.

    >>> from rmlite.data.build import MINI_DIR
    >>> data_summary(MINI_DIR)  # doctest: +ELLIPSIS
    '.../data/mini: 24 synthetic maps + real oslo, geneva, miami at 512 px; train ... questions on ... maps; test ...'
    """
    m = read_manifest(data_dir)
    cfg = m.get("config", {})
    real = f" + real {', '.join(cfg['real_maps'])}" if cfg.get("real_maps") else ""
    splits = "; ".join(f"{name} {c['questions']} questions on {c['maps']} maps" for name, c in m["counts"].items())
    return f"{data_dir}: {cfg.get('n_maps', '?')} synthetic maps{real} at {cfg.get('size', '?')} px; {splits}"


def _reports_for(reports: dict, set_name: str) -> list:
    """Every model's report on one set (its image-masked run too), then chance and majority once."""
    rows, seen = [], set()
    for (_, s), by_name in reports.items():
        for name, rep in by_name.items():
            if s == set_name and name not in seen:
                seen.add(name)
                rows.append(rep)
    return rows


def comparison_plot(reports: dict, set_name: str):
    """Base vs every adapter vs the baselines on one evaluation set (`rmlite.evaluate.plot_reports`), as an image."""
    from PIL import Image

    path = output_dir("eval") / f"accuracy_{set_name.replace(' ', '_')}.png"
    return Image.open(plot_reports(_reports_for(reports, set_name), path, title=f"{set_name}: accuracy per type"))


def comparison(reports: dict, set_name: str) -> str:
    """One Markdown table per evaluation set: every model (and its image-masked run), chance and majority once."""
    return markdown_table(_reports_for(reports, set_name))


def adapters(run_names: tuple[str, ...]) -> dict[str, Path]:
    """{run name: adapter folder} for the runs of 03/04 that saved one."""
    found = {name: output_dir() / name / "adapter" for name in run_names}
    return {name: p for name, p in found.items() if (p / "adapter_config.json").is_file()}


def failures(report, dataset, data_dir: str | Path, n: int = 3) -> list:
    """Sample cards of the first `n` wrong answers, each with the model's answer and its reward breakdown."""
    row_of = {sid: i for i, sid in enumerate(dataset["id"])}  # the id column only: no image decoded per row
    maps = load_maps(data_dir)
    cards = []
    for rec in [r for r in report.records if not r.get("correct")][:n]:
        sample = dataset[row_of[rec["id"]]]
        cards.append(answer_card(sample, map_row(maps, sample["map_id"]), rec, width=512))
    return cards
