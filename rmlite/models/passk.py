"""Before GRPO: is there anything to amplify? Greedy accuracy and pass@k per question type against a guesser.

GRPO can only reinforce right answers the policy already samples. If, for a question type, the k answers sampled
at the training temperature are right no more often than a guesser's k draws, the right ones are luck: GRPO has
nothing to learn from there. `sample_pass_at_k` measures it; `PassAtKReport.warnings()` says it, one line a type.

The guesser knows the answer distribution of the type but not the map: it draws each of its k guesses from the
keys of that type in `pool` (default: the questions sampled), so its pass@k on a question whose key has frequency
p is 1 - (1 - p)^k. A route is never guessed (chance 0). "At chance" means pass@k is not above the guesser's by
more than two standard errors of a binomial share at the guesser's rate.

>>> pool = [{"type": "torf1", "answer": "yes"}, {"type": "torf1", "answer": "no"}]
>>> guesser_pass_at_k({"type": "torf1", "answer": "yes"}, pool, k=3)  # 1 - 0.5 ** 3
0.875
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

from rmlite.data.answers import reference_completion
from rmlite.models.inference import generate_answers
from rmlite.reward.score import score
from rmlite.schema import Sample, answer_kind
from rmlite.stats import binomial_se, mean_se

NOTHING_TO_LEARN = "GRPO has nothing to learn from here"
GUESSING = "sampled answers are right only by guessing"
NEVER = "no sampled answer is right"
Z = 2.0  # standard errors above the guesser's pass@k that count as "above chance"


def guesser_pass_at_k(sample: Sample, pool: Sequence[Mapping], k: int) -> float:
    """The chance that one of k guesses drawn from the pool's keys of the sample's type is the sample's key."""
    if answer_kind(sample["type"]) == "route":
        return 0.0
    keys = [str(s["answer"]) for s in pool if s["type"] == sample["type"]]
    p = keys.count(str(sample["answer"])) / len(keys) if keys else 0.0
    return 1.0 - (1.0 - p) ** k


@dataclass
class TypePassAtK:
    """One question type: n questions, greedy accuracy, pass@k (with standard errors) and the guesser's pass@k."""

    type: str
    n: int
    greedy: float
    greedy_se: float
    pass_k: float
    pass_k_se: float
    chance_k: float

    @property
    def at_chance(self) -> bool:
        """pass@k not above the guesser's by more than Z binomial standard errors at the guesser's rate."""
        se0 = binomial_se(self.chance_k, self.n)
        return self.pass_k - self.chance_k <= Z * se0


@dataclass
class PassAtKReport:
    k: int
    temperature: float
    by_type: dict[str, TypePassAtK] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """One line per type whose pass@k is at chance."""
        return [f"{t}: pass@{self.k} {p.pass_k:.2f} vs guessing {p.chance_k:.2f} (n={p.n}): {NOTHING_TO_LEARN}: "
                f"{NEVER if p.pass_k == 0 else GUESSING}" for t, p in sorted(self.by_type.items()) if p.at_chance]

    def table(self) -> str:
        """A Markdown table: type, n, greedy ± SE, pass@k ± SE, guesser's pass@k, at chance."""
        lines = [f"| type | n | greedy | pass@{self.k} (T={self.temperature:g}) | guessing pass@{self.k} | "
                 "at chance |", "|---|---|---|---|---|---|"]
        for t, p in sorted(self.by_type.items()):
            lines.append(f"| {t} | {p.n} | {p.greedy:.2f} ± {p.greedy_se:.2f} | {p.pass_k:.2f} ± {p.pass_k_se:.2f} "
                         f"| {p.chance_k:.2f} | {'yes' if p.at_chance else 'no'} |")
        return "\n".join(lines)

    @classmethod
    def from_dict(cls, d: Mapping) -> PassAtKReport:
        """The inverse of `as_dict` (e.g. from `warm_start.json`)."""
        fields = ("type", "n", "greedy", "greedy_se", "pass_k", "pass_k_se", "chance_k")
        return cls(d["k"], d["temperature"], {t: TypePassAtK(*(v[f] for f in fields)) for t, v in d["by_type"].items()})

    def as_dict(self) -> dict:
        return {"k": self.k, "temperature": self.temperature,
                "by_type": {t: {**asdict(p), "at_chance": p.at_chance} for t, p in self.by_type.items()}}


def answer_tokens(processor, samples: Sequence[Sample]) -> int:
    """The longest reference answer of `samples` in tokens, plus 8: room for a right answer, not for rambling."""
    tok = getattr(processor, "tokenizer", processor)
    return max(len(tok(reference_completion(dict(s)), add_special_tokens=False)["input_ids"]) for s in samples) + 8


def sample_groups(model, processor, samples: Sequence[Sample], images: Sequence, *, group_size: int,
                  temperature: float = 1.0, max_new_tokens: int | None = None, batch_size: int = 8,
                  seed: int = 0) -> list[list[str]]:
    """`group_size` answers per sample, sampled at `temperature` as GRPOTrainer samples a group (one list each)."""
    import torch

    if len(samples) != len(images):
        raise ValueError(f"{len(samples)} samples but {len(images)} images")
    torch.manual_seed(seed)
    random.seed(seed)
    flat = generate_answers(model, processor, [s["question"] for s in samples], list(images),
                            max_new_tokens=max_new_tokens or answer_tokens(processor, samples),
                            batch_size=batch_size, do_sample=True, temperature=temperature,
                            num_return_sequences=group_size, progress=False)
    return [flat[i * group_size:(i + 1) * group_size] for i in range(len(samples))]


def sample_pass_at_k(model, processor, samples: Sequence[Sample], images: Sequence, *, k: int = 8,
                     temperature: float = 1.0, pool: Sequence[Mapping] | None = None, max_new_tokens: int | None = None,
                     batch_size: int = 8, seed: int = 0) -> PassAtKReport:
    """Greedy accuracy and pass@k at `temperature` per question type on `samples` (images parallel to them).

    Correct means the paper reward's correctness (the accuracy GRPO's reward sees). `max_new_tokens` None: the
    longest reference answer plus 8 tokens.
    """
    mnt = max_new_tokens or answer_tokens(processor, samples)
    greedy = generate_answers(model, processor, [s["question"] for s in samples], list(images), max_new_tokens=mnt,
                              batch_size=batch_size, progress=False)
    groups = sample_groups(model, processor, samples, images, group_size=k, temperature=temperature,
                           max_new_tokens=mnt, batch_size=max(1, batch_size // 2), seed=seed)
    pool = list(samples) if pool is None else list(pool)
    by: dict[str, list[tuple[float, float, float]]] = {}
    for s, g, group in zip(samples, greedy, groups, strict=True):
        by.setdefault(s["type"], []).append((float(score(g, s).correct), float(any(score(a, s).correct
                                                                                   for a in group)),
                                             guesser_pass_at_k(s, pool, k)))
    report = PassAtKReport(k, temperature)
    for t, rows in by.items():
        g, g_se = mean_se([r[0] for r in rows])
        p, p_se = mean_se([r[1] for r in rows])
        report.by_type[t] = TypePassAtK(t, len(rows), g, g_se, p, p_se, sum(r[2] for r in rows) / len(rows))
    return report
