"""Command line: `python -m rmlite generate | show | demo | …`.

User mistakes (bad arguments, missing folders, unreadable JSON) print one line and exit with status 2;
they never end in a traceback (set RMLITE_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.cards import sample_card
from rmlite.data.export import export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions, load_split, map_row, read_manifest
from rmlite.demo import run_demo
from rmlite.evaluate import evaluate, markdown_table
from rmlite.lab.measure import lab_logged, load_samples, read_completions, run_lab
from rmlite.lab.probes import hack_probes
from rmlite.lab.report import format_table, write_outputs
from rmlite.lab.stats import ALL
from rmlite.models.load import load_model
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


    add_lab_parser(sub)

    d = sub.add_parser("demo", help="the end-to-end demo on a small CPU default")
    d.add_argument("--out", default="runs/demo", help="report folder")
    d.add_argument("--maps", type=_positive, default=12)
    d.add_argument("--seed", type=int, default=0)
    return p


def cmd_generate(a: argparse.Namespace) -> int:
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
    for p in export(a.data, a.out, a.format):
        print(f"wrote {p}")
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    # The model first: unsloth must be imported before trl/transformers (rmlite.train imports them).
    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, adapter=a.adapter)
    from rmlite.train.grpo import (  # deferred: torch / trl (unsloth must come first)
        GRPOSettings,
        cpu_tiny_settings,
        train,
    )

    ds = load_split(a.data, "train")
    settings = cpu_tiny_settings(a.out, max_steps=a.steps) if a.cpu_tiny else GRPOSettings(output_dir=a.out,
                                                                                            max_steps=a.steps)
    res = train(model, processor, ds, reward=a.reward, curriculum=a.curriculum, settings=settings, resume=a.resume)
    print(f"trained {len(res.metrics)} logged steps; adapter and logs in {res.output_dir}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, lora_rank=0, adapter=a.adapter,
                                  trainable=False)

    ds = load_split(a.data, a.split)
    if a.limit is not None:
        ds = ds.select(range(min(a.limit, len(ds))))
    reports = evaluate(model, processor, ds, out=a.out, max_new_tokens=a.max_new_tokens)
    print(markdown_table(list(reports.values())))
    print(f"wrote {a.out}")
    return 0


def _cmd_lab(a: argparse.Namespace) -> int:

    return cmd_lab(a)


def cmd_demo(a: argparse.Namespace) -> int:
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


# ----- command line -------------------------------------------------------------------------------------------------
def add_lab_parser(subparsers: Any) -> argparse.ArgumentParser:
    """`rmlite lab`: register the sub-command on an argparse subparsers object."""
    p = subparsers.add_parser("lab", help="measure rewards on simulated (or logged) GRPO groups, in seconds on CPU")
    _lab_arguments(p)
    return p


def _lab_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    p.add_argument("--split", default="train", help="which split's questions to use")
    p.add_argument("--rewards", default="sparse,paper,official",
                   help="comma-separated presets or package.module:function rewards")
    p.add_argument("--group-size", type=int, default=8, help="rollouts per question (GRPO's G)")
    p.add_argument("--error-rates", default="0.2,0.5,0.8", help="policy error rates to simulate")
    p.add_argument("--completions", default=None, help="training's completions.jsonl: measure these instead")
    p.add_argument("--limit", type=int, default=None, help="use at most this many questions")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (same seed, same rollouts)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG")
    p.add_argument("--out", required=True, help="output folder (lab.jsonl, lab.txt, probes.jsonl, PNG)")


def cmd_lab(a: argparse.Namespace) -> int:
    rewards = [x.strip() for x in a.rewards.split(",") if x.strip()]
    if not rewards:
        raise ValueError("--rewards is empty")
    if a.group_size < 2:
        raise ValueError("--group-size must be at least 2: GRPO compares completions within a group")
    if a.completions:
        samples = {s["id"]: s for s in load_samples(a.data, None)}
        res = lab_logged(read_completions(a.completions), samples, rewards, a.group_size)
        res.probes = hack_probes(list(samples.values()), rewards)
    else:
        try:
            rates = [float(x) for x in a.error_rates.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--error-rates must be numbers like 0.2,0.5,0.8, got {a.error_rates!r}") from None
        samples = load_samples(a.data, a.split)[: a.limit]
        if not samples:
            raise ValueError(f"split {a.split!r} of {a.data} has no questions")
        res = run_lab(samples, rewards, rates, a.group_size, seed=a.seed, probes=True)
    print(format_table([r for r in res.rows if r["difficulty"] == ALL]))
    print()
    print(format_table(res.probes, ("reward", "kind", "probe", "reward_mean", "reference_mean", "ratio",
                                    "beats_reference", "correct")))
    for p in write_outputs(res, a.out, plots=not a.no_plots):
        print(f"wrote {p}")
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """`python -m rmlite.lab …` (the same arguments as `rmlite lab`)."""
    p = argparse.ArgumentParser(prog="rmlite lab", description=add_lab_parser.__doc__)
    _lab_arguments(p)
    return cmd_lab(p.parse_args(argv))
