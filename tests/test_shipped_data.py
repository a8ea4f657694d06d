"""The small data set shipped in data/mini: current (regenerated from MINI_CONFIG), correct (every answer key
recomputed by the independent oracle), loadable, and left untouched by reading it (no cache files written)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from fixtures import oracle

from rmlite.data.build import MINI_CONFIG, MINI_DIR, generate_dataset, mini_dataset
from rmlite.data.store import load_maps, load_questions, load_split
from rmlite.schema import QUESTION_TYPES, validate_sample


def _files(root):
    return sorted((str(p.relative_to(root)), p.stat().st_size) for p in root.rglob("*") if p.is_file())


@pytest.mark.slow
def test_shipped_set_is_current(tmp_path):
    """Regenerating from MINI_CONFIG gives the same questions and maps; else run `make mini-data`."""
    fresh = generate_dataset(tmp_path / "mini", MINI_CONFIG, progress=False)
    for split in ("train", "test"):
        shipped, new = load_questions(MINI_DIR, split), load_questions(fresh, split)
        assert len(shipped) == len(new), f"{split}: data/mini is stale, run `make mini-data`"
        for a, b in zip(shipped, new, strict=True):
            assert a == b, f"{split} question {a['id']} differs: data/mini is stale, run `make mini-data`"
    old_maps, new_maps = load_maps(MINI_DIR), load_maps(fresh)
    assert old_maps.select_columns([c for c in old_maps.column_names if c != "image"]).to_list() == \
        new_maps.select_columns([c for c in new_maps.column_names if c != "image"]).to_list()
    for a, b in zip(old_maps, new_maps, strict=True):  # pixels, not PNG bytes (encoders may differ)
        assert np.array_equal(np.asarray(a["image"]), np.asarray(b["image"])), \
            f"map {a['map_id']} renders differently: data/mini is stale, run `make mini-data`"


def test_shipped_answer_keys_by_the_oracle():
    for split in ("train", "test"):
        rows = [dict(r) for r in load_questions(mini_dataset(), split)]
        assert {r["type"] for r in rows} == set(QUESTION_TYPES)
        for r in rows:
            validate_sample(r)
            oracle.check_sample(r)


def test_shipped_set_covers_every_difficulty_and_the_real_maps():
    train = [dict(r) for r in load_questions(MINI_DIR, "train")]
    test = [dict(r) for r in load_questions(MINI_DIR, "test")]
    assert set(Counter(r["difficulty_city"] for r in train)) == {"easy", "middle", "hard"}
    sources = {r["map_id"]: r["source"] for r in train + test}
    real = sorted(m for m, s in sources.items() if s.startswith("reasonmap"))
    assert len(real) == 3 and len(sources) == MINI_CONFIG.n_maps + 3
    assert not {r["map_id"] for r in train} & {r["map_id"] for r in test}, "split must be by map"


def test_reading_leaves_the_folder_unchanged():
    before = _files(MINI_DIR)
    ds = load_split(MINI_DIR, "train", lazy=False)
    keep = [i for i, t in enumerate(ds["type"]) if t == "planning"]
    sub = ds.select(keep[:3])
    assert sub[0]["image"].size == (MINI_CONFIG.size, MINI_CONFIG.size)
    assert load_split(MINI_DIR, "test")[0]["image"] is not None
    assert _files(MINI_DIR) == before


def test_mini_dataset_missing_says_what_to_do(monkeypatch, tmp_path):
    import rmlite.data.build as data

    monkeypatch.setattr(data, "MINI_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="rmlite generate"):
        data.mini_dataset()


def test_map_row_finds_each_map_and_names_a_missing_one():
    from rmlite.data.store import map_row

    maps = load_maps(MINI_DIR)
    q = load_questions(MINI_DIR, "test")
    assert map_row(maps, q[0]["map_id"])["map_id"] == q[0]["map_id"]
    with pytest.raises(KeyError, match="not in this maps table"):
        map_row(maps, "no-such-map")


def test_shipped_set_passes_the_audit():
    from rmlite.data.audit import audit_dataset

    report = audit_dataset(MINI_DIR)
    assert report.failures() == [], report.failures()
    hard = next(g for g in report.groups if g.difficulty == "hard")
    assert len(hard.line_counts) >= 2, "counting3 on hard maps must not be a constant"
    assert all(g.misplaced == 0 and g.naming_unreadable == 0 for g in report.groups)
