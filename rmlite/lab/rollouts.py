"""Simulated groups of rollouts: a `Policy` (an error rate plus weights over error operators) draws G answers
per question from `rmlite.lab.mistakes`, seeded, as a weak or a strong model would.

>>> import json
>>> md = json.dumps({"Line 1": ["A", "B", "C"], "Line 2": ["D", "B", "E"]})
>>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
...      "station1": "A", "station2": "E", "question_transfer_count": 1, "template": "short",
...      "routes": json.dumps([[{"route_name": "Line 1", "departure_stop": "A", "arrival_stop": "B"},
...                             {"route_name": "Line 2", "departure_stop": "B", "arrival_stop": "E"}]])}
>>> r = simulate([s], Policy(), group_size=4, seed=0)
>>> len(r), r.group_size
(4, 4)
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rmlite.data.answers import reference_completion
from rmlite.lab.mistakes import OPERATORS, ORDER, Draft, draft_of, map_of
from rmlite.schema import Sample, answer_kind

# ----- policies and simulated groups ----------------------------------------------------------------------------------
DEFAULT_WEIGHTS = {
    "wrong_line": 1.0, "neighbour_station": 1.0, "misread_station": 0.5, "other_line_stop": 0.7,
    "missing_transfer": 0.7, "extra_transfer": 0.1, "detour": 0.05, "reversed_direction": 0.2,
    "hallucinated_section": 0.3, "repeated_section": 0.3, "off_by_one": 1.0, "wrong_letter": 1.0,
    "flipped_yes_no": 1.0, "broken_format": 0.01, "loose_format": 0.01, "empty": 0.005, "refusal": 0.005,
}  # visual confusion dominates; valid-but-longer routes and format failures are rare for instruction-tuned VLMs


@dataclass(frozen=True)
class Policy:
    """A simulated model: how often it errs and which errors it makes.

    Args:
        error_rate: the chance that one step goes wrong. A perception answer is one step; a route of n sections
            has 3n + 1 (the plan, then a line and two stops per section), so longer routes fail more often, as in
            ReasonMap: at 0.2 a direct route is right 41% of the time, a two-transfer route 11%.
        weights: relative frequency of each operator (only those that apply to a question are drawn).
        concentration: None (default): every question shares `error_rate`. A number: each question's rate is drawn
            from a Beta with mean `error_rate` and this concentration (small: a question is either solved or not).
        extra_error: chance of each further error in an already wrong answer (up to `max_errors`).
    """

    error_rate: float = 0.5
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    concentration: float | None = None
    extra_error: float = 0.3
    max_errors: int = 3

    def __post_init__(self) -> None:
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must lie in [0, 1], got {self.error_rate}")
        unknown = set(self.weights) - set(OPERATORS)
        if unknown:
            raise ValueError(f"unknown operators {sorted(unknown)}; known: {sorted(OPERATORS)}")
        if any(w < 0 for w in self.weights.values()) or not any(w > 0 for w in self.weights.values()):
            raise ValueError("operator weights must be >= 0 with at least one > 0")
        if self.concentration is not None and self.concentration <= 0:
            raise ValueError("concentration must be > 0 or None")
        if not 0.0 <= self.extra_error < 1.0 or self.max_errors < 1:
            raise ValueError("extra_error must lie in [0, 1) and max_errors be >= 1")

    def question_rate(self, rng: random.Random) -> float:
        e = self.error_rate
        if self.concentration is None or e in (0.0, 1.0):
            return e
        return rng.betavariate(e * self.concentration, (1 - e) * self.concentration)


def steps_of(sample: Sample) -> int:
    """Steps a model can get wrong: 1 for perception; 3n + 1 for a route of n sections (the plan, then a line and
    two stops per section)."""
    if answer_kind(sample["type"]) != "route":
        return 1
    return 3 * len(json.loads(sample["routes"])[0]) + 1


@dataclass
class Rollouts:
    """G rollouts per question, laid out group after group (as GRPO batches them)."""

    samples: list[Sample]  # one per group
    group_size: int
    texts: list[str]
    n_errors: list[int]
    correct: list[bool]  # no fatal error (ReasonMap-correct); for logged completions: the paper reward's check
    ops: list[tuple[str, ...]]

    def __len__(self) -> int:
        return len(self.texts)


class _Question:
    """What every rollout of one question shares (parsed once)."""

    def __init__(self, sample: Sample, policy: Policy):
        self.sample, self.map, self.steps = sample, map_of(sample), steps_of(sample)
        self.reference = reference_completion(sample)
        self.base = draft_of(sample)
        self.pool = [(n, w) for n, w in sorted(policy.weights.items()) if w > 0 and OPERATORS[n].applies_to(sample)]
        self.perception = answer_kind(sample["type"]) != "route"

    def draft(self) -> Draft:
        return Draft(self.sample, [list(x) for x in self.base.sections], self.base.value)


def rollout(q: _Question, policy: Policy, rng: random.Random, error_rate: float) -> tuple[str, tuple[str, ...]]:
    """One simulated answer and the operators applied to it (in `ORDER`)."""
    if rng.random() < (1.0 - error_rate) ** q.steps:
        return q.reference, ()
    k = 1
    while k < policy.max_errors and rng.random() < policy.extra_error:
        k += 1
    for _ in range(4):  # redraw when none of the drawn operators applies to this question
        pool, drawn = q.pool, []
        while len(drawn) < k and pool:
            names, weights = zip(*pool, strict=True)
            op = OPERATORS[rng.choices(names, weights)[0]]
            drawn.append(op.name)
            # Distinct operators; one surface rewrite; a perception answer has one value to get wrong.
            pool = [(n, w) for n, w in pool if n != op.name and not (op.surface and OPERATORS[n].surface)
                    and not (q.perception and not op.surface and not OPERATORS[n].surface)]
        # A fixed order (merging transfers first, surface rewrites last) so that no error can undo another.
        d, used = q.draft(), []
        for name in sorted(drawn, key=ORDER.index):
            if OPERATORS[name].apply(d, q.map, rng):
                used.append(name)
        if used:
            return d.render(), tuple(used)
    return q.reference, ()


def simulate(samples: Sequence[Sample], policy: Policy, group_size: int = 8, seed: int = 0) -> Rollouts:
    """`group_size` rollouts of `policy` for every sample. Deterministic for (samples, policy, group size, seed)."""
    if group_size < 1:
        raise ValueError("group_size must be >= 1")
    texts, n_err, correct, ops = [], [], [], []
    for s in samples:
        rng = random.Random(f"rmlite-lab-{seed}-{policy.error_rate}-{s['id']}")
        q, e = _Question(s, policy), policy.question_rate(rng)
        for _ in range(group_size):
            text, used = rollout(q, policy, rng, e)
            texts.append(text)
            ops.append(used)
            n_err.append(len(used))
            correct.append(not any(OPERATORS[n].fatal for n in used))
    return Rollouts(list(samples), group_size, texts, n_err, correct, ops)
