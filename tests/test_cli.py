"""The command line: `generate` and `show` on a tiny data set, and user mistakes.

A user mistake must end with exit status 2 and exactly one line on stderr (`rmlite <cmd>: error: ...`), never a
traceback and never a usage dump.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rmlite.cli import main
from rmlite.data.store import load_maps, load_questions, read_manifest


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:  # argparse exits instead of returning
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, cmd: str, *needles: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith(f"rmlite {cmd}: error: "), lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "tiny"
    code = main(["generate", "--maps", "3", "--seed", "7", "--size", "512", "--per-type", "2", "--workers", "1",
                 "--real", "oslo", "--test-fraction", "0.34", "--long-templates", "0.5", "--out", str(out)])
    assert code == 0
    return out


# ----- generate ----------------------------------------------------------------------------------------------------
def test_generate_tiny(tiny, capsys):
    m = read_manifest(tiny)
    assert m["maps"] == 4 and m["seed"] == 7 and m["config"]["size"] == 512
    assert m["counts"]["test"]["maps"] == 1 and m["counts"]["train"]["maps"] == 3
    per_map = {"counting1": 2, "counting2": 2, "counting3": 2, "torf1": 2, "torf2": 2, "planning": 2}
    assert m["config"]["questions"]["per_map"] == per_map
    by_type = {t: sum(m["counts"][s]["by_type"].get(t, 0) for s in ("train", "test")) for t in per_map}
    assert by_type == {**{t: 8 for t in per_map}, "counting3": 4}, "--per-type 2 for all types, one counting3 a map"
    assert m["config"]["questions"]["long_template_share"] == 0.5
    assert "real-oslo" in load_maps(tiny)["map_id"]


def test_generate_options(tmp_path, capsys):
    out = tmp_path / "named"
    code, stdout, err = run(capsys, "generate", "--maps", "2", "--size", "512", "--difficulty", "easy", "--types",
                            "torf1,planning", "--planning-mix", "1,0,0", "--line-names", "named", "--workers", "1",
                            "--test-fraction", "0", "--out", str(out))
    assert code == 0, err
    assert f"wrote {out}" in stdout and "train: 2 maps" in stdout
    rows = load_questions(out, "train").to_list()
    assert {r["type"] for r in rows} == {"torf1", "planning"}
    assert all(r["difficulty_city"] == "easy" for r in rows)
    assert all(r["question_transfer_count"] == 0 for r in rows if r["type"] == "planning")
    assert all(" Line" in ln for r in rows for ln in json.loads(r["metro_data"])), "named lines, e.g. 'Red Line'"
    assert len(load_questions(out, "test")) == 0
    # --overwrite replaces; without it the folder is kept and the user is told.
    code, _, err = run(capsys, "generate", "--maps", "1", "--size", "512", "--workers", "1", "--out", str(out))
    assert_user_error(code, err, "generate", "exists", "--overwrite")
    code, _, err = run(capsys, "generate", "--maps", "1", "--size", "512", "--workers", "1", "--out", str(out),
                       "--overwrite", "--test-fraction", "0")
    assert code == 0, err
    assert read_manifest(out)["maps"] == 1


# ----- show --------------------------------------------------------------------------------------------------------
def _index_of(data: Path, split: str, pred) -> int:
    return next(i for i, r in enumerate(load_questions(data, split).to_list()) if pred(r))


def _map_image(data: Path, map_id: str) -> Image.Image:
    maps = load_maps(data)
    return maps[maps["map_id"].index(map_id)]["image"].convert("RGB")


def test_show_planning_on_a_synthetic_map_draws_the_route(tiny, tmp_path, capsys):
    i = _index_of(tiny, "train", lambda r: r["type"] == "planning" and r["source"] == "synthetic")
    png = tmp_path / "card.png"
    code, out, err = run(capsys, "show", str(tiny), "--index", str(i), "--out", str(png))
    assert code == 0, err
    assert f"wrote {png}" in out and "answer: Route Name:" in out
    card = Image.open(png).convert("RGB")
    assert card.width == 1024 and card.height > 1024, "map on top, question and answer below"
    row = load_questions(tiny, "train")[i]
    plain = np.asarray(_map_image(tiny, row["map_id"]).resize((1024, 1024)))
    top = np.asarray(card.crop((0, 0, 1024, 1024)))
    assert (np.abs(top.astype(int) - plain.astype(int)).max(axis=2) > 60).mean() > 0.002, "gold route drawn"


def test_show_real_map_and_default_path(tiny, capsys):
    i = _index_of(tiny, "train", lambda r: r["map_id"] == "real-oslo" and r["type"] == "planning")
    code, out, err = run(capsys, "show", str(tiny), "--index", str(i))
    assert code == 0, err
    png = tiny / f"show-train-{i}.png"
    assert png.is_file()
    card = Image.open(png).convert("RGB")
    real = _map_image(tiny, "real-oslo")
    h = round(real.height * 1024 / real.width)
    assert card.width == 1024 and card.height > h
    assert np.array_equal(np.asarray(card.crop((0, 0, 1024, h))), np.asarray(real.resize((1024, h))))
    png.unlink()


def test_show_test_split(tiny, tmp_path, capsys):
    code, out, err = run(capsys, "show", str(tiny), "--split", "test", "--index", "0", "--out",
                         str(tmp_path / "t.png"))
    assert code == 0, err
    Image.open(tmp_path / "t.png").verify()


# ----- user mistakes -----------------------------------------------------------------------------------------------
USAGE_DUMP = pytest.mark.regression
BAR_FIRST = pytest.mark.regression
GENERATE_MISTAKES = [
    pytest.param(["--types", "counting9"], ["counting9"], marks=USAGE_DUMP, id="unknown-type"),
    pytest.param(["--types", ""], ["empty"], marks=USAGE_DUMP, id="empty-types"),
    pytest.param(["--difficulty", "extreme"], ["extreme"], marks=USAGE_DUMP, id="unknown-difficulty"),
    pytest.param(["--difficulty", "easy,impossible"], ["impossible"], marks=USAGE_DUMP, id="impossible-difficulty"),
    pytest.param(["--planning-mix", "1,2"], ["planning_mix"], id="mix-two-weights"),
    pytest.param(["--planning-mix", "a,b,c"], ["--planning-mix"], id="mix-not-numbers"),
    pytest.param(["--planning-mix", "1,-1,1"], ["planning_mix"], id="mix-negative"),
    pytest.param(["--maps", "0"], ["nothing to generate"], id="no-maps"),
    pytest.param(["--maps", "-3"], ["-3"], marks=USAGE_DUMP, id="negative-maps"),
    pytest.param(["--maps", "many"], ["many"], marks=USAGE_DUMP, id="maps-not-int"),
    pytest.param(["--size", "300"], ["300"], marks=USAGE_DUMP, id="bad-size"),
    pytest.param(["--long-templates", "2"], ["long_template_share"], id="long-share"),
    pytest.param(["--test-fraction", "1"], ["test_fraction"], id="test-fraction"),
    pytest.param(["--real", "atlantis", "--maps", "0"], ["atlantis"], marks=BAR_FIRST, id="unknown-city"),
    pytest.param(["--line-names", "roman"], ["roman"], marks=USAGE_DUMP, id="line-names"),
]


@pytest.mark.parametrize(("args", "needles"), [pytest.param(*p.values, id=p.id) for p in GENERATE_MISTAKES])
def test_generate_user_mistakes_exit_2_without_traceback(tmp_path, capsys, args, needles):
    out = tmp_path / "never"
    code, _, err = run(capsys, "generate", "--size", "512", "--workers", "1", "--out", str(out), *args)
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "rmlite generate: error: " in last and all(n in last for n in needles), err
    assert not out.exists()


@pytest.mark.parametrize(("args", "needles"), GENERATE_MISTAKES)
def test_generate_user_mistakes_one_line(tmp_path, capsys, args, needles):
    code, _, err = run(capsys, "generate", "--size", "512", "--workers", "1", "--out", str(tmp_path / "o"), *args)
    assert_user_error(code, err, "generate", *needles)


@BAR_FIRST
def test_unreadable_real_json(tmp_path, capsys, reasonmap_dir):
    # A broken JSON in ReasonMap's layout (with its map image beside it): the JSON error is reported.
    bad = tmp_path / "stations" / "norway" / "broken.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"Line 1": ["A", "B"', encoding="utf-8")
    (tmp_path / "maps" / "norway").mkdir(parents=True)
    shutil.copy(reasonmap_dir / "maps" / "america" / "miami.png", tmp_path / "maps" / "norway" / "broken.png")
    code, _, err = run(capsys, "generate", "--maps", "0", "--real", str(bad), "--out", str(tmp_path / "o"))
    assert_user_error(code, err, "generate", "broken.json", "not valid JSON")
    # A lone JSON file (no map image): still one clear line.
    lone = tmp_path / "lone.json"
    lone.write_text("not json at all", encoding="utf-8")
    code, _, err = run(capsys, "generate", "--maps", "0", "--real", str(lone), "--out", str(tmp_path / "o"))
    assert_user_error(code, err, "generate", "lone")
    code, _, err = run(capsys, "generate", "--maps", "0", "--real", str(tmp_path / "missing.json"), "--out",
                       str(tmp_path / "o"))
    assert_user_error(code, err, "generate", "missing.json")
    assert not (tmp_path / "o").exists()


def test_show_user_mistakes(tiny, tmp_path, capsys):
    code, _, err = run(capsys, "show", str(tmp_path / "missing"))
    assert_user_error(code, err, "show", "missing")
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "show", str(tmp_path / "empty"))
    assert_user_error(code, err, "show", "not a complete rmlite data set")
    n = len(load_questions(tiny, "train"))
    code, _, err = run(capsys, "show", str(tiny), "--index", str(n))
    assert_user_error(code, err, "show", "out of range", str(n))
    code, _, err = run(capsys, "show", str(tiny), "--split", "validation")
    assert_user_error(code, err, "show", "validation")
    code, _, err = run(capsys, "show", str(tiny), "--out", str(tmp_path / "no" / "such" / "dir" / "x.png"))
    assert_user_error(code, err, "show")


def test_unknown_command(capsys):
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "Traceback" not in err and "frobnicate" in err


def test_show_negative_index(tiny, capsys):
    code, _, err = run(capsys, "show", str(tiny), "--index", "-1")
    assert code == 2 and "Traceback" not in err and "rmlite show: error: " in err and "-1" in err


@USAGE_DUMP
def test_show_negative_index_one_line(tiny, capsys):
    code, _, err = run(capsys, "show", str(tiny), "--index", "-1")
    assert_user_error(code, err, "show", "-1")


def test_unreadable_real_json_exit_2(tmp_path, capsys):
    lone = tmp_path / "lone.json"
    lone.write_text("not json at all", encoding="utf-8")
    code, _, err = run(capsys, "generate", "--maps", "0", "--real", str(lone), "--out", str(tmp_path / "o"))
    assert code == 2 and "Traceback" not in err and "lone" in err.strip().splitlines()[-1]
