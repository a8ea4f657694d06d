"""The command line: `generate` and `show` on a tiny data set, user mistakes, and where its defaults come from.

A user mistake must end with exit status 2 and exactly one line on stderr (`rmlite <cmd>: error: ...`), never a
traceback and never a usage dump. Every default and list of choices is its owner's (a dataclass field, a
function's keyword, a constant), so changing the owner changes the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rmlite.cli import build_parser, dataset_config, main, train_settings
from rmlite.curriculum import CURRICULA, DEFAULT_CURRICULUM
from rmlite.data.build import SIZES, DatasetConfig, generate_dataset
from rmlite.data.export import FORMATS, IMAGE_MODES, export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions, read_manifest
from rmlite.demo import DemoSettings, run_demo
from rmlite.doctor import fit_check
from rmlite.evaluate import evaluate
from rmlite.lab.measure import run_lab
from rmlite.maps.generate import LINE_NAMINGS
from rmlite.models.gpu import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, smart_resize
from rmlite.reward.compat import COMPAT_MODES
from rmlite.reward.config import PAPER
from rmlite.schema import DIFFICULTIES, QUESTION_TYPES
from rmlite.train.settings import GRPOSettings


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

ROOT = Path(__file__).resolve().parent.parent


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
    asked = {**{t: 8 for t in per_map}, "counting3": 4}  # --per-type 2 for all types, one counting3 a map
    missing = {t: asked[t] - by_type[t] for t in per_map}
    assert all(n >= 0 for n in missing.values()), by_type
    short = m.get("short", {})  # what a map could not ask (e.g. no readable pair), as the manifest reports it
    reported = {t: sum(int(v[t].split("/")[1]) - int(v[t].split("/")[0]) for v in short.values() if t in v)
                for t in per_map}
    assert missing == reported, (missing, short)
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
    # A 512 px map under the default budget: Qwen2.5-VL sees 504 x 504 (sides in multiples of 28), not a 1024 card.
    assert card.width == 504 and card.height > 504, "map on top, question and answer below"
    assert "map drawn at 504x504 px, as the model sees it (stored 512x512" in out
    row = load_questions(tiny, "train")[i]
    plain = np.asarray(_map_image(tiny, row["map_id"]).resize((504, 504)))
    top = np.asarray(card.crop((0, 0, 504, 504)))
    assert (np.abs(top.astype(int) - plain.astype(int)).max(axis=2) > 60).mean() > 0.002, "gold route drawn"


@pytest.mark.regression
def test_show_real_map_and_default_path(tiny, tmp_path, monkeypatch, capsys):
    # The default picture goes under runs/show/, never into the data set (it dirtied data/mini in the checkout).
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tiny) for p in tiny.rglob("*"))
    i = _index_of(tiny, "train", lambda r: r["map_id"] == "real-oslo" and r["type"] == "planning")
    code, out, err = run(capsys, "show", str(tiny), "--index", str(i))
    assert code == 0, err
    png = tmp_path / "runs" / "show" / f"tiny-train-{i}.png"
    assert png.is_file() and f"wrote {png.relative_to(tmp_path)}" in out
    assert sorted(p.relative_to(tiny) for p in tiny.rglob("*")) == before
    card = Image.open(png).convert("RGB")
    real = _map_image(tiny, "real-oslo")
    w = smart_resize(real.height, real.width)[1]  # the model's view under the default budget
    h = round(real.height * w / real.width)
    assert card.width == w < real.width and card.height > h
    assert np.array_equal(np.asarray(card.crop((0, 0, w, h))), np.asarray(real.resize((w, h))))


def test_show_draws_the_map_at_the_budget_given(tiny, tmp_path, capsys):
    i = _index_of(tiny, "train", lambda r: r["source"] == "synthetic")
    png = tmp_path / "small.png"
    code, out, err = run(capsys, "show", str(tiny), "--index", str(i), "--out", str(png), "--max-pixels",
                         str(256 * 256))
    assert code == 0, err
    assert Image.open(png).width == 252 and "map drawn at 252x252 px" in out


@pytest.mark.regression
def test_show_prints_the_question_itself(tiny, tmp_path, capsys):
    # The console preview used to stop at 100 characters, inside the shared answer-format sentence.
    rows = load_questions(tiny, "train").to_list()
    for qtype in ("counting1", "torf2", "planning"):
        i = next(k for k, r in enumerate(rows) if r["type"] == qtype)
        code, out, err = run(capsys, "show", str(tiny), "--index", str(i), "--out", str(tmp_path / "c.png"))
        assert code == 0, err
        lines = out.splitlines()
        preview = lines[1:lines.index(next(ln for ln in lines if ln.startswith("answer: ")))]
        assert 1 <= len(preview) <= 3 and all(len(ln) <= 122 for ln in preview), preview
        assert preview[0].strip().startswith("According to the subway map"), preview
        assert "boxed" not in " ".join(preview)
        station = rows[i]["station1"]
        assert station in " ".join(preview), (station, preview)


@pytest.mark.regression
def test_audit_picture_defaults_under_runs(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tiny) for p in tiny.rglob("*"))
    code, out, err = run(capsys, "audit", str(tiny))
    assert code == 0, err
    assert (tmp_path / "runs" / "audit" / "tiny-labels.png").is_file()
    assert sorted(p.relative_to(tiny) for p in tiny.rglob("*")) == before


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
    assert_user_error(code, err, "show", "is not an rmlite data set (no manifest.json): make one with")
    code, _, err = run(capsys, "show", str(ROOT / "data" / "reasonmap"))  # issue 25: not "was it interrupted?"
    assert_user_error(code, err, "show", "ReasonMap's released files (stations/, maps/), not an rmlite data set")
    n = len(load_questions(tiny, "train"))
    code, _, err = run(capsys, "show", str(tiny), "--index", str(n))
    assert_user_error(code, err, "show", "out of range", str(n))
    code, _, err = run(capsys, "show", str(tiny), "--split", "validation")
    assert_user_error(code, err, "show", "validation")
    (tmp_path / "afile").write_text("mine")
    code, _, err = run(capsys, "show", str(tiny), "--out", str(tmp_path / "afile" / "x.png"))
    assert_user_error(code, err, "show", "afile", "is a file")
    assert (tmp_path / "afile").read_text() == "mine"
    code, _, err = run(capsys, "show", str(tiny), "--out", str(tmp_path / "new" / "dir" / "x.png"))
    assert code == 0 and (tmp_path / "new" / "dir" / "x.png").is_file(), "missing folders are made"


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


# ----- each default has one owner ----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Field:
    """A dataclass field's default."""

    cls: type
    name: str

    def value(self):
        f = next(f for f in dataclasses.fields(self.cls) if f.name == self.name)
        return f.default_factory() if f.default is dataclasses.MISSING else f.default

    def patch(self, monkeypatch, new) -> None:
        monkeypatch.setattr(next(f for f in dataclasses.fields(self.cls) if f.name == self.name), "default", new)


