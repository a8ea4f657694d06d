"""Evaluation scoring and baselines against hand computations (no model needed)."""

import pytest

from rmlite.data.answers import boxed, reference_completion
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_questions
from rmlite.evaluate import chance_answers, majority_answers, markdown_table, score_answers, write_reports


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("ev") / "data"
    q = QuestionConfig(per_map={"torf1": 4, "counting2": 2, "counting1": 2, "planning": 2})
    generate_dataset(out, DatasetConfig(n_maps=0, real_maps=("oslo",), questions=q), progress=False, workers=1)
    return [dict(r) for r in load_questions(out, "train")]


def test_oracle_and_hand_computed_accuracy(samples, tmp_path):
    oracle = score_answers(samples, [reference_completion(s) for s in samples], name="oracle")
    assert oracle.summary["accuracy"] == 1.0
    # Wrong on exactly the torf1 questions: accuracy = 1 - n_torf1 / n; weights are equal (one map, all Plus
    # weights equal; planning weights differ only by question level), so check the by-type numbers by hand.
    flipped = [boxed("no" if s["answer"] == "yes" else "yes") if s["type"] == "torf1" else reference_completion(s)
               for s in samples]
    rep = score_answers(samples, flipped, name="flipped")
    n_torf = sum(s["type"] == "torf1" for s in samples)
    assert rep.summary["accuracy"] == pytest.approx(1 - n_torf / len(samples))
    assert rep.summary["by_type"]["torf1"]["accuracy"] == 0.0
    assert rep.summary["by_type"]["counting2"]["accuracy"] == 1.0
    out = write_reports([oracle, rep], tmp_path / "r")
    assert (out / "report.md").read_text().count("|") > 10 and (out / "accuracy.png").is_file()
    assert "oracle" in markdown_table([oracle, rep])


def test_baselines_are_well_formed(samples):
    ch = score_answers(samples, chance_answers(samples, seed=1), name="chance")
    mj = score_answers(samples, majority_answers(samples), name="majority")
    assert 0.0 <= ch.summary["accuracy"] < 1.0
    # the majority answer of torf1 is right on exactly the majority share of torf1 questions
    torf = [s["answer"] for s in samples if s["type"] == "torf1"]
    share = max(torf.count("yes"), torf.count("no")) / len(torf)
    assert mj.summary["by_type"]["torf1"]["accuracy"] == pytest.approx(share)
    assert ch.summary["by_type"]["planning"]["accuracy"] == 0.0


def test_length_mismatch_is_an_error(samples):
    with pytest.raises(ValueError):
        score_answers(samples, [])


def test_released_benchmarks_evaluate_through_the_loaders(tmp_path):
    """ReasonMap (validation) and ReasonMap-Plus (test) rows, via the loaders, score in the paper's terms."""
    from fixtures.released import save_released

    from rmlite.data.released import load_released

    rm_dir, plus_dir = save_released(tmp_path)
    for folder, split in ((rm_dir, "validation"), (plus_dir, "test")):
        rows = load_released(str(folder), split)
        samples = [{k: v for k, v in r.items() if k != "image"} for r in rows]
        oracle = score_answers(samples, [reference_completion(s) for s in samples], name="oracle")
        assert oracle.summary["accuracy"] == 1.0
        empty = score_answers(samples, ["" for _ in samples], name="empty")
        assert empty.summary["accuracy"] == 0.0 and "weighted_accuracy" in empty.summary


def test_evaluate_runs_a_model_on_released_rows(tmp_path):
    pytest.importorskip("trl")
    from fixtures.models import tiny_model_cached
    from fixtures.released import save_released

    from rmlite.data.released import load_released
    from rmlite.evaluate import evaluate
    from rmlite.models.load import load_model

    _, plus_dir = save_released(tmp_path)
    rows = load_released(str(plus_dir), "test")
    model, proc = load_model(str(tiny_model_cached()), load_in_4bit=False, lora_rank=0, dtype="float32")
    reports = evaluate(model, proc, rows, name="tiny", max_new_tokens=8, out=tmp_path / "rep", progress=False)
    assert set(reports) == {"tiny", "tiny (image masked)", "chance", "majority"}
    assert reports["tiny"].summary["n"] == len(rows)
    assert (tmp_path / "rep" / "report.md").is_file()
