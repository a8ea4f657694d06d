"""Evaluation scoring and baselines against hand computations (no model needed)."""

import pytest

from rmlite.data import DatasetConfig, generate_dataset, load_questions
from rmlite.evaluate import chance_answers, majority_answers, markdown_table, score_answers, write_reports
from rmlite.formats import boxed, reference_completion
from rmlite.questions import QuestionConfig


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