@dataclasses.dataclass(frozen=True)
class Param:
    """A function's keyword default."""

    fn: object
    name: str

    def value(self):
        return inspect.signature(self.fn).parameters[self.name].default

    def patch(self, monkeypatch, new) -> None:
        p = inspect.signature(self.fn).parameters[self.name]
        if p.kind is p.KEYWORD_ONLY:
            monkeypatch.setitem(self.fn.__kwdefaults__, self.name, new)
            return
        names = [q.name for q in inspect.signature(self.fn).parameters.values()
                 if q.kind is not q.KEYWORD_ONLY and q.default is not q.empty]
        defaults = list(self.fn.__defaults__)
        defaults[names.index(self.name)] = new
        monkeypatch.setattr(self.fn, "__defaults__", tuple(defaults))


@dataclasses.dataclass(frozen=True)
class Const:
    """A module constant."""

    const: object

    def value(self):
        return self.const


# (command, option, owner of its default, owner of its choices)
OWNERS = [
    ("generate", "--maps", Field(DatasetConfig, "n_maps"), None),
    ("generate", "--seed", Field(DatasetConfig, "seed"), None),
    ("generate", "--size", Field(DatasetConfig, "size"), SIZES),
    ("generate", "--difficulty", Field(DatasetConfig, "difficulties"), DIFFICULTIES),
    ("generate", "--types", Const(QUESTION_TYPES), QUESTION_TYPES),
    ("generate", "--planning-mix", Field(QuestionConfig, "planning_mix"), None),
    ("generate", "--long-templates", Field(QuestionConfig, "long_template_share"), None),
    ("generate", "--line-names", Field(DatasetConfig, "line_naming"), LINE_NAMINGS),
    ("generate", "--real", Field(DatasetConfig, "real_maps"), None),
    ("generate", "--test-fraction", Field(DatasetConfig, "test_fraction"), None),
    ("generate", "--workers", Param(generate_dataset, "workers"), None),
    ("export", "--format", Param(export, "fmt"), FORMATS),
    ("export", "--images", Param(export, "images"), IMAGE_MODES),
    ("export", "--max-pixels", Const(DEFAULT_MAX_PIXELS), None),
    ("show", "--max-pixels", Const(DEFAULT_MAX_PIXELS), None),
    ("export", "--min-pixels", Const(DEFAULT_MIN_PIXELS), None),
    ("export", "--curriculum", Const(DEFAULT_CURRICULUM), CURRICULA),
    ("export", "--seed", Field(GRPOSettings, "seed"), None),  # rmlite train's seed: the order it trains on
    ("export", "--batch-size", Param(export, "batch_size"), None),
    ("train", "--curriculum", Const(DEFAULT_CURRICULUM), CURRICULA),
    ("train", "--reward", Const(PAPER.name), None),
    ("eval", "--max-new-tokens", Param(evaluate, "max_new_tokens"), None),
    ("eval", "--compat", Param(evaluate, "compat"), tuple(COMPAT_MODES)),
    ("lab", "--rewards", Param(run_lab, "rewards"), None),
    # lab --group-size defaults to None: read when the lab runs (run_lab's for simulated groups, the run's run.json for
    # logged ones; tests/test_lab.py::test_lab_reads_the_group_size_of_a_run)
    ("lab", "--error-rates", Param(run_lab, "error_rates"), None),
    ("lab", "--seed", Param(run_lab, "seed"), None),
    ("demo", "--out", Param(run_demo, "out"), None),
    ("demo", "--maps", Field(DemoSettings, "n_maps"), None),
    ("demo", "--seed", Field(DemoSettings, "seed"), None),
    ("doctor", "--steps", Param(fit_check, "steps"), None),
]
# Defaults that are the command line's own choice: which split a command reads, which sample `show` draws.
CLI_OWN = {("show", "--index"), ("show", "--split"), ("eval", "--split"), ("lab", "--split")}
OWNED = [pytest.param(*row, id=f"{row[0]} {row[1]}") for row in OWNERS]
PATCHABLE = [pytest.param(cmd, opt, owner, id=f"{cmd} {opt}") for cmd, opt, owner, _ in OWNERS
             if not isinstance(owner, Const)]


