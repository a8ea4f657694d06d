"""The argument parser of `rmlite`: one sub-parser per command, every default and choice read from its owner.

Types reject a malformed value in argparse (one line, exit 2); what needs the file system or several options at
once is checked in `rmlite.cli.checks` before the command's work.
"""

from __future__ import annotations

import argparse
from typing import Any

from rmlite.cli.args import (
    CsvList,
    Parser,
    as_csv,
    at_least_one,
    field_default,
    non_negative,
    numbers,
    param_default,
    positive_number,
)
from rmlite.curriculum import CURRICULA, DEFAULT_CURRICULUM
from rmlite.data.build import SIZES, DatasetConfig, generate_dataset
from rmlite.data.export import FORMATS, IMAGE_MODES, export
from rmlite.data.questions import QuestionConfig
from rmlite.demo import DemoSettings, run_demo
from rmlite.doctor import fit_check
from rmlite.evaluate import evaluate
from rmlite.lab.measure import run_lab
from rmlite.maps.generate import LINE_NAMINGS
from rmlite.models.gpu import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
from rmlite.reward.compat import COMPAT_MODES
from rmlite.reward.config import PAPER, PRESETS
from rmlite.schema import DIFFICULTIES, QUESTION_TYPES
from rmlite.train.settings import GRPOSettings

SHOW_DIR, AUDIT_DIR = "runs/show", "runs/audit"  # where `show` and `audit` put pictures unless told (not the data)


def steps(text: str) -> int:
    """`--steps`: optimizer steps ≥ 1, or -1 for one pass over the data."""
    v = non_negative(text) if text != "-1" else -1
    if v == 0:
        raise argparse.ArgumentTypeError("expected at least 1 step (or -1 for one pass over the data), got 0")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="rmlite", description="RewardMap on one GPU: data, rewards, GRPO, evaluation.")
    sub = p.add_subparsers(dest="cmd", required=True)
    for add in (_add_generate, _add_show, _add_audit, _add_export, _add_train, _add_eval, add_lab_parser, _add_demo,
                _add_doctor):
        add(sub)
    return p


def _add_generate(sub: Any) -> None:
    g = sub.add_parser("generate", help="generate synthetic transit maps with questions and answer keys")
    data, questions = DatasetConfig, QuestionConfig
    per_map = ", ".join(f"{t} {n}" for t, n in field_default(questions, "per_map").items())
    g.add_argument("--maps", type=non_negative, default=field_default(data, "n_maps"),
                   help="number of synthetic maps (default: %(default)s)")
    g.add_argument("--seed", type=int, default=field_default(data, "seed"), help="master seed (same seed, same data)")
    g.add_argument("--size", type=int, default=field_default(data, "size"), choices=SIZES,
                   help="image side in pixels (default: %(default)s)")
    g.add_argument("--difficulty", type=CsvList("difficulty", DIFFICULTIES),
                   default=field_default(data, "difficulties"), help="map difficulties to cycle through, e.g. "
                   "easy,middle,hard (default: all)")
    g.add_argument("--types", type=CsvList("question type", QUESTION_TYPES), default=QUESTION_TYPES,
                   help="question types to generate (default: all)")
    g.add_argument("--per-type", type=non_negative, default=None,
                   help=f"questions per type and map (default: {per_map})")
    mix = field_default(questions, "planning_mix")
    g.add_argument("--planning-mix", type=numbers, default=mix,
                   help=f"weights of planning questions with 0 / 1 / 2+ transfers (default: {as_csv(mix)})")
    g.add_argument("--long-templates", type=float, default=field_default(questions, "long_template_share"),
                   help="share of planning questions with a long template (default: %(default)s)")
    g.add_argument("--line-names", choices=LINE_NAMINGS, default=field_default(data, "line_naming"),
                   help="default: %(default)s")
    g.add_argument("--real", type=CsvList("city"), default=field_default(data, "real_maps"),
                   help="real ReasonMap cities to add, e.g. oslo,geneva,miami")
    g.add_argument("--test-fraction", type=float, default=field_default(data, "test_fraction"),
                   help="share of synthetic maps held out, split by map (default: %(default)s)")
    g.add_argument("--workers", type=at_least_one, default=param_default(generate_dataset, "workers"),
                   help="processes (default: all cores)")
    g.add_argument("--out", required=True, help="output folder (must not exist)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing data set folder (never a file)")


