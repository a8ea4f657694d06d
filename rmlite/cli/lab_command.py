"""`rmlite lab`: reward measurements on simulated (or logged) GRPO groups; also runnable alone (`lab_main`)."""

from __future__ import annotations

import argparse

from rmlite.cli import checks
from rmlite.cli.args import Parser, UserError
from rmlite.cli.parser import add_lab_parser, lab_arguments
from rmlite.data.store import read_manifest
from rmlite.lab.measure import add_probes, lab_logged, load_samples, read_completions, run_lab
from rmlite.lab.report import console_summary, probe_summary, write_outputs


def check_lab(a: argparse.Namespace) -> None:
    """Every lab input before a single rollout is drawn."""
    if a.group_size < 2:
        raise UserError(f"--group-size {a.group_size}: must be at least 2 (GRPO compares completions within a group)")
    for rate in a.error_rates:
        checks.fraction(rate, "--error-rates")
    if not a.error_rates:
        raise UserError("--error-rates: give at least one rate in [0, 1]")
    checks.existing_file(a.completions, "--completions")
    checks.writable_out(a.out)
    checks.rewards(a.rewards, "--rewards")
    if a.completions is None:
        checks.data_split(a.data, a.split, maps=False)
    else:
        read_manifest(a.data)


def cmd_lab(a: argparse.Namespace) -> int:
    check_lab(a)
    rewards = list(a.rewards)
    if a.completions:
        samples = {s["id"]: s for s in load_samples(a.data, None)}
        res = lab_logged(read_completions(a.completions), samples, rewards, a.group_size)
        add_probes(res, list(samples.values()), rewards)
    else:
        samples = load_samples(a.data, a.split)[: a.limit]
        res = run_lab(samples, rewards, a.error_rates, a.group_size, seed=a.seed, probes=True)
    print(console_summary(res) + "\n\n" + probe_summary(res))
    for p in write_outputs(res, a.out, plots=not a.no_plots):
        print(f"wrote {p}")
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """`rmlite lab` on its own parser (the same arguments), for callers that want the lab alone."""
    p = Parser(prog="rmlite lab", description=add_lab_parser.__doc__)
    lab_arguments(p)
    return cmd_lab(p.parse_args(argv))