def options(parser: argparse.ArgumentParser | None = None) -> dict[tuple[str, str], argparse.Action]:
    """(command, option string) → its argparse action, for every sub-command."""
    parser = parser or build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {(cmd, opt): act for cmd, p in sub.choices.items() for act in p._actions for opt in act.option_strings}


@pytest.mark.parametrize(("cmd", "option", "owner", "choices"), OWNED)
def test_defaults_and_choices_are_their_owners(cmd, option, owner, choices):
    action = options()[(cmd, option)]
    assert action.default == owner.value()
    # Choices live on argparse (`--size {512,768,1024}`) or, for comma-separated lists, on the list type.
    assert (action.choices or getattr(action.type, "allowed", None)) == choices


@pytest.mark.parametrize(("cmd", "option", "owner"), PATCHABLE)
def test_a_changed_default_reaches_the_command_line(monkeypatch, cmd, option, owner):
    changed = ("changed", 0.5)  # a fresh object (a tuple, as list defaults are shown in help texts)
    owner.patch(monkeypatch, changed)
    assert options()[(cmd, option)].default is changed


def test_every_default_has_an_owner():
    restated = [key for key, act in options().items() if key not in CLI_OWN and not act.required
                and act.default not in (None, False, argparse.SUPPRESS)
                and key not in {(cmd, opt) for cmd, opt, _, _ in OWNERS}]
    assert not restated, f"options with a default but no owner in this table: {restated}"


