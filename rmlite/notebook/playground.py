"""The notebooks' reward playground and lab helpers (02, 06): reward tables for one answer, sample cards, lab runs
over presets and variants (`probe_summary`: the hack-probe and error-ladder tables), and the lab on logged
training runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlite.data.cards import sample_card
from rmlite.data.store import load_maps, load_questions, map_row
from rmlite.lab.measure import lab_logged, load_samples, read_completions
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.lab.probes import probe_answers
from rmlite.lab.report import format_table, plot_signal_density
from rmlite.notebook.env import output_dir
from rmlite.reward.config import PRESETS, get_config
from rmlite.reward.score import score
from rmlite.schema import COMPLETIONS_FILE, MANIFEST

CARD_WIDTH = 640  # px: the sample card the notebooks show (01's card and its browser alike)


def card(data_dir: str | Path, index: int = 0, split: str = "train", **kw: Any):
    """The sample card (map, gold route, question, answer) of question `index` of a split."""
    q = load_questions(data_dir, split)
    sample = q[index % len(q)]
    return sample_card(sample, map_row(load_maps(data_dir), sample["map_id"]), width=CARD_WIDTH, **kw)


# ----- reward --------------------------------------------------------------------------------------------------------
def reward_rows(completion: str, sample: dict) -> list[dict]:
    """The breakdown of one answer under each preset (paper, official, sparse, robust), one row per preset."""
    rows = []
    for name in PRESETS:
        b = score(completion, sample, name)
        rows.append({"preset": name, "total": round(b.total, 3), **{c: round(v, 3) for c, v in b.components().items()},
                     "weight": b.weight, "parsed": b.parsed, "reason": b.reason})
    return rows


def answer_choices(sample: dict) -> dict[str, str]:
    """Answers to pick in the reward playground: the reference, one per error a model makes that applies to this
    question (`rmlite.lab.mistakes`: a wrong line, a neighbouring stop, a missed transfer, …) and the lab's hack
    probes."""
    out = {"reference": apply_errors(sample, [])}
    candidates = [(f"error: {n}", apply_errors(sample, [n], seed=0)) for n in OPERATORS]
    candidates += [(f"hack: {n}", t) for n, t in probe_answers(sample).items() if n != "reference"]
    for label, text in candidates:
        if text is not None and text not in out.values():  # one entry per distinct answer (a widget needs that)
            out[label] = text
    return out


def reward_table(completion: str, sample: dict) -> str:
    return format_table(reward_rows(completion, sample))


def signal_density_plot(lab_result, path: str | Path):
    """The reward lab's signal-density plot as an image to display."""
    from PIL import Image

    return Image.open(plot_signal_density(lab_result.rows, path))


# ----- reward lab ----------------------------------------------------------------------------------------------------
def lab_rewards(presets: tuple[str, ...], variants: dict[str, dict] | None = None) -> list:
    """The rewards the lab compares: preset names, plus named variants `{name: {"base": preset, field: value}}`
    built with `rmlite.reward.config.get_config` (e.g. `{"paper_alpha1": {"base": "paper", "alpha": 1.0}}`)."""
    out: list = list(presets)
    for name, spec in (variants or {}).items():
        spec = dict(spec)
        base = spec.pop("base", "paper")
        out.append(get_config(base, name=name, **spec))
    return out


def logged_lab(run_names: tuple[str, ...], rewards: list) -> dict:
    """{run name: LabResult} on the completions each training run of 03/04 logged (runs without any are skipped),
    joined with the notebooks' data set the runs trained on."""
    data = output_dir("data")
    if not (data / MANIFEST).is_file():
        return {}
    samples = {s["id"]: s for s in load_samples(data)}
    out = {}
    for name in run_names:
        path = output_dir() / name / COMPLETIONS_FILE
        if path.is_file() and path.stat().st_size > 0:
            try:
                out[name] = lab_logged(read_completions(path), samples, rewards)
            except ValueError as e:  # e.g. 01 regenerated the data set after the run: its ids are gone
                print(f"{name}: skipped ({e})")
    return out
