"""Command line: `python -m rmlite generate | show | demo | …`.

User mistakes (bad arguments, missing folders, unreadable JSON) print one line and exit with status 2;
they never end in a traceback (set RMLITE_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rmlite.schema import DIFFICULTIES, QUESTION_TYPES


class UserError(Exception):
    """A mistake in how rmlite was called: reported as one line, exit status 2."""


def _csv(kind: str, allowed: tuple[str, ...] | None = None):
    def parse(text: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in text.split(",") if x.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"empty {kind} list")
        if allowed is not None:
            bad = [x for x in items if x not in allowed]
            if bad:
                raise argparse.ArgumentTypeError(f"unknown {kind} {bad}; choose from {', '.join(allowed)}")
        return items
    return parse


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


class _Parser(argparse.ArgumentParser):
    """One line for a usage mistake (no usage dump), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rmlite", description="RewardMap on one GPU: data, rewards, GRPO, evaluation.")
    sub = p.add_subparsers(dest="cmd", required=True)

    g = sub.add_parser("generate", help="generate synthetic transit maps with questions and answer keys")
    g.add_argument("--maps", type=_positive, default=20, help="number of synthetic maps")
    g.add_argument("--seed", type=int, default=0, help="master seed (same seed, same data)")
    g.add_argument("--size", type=int, default=1024, choices=(512, 768, 1024), help="image side in pixels")
    g.add_argument("--difficulty", type=_csv("difficulty", DIFFICULTIES), default=DIFFICULTIES,
                   help="map difficulties to cycle through, e.g. easy,middle,hard")
    g.add_argument("--types", type=_csv("question type", QUESTION_TYPES), default=QUESTION_TYPES,
                   help="question types to generate")
    g.add_argument("--per-type", type=_positive, default=None,
                   help="questions per type and map (default: 4, planning 8)")
    g.add_argument("--planning-mix", default="0.5,0.35,0.15",
                   help="weights of planning questions with 0 / 1 / 2+ transfers")
    g.add_argument("--long-templates", type=float, default=0.0, help="share of planning questions with a long template")
    g.add_argument("--line-names", choices=("numbered", "named"), default="numbered")
    g.add_argument("--real", type=_csv("city"), default=(), help="real ReasonMap cities to add, e.g. oslo,geneva,miami")
    g.add_argument("--test-fraction", type=float, default=0.2, help="share of synthetic maps held out (split by map)")
    g.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--overwrite", action="store_true", help="replace an existing output folder")

    s = sub.add_parser("show", help="write a PNG of one sample (map, question, answer; gold route on synthetic maps)")
    s.add_argument("data", help="a folder written by `rmlite generate`")
    s.add_argument("--index", type=_positive, default=0)
    s.add_argument("--split", default="train")
    s.add_argument("--out", default=None, help="PNG path (default: DATA/show-<split>-<index>.png)")

    e = sub.add_parser("export", help="write parquet in the layout verl or EasyR1 reads")
    e.add_argument("--format", choices=("verl", "easyr1"), default="verl")
    e.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    e.add_argument("--out", required=True)

    t = sub.add_parser("train", help="GRPO with the RewardMap reward and a curriculum (4-bit LoRA)")
    t.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    t.add_argument("--model", required=True, help="hub name (GPU) or local folder (e.g. a tiny model)")
    t.add_argument("--curriculum", default="paper", help="paper | coarse | fine | none")
    t.add_argument("--reward", default="paper", help="paper | official | sparse | package.module:function")
    t.add_argument("--steps", type=int, default=-1, help="optimizer steps (-1: one pass over the data)")
    t.add_argument("--out", required=True, help="run folder (checkpoints, logs, adapter)")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    t.add_argument("--adapter", default=None, help="start from a saved LoRA adapter (e.g. a stage-1 run's adapter)")
    t.add_argument("--cpu-tiny", action="store_true", help="settings for the tiny CPU model (short completions)")
    t.add_argument("--no-4bit", action="store_true", help="load without quantisation")

    v = sub.add_parser("eval", help="greedy evaluation with baselines; writes a report folder")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--model", required=True)
    v.add_argument("--adapter", default=None, help="a LoRA adapter folder saved by `rmlite train`")
    v.add_argument("--limit", type=int, default=None, help="evaluate at most this many questions")
    v.add_argument("--max-new-tokens", type=int, default=256)
    v.add_argument("--out", required=True)
    v.add_argument("--no-4bit", action="store_true")

    from rmlite.lab import add_lab_parser

    add_lab_parser(sub)

    d = sub.add_parser("demo", help="the end-to-end demo on a small CPU default")
    d.add_argument("--out", default="runs/demo", help="report folder")
    d.add_argument("--maps", type=_positive, default=12)
    d.add_argument("--seed", type=int, default=0)
    return p


