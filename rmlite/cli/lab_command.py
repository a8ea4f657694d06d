"""`rmlite lab`: reward measurements on simulated (or logged) GRPO groups; also runnable alone (`lab_main`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rmlite.cli import checks, outputs
from rmlite.cli.args import Parser, UserError, param_default
from rmlite.cli.parser import add_lab_parser, lab_arguments
from rmlite.data.store import read_manifest
from rmlite.lab.measure import add_probes, lab_logged, load_samples, read_completions, run_lab
from rmlite.lab.report import console_summary, probe_summary, write_outputs
from rmlite.schema import COMPLETIONS_FILE, RUN_FILE
from rmlite.tables import for_console


def logged_group_size(completions: str | Path, given: int | None) -> int | None:
    """The group size of a run's logged completions: `given`, else `num_generations` from the run's run.json (beside
    completions.jsonl), else None (the most common group size in the file). Only groups of this size are measured,
    so a wrong size measures nothing."""
    if given is not None:
        return given
    run = Path(completions).parent / RUN_FILE
    if not run.is_file():
        return None
    try:
        return int(json.loads(run.read_text())["settings"]["num_generations"])
    except (ValueError, KeyError, TypeError):
        raise UserError(f"{run}: no settings.num_generations; pass --group-size") from None


def check_lab(a: argparse.Namespace) -> None:
    """Every lab input before a single rollout is drawn."""
    if a.completions is not None and Path(a.completions).is_dir():  # a run folder: its completions.jsonl
        a.completions = str(Path(a.completions) / COMPLETIONS_FILE)
    checks.existing_file(a.completions, "--completions")
    if a.completions is not None:
        a.group_size = logged_group_size(a.completions, a.group_size)
    elif a.group_size is None:
        a.group_size = param_default(run_lab, "group_size")
    if a.group_size is not None and a.group_size < 2:
        raise UserError(f"--group-size {a.group_size}: must be at least 2 (GRPO compares completions within a group)")
    for rate in a.error_rates:
        checks.fraction(rate, "--error-rates")
    if not a.error_rates:
        raise UserError("--error-rates: give at least one rate in [0, 1]")
    outputs.check_folder(a.out, "lab", overwrite=a.overwrite)
    checks.rewards(a.rewards, "--rewards")
    if a.completions is None:
        checks.data_split(a.data, a.split, maps=False)
    else:
        read_manifest(a.data)


def cmd_lab(a: argparse.Namespace) -> int:
    check_lab(a)
    outputs.claim_folder(a.out, "lab")
    rewards = list(a.rewards)
    if a.completions:
        samples = {s["id"]: s for s in load_samples(a.data, None)}
        res = lab_logged(read_completions(a.completions), samples, rewards, a.group_size)
        add_probes(res, list(samples.values()), rewards)
    else:
        samples = load_samples(a.data, a.split)[: a.limit]
        res = run_lab(samples, rewards, a.error_rates, a.group_size, seed=a.seed, probes=True)
    print(for_console(console_summary(res) + "\n\n" + probe_summary(res), Path(a.out) / "console.txt"))
    for p in write_outputs(res, a.out, plots=not a.no_plots):
        print(f"wrote {p}")
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """`rmlite lab` on its own parser (the same arguments), for callers that want the lab alone."""
    p = Parser(prog="rmlite lab", description=add_lab_parser.__doc__)
    lab_arguments(p)
    return cmd_lab(p.parse_args(argv))
