"""Export to verl / EasyR1 parquet, read back the way those engines read it, and scored through the adapters."""

import json

import pyarrow.parquet as pq
import pytest

from rmlite.data.answers import reference_completion
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.export import export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_questions
from rmlite.reward.engines import compute_score


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 2, "planning": 2})
    generate_dataset(out, DatasetConfig(n_maps=0, real_maps=("oslo", "miami"), questions=q), progress=False,
                     workers=1)
    return out


def test_verl_layout_round_trip(data_dir, tmp_path):
    paths = export(data_dir, tmp_path / "verl", "verl")
    assert {p.name for p in paths} == {"train.parquet", "test.parquet"}
    rows = pq.read_table(paths[0]).to_pylist()
    qs = {q["id"]: q for q in load_questions(data_dir, paths[0].stem)}
    assert len(rows) == len(qs)
    for r in rows:
        assert r["prompt"][0]["role"] == "user" and r["prompt"][0]["content"].startswith("<image>")
        assert r["images"][0]["bytes"][:4] == b"\x89PNG"
        gt = r["reward_model"]["ground_truth"]
        sample = json.loads(gt)
        assert sample["answer"] == qs[r["extra_info"]["id"]]["answer"]
        good = compute_score(r["data_source"], reference_completion(sample), gt, r["extra_info"])
        bad = compute_score(r["data_source"], "I don't know", gt, r["extra_info"])
        assert good["score"] > bad["score"] and good["acc"] == 1.0 and bad["acc"] == 0.0


def test_easyr1_layout_round_trip(data_dir, tmp_path):
    paths = export(data_dir, tmp_path / "e", "easyr1")
    rows = pq.read_table(paths[0]).to_pylist()
    inputs = [{"response": reference_completion(json.loads(r["answer"])), "response_length": 10,
               "ground_truth": r["answer"]} for r in rows]
    scores = compute_score(inputs)
    assert all(s["overall"] > 0 for s in scores) and len(scores) == len(rows)
    assert all(r["problem"].startswith("<image>") for r in rows)


def test_unknown_format(data_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export(data_dir, tmp_path, "openrlhf")
