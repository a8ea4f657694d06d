"""The run-record types of `rmlite.records` against rows their writers make (completions.jsonl by the accuracy
reward, metrics.jsonl by the run logger, heldout.jsonl by the held-out callback), read back by their readers: a
field added to, dropped from or retyped in a writer fails here (tests/fixtures/typed_records.py is the checker)."""

import dataclasses
import json
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest
from fixtures.typed_records import mismatches

from rmlite.evaluate import score_answers
from rmlite.lab import read_completions
from rmlite.records import CompletionRecord, HeldoutRecord, MetricsRecord, RewardRecord
from rmlite.reward import RewardBreakdown, load_reward
from rmlite.schema import COMPLETIONS_FILE, HELDOUT_FILE

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    from rmlite.data import load_questions

    rows = load_questions(MINI, "test").to_list()
    return [next(r for r in rows if r["type"] == t) for t in ("counting1", "counting2", "torf2", "planning")]


def completion_rows(tmp_path: Path, samples: list[dict], reward) -> list[dict]:
    """What `AccuracyRecorder` (the writer) appends for one call, read back by the lab's reader."""
    from rmlite.train.grpo import AccuracyRecorder

    path = tmp_path / COMPLETIONS_FILE
    path.unlink(missing_ok=True)
    columns = {k: [s[k] for s in samples] for k in samples[0]}
    texts = ["\\boxed{A}", "\\boxed{3}", "\\boxed{yes}", "no idea"]
    AccuracyRecorder(reward, path, rank=1)(completions=texts, trainer_state=SimpleNamespace(global_step=7), **columns)
    return read_completions(path)


def test_reward_record_is_the_breakdown():
    hints = typing.get_type_hints(RewardRecord)
    assert hints == typing.get_type_hints(RewardBreakdown)
    assert set(RewardRecord.__required_keys__) == {"total"}


@pytest.mark.parametrize("reward", ["paper", "robust", "plain float"])
def test_completion_rows_fit_their_type(tmp_path, samples, reward):
    fn = load_reward(reward) if reward != "plain float" else (lambda text, sample: 0.25)
    rows = completion_rows(tmp_path, samples, fn)
    assert [r["id"] for r in rows] == [s["id"] for s in samples]
    assert {k for r in rows for k in r["reward"]} == ({"total"} if reward == "plain float" else
                                                      {f.name for f in dataclasses.fields(RewardBreakdown)})
    assert [m for r in rows for m in mismatches(r, CompletionRecord)] == []


def test_the_fit_check_fails_on_changed_completion_rows(tmp_path, samples):
    row = completion_rows(tmp_path, samples, load_reward("paper"))[0]
    assert mismatches({**row, "step": "7"}, CompletionRecord) == ["step: '7' is not int"]
    assert mismatches({**row, "score": 1.0}, CompletionRecord) == ["score: a key CompletionRecord does not have"]
    assert mismatches({**row, "reward": {"format": 1.0}}, CompletionRecord) == ["reward.total: missing"]


def test_metrics_rows_fit_their_type(tmp_path):
    from rmlite.train.runlog import RunLogger, read_metrics

    logger = RunLogger(tmp_path, ("perception",))
    state = SimpleNamespace(is_world_process_zero=True, global_step=3)
    logger.on_log(None, state, None, logs={"loss": 0.5, "reward": 1, "rewards/paper/mean": 0.25, "note": "text"})
    rows = read_metrics(tmp_path)
    assert rows == [{"step": 3, "loss": 0.5, "reward": 1, "rewards/paper/mean": 0.25}]
    assert mismatches(rows[0], MetricsRecord) == []
    assert mismatches({**rows[0], "note": "text"}, MetricsRecord) != []


def test_heldout_rows_fit_their_type_and_are_read_back(tmp_path, samples):
    from rmlite.train.heldout import HeldOutEval

    cb = HeldOutEval(samples, every=1, out=tmp_path)
    report = score_answers(cb.samples, ["A", "3", "no", "nonsense"], name="step 4")
    row = json.loads(json.dumps(cb.row(4, report)))  # as written to heldout.jsonl, and read back
    assert mismatches(row, HeldoutRecord) == []
    assert set(row["by_type"]) == {s["type"] for s in samples} | {"all"}
    (tmp_path / HELDOUT_FILE).write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert cb.restore() == [4]
    bad = {**row, "by_type": {"all": {**row["by_type"]["all"], "n": 4.0}}}
    assert mismatches(bad, HeldoutRecord) == ["by_type['all'].n: 4.0 is not int"]
