"""The notebooks' pictures and reward helpers (01, 02, 06): sample cards, the gallery and a real map's detail, reward
tables for one answer, lab runs over presets and variants (`probe_summary`: the hack-probe and error-ladder tables),
and the lab on logged training runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rmlite.data.cards import gallery as cards_gallery
from rmlite.data.cards import sample_card
from rmlite.data.store import load_maps, load_questions, map_row
from rmlite.lab.measure import lab_logged, load_samples, read_completions
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.lab.probes import probe_answers
from rmlite.lab.report import format_table, plot_signal_density
from rmlite.maps.fonts import QUICK_SIZE
from rmlite.maps.real import find_city
from rmlite.notebook.env import output_dir
from rmlite.notebook.text import fit_text
from rmlite.reward.config import PRESETS, get_config
from rmlite.reward.score import score
from rmlite.schema import COMPLETIONS_FILE, MANIFEST, Sample

CARD_WIDTH = 640  # px: the sample card the notebooks show (01's card and its browser alike)
REAL_CITIES = ("oslo", "geneva", "miami")  # the ReasonMap maps shipped in data/reasonmap
DETAIL = (1200, 700)  # px: a real map's detail at its own resolution, where its labels are readable
REASON_WIDTH = 50  # characters of a score's reason in a comparison table (the table stays within 120 columns)
ADVANTAGE_COLUMNS = ("reward", "error_rate", "type", "adv_correct_group", "adv_correct_batch", "adv_correct_none")


def card(data_dir: str | Path, index: int = 0, split: str = "train", **kw: Any):
    """The sample card (map, gold route, question, answer) of question `index` of a split."""
    q = load_questions(data_dir, split)
    sample = q[index % len(q)]
    return sample_card(sample, map_row(load_maps(data_dir), sample["map_id"]), width=CARD_WIDTH, **kw)


def gallery(size: int = QUICK_SIZE):
    """01's gallery: easy, middle and hard synthetic maps at `size` beside all three real ReasonMap maps (six
    panels, none empty, whatever real maps the data knobs chose), saved as `gallery.png` in the output folder."""
    return cards_gallery(output_dir() / "gallery.png", size=size, real_maps=REAL_CITIES)


def real_map_detail(city: str = "geneva", size: tuple[int, int] = DETAIL):
    """The middle of a real map at its own resolution: a 3282 px wide map shrunk into a gallery panel cannot be
    read, its detail can.

    >>> real_map_detail("geneva").size
    (1200, 700)
    """
    from PIL import Image

    image_path = find_city(city)[1]
    if image_path is None:
        raise FileNotFoundError(f"no map image for {city!r}")
    im = Image.open(image_path).convert("RGB")
    w, h = min(size[0], im.width), min(size[1], im.height)
    left, top = (im.width - w) // 2, (im.height - h) // 2
    return im.crop((left, top, left + w, top + h))


# ----- reward --------------------------------------------------------------------------------------------------------
def reward_rows(completion: str, sample: Sample) -> list[dict]:
    """The breakdown of one answer under each preset (paper, official, sparse, robust), one row per preset."""
    rows = []
    for name in PRESETS:
        b = score(completion, sample, name)
        rows.append({"preset": name, "total": round(b.total, 3), **{c: round(v, 3) for c, v in b.components().items()},
                     "weight": b.weight, "parsed": b.parsed, "reason": b.reason})
    return rows


def answer_choices(sample: Sample) -> dict[str, str]:
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


def reward_table(completion: str, sample: Sample) -> str:
    return format_table(reward_rows(completion, sample))


def reward_comparison(answers: dict[str, str], sample: Sample) -> str:
    """Several answers to one question, each under every preset, as one table (an `answer` column first)."""
    rows = [{**row, "answer": label, "reason": _cut(row["reason"], REASON_WIDTH)}
            for label, text in answers.items() for row in reward_rows(text, sample)]
    return format_table(rows, ("answer", "preset", "total", "format", "correctness", "detail", "reason"))


def _cut(text: str, width: int) -> str:
    """`text` cut to `width` characters, "..." marking the cut.

    >>> _cut("section 1: stop not on the line", 20)
    'section 1: stop n...'
    """
    return text if len(text) <= width else text[: width - 3] + "..."


def advantage_table(lab_result, qtype: str = "planning") -> str:
    """The advantage a correct answer gets under TRL's three scalings, for `qtype` (every reward and error rate);
    the table for every type goes to `lab/advantages.txt`, named on the last line."""
    path = output_dir("lab") / "advantages.txt"
    path.write_text(lab_result.table(ADVANTAGE_COLUMNS, difficulty="all") + "\n", encoding="utf-8")
    shown = fit_text(lab_result.table(ADVANTAGE_COLUMNS, difficulty="all", type=qtype),
                     output_dir("lab") / f"advantages_{qtype}.txt")
    return f"{shown}\n(every question type: {path})"


def signal_density_plot(lab_result, path: str | Path):
    """The reward lab's signal-density plot as an image to display."""
    from PIL import Image

    return Image.open(plot_signal_density(lab_result.rows, path))


# ----- reward lab ----------------------------------------------------------------------------------------------------
def lab_rewards(presets: tuple[str, ...], variants: dict[str, dict] | None = None) -> list:
    """The rewards the lab compares: preset names, plus named variants `{name: {"base": preset, field: value}}`
    built with `rmlite.reward.config.get_config` (e.g. `{"paper_alpha1": {"base": "paper", "alpha": 1.0}}`); a
    field is one of `RewardConfig` or a knob of the preset's rules (`{"base": "paper", "transfer_penalty": 8.0}`)."""
    out: list = list(presets)
    for name, spec in (variants or {}).items():
        spec = dict(spec)
        base = spec.pop("base", "paper")
        out.append(get_config(base, name=name, **spec))
    return out


def logged_tables(logged: dict) -> str:
    """06's view of `logged_lab`: one table, a row per run and reward over all question types (within 120 columns
    and 40 lines); the rows per type go to `lab/logged_by_type.txt`, named on the last line."""
    columns = ("reward", "type", "groups", "accuracy", "reward_mean", "frac_reward_zero_std")
    if not logged:
        return "runs with logged completions: none yet (train in 03/04 first)"
    rows = [{"run": run, **r} for run, lab in logged.items() for r in lab.rows if r.get("difficulty") == "all"]
    path = output_dir("lab") / "logged_by_type.txt"
    path.write_text(format_table(rows, ("run", *columns)) + "\n", encoding="utf-8")
    overall = fit_text(format_table([r for r in rows if r["type"] == "all"], ("run", *columns)),
                      output_dir("lab") / "logged_all.txt")
    return f"{overall}\n(per question type: {path})\nruns with logged completions: {list(logged)}"


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