def _add_show(sub: Any) -> None:
    s = sub.add_parser("show", help="write a PNG of one sample (map, question, answer; gold route on synthetic maps)")
    s.add_argument("data", help="a folder written by `rmlite generate`")
    s.add_argument("--index", type=non_negative, default=0)
    s.add_argument("--split", default="train")
    s.add_argument("--out", default=None, help=f"PNG path (default: {SHOW_DIR}/<data folder>-<split>-<index>.png)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing picture that `show` did not write")
    s.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="the model's pixel budget: the map is drawn at the size the model sees it (Qwen2.5-VL's "
                        "resize: sides in multiples of 28 px, area at most this)")


def _add_audit(sub: Any) -> None:
    u = sub.add_parser("audit", help="check a data set for shortcuts, unreadable questions, colour clashes, leaks")
    u.add_argument("data", help="a folder written by `rmlite generate`")
    u.add_argument("--picture", default=None,
                   help=f"PNG of the closest-call labels (default: {AUDIT_DIR}/<data folder>-labels.png)")
    u.add_argument("--report", action="store_true",
                   help="print the report and exit 0 even when a target is missed (default: exit 1, a gate)")
    u.add_argument("--overwrite", action="store_true", help="replace an existing picture that `audit` did not write")


def _add_export(sub: Any) -> None:
    e = sub.add_parser("export", help="write parquet in the layout verl or EasyR1 reads, in curriculum order, with "
                       "the engine settings that keep the order (OUT/engine_settings.json)")
    e.add_argument("--format", choices=FORMATS, default=param_default(export, "fmt"), help="default: %(default)s")
    e.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    e.add_argument("--out", required=True, help="the export folder; rows name files relative to it, so it can "
                   "move, and the engine runs from it")
    e.add_argument("--overwrite", action="store_true", help="write into an --out folder that holds other files "
                   "(files of the same name are replaced)")
    e.add_argument("--images", choices=IMAGE_MODES, default=param_default(export, "images"),
                   help="files: each map's PNG once under OUT/images/, named relative to OUT; embedded: its bytes "
                        "in every row, readable from anywhere (default: %(default)s)")
    e.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="pixel budget per image, carried in verl's rows (default: %(default)s, rmlite's own)")
    e.add_argument("--min-pixels", type=int, default=DEFAULT_MIN_PIXELS, help="default: %(default)s")
    e.add_argument("--curriculum", choices=CURRICULA, default=DEFAULT_CURRICULUM,
                   help="order the train rows stage by stage, each stage shuffled inside, exactly as `rmlite train "
                        "--curriculum` orders them (its scheduled pass); every row carries its stage; none: one "
                        "shuffled stage (default: %(default)s)")
    e.add_argument("--seed", type=int, default=field_default(GRPOSettings, "seed"),
                   help="shuffles inside each stage; the default is `rmlite train`'s seed, so the rows come in the "
                        "order it trains on (default: %(default)s)")
    e.add_argument("--batch-size", type=at_least_one, default=param_default(export, "batch_size"),
                   help="the engine's prompts per batch (verl data.train_batch_size, EasyR1 data.rollout_batch_size):"
                        " each stage is cut to whole batches, so no batch mixes two stages (default: %(default)s, "
                        "nothing cut)")
    e.add_argument("--stage-files", action="store_true",
                   help="one train file per stage (train-stage<k>-<name>.parquet) instead of one train.parquet")


def _add_train(sub: Any) -> None:
    t = sub.add_parser("train", help="GRPO with the RewardMap reward and a curriculum (4-bit LoRA); on a GPU the "
                       "detected card's preset (group size, batch, completion length, precision, image size)")
    t.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    t.add_argument("--model", required=True, help="hub name (GPU) or local folder (e.g. runs/demo/model)")
    t.add_argument("--curriculum", choices=CURRICULA, default=DEFAULT_CURRICULUM, help="default: %(default)s")
    t.add_argument("--reward", default=PAPER.name,
                   help=f"{' | '.join(PRESETS)} | package.module:function (default: %(default)s)")
    # None: GRPOSettings' own default, read there when training starts (importing it here would load torch).
    t.add_argument("--steps", type=steps, default=None,
                   help="optimizer steps (default on a GPU: GRPOSettings.max_steps, one pass over the data; "
                        "required on a CPU); -1 means one pass")
    t.add_argument("--out", required=True, help="run folder (checkpoints, logs, adapter)")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    t.add_argument("--overwrite", action="store_true",
                   help="remove the previous run's files in --out (run files, adapter, checkpoints) first")
    t.add_argument("--adapter", default=None, help="start from a saved LoRA adapter (e.g. a stage-1 run's adapter)")
    t.add_argument("--cpu-tiny", action="store_true",
                   help="the CPU preset's settings, for the tiny CPU model (short completions)")
    t.add_argument("--no-4bit", action="store_true", help="load without quantisation")


