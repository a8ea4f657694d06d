"""Data sets on disk: generation, manifest, split by map, one image per map, lazy images, atomic writes, parquet.

One small data set (5 synthetic maps at 512 px plus Oslo and Miami) is generated twice per session, with 2 worker
processes and with 1, and every stored answer key is rechecked by the independent oracle.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from fixtures import oracle

from rmlite.data.build import DatasetConfig, generate_dataset, map_specs
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import (
    MapImages,
    attach_images,
    load_maps,
    load_questions,
    load_split,
    read_manifest,
)
from rmlite.schema import validate_sample

QCFG = QuestionConfig(per_map={"counting1": 3, "counting2": 3, "counting3": 1, "torf1": 4, "torf2": 4, "planning": 6},
                      long_template_share=0.3)
CFG = DatasetConfig(n_maps=5, seed=3, size=512, test_fraction=0.4, real_maps=("oslo", "miami"), questions=QCFG)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {"w2": generate_dataset(root / "w2", CFG, workers=2, progress=False),
            "w1": generate_dataset(root / "w1", CFG, workers=1, progress=False)}


@pytest.fixture(scope="module")
def ds(built) -> Path:
    return built["w2"]


def pixels(img) -> np.ndarray:
    return np.asarray(img.convert("RGB"))


def test_layout_and_manifest(ds):
    assert {p.name for p in ds.iterdir()} == {"manifest.json", "questions", "maps"}
    m = read_manifest(ds)
    assert m["complete"] and m["seed"] == 3 and m["maps"] == 7
    assert m["config"]["n_maps"] == 5 and m["config"]["size"] == 512
    assert m["config"]["questions"]["per_map"] == QCFG.per_map
    from rmlite import __version__

    assert m["rmlite_version"] == __version__
    for split in ("train", "test"):
        rows = load_questions(ds, split).to_list()
        c = m["counts"][split]
        assert c["questions"] == len(rows)
        assert c["maps"] == len({r["map_id"] for r in rows})
        assert c["by_type"] == dict(Counter(r["type"] for r in rows))
        assert c["by_type_and_difficulty"] == dict(Counter(f"{r['type']}/{r['difficulty_question']}" for r in rows))
        assert c["by_map_difficulty"] == dict(Counter(r["difficulty_city"] for r in rows))


def test_split_by_map_and_test_cities(ds):
    train = load_questions(ds, "train")
    test = load_questions(ds, "test")
    train_maps, test_maps = set(train["map_id"]), set(test["map_id"])
    assert train_maps and test_maps and not train_maps & test_maps
    assert "real-miami" in test_maps and "real-oslo" in train_maps
    assert len(test_maps - {"real-miami"}) == 2  # round(5 * 0.4) synthetic test maps
    maps = load_maps(ds)
    assert dict(zip(maps["map_id"], maps["split"], strict=True)) == {**{m: "train" for m in train_maps},
                                                      **{m: "test" for m in test_maps}}


def test_images_stored_once_per_map(ds):
    maps = load_maps(ds)
    ids = maps["map_id"]
    assert len(ids) == len(set(ids)) == 7
    assert set(ids) == set(load_questions(ds, "train")["map_id"]) | set(load_questions(ds, "test")["map_id"])
    for split in ("train", "test"):
        q = load_questions(ds, split)
        assert "image" not in q.column_names
        assert len(q) > len(set(q["map_id"])), "a map serves many questions"
    for row in maps:
        if row["source"] == "synthetic":
            assert row["image"].size == (512, 512) == (row["width"], row["height"])
        assert json.loads(row["network"])["lines"]


def test_every_stored_key_is_right(ds):
    maps = {r["map_id"]: r for r in load_maps(ds).select_columns(["map_id", "metro_data", "difficulty_city",
                                                                    "seed", "source"]).to_list()}
    n = 0
    for split in ("train", "test"):
        for row in load_questions(ds, split).to_list():
            validate_sample(row)
            oracle.check_sample(row)
            m = maps[row["map_id"]]
            assert row["metro_data"] == m["metro_data"] and row["difficulty_city"] == m["difficulty_city"]
            assert row["seed"] == m["seed"] and row["source"] == m["source"]
            n += 1
    assert n == sum(read_manifest(ds)["counts"][s]["questions"] for s in ("train", "test"))
    by_map = Counter(r for s in ("train", "test") for r in load_questions(ds, s)["map_id"])
    assert by_map["real-oslo"] == 21


def test_workers_do_not_change_the_data(built):
    a, b = built["w2"], built["w1"]
    for split in ("train", "test"):
        assert load_questions(a, split).to_list() == load_questions(b, split).to_list()
    ma, mb = load_maps(a), load_maps(b)
    assert ma["map_id"] == mb["map_id"]
    for ra, rb in zip(ma, mb, strict=True):
        assert np.array_equal(pixels(ra["image"]), pixels(rb["image"]))
        assert ra["network"] == rb["network"]
    ca, cb = read_manifest(a), read_manifest(b)
    assert ca["counts"] == cb["counts"] and ca["config"] == cb["config"]


def test_lazy_load_split_attaches_the_right_image(ds):
    maps = load_maps(ds)
    ref = {mid: pixels(img) for mid, img in zip(maps["map_id"], maps["image"], strict=True)}
    for split in ("train", "test"):
        lazy = load_split(ds, split)
        plain = load_questions(ds, split)
        assert len(lazy) == len(plain)
        for i in range(0, len(lazy), 7):
            row = lazy[i]
            assert row["id"] == plain[i]["id"]
            assert np.array_equal(pixels(row["image"]), ref[row["map_id"]])
        batch = lazy[:3]
        assert [pixels(im).shape for im in batch["image"]] == [ref[m].shape for m in batch["map_id"]]
    assert "image" not in load_split(ds, "train", images=False).column_names


def test_materialised_images(ds):
    maps = load_maps(ds)
    ref = {mid: pixels(img) for mid, img in zip(maps["map_id"], maps["image"], strict=True)}
    q = load_questions(ds, "test")
    full = attach_images(q, MapImages(maps), lazy=False)
    assert "image" in full.column_names and len(full) == len(q)
    for row in full.select(range(0, len(full), 9)):
        assert np.array_equal(pixels(row["image"]), ref[row["map_id"]])
    eager = load_split(ds, "test", lazy=False)
    assert eager.features["image"].__class__.__name__ == "Image"


def test_map_images_cache_and_errors(ds):
    imgs = MapImages(load_maps(ds))
    assert "real-oslo" in imgs and "nope" not in imgs
    assert imgs["real-oslo"] is imgs["real-oslo"]
    with pytest.raises(KeyError, match="no image for map 'nope'"):
        imgs["nope"]


# ----- atomic writes -----------------------------------------------------------------------------------------------
SMALL = DatasetConfig(n_maps=0, seed=1, real_maps=("miami",), questions=QuestionConfig(per_map={"counting3": 1,
                                                                                                 "torf1": 2}))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _interrupt(monkeypatch):
    import datasets

    def boom(self, *a, **k):
        raise KeyboardInterrupt("simulated interruption while saving questions")

    monkeypatch.setattr(datasets.DatasetDict, "save_to_disk", boom)


def test_interrupted_write_leaves_nothing_that_loads(tmp_path, monkeypatch):
    _interrupt(monkeypatch)
    out = tmp_path / "ds"
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(out, SMALL, workers=1, progress=False)
    assert not out.exists()
    assert _leftovers(tmp_path) == [], "the temporary folder is cleaned up"
    with pytest.raises(FileNotFoundError, match="no rmlite data set"):
        read_manifest(out)
    with pytest.raises(FileNotFoundError):
        load_split(out)


def test_interrupted_overwrite_keeps_the_old_data_set(tmp_path, monkeypatch):
    out = generate_dataset(tmp_path / "ds", SMALL, workers=1, progress=False)
    before = load_questions(out, "test").to_list()
    _interrupt(monkeypatch)
    bigger = DatasetConfig(n_maps=0, seed=2, real_maps=("miami",), questions=QuestionConfig(per_map={"torf2": 4}))
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(out, bigger, workers=1, progress=False, overwrite=True)
    assert load_questions(out, "test").to_list() == before and read_manifest(out)["seed"] == 1
    assert _leftovers(tmp_path) == []


def test_overwrite_semantics(tmp_path):
    out = generate_dataset(tmp_path / "ds", SMALL, workers=1, progress=False)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate_dataset(out, SMALL, workers=1, progress=False)
    other = DatasetConfig(n_maps=0, seed=2, real_maps=("oslo",), questions=QuestionConfig(per_map={"torf2": 4}))
    generate_dataset(out, other, workers=1, progress=False, overwrite=True)
    assert read_manifest(out)["seed"] == 2
    assert set(load_maps(out)["map_id"]) == {"real-oslo"}
    assert Counter(load_questions(out, "train")["type"]) == {"torf2": 4}
    assert len(load_questions(out, "test")) == 0
    assert _leftovers(tmp_path) == []


def test_half_written_folders_do_not_load(tmp_path):
    half = tmp_path / "half"
    (half / "questions").mkdir(parents=True)
    with pytest.raises(ValueError, match="not a complete rmlite data set.*interrupted"):
        read_manifest(half)
    (half / "manifest.json").write_text(json.dumps({"complete": False}))
    with pytest.raises(ValueError, match="incomplete"):
        load_questions(half)


def test_unknown_split(tmp_path):
    out = generate_dataset(tmp_path / "ds", SMALL, workers=1, progress=False)
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        load_questions(out, "validation")


# ----- config and specs --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n_maps": -1}, "n_maps must be >= 0"),
    ({"n_maps": 0}, "nothing to generate"),
    ({"size": 640}, "size must be 512, 768 or 1024"),
    ({"difficulties": ("easy", "extreme")}, "difficulties"),
    ({"difficulties": ()}, "difficulties"),
    ({"test_fraction": 1.0}, r"test_fraction"),
    ({"test_fraction": -0.1}, r"test_fraction"),
    ({"line_naming": "roman"}, "line_naming"),
])
def test_config_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DatasetConfig(**kwargs)


def test_map_specs():
    specs = map_specs(DatasetConfig(n_maps=10, seed=4, difficulties=("easy", "hard"), test_fraction=0.2))
    assert [s.difficulty for s in specs] == ["easy", "hard"] * 5
    assert sum(s.split == "test" for s in specs) == 2
    assert len({s.seed for s in specs}) == 10
    assert specs == map_specs(DatasetConfig(n_maps=10, seed=4, difficulties=("easy", "hard"), test_fraction=0.2))
    more = map_specs(DatasetConfig(n_maps=20, seed=4, difficulties=("easy", "hard"), test_fraction=0.2))
    assert [(s.map_id, s.seed, s.difficulty) for s in more[:10]] == [(s.map_id, s.seed, s.difficulty) for s in specs]
    assert all(s.split == "train" for s in map_specs(DatasetConfig(n_maps=5, test_fraction=0.0)))
    assert sum(s.split == "test" for s in map_specs(DatasetConfig(n_maps=2, test_fraction=0.1))) == 1
    other_seed = map_specs(DatasetConfig(n_maps=10, seed=5))
    assert not {s.map_id for s in other_seed} & {s.map_id for s in specs}


def test_manifest_lists_types_that_came_out_short(ds):
    m = read_manifest(ds)
    rows = [dict(r) for split in ("train", "test") for r in load_questions(ds, split)]
    got = Counter((r["map_id"], r["type"]) for r in rows)
    want = {t: (min(n, 1) if t == "counting3" else n) for t, n in QCFG.per_map.items()}
    maps = {r["map_id"] for r in rows}
    expect = {mid: {t: f"{got[(mid, t)]}/{n}" for t, n in want.items() if got[(mid, t)] < n} for mid in maps}
    assert m["short"] == {k: v for k, v in sorted(expect.items()) if v}
