"""`generate`, `show`, `audit` and `export`: the data commands. Each checks its inputs before its work
(`rmlite.cli.checks`) and writes only where it is told or under `runs/`, never into a data set folder."""

from __future__ import annotations

import argparse
import json
import textwrap
from functools import partial
from pathlib import Path

from rmlite.cli import checks, outputs
from rmlite.cli.args import UserError, field_default
from rmlite.cli.parser import AUDIT_DIR, SHOW_DIR
from rmlite.curriculum import get_curriculum, order_samples
from rmlite.data.audit import audit_dataset, format_audit
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.cards import sample_card
from rmlite.data.engine_settings import SETTINGS_FILE, format_settings
from rmlite.data.export import export
from rmlite.data.questions import BOXED_INT, BOXED_MC, BOXED_YN, QuestionConfig
from rmlite.data.store import load_maps, load_questions, map_row, read_manifest
from rmlite.models.gpu import smart_resize
from rmlite.reward.engines import engine_settings as reward_settings
from rmlite.schema import QUESTION_TYPES
from rmlite.tables import for_console, reflow

PREAMBLES = tuple(t.format() for t in (BOXED_MC, BOXED_INT, BOXED_YN))  # the answer-format sentence of a question
PREVIEW_LINES, PREVIEW_WIDTH = 3, 120


def dataset_config(a: argparse.Namespace) -> DatasetConfig:
    """The DatasetConfig of `rmlite generate` (with no options given: `DatasetConfig()` itself)."""
    default = field_default(QuestionConfig, "per_map")
    per_map = {t: (default[t] if a.per_type is None else a.per_type) if t in a.types else 0 for t in QUESTION_TYPES}
    qcfg = QuestionConfig(per_map=per_map, planning_mix=a.planning_mix, long_template_share=a.long_templates)
    return DatasetConfig(n_maps=a.maps, seed=a.seed, size=a.size, difficulties=a.difficulty,
                         test_fraction=a.test_fraction, line_naming=a.line_names, real_maps=a.real, questions=qcfg)


def cmd_generate(a: argparse.Namespace) -> int:
    cfg = dataset_config(a)  # validates every number (a ValueError names the field)
    checks.generate_out(a.out, a.overwrite)
    checks.real_cities(cfg.real_maps)
    checks.splits(cfg)
    out = generate_dataset(a.out, cfg, workers=a.workers, overwrite=a.overwrite)
    m = read_manifest(out)
    lines = [f"{split}: {c['maps']} maps, {c['questions']} questions {c['by_type']}"
             for split, c in m["counts"].items()]
    if m.get("short"):
        lines.append(f"{len(m['short'])} map(s) gave fewer questions of some type than asked (see 'short' in "
                     f"{out / 'manifest.json'}); `rmlite audit {out}` checks the set")
    print(reflow("\n".join(lines)))  # within 120 columns
    print(f"wrote {out} in {m['generation_seconds']} s")
    return 0


def question_preview(question: str) -> list[str]:
    """The question itself for the console: the shared answer-format sentence dropped, at most `PREVIEW_LINES` lines
    of at most `PREVIEW_WIDTH` characters ("…" marks a cut).

    >>> question_preview('Please solve the problem and put your answer in one "\\\\boxed{}". How many lines?')
    ['How many lines?']
    """
    for pre in PREAMBLES:
        question = question.removeprefix(pre)
    lines = [w for ln in question.strip().splitlines() for w in textwrap.wrap(ln, PREVIEW_WIDTH - 1) or [""]]
    if len(lines) > PREVIEW_LINES:
        lines = lines[:PREVIEW_LINES]
        lines[-1] += " …"
    return lines


def _data_name(data: str) -> str:
    return Path(data).resolve().name or "data"


def cmd_show(a: argparse.Namespace) -> int:
    out = Path(a.out or Path(SHOW_DIR) / f"{_data_name(a.data)}-{a.split}-{a.index}.png")
    checks.writable_out(out, folder=False)
    outputs.check_picture(out, "show", overwrite=a.overwrite)
    checks.data_split(a.data, a.split, maps=False)
    q = load_questions(a.data, a.split)
    if a.index >= len(q):
        raise UserError(f"--index {a.index} is out of range: split {a.split!r} has {len(q)} questions "
                        f"(0 to {len(q) - 1})")
    sample = q[a.index]
    row = map_row(load_maps(a.data), sample["map_id"])
    seen_h, seen_w = smart_resize(row["image"].height, row["image"].width, max_pixels=a.max_pixels)
    card = sample_card(sample, row, width=seen_w)
    out.parent.mkdir(parents=True, exist_ok=True)
    card.save(out, pnginfo=outputs.picture_info("show"))
    print(f"{sample['type']} ({sample['id']}):")
    for line in question_preview(sample["question"]):
        print(f"  {line}")
    print(f"answer: {sample['answer'].splitlines()[0]}")
    print(f"map drawn at {seen_w}x{seen_h} px, as the model sees it (stored {row['image'].width}x"
          f"{row['image'].height}, --max-pixels {a.max_pixels})")
    print(f"wrote {out}")
    return 0


def cmd_audit(a: argparse.Namespace) -> int:
    picture = Path(a.picture or Path(AUDIT_DIR) / f"{_data_name(a.data)}-labels.png")
    checks.writable_out(picture, flag="--picture", folder=False)
    outputs.check_picture(picture, "audit", overwrite=a.overwrite, flag="--picture")
    read_manifest(a.data)
    picture.parent.mkdir(parents=True, exist_ok=True)
    report = audit_dataset(a.data, picture=picture, pnginfo=outputs.picture_info("audit"))
    print(for_console(format_audit(report), picture.with_suffix(".txt")))  # a longer table: whole in the file
    print(f"wrote {picture}")
    missed = len(report.failures())
    if missed and not a.report:
        print(f"audit failed: {missed} target(s) missed (listed above); --report prints without failing")
    return 1 if missed and not a.report else 0


def cmd_export(a: argparse.Namespace) -> int:
    checks.pixels(a.min_pixels, a.max_pixels)
    outputs.check_folder(a.out, "export", overwrite=a.overwrite)
    read_manifest(a.data)
    outputs.claim_folder(a.out, "export")
    # The order `rmlite train` trains on: its curriculum's scheduled pass (one owner, rmlite.curriculum).
    order = partial(order_samples, curriculum=get_curriculum(a.curriculum), seed=a.seed)
    for p in export(a.data, a.out, a.format, images=a.images, max_pixels=a.max_pixels, min_pixels=a.min_pixels,
                    order=order, batch_size=a.batch_size, stage_files=a.stage_files):
        print(f"wrote {p}")
    settings = json.loads((Path(a.out) / SETTINGS_FILE).read_text(encoding="utf-8"))
    print(format_settings(settings, a.out))
    print(reward_settings())
    return 0