def _add_eval(sub: Any) -> None:
    v = sub.add_parser("eval", help="greedy evaluation with baselines; writes a report folder")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--model", required=True)
    v.add_argument("--adapter", default=None, help="a LoRA adapter folder saved by `rmlite train`")
    v.add_argument("--limit", type=at_least_one, default=None, help="evaluate at most this many questions")
    v.add_argument("--max-new-tokens", type=at_least_one, default=param_default(evaluate, "max_new_tokens"),
                   help="default: %(default)s")
    v.add_argument("--out", required=True)
    v.add_argument("--overwrite", action="store_true", help="write into an --out folder that holds other files "
                   "(files of the same name are replaced)")
    v.add_argument("--no-4bit", action="store_true")
    v.add_argument("--compat", choices=tuple(COMPAT_MODES), default=param_default(evaluate, "compat"),
                   help="release: also judge the answers as ReasonMap's release does, bugs included, beside rmlite's "
                        "corrected judgement (docs/reward.md lists every difference; default: %(default)s)")


def add_lab_parser(subparsers: Any) -> argparse.ArgumentParser:
    """`rmlite lab`: register the sub-command on an argparse subparsers object."""
    p = subparsers.add_parser("lab", help="measure rewards on simulated (or logged) GRPO groups, in seconds on CPU")
    lab_arguments(p)
    return p


def lab_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    p.add_argument("--split", default="train", help="which split's questions to use")
    rewards, rates = param_default(run_lab, "rewards"), param_default(run_lab, "error_rates")
    p.add_argument("--rewards", type=CsvList("reward"), default=rewards,
                   help=f"comma-separated presets or package.module:function rewards (default: {as_csv(rewards)})")
    p.add_argument("--group-size", type=int, default=None,
                   help=f"rollouts per question, GRPO's G, at least 2 (default: {param_default(run_lab, 'group_size')} "
                        "simulated; with --completions, the run's num_generations from its run.json)")
    p.add_argument("--error-rates", type=numbers, default=rates,
                   help=f"policy error rates to simulate, each in [0, 1] (default: {as_csv(rates)})")
    p.add_argument("--completions", default=None,
                   help="a training run's folder or its completions.jsonl: measure these instead")
    p.add_argument("--limit", type=at_least_one, default=None, help="use at most this many questions")
    p.add_argument("--seed", type=int, default=param_default(run_lab, "seed"),
                   help="simulation seed (same seed, same rollouts)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG")
    p.add_argument("--out", required=True, help="output folder (lab.jsonl, lab.txt, probes.jsonl, PNG)")
    p.add_argument("--overwrite", action="store_true", help="write into an --out folder that holds other files "
                   "(files of the same name are replaced)")


def _add_demo(sub: Any) -> None:
    d = sub.add_parser("demo", help="the end-to-end demo on a small CPU default")
    d.add_argument("--out", default=param_default(run_demo, "out"), help="report folder (default: %(default)s)")
    d.add_argument("--maps", type=non_negative, default=field_default(DemoSettings, "n_maps"),
                   help="default: %(default)s")
    d.add_argument("--seed", type=int, default=field_default(DemoSettings, "seed"))
    d.add_argument("--quick", action="store_true", help="reuse the warm start shipped in data/warm_tiny/ and cut the "
                   "spread groups, GRPO steps and held-out questions: the same report sections in about a third of "
                   "the time (the report says what it cut)")


def _add_doctor(sub: Any) -> None:
    d = sub.add_parser("doctor", help="what this runtime will run; --fit: does the preset fit (a few real steps)")
    d.add_argument("--fit", action="store_true", help="load the preset's model, run worst-case GRPO steps of the "
                   "run `rmlite train` starts, and print peak memory beside the estimate (the estimate alone on a CPU)")
    d.add_argument("--model", help="hub name or folder (default: the preset's model; the tiny one on a CPU)")
    d.add_argument("--card", help="check the preset of this card (e.g. 'Tesla T4') instead of the detected one (GPU)")
    d.add_argument("--memory-cap", type=positive_number,
                   help="cap this process at GB of GPU memory (15 for a T4; GPU only)")
    d.add_argument("--random-weights", action="store_true",
                   help="no download: the real Qwen2.5-VL-3B/7B architecture with random weights (GPU only)")
    d.add_argument("--steps", type=non_negative, default=param_default(fit_check, "steps"), help="default: %(default)s")
    d.add_argument("--out", help="also write doctor.json here")
