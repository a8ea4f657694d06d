"""Evaluation: greedy answers on held-out maps, ReasonMap's metrics by type and difficulty, and baselines.

Every report carries the baselines that make its numbers mean something: chance (the expected accuracy of a
uniform guess, not one random draw) and majority answer per type, and (optionally) the same model with the image
masked — ReasonMap's check that a model reads the map rather than guessing from the question. Accuracies come with
standard errors, and answers the type's parser cannot read (a yes/no question answered `\\boxed{2}`) are counted as
format errors apart from wrong answers, so a format swap shows as one. `pass_at_k` asks, before GRPO, whether
sampled answers beat guessing at all. `compat="release"` adds the same answers judged as ReasonMap's release judges
them (`rmlite.reward.compat`), beside rmlite's corrected judgement.
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
from rmlite.models.passk import PassAtKReport, sample_pass_at_k
from rmlite.records import TypeAccuracy
from rmlite.reward import metrics
from rmlite.reward.compat import COMPAT_MODES, DEFAULT, ReleaseCompat
from rmlite.reward.config import PAPER, RewardConfig
from rmlite.reward.score import score
from rmlite.schema import CHANCE_MAX_COUNT as CHANCE_MAX_COUNT  # the chance baseline's count range (re-exported)
from rmlite.schema import Sample, kind_of
from rmlite.stats import mean_se, share_interval


@dataclass
class EvalReport:
    """Per-question records and summaries of one model (or baseline) on one data set."""

    name: str
    records: list[dict]
    summary: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "summary": self.summary, "records": self.records}, ensure_ascii=False,
                          indent=1)


def score_answers(samples: Sequence[Sample], answers: Sequence[str], *, name: str = "model",
                  reward: RewardConfig = PAPER, compat: ReleaseCompat = DEFAULT) -> EvalReport:
    """Score given answers (from a model, a baseline or a log) against samples; no model needed.

    Accuracy and map score are ReasonMap's strict evaluation (`rmlite.reward.metrics`); the training reward (`reward`)
    and its reason are recorded beside them, so failures can be read with their breakdowns. `compat` picks where
    the judgement follows the release (`rmlite.reward.compat.RELEASE`: all of it).
    """
    if len(samples) != len(answers):
        raise ValueError(f"{len(samples)} samples but {len(answers)} answers")
    records = []
    for s, a in zip(samples, answers, strict=True):
        rec = metrics.judge(a, s, compat)
        b = score(a, s, reward)
        rec.update(answer=a, key=s["answer"], reward=b.total, reason=b.reason, format_error=int(b.parsed is None))
        records.append(rec)
    return EvalReport(name, records, metrics.summarize(records))


def paired_change(before: EvalReport, after: EvalReport, qtype: str | None = None) -> tuple[float, float, int]:
    """(after - before accuracy, its standard error, n) on the questions both reports share (paired by id), for one
    type or all: the SE of the mean per-question difference, tighter than two independent SEs."""
    old = {r["id"]: r["correct"] for r in before.records if qtype is None or r["type"] == qtype}
    diffs = [r["correct"] - old[r["id"]] for r in after.records if r["id"] in old]
    m, se = mean_se(diffs)
    return m, se, len(diffs)


def type_table(report: EvalReport) -> dict[str, TypeAccuracy]:
    """Per type (and "all"): n, accuracy, its SE (`accuracy_se`), and the shares of format errors and of readable
    wrong answers."""
    by: dict[str, list[dict]] = {}
    for r in report.records:
        by.setdefault(r["type"], []).append(r)
    by["all"] = list(report.records)
    out = {}
    for t, recs in by.items():
        acc, se = accuracy_se(recs)
        fmt = sum(r.get("format_error", 0) for r in recs) / len(recs)
        wrong = sum(not r["correct"] and not r.get("format_error", 0) for r in recs) / len(recs)
        out[t] = {"n": len(recs), "accuracy": acc, "se": se, "format_errors": fmt, "wrong": wrong}
    return out


def accuracy_se(records: Sequence[Mapping]) -> tuple[float, float]:
    """Accuracy and its SE over records. Records of an expected-value baseline (`chance_report`) carry `variance`,
    the Bernoulli variance p(1 - p) of each question: the SE is then that of a guesser's accuracy on these n
    questions, sqrt(sum p(1 - p)) / n, not the (zero) spread of equal expectations.

    >>> accuracy_se([{"correct": 0.5, "variance": 0.25}] * 4)
    (0.5, 0.25)
    """
    if records and all("variance" in r for r in records):
        n = len(records)
        return sum(r["correct"] for r in records) / n, math.sqrt(sum(r["variance"] for r in records)) / n
    return mean_se([r["correct"] for r in records])


def chance_answers(samples: Sequence[Sample], seed: int = 0) -> list[str]:
    """One draw of a uniform guess per question from its kind's `guesses` (`rmlite.schema.AnswerKind`): a letter A–D,
    yes or no, a count in 1..`CHANCE_MAX_COUNT`, and no route (there is no sensible random route: chance accuracy on
    route questions is ~0). The map is not read: a guess that never saw it. Reports use the expectation
    (`chance_report`)."""
    rng = random.Random(seed)
    guesses = [kind_of(s["type"]).guesses for s in samples]
    return [boxed(rng.choice(g)) if g else "" for g in guesses]


def chance_probability(sample: Sample) -> float:
    """The probability that `chance_answers`' uniform guess is right: 1/4 for a letter, 1/2 for yes/no, for a count
    1/`CHANCE_MAX_COUNT` when the key lies in 1..`CHANCE_MAX_COUNT` (else 0), and 0 for a route.

    >>> chance_probability({"type": "torf1", "answer": "no"}), chance_probability({"type": "counting1", "answer": "13"})
    (0.5, 0.0)
    """
    kind = kind_of(sample["type"])
    return 1 / len(kind.guesses) if kind.guesses and kind.canonical(str(sample["answer"])) in kind.guesses else 0.0


def chance_report(samples: Sequence[Sample], name: str = "chance") -> EvalReport:
    """The chance baseline as its expectation: each record's `correct` is `chance_probability` (with its variance,
    so `type_table` gives the SE a guesser's accuracy has on these questions), not one random draw (which can read
    0.0 on a small count set). Routes are answered empty, as `chance_answers` does."""
    records = []
    for s in samples:
        rec = metrics.judge("", s)  # ids, types, difficulties, weight; a route's map score for no answer
        p = chance_probability(s)
        rec.update(correct=p, variance=p * (1 - p), answer="", key=s["answer"],
                   format_error=int(kind_of(s["type"]).route))
        records.append(rec)
    return EvalReport(name, records, metrics.summarize(records))


def majority_answers(samples: Sequence[Sample], train: Iterable[Mapping] | None = None) -> list[str]:
    """The most frequent key per type (from `train` if given, else from the samples themselves); a route key is
    answered as it is written, the others boxed. A type the pool lacks gets the empty answer."""
    pool = list(train) if train is not None else list(samples)
    top = {t: Counter(s["answer"] for s in pool if s["type"] == t).most_common(1)[0][0]
           for t in {s["type"] for s in pool}}
    return [_as_answer(top[s["type"]], s["type"]) if s["type"] in top else "" for s in samples]


def _as_answer(key: str, qtype: str) -> str:
    return key if kind_of(qtype).route else boxed(key)


def evaluate(model, processor, dataset, *, name: str = "model", image_masked: bool = True,
             max_new_tokens: int = 256, batch_size: int = 4, out: str | Path | None = None,
             progress: bool = True, compat: str = "default") -> dict[str, EvalReport]:
    """Greedy answers on `dataset` (rows with `image`), scored, with chance / majority / image-masked baselines.

    Returns {name: report, "chance": …, "majority": …, f"{name} (image masked)": …}, and with `compat="release"`
    also f"{name} (release)": the same answers as the release judges them; writes a JSON report, a Markdown table
    and a plot under `out` if given.
    """
    if compat not in COMPAT_MODES:
        raise ValueError(f"compat must be one of {', '.join(COMPAT_MODES)}, not {compat!r}")
    rows = [dataset[i] for i in range(len(dataset))]
    samples = [{k: v for k, v in r.items() if k != "image"} for r in rows]
    answers = answers_for(model, processor, rows, max_new_tokens=max_new_tokens, batch_size=batch_size,
                          progress=progress)
    reports = {name: score_answers(samples, answers, name=name)}
    if COMPAT_MODES[compat] != DEFAULT:
        reports[name + RELEASE_SUFFIX] = score_answers(samples, answers, name=name + RELEASE_SUFFIX,
                                                       compat=COMPAT_MODES[compat])
    if image_masked:
        masked = answers_for(model, processor, rows, mask_image=True, max_new_tokens=max_new_tokens,
                             batch_size=batch_size, progress=progress, desc="image masked")
        reports[name + MASKED] = score_answers(samples, masked, name=name + MASKED)
    reports["chance"] = chance_report(samples)
    reports["majority"] = score_answers(samples, majority_answers(samples), name="majority")
    if out is not None:
        write_reports(list(reports.values()), out)
    return reports


def pass_at_k(model, processor, dataset, *, k: int = 8, temperature: float = 1.0, max_new_tokens: int | None = None,
              batch_size: int = 8, seed: int = 0, warn: bool = True) -> PassAtKReport:
    """Before GRPO: greedy accuracy and pass@k at the training temperature per type against a guesser's pass@k
    (`rmlite.models.passk`), on rows with an `image`; prints one warning line per type where pass@k is at chance."""
    rows = [dataset[i] for i in range(len(dataset))]
    samples = [{key: v for key, v in r.items() if key != "image"} for r in rows]
    report = sample_pass_at_k(model, processor, samples, [r["image"] for r in rows], k=k, temperature=temperature,
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


BASELINES = ("chance", "majority")  # report names drawn as reference marks, not bars
MASKED = " (image masked)"  # the suffix `evaluate` gives a model's image-masked run
RELEASE_SUFFIX = " (release)"  # the suffix of a model's answers judged as the release judges them
BASELINE_STYLE = {"chance": ("0.25", ":"), "majority": ("tab:red", "--")}  # colour, line style


def plot_reports(reports: Sequence[EvalReport], path: str | Path, title: str = "") -> Path:
    """`accuracy_figure` saved as a PNG."""
    fig = accuracy_figure(reports, title)
    import matplotlib.pyplot as plt  # after the figure: it chose the Agg backend

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def accuracy_figure(reports: Sequence[EvalReport], title: str = ""):
    """Accuracy per question type (and overall): a bar per model with its Wilson interval at one SE
    (`rmlite.stats.share_interval`: inside 0–1, not empty at 0; image-masked runs hatched), a zero drawn as a marker
    and its value (a bar of height 0 shows nothing), the baselines (`BASELINES`) as reference lines across each
    group, n in every tick label, accuracy on 0–1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = {r.name: type_table(r) for r in reports if r.records}
    models = [n for n in tables if n not in BASELINES]
    types = sorted({t for tb in tables.values() for t in tb} - {"all"}) + ["all"]
    fig, ax = plt.subplots(figsize=(max(6.5, 1.1 * len(types) * max(1, len(models)) ** 0.5 + 2), 4.2))
    width = 0.8 / max(1, len(models))
    bases = list(dict.fromkeys(n.removesuffix(MASKED) for n in models))  # a model and its masked run share a colour
    for i, name in enumerate(models):
        _bars(ax, tables[name], types, i - (len(models) - 1) / 2, width, name,
              f"C{bases.index(name.removesuffix(MASKED)) % 10}")
    for name in [n for n in BASELINES if n in tables]:
        _baseline_marks(ax, tables[name], types, name)
    ax.set_xticks(range(len(types)), [f"{t}\n{_n_label(tables, models or list(tables), t)}" for t in types],
                  fontsize=8)
    ax.set_ylabel("accuracy (Wilson interval, 1 SE)")
    ax.set_ylim(0, 1)  # a zero's marker sits on the axis, drawn unclipped
    ax.set_title(title or "accuracy per question type", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def _bars(ax, table: Mapping[str, Mapping], types: Sequence[str], slot: float, width: float, name: str,
          color: str) -> None:
    drawn = [(k + slot * width, table[t]) for k, t in enumerate(types) if t in table]
    xs, ys = [x for x, _ in drawn], [v["accuracy"] for _, v in drawn]
    spans = [share_interval(v["accuracy"], v["n"]) for _, v in drawn]
    masked = name.endswith(MASKED)
    ax.bar(xs, ys, width * 0.92, label=name, hatch="//" if masked else None, color=color,
           alpha=0.55 if masked else 1.0, edgecolor="0.3", linewidth=0.5)
    ax.errorbar(xs, ys, yerr=[[y - lo for y, (lo, _) in zip(ys, spans, strict=True)],
                              [hi - y for y, (_, hi) in zip(ys, spans, strict=True)]],
                fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
    zeros = [(x, hi) for x, y, (_, hi) in zip(xs, ys, spans, strict=True) if y == 0]
    if zeros:  # a bar of height 0 is invisible: a marker on the axis and the value say "measured, and 0"
        ax.plot([x for x, _ in zeros], [0.0] * len(zeros), ls="none", marker="^", ms=6, color=color,
                markeredgecolor="0.2", markeredgewidth=0.6, alpha=0.55 if masked else 1.0, clip_on=False)
        for x, hi in zeros:  # above the interval, so its line does not cross the value
            ax.text(x, hi + 0.01, "0", ha="center", va="bottom", fontsize=7, color="0.2")


def _baseline_marks(ax, table: Mapping[str, Mapping], types: Sequence[str], name: str) -> None:
    color, style = BASELINE_STYLE.get(name, ("0.5", "-."))
    drawn = [k for k, t in enumerate(types) if t in table]
    ax.hlines([table[types[k]]["accuracy"] for k in drawn], [k - 0.45 for k in drawn], [k + 0.45 for k in drawn],
              colors=color, linestyles=style, linewidth=1.6, label=name)


def _n_label(tables: Mapping[str, Mapping], names: Sequence[str], qtype: str) -> str:
    """"n=48" when every model answered the same number of questions of the type, else "n=48/30" in bar order."""
    ns = [tables[n][qtype]["n"] for n in names if qtype in tables[n]]
    return "n=" + ("/".join(map(str, ns)) if len(set(ns)) > 1 else str(ns[0]))
