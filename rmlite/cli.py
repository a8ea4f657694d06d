"""Command line: `python -m rmlite generate | show | audit | export | train | eval | lab | demo | doctor`.

User mistakes (bad arguments, missing folders, unreadable JSON) print one line and exit with status 2;
they never end in a traceback (set RMLITE_DEBUG=1 to see one). Every default and list of choices is read from
the dataclass, constant or function that owns it, so a changed default reaches the command line; `--help`
shows them. Left out: training knobs beyond `--steps` (set them in Python with `GRPOSettings`).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rmlite.curriculum import CURRICULA, DEFAULT_CURRICULUM
from rmlite.data.audit import audit_dataset, format_audit
from rmlite.data.build import SIZES, DatasetConfig, generate_dataset
from rmlite.data.cards import sample_card
from rmlite.data.export import FORMATS, IMAGE_MODES, export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions, load_split, map_row, read_manifest
from rmlite.demo import run_demo
from rmlite.doctor import fit_check
from rmlite.doctor import main_lines as doctor_main
from rmlite.evaluate import evaluate, markdown_table
from rmlite.lab.measure import add_probes, lab_logged, load_samples, read_completions, run_lab
from rmlite.lab.report import format_table, probe_summary, write_outputs
from rmlite.lab.stats import ALL
from rmlite.maps.generate import LINE_NAMINGS
from rmlite.models.gpu import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, gpu_preset
from rmlite.models.load import load_model
from rmlite.reward.config import PAPER, PRESETS
from rmlite.schema import DIFFICULTIES, QUESTION_TYPES


class UserError(Exception):
    """A mistake in how rmlite was called: reported as one line, exit status 2."""


# ----- where defaults come from ---------------------------------------------------------------------------------------
def field_default(cls: type, name: str) -> Any:
    """The default of dataclass field `name` (its factory called), read where the dataclass declares it.

    >>> field_default(DatasetConfig, "line_naming")
    'numbered'
    """
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def param_default(fn: Callable, name: str) -> Any:
    """The default of parameter `name` in `fn`'s signature (for knobs a function owns, not a dataclass)."""
    return inspect.signature(fn).parameters[name].default


def as_csv(values: tuple) -> str:
    """How a list default is typed on the command line (for help texts): (0.2, 0.5) → "0.2,0.5"."""
    return ",".join(map(str, values))


