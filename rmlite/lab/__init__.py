"""The reward-design lab: what a reward gives GRPO, measured before any GPU hour is spent.

Rooms, bottom up: `advantages` (GRPO advantages under TRL's scalings), `mistakes` (error operators: realistic wrong
answers made from a reference), `rollouts` (simulated groups of rollouts), `stats` (signal density and rank
correlation), `probes` (hack probes), `ladders` (monotonicity on error ladders), `report` (LabResult, tables and
plots), `measure` (`run_lab` on simulated rollouts, `lab_logged` on a training run's completions).
"""

from rmlite.lab.advantages import grpo_advantages, zero_std_fraction
from rmlite.lab.ladders import error_ladders
from rmlite.lab.measure import lab_logged, load_samples, read_completions, run_lab
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.lab.probes import hack_probes, probe_table
from rmlite.lab.report import LabResult, format_table, plot_signal_density
from rmlite.lab.rollouts import Policy, simulate

__all__ = ["grpo_advantages", "zero_std_fraction", "error_ladders", "lab_logged", "load_samples", "read_completions",
           "run_lab", "OPERATORS", "apply_errors", "hack_probes", "probe_table", "LabResult", "format_table",
           "plot_signal_density", "Policy", "simulate"]