def cmd_generate(a: argparse.Namespace) -> int:
    from rmlite.data import DatasetConfig, generate_dataset, read_manifest
    from rmlite.questions import QuestionConfig

    try:
        mix = tuple(float(x) for x in a.planning_mix.split(","))
    except ValueError:
        raise UserError(f"--planning-mix must be three numbers like 0.5,0.35,0.15, got {a.planning_mix!r}") from None
    default = QuestionConfig().per_map
    per_map = {t: (default[t] if a.per_type is None else a.per_type) if t in a.types else 0 for t in QUESTION_TYPES}
    qcfg = QuestionConfig(per_map=per_map, planning_mix=mix, long_template_share=a.long_templates)
    cfg = DatasetConfig(n_maps=a.maps, seed=a.seed, size=a.size, difficulties=a.difficulty,
                        test_fraction=a.test_fraction, line_naming=a.line_names, real_maps=a.real, questions=qcfg)
    out = generate_dataset(a.out, cfg, workers=a.workers, overwrite=a.overwrite)
    m = read_manifest(out)
    for split, c in m["counts"].items():
        print(f"{split}: {c['maps']} maps, {c['questions']} questions {c['by_type']}")
    print(f"wrote {out} in {m['generation_seconds']} s")
    return 0


def cmd_show(a: argparse.Namespace) -> int:
    from rmlite.data import load_maps, load_questions, map_row
    from rmlite.preview import sample_card

    q = load_questions(a.data, a.split)
    if a.index >= len(q):
        raise UserError(f"--index {a.index} is out of range: split {a.split!r} has {len(q)} questions")
    sample = q[a.index]
    out = Path(a.out or Path(a.data) / f"show-{a.split}-{a.index}.png")
    sample_card(sample, map_row(load_maps(a.data), sample["map_id"])).save(out)
    print(f"{sample['type']}: {sample['question'].splitlines()[0][:100]}…")
    print(f"answer: {sample['answer'].splitlines()[0]}")
    print(f"wrote {out}")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from rmlite.export import export

    for p in export(a.data, a.out, a.format):
        print(f"wrote {p}")
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    from rmlite.models import load_model

    # The model first: unsloth must be imported before trl/transformers (rmlite.train imports them).
    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, adapter=a.adapter)
    from rmlite.data import load_split
    from rmlite.train import GRPOSettings, cpu_tiny_settings, train

    ds = load_split(a.data, "train")
    settings = cpu_tiny_settings(a.out, max_steps=a.steps) if a.cpu_tiny else GRPOSettings(output_dir=a.out,
                                                                                            max_steps=a.steps)
    res = train(model, processor, ds, reward=a.reward, curriculum=a.curriculum, settings=settings, resume=a.resume)
    print(f"trained {len(res.metrics)} logged steps; adapter and logs in {res.output_dir}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from rmlite.models import load_model

    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, lora_rank=0, adapter=a.adapter,
                                  trainable=False)
    from rmlite.data import load_split
    from rmlite.evaluate import evaluate, markdown_table

    ds = load_split(a.data, a.split)
    if a.limit is not None:
        ds = ds.select(range(min(a.limit, len(ds))))
    reports = evaluate(model, processor, ds, out=a.out, max_new_tokens=a.max_new_tokens)
    print(markdown_table(list(reports.values())))
    print(f"wrote {a.out}")
    return 0


def _cmd_lab(a: argparse.Namespace) -> int:
    from rmlite.lab import cmd_lab

    return cmd_lab(a)


def cmd_demo(a: argparse.Namespace) -> int:
    from rmlite.demo import run_demo

    run_demo(out=a.out, n_maps=a.maps, seed=a.seed)
    return 0


COMMANDS = {"generate": cmd_generate, "show": cmd_show, "export": cmd_export, "train": cmd_train, "eval": cmd_eval,
            "demo": cmd_demo, "lab": _cmd_lab}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except (UserError, ValueError, FileNotFoundError, FileExistsError, KeyError) as e:
        if os.environ.get("RMLITE_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"rmlite {args.cmd}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
