"""Export to verl / EasyR1 parquet, read back the way those engines read it, and scored through the adapters."""

import json
import os

import pyarrow.parquet as pq
import pytest
from PIL import Image

from rmlite.data.answers import reference_completion
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.export import export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions
from rmlite.reward.engines import compute_score


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 2, "planning": 2})
    generate_dataset(out, DatasetConfig(n_maps=0, real_maps=("oslo", "miami"), questions=q), progress=False,
                     workers=1)
    return out


def _stored_pngs(data_dir):
    from datasets import Image as ImageFeature

    maps = load_maps(data_dir).cast_column("image", ImageFeature(decode=False))
    return {m["map_id"]: m["image"]["bytes"] for m in maps}


def test_verl_layout_round_trip(data_dir, tmp_path):
    paths = export(data_dir, tmp_path / "verl", "verl", max_pixels=768 * 768, min_pixels=28 * 28)
    assert {p.name for p in paths} == {"train.parquet", "test.parquet"}
    rows = pq.read_table(paths[0]).to_pylist()
    qs = {q["id"]: q for q in load_questions(data_dir, paths[0].stem)}
    pngs = _stored_pngs(data_dir)
    assert len(rows) == len(qs)
    for r in rows:
        assert r["prompt"][0]["role"] == "user" and r["prompt"][0]["content"].startswith("<image>")
        image = r["images"][0]  # verl's process_image opens image["image"] and resizes within the budget
        assert (image["max_pixels"], image["min_pixels"]) == (768 * 768, 28 * 28)
        assert os.path.isabs(image["image"])
        with open(image["image"], "rb") as f:
            assert f.read() == pngs[qs[r["extra_info"]["id"]]["map_id"]], "the map's stored PNG, unchanged"
        gt = r["reward_model"]["ground_truth"]
        sample = json.loads(gt)
        assert sample["answer"] == qs[r["extra_info"]["id"]]["answer"]
        good = compute_score(r["data_source"], reference_completion(sample), gt, r["extra_info"])
        bad = compute_score(r["data_source"], "I don't know", gt, r["extra_info"])
        assert good["score"] > bad["score"] and good["acc"] == 1.0 and bad["acc"] == 0.0


def test_easyr1_layout_round_trip(data_dir, tmp_path):
    paths = export(data_dir, tmp_path / "e", "easyr1")
    rows = pq.read_table(paths[0]).to_pylist()
    for r in rows:  # EasyR1 joins a relative path with data.image_dir, then opens it
        assert not os.path.isabs(r["images"][0])
        with Image.open(os.path.join(tmp_path / "e", r["images"][0])) as im:
            assert im.format == "PNG"
    inputs = [{"response": reference_completion(json.loads(r["answer"])), "response_length": 10,
               "ground_truth": r["answer"]} for r in rows]
    scores = compute_score(inputs)
    assert all(s["overall"] > 0 for s in scores) and len(scores) == len(rows)
    assert all(r["problem"].startswith("<image>") for r in rows)


def test_each_map_image_is_stored_once(data_dir, tmp_path):
    n_maps = len(_stored_pngs(data_dir))
    files = export(data_dir, tmp_path / "files", "verl")
    embedded = export(data_dir, tmp_path / "embedded", "verl", images="embedded")
    assert len(list((tmp_path / "files" / "images").glob("*.png"))) == n_maps
    assert not (tmp_path / "embedded" / "images").exists()
    size = {k: sum(f.stat().st_size for f in (tmp_path / k).rglob("*") if f.is_file()) for k in ("files", "embedded")}
    n_rows = sum(pq.read_metadata(p).num_rows for p in files)
    assert n_rows > 2 * n_maps and size["files"] * 2 < size["embedded"], size
    row = pq.read_table(embedded[0]).to_pylist()[0]
    assert row["images"][0]["bytes"][:4] == b"\x89PNG" and "max_pixels" not in row["images"][0]


def test_unknown_format_or_image_mode(data_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export(data_dir, tmp_path, "openrlhf")
    with pytest.raises(ValueError, match="unknown image mode"):
        export(data_dir, tmp_path, "verl", images="links")