# ----- argument types -------------------------------------------------------------------------------------------------
class CsvList:
    """An argparse type: "a,b" → ("a", "b"), every item one of `allowed` when given (the option's choices)."""

    def __init__(self, kind: str, allowed: tuple[str, ...] | None = None):
        self.kind, self.allowed = kind, allowed

    def __call__(self, text: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in text.split(",") if x.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"empty {self.kind} list")
        bad = [x for x in items if self.allowed is not None and x not in self.allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {self.kind} {bad}; choose from {', '.join(self.allowed)}")
        return items


def _numbers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


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


# ----- the parser -----------------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="rmlite", description="RewardMap on one GPU: data, rewards, GRPO, evaluation.")
    sub = p.add_subparsers(dest="cmd", required=True)
    _add_generate(sub)
    _add_show(sub)
    _add_audit(sub)
    _add_export(sub)
    _add_train(sub)
    _add_eval(sub)
    add_lab_parser(sub)
    _add_demo(sub)
    _add_doctor(sub)
    return p


def _add_generate(sub: Any) -> None:
    g = sub.add_parser("generate", help="generate synthetic transit maps with questions and answer keys")
    data, questions = DatasetConfig, QuestionConfig
    per_map = ", ".join(f"{t} {n}" for t, n in field_default(questions, "per_map").items())
    g.add_argument("--maps", type=_positive, default=field_default(data, "n_maps"),
                   help="number of synthetic maps (default: %(default)s)")
    g.add_argument("--seed", type=int, default=field_default(data, "seed"), help="master seed (same seed, same data)")
    g.add_argument("--size", type=int, default=field_default(data, "size"), choices=SIZES,
                   help="image side in pixels (default: %(default)s)")
    g.add_argument("--difficulty", type=CsvList("difficulty", DIFFICULTIES),
                   default=field_default(data, "difficulties"), help="map difficulties to cycle through, e.g. "
                   "easy,middle,hard (default: all)")
    g.add_argument("--types", type=CsvList("question type", QUESTION_TYPES), default=QUESTION_TYPES,
                   help="question types to generate (default: all)")
    g.add_argument("--per-type", type=_positive, default=None, help=f"questions per type and map (default: {per_map})")
    mix = field_default(questions, "planning_mix")
    g.add_argument("--planning-mix", type=_numbers, default=mix,
                   help=f"weights of planning questions with 0 / 1 / 2+ transfers (default: {as_csv(mix)})")
    g.add_argument("--long-templates", type=float, default=field_default(questions, "long_template_share"),
                   help="share of planning questions with a long template (default: %(default)s)")
    g.add_argument("--line-names", choices=LINE_NAMINGS, default=field_default(data, "line_naming"),
                   help="default: %(default)s")
    g.add_argument("--real", type=CsvList("city"), default=field_default(data, "real_maps"),
                   help="real ReasonMap cities to add, e.g. oslo,geneva,miami")
    g.add_argument("--test-fraction", type=float, default=field_default(data, "test_fraction"),
                   help="share of synthetic maps held out, split by map (default: %(default)s)")
    g.add_argument("--workers", type=int, default=param_default(generate_dataset, "workers"),
                   help="processes (default: all cores)")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--overwrite", action="store_true", help="replace an existing output folder")


def _add_show(sub: Any) -> None:
    s = sub.add_parser("show", help="write a PNG of one sample (map, question, answer; gold route on synthetic maps)")
    s.add_argument("data", help="a folder written by `rmlite generate`")
    s.add_argument("--index", type=_positive, default=0)
    s.add_argument("--split", default="train")
    s.add_argument("--out", default=None, help="PNG path (default: DATA/show-<split>-<index>.png)")


def _add_audit(sub: Any) -> None:
    u = sub.add_parser("audit", help="check a data set for shortcuts, unreadable questions, colour clashes, leaks")
    u.add_argument("data", help="a folder written by `rmlite generate`")
    u.add_argument("--picture", default=None, help="PNG of the closest-call labels (default: DATA/audit-labels.png)")
    u.add_argument("--check", action="store_true", help="exit with status 1 when a target is missed")


def _add_export(sub: Any) -> None:
    e = sub.add_parser("export", help="write parquet in the layout verl or EasyR1 reads")
    e.add_argument("--format", choices=FORMATS, default=param_default(export, "fmt"), help="default: %(default)s")
    e.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    e.add_argument("--out", required=True)
    e.add_argument("--images", choices=IMAGE_MODES, default=param_default(export, "images"),
                   help="files: each map's PNG once under OUT/images/; embedded: its bytes in every row "
                        "(default: %(default)s)")
    e.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help="pixel budget per image, carried in verl's rows (default: %(default)s, rmlite's own)")
    e.add_argument("--min-pixels", type=int, default=DEFAULT_MIN_PIXELS, help="default: %(default)s")


def _add_train(sub: Any) -> None:
    t = sub.add_parser("train", help="GRPO with the RewardMap reward and a curriculum (4-bit LoRA)")
    t.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    t.add_argument("--model", required=True, help="hub name (GPU) or local folder (e.g. a tiny model)")
    t.add_argument("--curriculum", choices=CURRICULA, default=DEFAULT_CURRICULUM, help="default: %(default)s")
    t.add_argument("--reward", default=PAPER.name,
                   help=f"{' | '.join(PRESETS)} | package.module:function (default: %(default)s)")
    # None: GRPOSettings' own default, read there when training starts (importing it here would load torch).
    t.add_argument("--steps", type=int, default=None,
                   help="optimizer steps (default: GRPOSettings.max_steps; -1 means one pass over the data)")
    t.add_argument("--out", required=True, help="run folder (checkpoints, logs, adapter)")
    t.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --out")
    t.add_argument("--adapter", default=None, help="start from a saved LoRA adapter (e.g. a stage-1 run's adapter)")
    t.add_argument("--cpu-tiny", action="store_true", help="settings for the tiny CPU model (short completions)")
    t.add_argument("--no-4bit", action="store_true", help="load without quantisation")


