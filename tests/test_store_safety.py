"""Saving a data set never loses or hides a user's file, cleans what a killed save left behind, and says which file
of a damaged data set cannot be read. Saving is quiet (the caller shows one progress bar)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from datasets.utils import are_progress_bars_disabled

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.store import (
    check_save_target,
    clean_stale_temporaries,
    load_maps,
    load_questions,
    read_manifest,
    save_dataset,
)

TINY = DatasetConfig(n_maps=1, size=512, test_fraction=0.0)


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def entries(folder: Path) -> dict[str, bytes | None]:
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in folder.iterdir()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    return generate_dataset(tmp_path_factory.mktemp("store") / "set", TINY, workers=1, progress=False)


@pytest.mark.regression
def test_a_file_is_never_renamed_or_replaced(tmp_path):
    f = tmp_path / "afile.txt"
    f.write_text("keep me")
    before = entries(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="is a file"):
            save_dataset(f, [], {"train": []}, {"complete": True}, overwrite=overwrite)
    assert entries(tmp_path) == before, "the file changed, or a hidden .afile.txt.* entry appeared"


@pytest.mark.regression
def test_overwrite_replaces_only_a_data_set(tmp_path, saved):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("mine")
    with pytest.raises(FileExistsError, match="not an rmlite data set"):
        check_save_target(mine, overwrite=True)
    check_save_target(tmp_path / "empty", overwrite=True)  # missing: fine
    (tmp_path / "empty").mkdir()
    check_save_target(tmp_path / "empty", overwrite=True)  # an empty folder: nothing to lose
    check_save_target(saved, overwrite=True)
    with pytest.raises(FileExistsError, match="--overwrite"):
        check_save_target(saved, overwrite=False)


@pytest.mark.regression
def test_folders_left_by_a_killed_save_are_cleaned_on_the_next_save(tmp_path, capsys):
    dead, alive = dead_pid(), os.getppid()
    stale_tmp = tmp_path / f".set.tmp-{dead}"
    stale_old = tmp_path / f".other.old-{dead}"  # its data set `other` exists: the rename had finished
    lost = tmp_path / f".prev.old-{dead}"  # killed between the two renames: `prev` is missing
    running = tmp_path / f".busy.tmp-{alive}"  # another save still running: left alone
    for d in (stale_tmp, stale_old, lost, running, tmp_path / "other"):
        d.mkdir()
    (lost / "manifest.json").write_text('{"complete": true}')
    (tmp_path / ".hidden-but-mine").mkdir()  # not rmlite's pattern: left alone
    generate_dataset(tmp_path / "set", TINY, workers=1, progress=False)
    out = capsys.readouterr().out
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"set", "other", "prev", running.name, ".hidden-but-mine"}
    assert json.loads((tmp_path / "prev" / "manifest.json").read_text()) == {"complete": True}
    assert out.count("removed a temporary folder left by a killed run") == 2
    assert f"restored {tmp_path / 'prev'}" in out
    assert clean_stale_temporaries(tmp_path) == [] and clean_stale_temporaries(tmp_path / "missing") == []


@pytest.mark.regression
def test_saving_shows_no_datasets_bars_and_restores_their_setting(tmp_path, capfd):
    was_off = are_progress_bars_disabled()
    generate_dataset(tmp_path / "quiet", TINY, workers=1, progress=False)
    _, err = capfd.readouterr()
    assert "Saving the dataset" not in err and "Map" not in err, err
    assert are_progress_bars_disabled() == was_off


@pytest.mark.regression
@pytest.mark.parametrize(("text", "needle"), [("[1, 2]", "JSON list, not an object"), ('"text"', "JSON str"),
                                              ("{", "not valid JSON"), (b"\xff\xfe", "not valid JSON")])
def test_a_damaged_manifest_is_one_error_naming_the_file(tmp_path, saved, text, needle):
    copy = Path(shutil.copytree(saved, tmp_path / "copy"))
    m = copy / "manifest.json"
    m.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=needle) as info:
        read_manifest(copy)
    assert str(m) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.regression
@pytest.mark.parametrize("table", ["questions/train", "maps"])
def test_a_truncated_arrow_file_is_one_error_naming_it(tmp_path, saved, table):
    copy = Path(shutil.copytree(saved, tmp_path / "copy"))
    arrow = next((copy / table).glob("*.arrow"))
    os.truncate(arrow, arrow.stat().st_size // 2)
    load = load_maps if table == "maps" else load_questions
    with pytest.raises(ValueError, match="damaged") as info:
        load(copy)
    assert str(arrow) in str(info.value) and "\n" not in str(info.value)
    other = load_questions if table == "maps" else load_maps
    assert len(other(copy)) > 0, "the undamaged table still loads"
