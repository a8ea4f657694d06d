"""verl and EasyR1 adapters, called the way those engines call them."""

import json

import pytest
from fixtures.reward import perception_sample, planning_sample, reference

from rmlite.reward import engines as adapters
from rmlite.reward.config import OFFICIAL, PAPER
from rmlite.reward.score import score

PLAN = planning_sample("oslo", "Majorstuen Station", "Besserud Station")
TORF = perception_sample("geneva", "torf2")


def test_verl_keyword_call():
    # verl's reward manager: compute_score(data_source=..., solution_str=..., ground_truth=..., extra_info=...,
    # **reward_kwargs) with ground_truth from the parquet's reward_model.ground_truth.
    out = adapters.compute_score(data_source="rmlite", solution_str=reference(PLAN), ground_truth=json.dumps(PLAN),
                                 extra_info={"index": 0, "split": "train"})
    assert out["score"] == pytest.approx(score(reference(PLAN), PLAN, PAPER).total)
    assert out["format"] + out["correctness"] + out["detail"] == pytest.approx(out["score"])
    assert out["acc"] == 1.0 and all(isinstance(v, float) for v in out.values())


def test_verl_positional_and_preset():
    out = adapters.compute_score("rmlite", reference(PLAN), json.dumps(PLAN), None, reward="official")
    assert out["score"] == pytest.approx(12.6) and out["format"] == 0
    assert adapters.verl_compute_score("x", "junk", PLAN)["score"] == 0.0  # dict ground truth works too


def test_easyr1_batch_call():
    inputs = [{"response": reference(PLAN), "response_length": 30, "ground_truth": json.dumps(PLAN)},
              {"response": r"\boxed{maybe}", "response_length": 5, "ground_truth": json.dumps(TORF)},
              {"response": reference(TORF), "response_length": 5, "ground_truth": json.dumps(TORF)}]
    out = adapters.compute_score(inputs, reward="official")
    assert [o["overall"] for o in out] == pytest.approx([score(i["response"], json.loads(i["ground_truth"]),
                                                               OFFICIAL).total for i in inputs])
    assert out[1]["acc"] == 0.0 and out[2]["acc"] == 1.0
    assert adapters.easyr1_compute_score(inputs)[0]["overall"] == pytest.approx(score(reference(PLAN), PLAN).total)


@pytest.mark.parametrize("gt", ["not json", "[1, 2]", None, json.dumps({"id": "x"})])
def test_bad_ground_truth_raises(gt):
    with pytest.raises(ValueError):
        adapters.compute_score("rmlite", "anything", gt)


def test_easyr1_needs_batch_mode():
    with pytest.raises(ValueError, match="batch"):
        adapters.easyr1_compute_score({"response": "x"})