def test_no_options_give_the_owners_config():
    parse = build_parser().parse_args
    assert dataset_config(parse(["generate", "--out", "x"])) == DatasetConfig()
    a = parse(["generate", "--out", "x", "--per-type", "2", "--types", "torf1,planning", "--planning-mix", "1,0,0"])
    q = dataset_config(a).questions
    assert q.per_map == {t: 2 if t in ("torf1", "planning") else 0 for t in QUESTION_TYPES}
    assert q.planning_mix == (1.0, 0.0, 0.0) and q.max_routes == QuestionConfig().max_routes


def test_train_settings_are_grpo_settings_plus_what_was_given():
    pytest.importorskip("transformers")
    from rmlite.train.grpo import GRPOSettings, cpu_tiny_settings

    parse = build_parser().parse_args
    base = ["train", "--data", "d", "--model", "m", "--out", "o"]
    assert train_settings(parse(base)) == GRPOSettings(output_dir="o")
    assert train_settings(parse([*base, "--cpu-tiny"])) == cpu_tiny_settings("o")
    assert train_settings(parse([*base, "--steps", "7"])).max_steps == 7


def test_train_passes_resume_and_overwrite_to_train(tiny, tmp_path, monkeypatch, capsys):
    """--overwrite reaches `train` (which removes the earlier run's entries after the model loads); checks first."""
    pytest.importorskip("transformers")
    import rmlite.cli.model_commands as model_commands
    import rmlite.train.grpo as grpo

    calls = []
    monkeypatch.setattr(model_commands, "load_model", lambda *a, **k: ("model", "processor"))
    monkeypatch.setattr(grpo, "train", lambda *a, **k: calls.append(k) or grpo.TrainResult(tmp_path, [], []))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    run_dir = tmp_path / "run"
    (run_dir / "checkpoint-2").mkdir(parents=True)
    base = ["train", "--data", str(tiny), "--model", str(tmp_path / "model"), "--steps", "3", "--out", str(run_dir)]
    code, _, err = run(capsys, *base)
    assert_user_error(code, err, "train", "checkpoint-2", "--resume", "--overwrite")
    assert not calls
    for flag in ("--overwrite", "--resume"):
        code, out, err = run(capsys, *base, flag)
        assert code == 0, err
    assert [(k["overwrite"], k["resume"], k["settings"].max_steps) for k in calls] == [(True, False, 3),
                                                                                        (False, True, 3)]


