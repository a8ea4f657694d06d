"""Reward-design lab: measure what a reward gives GRPO before spending GPU hours on it.

For any reward (a preset name, a `RewardConfig`, or a user's `(completion, sample) -> breakdown | float`) and groups
of G simulated rollouts per question (`rmlite.lab.rollouts`) or real logged completions (training's
`completions.jsonl`), `measure` reports per question type and difficulty: the reward's mean and within-group
spread, the share of zero-spread groups (`frac_reward_zero_std`, no gradient) and whether they are all-correct,
the rank correlation between reward and number of errors, and the advantage a correct answer gets under each GRPO
scaling (`rmlite.lab.advantages`). `hack_probes` scores answers built to exploit a reward, and `error_ladders`
checks that adding an error never raises it.
Left out: token-level effects.

>>> from rmlite.lab.rollouts import Policy
>>> from rmlite.maps.generate import GeneratorConfig, generate_network
>>> from rmlite.data.questions import generate_questions
>>> qs = generate_questions(generate_network(GeneratorConfig(difficulty="easy", size=512), 0), map_id="m", seed=0)
>>> res = run_lab(qs, rewards=("sparse", "paper"), error_rates=(0.8,), group_size=8)
>>> plan = [r for r in res.rows if r["type"] == "planning" and r["difficulty"] == "all"]
>>> [(r["reward"], r["frac_reward_zero_std"] > 0.5) for r in plan]
[('sparse', True), ('paper', False)]
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rmlite.data.store import load_questions, read_manifest
from rmlite.lab.ladders import error_ladders
from rmlite.lab.probes import hack_probes
from rmlite.lab.report import LabResult
from rmlite.lab.rollouts import Policy, Rollouts, simulate
from rmlite.lab.stats import measure, reward_name, score_rollouts
from rmlite.records import CompletionRecord
from rmlite.reward.config import PAPER
from rmlite.reward.score import score
from rmlite.schema import Sample


def run_lab(samples: Sequence[Sample], rewards: Iterable[Any] = ("sparse", "paper", "official", "robust"),
            error_rates: Iterable[float] = (0.2, 0.5, 0.8), group_size: int = 8, policy: Policy | None = None,
            seed: int = 0, *, probes: bool = False) -> LabResult:
    """Simulate `group_size` rollouts per question at each error rate and measure every reward on them.

    `probes=True` adds the hack probes (`rmlite.lab.probes`) and the error ladders (`rmlite.lab.ladders`).

    `policy` sets the operator weights and the rest (its `error_rate` is replaced by each of `error_rates`).
    """
    base = policy or Policy()
    rewards = list(rewards)
    res = LabResult()
    for e in error_rates:
        r = simulate(samples, dataclasses.replace(base, error_rate=float(e)), group_size, seed)
        res.rollouts[e] = r
        _measure_all(res, r, rewards, e)
    if probes:
        add_probes(res, samples, rewards)
    return res


def add_probes(res: LabResult, samples: Sequence[Sample], rewards: Iterable[Any]) -> LabResult:
    """`res` with the hack probes (`rmlite.lab.probes`) and the error ladders (`rmlite.lab.ladders`) of `rewards`."""
    rewards = list(rewards)
    res.probes = hack_probes(samples, rewards)
    res.ladders = error_ladders(samples, rewards)
    return res


def _measure_all(res: LabResult, r: Rollouts, rewards: list, label: float | str) -> None:
    for spec in rewards:
        name = reward_name(spec)
        vals = score_rollouts(r, spec)
        res.rewards[(name, label)] = vals
        res.rows += measure(r, vals, name, label)


# ----- real logged completions --------------------------------------------------------------------------------------
def read_completions(path: str | Path) -> list[CompletionRecord]:
    """Training's per-completion rows `{"step", "stage", "id", "type", "completion", "reward"}`."""
    rows = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f"{path}:{i}: not JSON ({e})") from None
    return rows


def logged_rollouts(rows: Iterable[CompletionRecord], samples: Mapping[str, Sample], group_size: int | None = None
                    ) -> Rollouts:
    """Rollouts from logged completions: one group per (step, sample id), joined on `id` with the data set.

    Groups of another size than `group_size` (default: the most common) are left out. Correctness is the paper
    preset's ReasonMap check, and the error count is 1 for an incorrect answer, 0 for a correct one.
    """
    groups: dict[tuple, list[str]] = {}
    for row in rows:
        sid = row.get("id")
        if sid not in samples:
            raise ValueError(f"completion for sample id {sid!r} (step {row.get('step')}) is not in the data set")
        text = row.get("completion")
        groups.setdefault((row.get("step"), sid), []).append(text if isinstance(text, str) else "")
    if not groups:
        raise ValueError("no logged completions to read")
    g = group_size or Counter(len(v) for v in groups.values()).most_common(1)[0][0]
    keep = [(k, v) for k, v in groups.items() if len(v) == g]
    sams = [samples[k[1]] for k, _ in keep]
    texts = [t for _, v in keep for t in v]
    correct = [score(t, s, PAPER).correct for s, (_, v) in zip(sams, keep, strict=True) for t in v]
    return Rollouts(sams, g, texts, [int(not c) for c in correct], correct, [() for _ in texts])


def lab_logged(rows: Iterable[CompletionRecord], samples: Mapping[str, Sample], rewards: Iterable[Any] = ("paper",),
               group_size: int | None = None) -> LabResult:
    """The lab's metrics on real completions (see `logged_rollouts`); `error_rate` is `"logged"` in the rows."""
    res = LabResult()
    r = logged_rollouts(rows, samples, group_size)
    res.rollouts["logged"] = r
    _measure_all(res, r, list(rewards), "logged")
    return res


def load_samples(data: str | Path, split: str | None = None) -> list[Sample]:
    """Question rows of a data set folder (one split, or every split when None)."""
    splits = [split] if split else list(read_manifest(data).get("counts", {"train": 0}))
    return [row for sp in splits for row in load_questions(data, sp).to_list()]