def _add_eval(sub: Any) -> None:
    v = sub.add_parser("eval", help="greedy evaluation with baselines; writes a report folder")
    v.add_argument("--data", required=True)
    v.add_argument("--split", default="test")
    v.add_argument("--model", required=True)
    v.add_argument("--adapter", default=None, help="a LoRA adapter folder saved by `rmlite train`")
    v.add_argument("--limit", type=int, default=None, help="evaluate at most this many questions")
    v.add_argument("--max-new-tokens", type=int, default=param_default(evaluate, "max_new_tokens"),
                   help="default: %(default)s")
    v.add_argument("--out", required=True)
    v.add_argument("--no-4bit", action="store_true")


def add_lab_parser(subparsers: Any) -> argparse.ArgumentParser:
    """`rmlite lab`: register the sub-command on an argparse subparsers object."""
    p = subparsers.add_parser("lab", help="measure rewards on simulated (or logged) GRPO groups, in seconds on CPU")
    _lab_arguments(p)
    return p


def _lab_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    p.add_argument("--split", default="train", help="which split's questions to use")
    rewards, rates = param_default(run_lab, "rewards"), param_default(run_lab, "error_rates")
    p.add_argument("--rewards", type=CsvList("reward"), default=rewards,
                   help=f"comma-separated presets or package.module:function rewards (default: {as_csv(rewards)})")
    p.add_argument("--group-size", type=int, default=param_default(run_lab, "group_size"),
                   help="rollouts per question, GRPO's G (default: %(default)s)")
    p.add_argument("--error-rates", type=_numbers, default=rates,
                   help=f"policy error rates to simulate (default: {as_csv(rates)})")
    p.add_argument("--completions", default=None, help="training's completions.jsonl: measure these instead")
    p.add_argument("--limit", type=int, default=None, help="use at most this many questions")
    p.add_argument("--seed", type=int, default=param_default(run_lab, "seed"),
                   help="simulation seed (same seed, same rollouts)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG")
    p.add_argument("--out", required=True, help="output folder (lab.jsonl, lab.txt, probes.jsonl, PNG)")


def _add_demo(sub: Any) -> None:
    d = sub.add_parser("demo", help="the end-to-end demo on a small CPU default")
    d.add_argument("--out", default=param_default(run_demo, "out"), help="report folder (default: %(default)s)")
    d.add_argument("--maps", type=_positive, default=param_default(run_demo, "n_maps"), help="default: %(default)s")
    d.add_argument("--seed", type=int, default=param_default(run_demo, "seed"))


def _add_doctor(sub: Any) -> None:
    d = sub.add_parser("doctor", help="what this runtime will run; --fit: does the preset fit (a few real steps)")
    d.add_argument("--fit", action="store_true", help="load the preset's model and run worst-case GRPO steps")
    d.add_argument("--model", help="hub name or folder (default: the preset's model; the tiny one on a CPU)")
    d.add_argument("--card", help="check the preset of this card (e.g. 'Tesla T4') instead of the detected one")
    d.add_argument("--memory-cap", type=float, help="cap this process at GB of GPU memory (15 for a T4)")
    d.add_argument("--random-weights", action="store_true",
                   help="no download: the real Qwen2.5-VL-3B/7B architecture with random weights")
    d.add_argument("--steps", type=_positive, default=param_default(fit_check, "steps"), help="default: %(default)s")
    d.add_argument("--out", help="also write doctor.json here")


# ----- the commands ---------------------------------------------------------------------------------------------------
def dataset_config(a: argparse.Namespace) -> DatasetConfig:
    """The DatasetConfig of `rmlite generate` (with no options given: `DatasetConfig()` itself)."""
    default = field_default(QuestionConfig, "per_map")
    per_map = {t: (default[t] if a.per_type is None else a.per_type) if t in a.types else 0 for t in QUESTION_TYPES}
    qcfg = QuestionConfig(per_map=per_map, planning_mix=a.planning_mix, long_template_share=a.long_templates)
    return DatasetConfig(n_maps=a.maps, seed=a.seed, size=a.size, difficulties=a.difficulty,
                         test_fraction=a.test_fraction, line_naming=a.line_names, real_maps=a.real, questions=qcfg)