def test_a_set_from_an_older_schema_is_refused_in_one_line(tiny, tmp_path, capsys):
    import json
    import shutil

    old = tmp_path / "old"
    shutil.copytree(tiny, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["data_schema"]  # what every set made before the field existed looks like
    (old / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run(capsys, "show", str(old))
    assert_user_error(code, err, "show", "(data schema 1; this rmlite reads 2): generate it again")


@pytest.mark.parametrize(("args", "message"), [
    (["--maps", "1"], "--maps 1 with --test-fraction 0.2 leaves the test split empty: use --maps 2 or more"),
    (["--maps", "3", "--test-fraction", "0.9"], "holds every map out for testing and leaves the train split empty"),
    (["--maps", "1", "--real", "geneva", "--test-fraction", "0.9"], "--maps 1 and 1 real with --test-fraction 0.9"),
])
def test_generate_refuses_an_empty_split_before_drawing(tmp_path, capsys, args, message):
    code, _, err = run(capsys, "generate", *args, "--size", "512", "--out", str(tmp_path / "d"))
    assert_user_error(code, err, "generate", message)
    assert not (tmp_path / "d").exists()


def test_generate_allows_no_test_split_when_asked(tmp_path, capsys):
    code, _, err = run(capsys, "generate", "--maps", "1", "--test-fraction", "0", "--size", "512", "--per-type", "1",
                       "--workers", "1", "--out", str(tmp_path / "d"))
    assert code == 0, err


def test_model_hints_name_the_adapter_and_the_working_directory(tmp_path, monkeypatch):
    from rmlite.models.source import ModelUnavailable, model_source

    run_dir = tmp_path / "run"
    (run_dir / "adapter").mkdir(parents=True)
    (run_dir / "adapter" / "adapter_config.json").write_text("{}")
    with pytest.raises(ModelUnavailable, match=rf"holds a LoRA adapter .*--adapter {run_dir / 'adapter'}"):
        model_source(str(run_dir))  # a run folder given as --model
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelUnavailable, match=rf"no such folder: runs/demo/model \(looked in {tmp_path}\)"):
        model_source("runs/demo/model")  # the README's path, typed from another folder


# ----- issue 25: one output-folder rule, and Ctrl-C in one line ------------------------------------------------------
def _lab(tiny, out, *extra):
    return ["lab", "--data", str(tiny), "--limit", "4", "--error-rates", "0.5", "--rewards", "sparse", "--no-plots",
            "--out", str(out), *extra]


FOLDER_COMMANDS = {
    "lab": _lab,
    "export": lambda tiny, out, *extra: ["export", "--data", str(tiny), "--out", str(out), *extra],
    "eval": lambda tiny, out, *extra: ["eval", "--data", str(tiny), "--model", "runs/no-such-model", "--out",
                                       str(out), *extra],
}


@pytest.mark.parametrize("command", sorted(FOLDER_COMMANDS))
@pytest.mark.parametrize("foreign", ["user file", "training run", "data set"])
def test_a_command_refuses_a_folder_it_did_not_make(tiny, tmp_path, capsys, command, foreign):
    out = tmp_path / "out"
    out.mkdir()
    name = {"user file": "notes.txt", "training run": "metrics.jsonl", "data set": "manifest.json"}[foreign]
    (out / name).write_text("mine")
    code, _, err = run(capsys, *FOLDER_COMMANDS[command](tiny, out))
    what = "holds files rmlite did not write" if foreign == "user file" else f"holds a {foreign} output"
    assert_user_error(code, err, command, f"--out {out} {what} ({name}): choose a new folder, or pass --overwrite")
    assert sorted(p.name for p in out.iterdir()) == [name] and (out / name).read_text() == "mine"


def test_a_command_reruns_into_its_own_folder_and_overwrite_lets_it_into_another(tiny, tmp_path, capsys):
    out = tmp_path / "lab"
    assert run(capsys, *_lab(tiny, out))[0] == 0
    assert run(capsys, *_lab(tiny, out))[0] == 0  # its own folder: replaced
    code, _, err = run(capsys, *FOLDER_COMMANDS["export"](tiny, out))
    assert_user_error(code, err, "export", "holds a lab output")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("kept")
    assert run(capsys, *_lab(tiny, tmp_path / "mine", "--overwrite"))[0] == 0
    assert (tmp_path / "mine" / "notes.txt").read_text() == "kept" and (tmp_path / "mine" / "lab.txt").is_file()


def test_show_and_audit_replace_only_their_own_pictures(tiny, tmp_path, capsys):
    png = tmp_path / "card.png"
    assert run(capsys, "show", str(tiny), "--out", str(png))[0] == 0
    assert run(capsys, "show", str(tiny), "--index", "1", "--out", str(png))[0] == 0  # its own picture
    photo = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(photo)
    code, _, err = run(capsys, "show", str(tiny), "--out", str(photo))
    assert_user_error(code, err, "show", "exists and `rmlite show` did not write it")
    code, _, err = run(capsys, "audit", str(tiny), "--picture", str(photo))
    assert_user_error(code, err, "audit", "--picture")
    assert Image.open(photo).size == (8, 8)
    assert run(capsys, "show", str(tiny), "--out", str(photo), "--overwrite")[0] == 0
    code, _, err = run(capsys, "audit", str(tiny), "--picture", str(tmp_path / "labels.png"), "--report")
    assert code == 0, err
    code, _, err = run(capsys, "audit", str(tiny), "--picture", str(tmp_path / "labels.png"), "--report")
    assert code == 0, err  # its own picture


@pytest.mark.parametrize(("command", "advice"), [("lab", "re-run the same command"), ("train", "--resume"),
                                                 ("generate", "nothing was written")])
def test_ctrl_c_is_one_line(monkeypatch, capsys, command, advice):
    from rmlite import cli

    def stop(_):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, command, stop)
    monkeypatch.delenv("RMLITE_DEBUG", raising=False)
    argv = {"lab": ["lab", "--data", "d", "--out", "o"], "generate": ["generate", "--out", "o"],
            "train": ["train", "--data", "d", "--model", "m", "--out", "o"]}[command]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rmlite {command}: stopped (Ctrl-C); ") and advice in err[0]


def test_eval_reports_are_named_after_their_adapter():
    from rmlite.cli.model_commands import eval_name

    assert eval_name("runs/stage2/adapter") == "stage2" and eval_name(None) == "model"
