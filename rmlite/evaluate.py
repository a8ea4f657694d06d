"""Evaluation: greedy answers on held-out maps, ReasonMap's metrics by type and difficulty, and baselines.

Every report carries the baselines that make its numbers mean something: chance and majority answer per
type, and (optionally) the same model with the image masked — ReasonMap's check that a model reads the
map rather than guessing from the question. Accuracies come with standard errors, and answers the type's parser
cannot read (a yes/no question answered `\\boxed{2}`) are counted as format errors apart from wrong answers, so a
format swap shows as one. `pass_at_k` asks, before GRPO, whether sampled answers beat guessing at all.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rmlite.data.answers import boxed
from rmlite.models.inference import answers_for
from rmlite.models.probe import ProbeReport, probe
from rmlite.reward import metrics
from rmlite.reward.config import PAPER, RewardConfig
from rmlite.reward.score import score
from rmlite.schema import CHOICE_LETTERS, answer_kind


@dataclass
class EvalReport:
    """Per-question records and summaries of one model (or baseline) on one data set."""

    name: str
    records: list[dict]
    summary: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "summary": self.summary, "records": self.records}, ensure_ascii=False,
                          indent=1)


def score_answers(samples: Sequence[Mapping], answers: Sequence[str], *, name: str = "model",
                  reward: RewardConfig = PAPER) -> EvalReport:
    """Score given answers (from a model, a baseline or a log) against samples; no model needed.

    Accuracy and map score are ReasonMap's strict evaluation (`rmlite.reward.metrics`); the training reward (`reward`)
    and its reason are recorded beside them, so failures can be read with their breakdowns.
    """
    if len(samples) != len(answers):
        raise ValueError(f"{len(samples)} samples but {len(answers)} answers")
    records = []
    for s, a in zip(samples, answers, strict=True):
        rec = metrics.judge(a, s)
        b = score(a, s, reward)
        rec.update(answer=a, key=s["answer"], reward=b.total, reason=b.reason, format_error=int(b.parsed is None))
        records.append(rec)
    return EvalReport(name, records, metrics.summarize(records))


def mean_se(values: Sequence[float]) -> tuple[float, float]:
    """The mean and its standard error (sample standard deviation, n - 1, over sqrt(n)); SE 0 for one value.

    >>> mean_se([1, 0, 1, 1])
    (0.75, 0.25)
    """
    n = len(values)
    if not n:
        return float("nan"), float("nan")
    m = sum(values) / n
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n) if n > 1 else 0.0


def paired_change(before: EvalReport, after: EvalReport, qtype: str | None = None) -> tuple[float, float, int]:
    """(after - before accuracy, its standard error, n) on the questions both reports share (paired by id), for one
    type or all: the SE of the mean per-question difference, tighter than two independent SEs."""
    old = {r["id"]: r["correct"] for r in before.records if qtype is None or r["type"] == qtype}
    diffs = [r["correct"] - old[r["id"]] for r in after.records if r["id"] in old]
    m, se = mean_se(diffs)
    return m, se, len(diffs)


def type_table(report: EvalReport) -> dict[str, dict]:
    """Per type (and "all"): n, accuracy, its SE, and the shares of format errors and of readable wrong answers."""
    by: dict[str, list[dict]] = {}
    for r in report.records:
        by.setdefault(r["type"], []).append(r)
    by["all"] = list(report.records)
    out = {}
    for t, recs in by.items():
        acc, se = mean_se([r["correct"] for r in recs])
        fmt = sum(r.get("format_error", 0) for r in recs) / len(recs)
        wrong = sum(not r["correct"] and not r.get("format_error", 0) for r in recs) / len(recs)
        out[t] = {"n": len(recs), "accuracy": acc, "se": se, "format_errors": fmt, "wrong": wrong}
    return out


CHANCE_MAX_COUNT = 12  # a chance guess for a count is uniform in 1..12 (ReasonMap-Plus counts are small)


def chance_answers(samples: Sequence[Mapping], seed: int = 0) -> list[str]:
    """A uniform guess per question, by answer kind: a letter A–D, yes or no, a count in 1..`CHANCE_MAX_COUNT`,
    and no route (there is no sensible random route: chance accuracy on route questions is ~0). The map is not
    read: a guess that never saw it."""
    rng = random.Random(seed)
    out = []
    for s in samples:
        kind = answer_kind(s["type"])
        if kind == "letter":
            out.append(boxed(rng.choice(CHOICE_LETTERS)))
        elif kind == "yes_no":
            out.append(boxed(rng.choice(("yes", "no"))))
        elif kind == "integer":
            out.append(boxed(str(rng.randint(1, CHANCE_MAX_COUNT))))
        else:
            out.append("")
    return out


def majority_answers(samples: Sequence[Mapping], train: Iterable[Mapping] | None = None) -> list[str]:
    """The most frequent key per type (from `train` if given, else from the samples themselves); a route key is
    answered as it is written, the others boxed. A type the pool lacks gets the empty answer."""
    pool = list(train) if train is not None else list(samples)
    top = {t: Counter(s["answer"] for s in pool if s["type"] == t).most_common(1)[0][0]
           for t in {s["type"] for s in pool}}
    return [_as_answer(top[s["type"]], s["type"]) if s["type"] in top else "" for s in samples]


def _as_answer(key: str, qtype: str) -> str:
    return key if answer_kind(qtype) == "route" else boxed(key)


def evaluate(model, processor, dataset, *, name: str = "model", image_masked: bool = True,
             max_new_tokens: int = 256, batch_size: int = 4, out: str | Path | None = None,
             progress: bool = True) -> dict[str, EvalReport]:
    """Greedy answers on `dataset` (rows with `image`), scored, with chance / majority / image-masked baselines.

    Returns {name: report, "chance": …, "majority": …, f"{name} (image masked)": …}; writes a JSON report,
    a Markdown table and a plot under `out` if given.
    """
    rows = [dataset[i] for i in range(len(dataset))]
    samples = [{k: v for k, v in r.items() if k != "image"} for r in rows]
    reports = {name: score_answers(samples, answers_for(model, processor, rows, max_new_tokens=max_new_tokens,
                                                        batch_size=batch_size, progress=progress), name=name)}
    if image_masked:
        masked = answers_for(model, processor, rows, mask_image=True, max_new_tokens=max_new_tokens,
                             batch_size=batch_size, progress=progress, desc="image masked")
        reports[f"{name} (image masked)"] = score_answers(samples, masked, name=f"{name} (image masked)")
    reports["chance"] = score_answers(samples, chance_answers(samples), name="chance")
    reports["majority"] = score_answers(samples, majority_answers(samples), name="majority")
    if out is not None:
        write_reports(list(reports.values()), out)
    return reports


def pass_at_k(model, processor, dataset, *, k: int = 8, temperature: float = 1.0, max_new_tokens: int | None = None,
              batch_size: int = 8, seed: int = 0, warn: bool = True) -> ProbeReport:
    """Before GRPO: greedy accuracy and pass@k at the training temperature per type against a guesser's pass@k
    (`rmlite.models.probe`), on rows with an `image`; prints one warning line per type where pass@k is at chance."""
    rows = [dataset[i] for i in range(len(dataset))]
    samples = [{key: v for key, v in r.items() if key != "image"} for r in rows]
    report = probe(model, processor, samples, [r["image"] for r in rows], k=k, temperature=temperature,
                   max_new_tokens=max_new_tokens, batch_size=batch_size, seed=seed)
    if warn:
        for line in report.warnings():
            print(line)
    return report


def change_table(before: EvalReport, after: EvalReport, baselines: Sequence[EvalReport] = ()) -> str:
    """Markdown: per type, accuracy ± SE before and after, the paired change ± SE, format errors before → after,
    and the baselines' accuracy."""
    tb, ta = type_table(before), type_table(after)
    bl = [(b.name, type_table(b)) for b in baselines]
    head = ("| type | n | " + f"{before.name} | {after.name} | change | format errors | "
            + "".join(f"{name} | " for name, _ in bl))
    lines = [head.rstrip(), "|---" * (5 + len(bl)) + "|---|"]
    for t in sorted(ta, key=lambda x: (x == "all", x)):
        d, se, _ = paired_change(before, after, None if t == "all" else t)
        cells = [t, str(ta[t]["n"]), f"{tb[t]['accuracy']:.3f} ± {tb[t]['se']:.3f}",
                 f"{ta[t]['accuracy']:.3f} ± {ta[t]['se']:.3f}", f"{d:+.3f} ± {se:.3f}",
                 f"{tb[t]['format_errors']:.2f} → {ta[t]['format_errors']:.2f}"]
        cells += [f"{b[t]['accuracy']:.3f}" if t in b else "–" for _, b in bl]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_table(reports: Sequence[EvalReport]) -> str:
    """Accuracy per type (and overall weighted accuracy, map score) for several runs side by side."""
    types = sorted({t for r in reports for t in r.summary.get("by_type", {})})
    head = "| run | " + " | ".join(types) + " | overall acc | weighted acc | map score |"
    sep = "|---" * (len(types) + 4) + "|"
    lines = [head, sep]
    for r in reports:
        cells = [f"{r.summary['by_type'][t]['accuracy']:.3f}" if t in r.summary["by_type"] else "–" for t in types]
        o = r.summary
        ms = o.get("map_score")  # over every route question
        lines.append(f"| {r.name} | " + " | ".join(cells) + f" | {o['accuracy']:.3f} | {o['weighted_accuracy']:.3f} | "
                     + (f"{ms:.2f}" if ms is not None else "–") + " |")
    return "\n".join(lines)


def write_reports(reports: Sequence[EvalReport], out: str | Path) -> Path:
    """report.json (summaries), records per run (JSONL), report.md and accuracy.png under `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({r.name: r.summary for r in reports}, indent=1))
    for r in reports:
        safe = "".join(c if c.isalnum() else "_" for c in r.name)
        (out / f"records_{safe}.jsonl").write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in r.records))
    (out / "report.md").write_text(markdown_table(reports) + "\n")
    plot_reports(reports, out / "accuracy.png")
    return out


def plot_reports(reports: Sequence[EvalReport], path: str | Path) -> Path:
    """Grouped bars: accuracy per question type for each run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    types = sorted({t for r in reports for t in r.summary.get("by_type", {})})
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(types) + 2), 3.6))
    width = 0.8 / max(1, len(reports))
    for i, r in enumerate(reports):
        ys = [r.summary["by_type"].get(t, {}).get("accuracy", 0.0) for t in types]
        ax.bar([x + i * width for x in range(len(types))], ys, width, label=r.name)
    ax.set_xticks([x + width * (len(reports) - 1) / 2 for x in range(len(types))], types)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
