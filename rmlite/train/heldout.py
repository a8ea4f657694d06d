"""Held-out evaluation during training: greedy answers on a small fixed set, every N steps, beside the baselines.

Sampled training accuracy (`accuracy/<type>`) is not held-out accuracy: it rises when the policy narrows its
samples, or swaps one answer format for another, while greedy answers on unseen maps do not move. `HeldOutEval`
puts the honest number in the live curves: at the start, every `every` steps and at the end it answers the fixed
held-out questions greedily, scores them with ReasonMap's metrics (`rmlite.evaluate`) and logs

* `heldout/step` (the step evaluated: the start's evaluation lands in step 1's row), `heldout/n` (questions),
  `heldout/accuracy`, `heldout/accuracy_se`, `heldout/accuracy/<type>`, `heldout/accuracy_se/<type>`,
  `heldout/n/<type>` (the plot's intervals need it),
  `heldout/format_errors/<type>` (answers the type's parser cannot read, apart from wrong ones), `heldout/chance`
  and `heldout/majority` (constant);

and writes one row per evaluation to `heldout.jsonl` (per type and per difficulty, with standard errors, and the
answers). `change()` gives the paired change from the first to the last evaluation, with its standard error. Runs in
the main process only (the others wait at their next collective step). A resumed run does not evaluate at its start
(the checkpoint's step was evaluated before the interruption if the uninterrupted run would evaluate it): it reads
the earlier evaluations back from `heldout.jsonl`, re-scoring their answers, so `change()` still starts at step 0.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from rmlite.evaluate import (
    EvalReport,
    chance_report,
    majority_answers,
    mean_se,
    paired_change,
    score_answers,
    type_table,
)
from rmlite.models.inference import answers_for
from rmlite.records import HeldoutRecord
from rmlite.schema import HELDOUT_FILE

EVAL_EVERY = 50  # optimizer steps between held-out evaluations
PREFIX = "heldout"


def _by(records: list[dict], field: str) -> dict[str, dict]:
    groups: dict[str, list[int]] = {}
    for r in records:
        groups.setdefault(str(r.get(field) or "?"), []).append(r["correct"])
    return {k: dict(zip(("accuracy", "se"), mean_se(v), strict=True)) | {"n": len(v)} for k, v in groups.items()}


class HeldOutEval(TrainerCallback):
    """Greedy held-out evaluation every `every` steps (and at the start and the end) of a training run.

    Args:
        dataset: rows in rmlite's schema with an `image` (a `load_split` slice); keep it small (24–100 questions).
        every: optimizer steps between evaluations.
        out: folder for `heldout.jsonl` (`rmlite.train.train` sets it to the run folder when None).
        max_new_tokens, batch_size: generation settings.
    """

    def __init__(self, dataset: Any, every: int = EVAL_EVERY, out: str | Path | None = None,
                 max_new_tokens: int = 256, batch_size: int = 8):
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        self.rows = [dataset[i] for i in range(len(dataset))]
        if not self.rows:
            raise ValueError("the held-out set is empty")
        self.samples = [{k: v for k, v in r.items() if k != "image"} for r in self.rows]
        self.every, self.out = every, None if out is None else Path(out)
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.baselines = {"chance": chance_report(self.samples),  # a guesser's expected accuracy, not one draw
                          "majority": score_answers(self.samples, majority_answers(self.samples), name="majority")}
        self.reports: dict[int, EvalReport] = {}  # step -> report
        self.pending: dict[str, float] = {}

    def evaluate(self, model: Any, processor: Any, step: int) -> EvalReport:
        """Answer and score the held-out set now; record the report and its row."""
        answers = answers_for(model, processor, self.rows, max_new_tokens=self.max_new_tokens,
                              batch_size=self.batch_size, progress=False)
        report = score_answers(self.samples, answers, name=f"step {step}")
        self.reports[step] = report
        self.pending = {f"{PREFIX}/step": step, **self.metrics(report)}
        if self.out is not None:
            with open(self.out / HELDOUT_FILE, "a", encoding="utf-8") as f:
                f.write(json.dumps(self.row(step, report)) + "\n")
        return report

    def metrics(self, report: EvalReport) -> dict[str, float]:
        """The flat metrics logged beside the training metrics."""
        table = type_table(report)
        out = {f"{PREFIX}/n": table["all"]["n"], f"{PREFIX}/accuracy": table["all"]["accuracy"],
               f"{PREFIX}/accuracy_se": table["all"]["se"]}
        for t, v in table.items():
            if t != "all":
                out[f"{PREFIX}/accuracy/{t}"] = v["accuracy"]
                out[f"{PREFIX}/accuracy_se/{t}"] = v["se"]
                out[f"{PREFIX}/n/{t}"] = v["n"]
                out[f"{PREFIX}/format_errors/{t}"] = v["format_errors"]
        for name, base in self.baselines.items():
            out[f"{PREFIX}/{name}"] = type_table(base)["all"]["accuracy"]
        return out

    def row(self, step: int, report: EvalReport) -> HeldoutRecord:
        """One `heldout.jsonl` row: per type (with format errors), per difficulty, and the baselines per type."""
        return {"step": step, "by_type": type_table(report),
                "by_difficulty": _by(report.records, "difficulty_question"),
                "baselines": {name: {t: v["accuracy"] for t, v in type_table(b).items()}
                              for name, b in self.baselines.items()},
                "answers": {str(r["id"]): r["answer"] for r in report.records}}

    def restore(self) -> list[int]:
        """The evaluations of `heldout.jsonl` (a run being resumed, already cut back to its checkpoint) as reports,
        re-scored from their answers; returns their steps. Rows of another held-out set (other ids) are skipped."""
        path = None if self.out is None else self.out / HELDOUT_FILE
        if path is None or not path.is_file():
            return []
        ids = [str(s["id"]) for s in self.samples]
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else {}
            answers = row.get("answers")
            if isinstance(answers, dict) and sorted(answers) == sorted(ids):
                report = score_answers(self.samples, [answers[i] for i in ids], name=f"step {row['step']}")
                self.reports[row["step"]] = report
        return sorted(self.reports)

    def change(self, qtype: str | None = None) -> tuple[float, float, int]:
        """(last - first accuracy, its paired SE, n) over the evaluations so far (one type or all)."""
        if len(self.reports) < 2:
            raise ValueError("change() needs two evaluations")
        steps = sorted(self.reports)
        return paired_change(self.reports[steps[0]], self.reports[steps[-1]], qtype)

    def _run(self, state: Any, kw: dict) -> None:
        if state.is_world_process_zero and state.global_step not in self.reports:
            self.evaluate(kw["model"], kw["processing_class"], state.global_step)

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step == 0:
            self._run(state, kw)
        elif state.is_world_process_zero:  # resumed from a checkpoint (its state is loaded before this call)
            self.restore()

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if state.global_step % self.every == 0 or state.global_step >= state.max_steps:
            self._run(state, kw)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
        if logs is not None and self.pending and ("loss" in logs or "reward" in logs):
            logs.update(self.pending)  # into this step's row of metrics.jsonl (RunLogger comes later in the list)
            self.pending = {}

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self._run(state, kw)
