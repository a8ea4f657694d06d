"""Error ladders: is a reward monotone in the number of errors?

A ladder starts at a planning question's reference answer and adds one error at a time (route operators of
`rmlite.lab.mistakes`, a seeded random choice taken in the operators' composing order `ORDER`; each operator edits
only a section no earlier error has touched, so none undoes or overwrites another), so rung k + 1 is rung k with
one more error. A monotone reward
never scores a rung above the one before it. `error_ladders` reports, per reward, the share of reversed steps
(worse scored higher than better), ties, and the rank correlation between errors and reward within a question
(`spearman_within`, good: near −1) and pooled over all questions.

>>> from rmlite.maps.generate import GeneratorConfig, generate_network
>>> from rmlite.data.questions import generate_questions
>>> qs = generate_questions(generate_network(GeneratorConfig(difficulty="easy", size=512), 0), map_id="m", seed=0)
>>> rows = error_ladders(qs, ("robust",), ladders=4)
>>> rows[0]["reward"], rows[0]["reversed"]
('robust', 0.0)
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from rmlite.lab.mistakes import OPERATORS, ORDER, apply_errors
from rmlite.lab.stats import reward_name, spearman
from rmlite.reward.functions import as_total, load_reward
from rmlite.schema import Sample, answer_kind

# The route operators that keep an answer's shape (format, empty and refusal are not steps of a ladder).
LADDER_OPERATORS = tuple(n for n, op in OPERATORS.items() if op.kinds == ("route",))


def ladder(sample: Sample, depth: int, seed: int) -> list[str]:
    """Rung texts 0..k (k ≤ `depth`): the reference, then one more error per rung (stops where none applies)."""
    rng = random.Random(f"ladder-{seed}-{sample['id']}")
    ops = [op for op in LADDER_OPERATORS if OPERATORS[op].applies_to(sample)]
    chosen = sorted(rng.sample(ops, min(len(ops), 2 * depth)), key=ORDER.index)
    rungs = [apply_errors(sample, [], seed)]
    used: list[str] = []
    for op in chosen:
        if len(used) == depth:
            break
        text = apply_errors(sample, [*used, op], seed)
        if text is not None and text not in rungs:
            used.append(op)
            rungs.append(text)
    return rungs


def error_ladders(samples: Sequence[Sample], rewards: Iterable[Any] = ("paper",), depth: int = 3,
                  ladders: int = 8) -> list[dict]:
    """Per reward: `steps` (rung pairs), `reversed` and `tied` (shares of steps scored up / level),
    `spearman_within` (mean over questions of the rank correlation of errors and reward) and `spearman_pooled`."""
    plans = [s for s in samples if answer_kind(s["type"]) == "route"]
    built = [(s, [ladder(s, depth, k) for k in range(ladders)]) for s in plans]
    out = []
    for spec in rewards:
        fn, name = load_reward(spec), reward_name(spec)
        up = tie = steps = 0
        within, pooled_e, pooled_r = [], [], []
        for s, lads in built:
            errs, vals = [], []
            for rungs in lads:
                r = [as_total(fn(t, s)) for t in rungs]
                steps += len(r) - 1
                up += sum(b > a + 1e-9 for a, b in zip(r, r[1:], strict=False))
                tie += sum(abs(b - a) <= 1e-9 for a, b in zip(r, r[1:], strict=False))
                errs += range(len(r))
                vals += r
            rho = spearman(errs, vals)
            if not np.isnan(rho):
                within.append(rho)
            pooled_e += errs
            pooled_r += vals
        out.append({"reward": name, "questions": len(built), "steps": steps, "reversed": _ratio(up, steps),
                    "tied": _ratio(tie, steps),
                    "spearman_within": round(float(np.mean(within)), 4) if within else None,
                    "spearman_pooled": round(spearman(pooled_e, pooled_r), 4) if pooled_e else None})
    return out


def _ratio(k: int, n: int) -> float | None:
    return round(k / n, 4) if n else None