def cmd_generate(a: argparse.Namespace) -> int:
    out = generate_dataset(a.out, dataset_config(a), workers=a.workers, overwrite=a.overwrite)
    m = read_manifest(out)
    for split, c in m["counts"].items():
        print(f"{split}: {c['maps']} maps, {c['questions']} questions {c['by_type']}")
    if m.get("short"):
        print(f"{len(m['short'])} map(s) gave fewer questions of some type than asked (see 'short' in "
              f"{out / 'manifest.json'}); `rmlite audit {out}` checks the set")
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


def cmd_audit(a: argparse.Namespace) -> int:
    picture = Path(a.picture or Path(a.data) / "audit-labels.png")
    report = audit_dataset(a.data, picture=picture)
    print(format_audit(report))
    print(f"wrote {picture}")
    return 1 if a.check and report.failures() else 0


def cmd_export(a: argparse.Namespace) -> int:
    for p in export(a.data, a.out, a.format, images=a.images, max_pixels=a.max_pixels, min_pixels=a.min_pixels):
        print(f"wrote {p}")
    return 0


def train_settings(a: argparse.Namespace):
    """The GRPOSettings of `rmlite train`: the settings' own defaults with only what the user passed on top."""
    from rmlite.train.grpo import GRPOSettings, cpu_tiny_settings  # deferred: torch / trl (unsloth must come first)

    given = {} if a.steps is None else {"max_steps": a.steps}
    return cpu_tiny_settings(a.out, **given) if a.cpu_tiny else GRPOSettings(output_dir=a.out, **given)


def cmd_train(a: argparse.Namespace) -> int:
    # The model first: unsloth must be imported before trl/transformers (rmlite.train imports them).
    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, adapter=a.adapter)
    from rmlite.train.grpo import train  # deferred: torch / trl (unsloth must come first)

    ds = load_split(a.data, "train")
    res = train(model, processor, ds, reward=a.reward, curriculum=a.curriculum, settings=train_settings(a),
                resume=a.resume)
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


def cmd_lab(a: argparse.Namespace) -> int:
    if a.group_size < 2:
        raise ValueError("--group-size must be at least 2: GRPO compares completions within a group")
    rewards = list(a.rewards)
    if a.completions:
        samples = {s["id"]: s for s in load_samples(a.data, None)}
        res = lab_logged(read_completions(a.completions), samples, rewards, a.group_size)
        add_probes(res, list(samples.values()), rewards)
    else:
        samples = load_samples(a.data, a.split)[: a.limit]
        if not samples:
            raise ValueError(f"split {a.split!r} of {a.data} has no questions")
        res = run_lab(samples, rewards, a.error_rates, a.group_size, seed=a.seed, probes=True)
    print(format_table([r for r in res.rows if r["difficulty"] == ALL]) + "\n\n" + probe_summary(res))
    for p in write_outputs(res, a.out, plots=not a.no_plots):
        print(f"wrote {p}")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    run_demo(out=a.out, n_maps=a.maps, seed=a.seed)
    return 0


def cmd_doctor(a: argparse.Namespace) -> int:
    if (a.random_weights or a.memory_cap or a.card or a.model) and not a.fit:
        raise UserError("--model, --card, --memory-cap and --random-weights describe a fit check: add --fit")
    preset = None
    if a.card or a.memory_cap:  # the preset of that card (or of that much memory), not the detected one
        detected = gpu_preset()
        preset = gpu_preset(a.card or detected["device"], a.memory_cap or detected["total_mem_gb"])
    return doctor_main(fit=a.fit, preset=preset, model=a.model, steps=a.steps, random_weights=a.random_weights,
                       memory_cap_gb=a.memory_cap, out=a.out)


COMMANDS = {"generate": cmd_generate, "show": cmd_show, "audit": cmd_audit, "export": cmd_export, "train": cmd_train,
            "eval": cmd_eval, "lab": cmd_lab, "demo": cmd_demo, "doctor": cmd_doctor}


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


def lab_main(argv: list[str] | None = None) -> int:
    """`rmlite lab` on its own parser (the same arguments), for callers that want the lab alone."""
    p = argparse.ArgumentParser(prog="rmlite lab", description=add_lab_parser.__doc__)
    _lab_arguments(p)
    return cmd_lab(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
