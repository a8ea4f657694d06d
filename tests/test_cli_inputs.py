"""Every user mistake of issue 14, one row each: exit status 2, one line on stderr that names the thing and the fix,
no traceback, no model loaded, and nothing lost or hidden (the folder the command was pointed at is byte-identical
afterwards, with no new `.name` entries beside it).

Two tiny data sets are built once: `data` (2 synthetic maps, all in train: its test split is empty) and `test_only`
(Geneva, a ReasonMap test city, alone: its train split is empty).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import rmlite.cli.model_commands as model_commands
from rmlite.cli import main
from rmlite.data.store import load_questions
from rmlite.models.source import ModelUnavailable, model_source

HUB_NAME = "rmlite-tests/not-cached-model"  # a hub id that no cache holds


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    common = ["--size", "512", "--per-type", "1", "--workers", "1"]
    assert main(["generate", "--maps", "2", "--test-fraction", "0", *common, "--out", str(root / "data")]) == 0
    assert main(["generate", "--maps", "0", "--real", "geneva", *common, "--out", str(root / "test_only")]) == 0
    assert len(load_questions(root / "test_only", "train")) == 0 and len(load_questions(root / "data", "test")) == 0
    return {"data": root / "data", "test_only": root / "test_only"}


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` (hidden ones included) → a digest of its bytes, or 'dir'."""
    return {str(p.relative_to(folder)): "dir" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))}


# ----- what each case prepares in its own folder ---------------------------------------------------------------------
def user_file(tmp: Path, sets: dict) -> None:
    (tmp / "notes.txt").write_text("the user's own file\n")


def user_folder(tmp: Path, sets: dict) -> None:
    (tmp / "mine").mkdir()
    (tmp / "mine" / "thesis.tex").write_text("\\section{mine}\n")


def finished_run(tmp: Path, sets: dict) -> None:
    run = tmp / "run"
    for d in ("checkpoint-4", "adapter", "eval"):
        (run / d).mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 4}\n')


def run_without_checkpoint(tmp: Path, sets: dict) -> None:
    (tmp / "run").mkdir()
    (tmp / "run" / "metrics.jsonl").write_text('{"step": 1}\n')


def model_folder(tmp: Path, sets: dict) -> None:
    """{tmp}/model passes the model check (it has a config.json), so a case fails on its own mistake; every case
    stops before a load."""
    (tmp / "model").mkdir()
    (tmp / "model" / "config.json").write_text("{}")
    (tmp / "not_adapter").mkdir()
    (tmp / "not_adapter" / "weights.bin").write_bytes(b"\0")


def _copy(tmp: Path, sets: dict) -> Path:
    return Path(shutil.copytree(sets["data"], tmp / "copy"))


def manifest_list(tmp: Path, sets: dict) -> None:
    (_copy(tmp, sets) / "manifest.json").write_text("[1, 2, 3]")


def manifest_broken(tmp: Path, sets: dict) -> None:
    (_copy(tmp, sets) / "manifest.json").write_text('{"complete": tru')


def arrow_truncated(tmp: Path, sets: dict) -> None:
    f = next((_copy(tmp, sets) / "questions" / "train").glob("*.arrow"))
    os.truncate(f, f.stat().st_size // 2)


@dataclass(frozen=True)
class Case:
    """argv with {tmp}, {data}, {test_only} filled in; every needle must be in the one line on stderr."""

    args: str
    needles: tuple[str, ...]
    prepare: Callable[[Path, dict], None] | None = None
    marks: tuple = field(default_factory=tuple)


CASES = {
    # ----- an --out that cannot be written (a path under a file), or is a file where a folder goes -----------------
    "generate-out-under-a-file": Case("generate --maps 1 --out {tmp}/notes.txt/set", ("notes.txt", "is a file"),
                                      user_file),
    "generate-overwrite-a-file": Case("generate --maps 1 --overwrite --out {tmp}/notes.txt",
                                      ("notes.txt", "is a file", "choose another --out"), user_file),
    "generate-overwrite-a-non-data-set": Case("generate --maps 1 --overwrite --out {tmp}/mine",
                                              ("mine", "not an rmlite data set"), user_folder),
    "generate-out-exists": Case("generate --maps 1 --out {tmp}/mine", ("mine", "exists", "--overwrite"),
                                user_folder),
    "lab-out-is-a-file": Case("lab --data {data} --out {tmp}/notes.txt", ("notes.txt", "is a file"), user_file),
    "lab-out-under-a-file": Case("lab --data {data} --out {tmp}/notes.txt/lab", ("notes.txt", "is a file"),
                                 user_file),
    "export-out-under-a-file": Case("export --data {data} --out {tmp}/notes.txt/x", ("notes.txt", "is a file"),
                                    user_file),
    "show-out-under-a-file": Case("show {data} --out {tmp}/notes.txt/card.png", ("notes.txt", "is a file"),
                                  user_file),
    "show-out-is-a-folder": Case("show {data} --out {tmp}/mine", ("mine", "is a folder", ".png"), user_folder),
    "audit-picture-under-a-file": Case("audit {data} --picture {tmp}/notes.txt/a.png",
                                       ("--picture", "notes.txt", "is a file"), user_file),
    "demo-out-under-a-file": Case("demo --out {tmp}/notes.txt/demo", ("notes.txt", "is a file"), user_file),
    "train-out-under-a-file": Case("train --data {data} --model {tmp}/model --steps 1 --out {tmp}/notes.txt/r",
                                   ("notes.txt", "is a file"), user_file),
    "eval-out-under-a-file": Case("eval --data {data} --split train --model {tmp}/model --out {tmp}/notes.txt/e",
                                  ("notes.txt", "is a file"), user_file),
    "doctor-out-under-a-file": Case("doctor --out {tmp}/notes.txt/d", ("notes.txt", "is a file"), user_file),
    # ----- train's run folder ---------------------------------------------------------------------------------------
    "train-over-a-finished-run": Case("train --data {data} --model {tmp}/model --steps 1 --out {tmp}/run",
                                      ("already holds a run", "checkpoint-4", "--resume", "--overwrite"),
                                      finished_run),
    "train-resume-without-checkpoint": Case("train --data {data} --model {tmp}/model --steps 1 --resume "
                                            "--out {tmp}/run", ("--resume", "no checkpoint"), run_without_checkpoint),
    "train-resume-and-overwrite": Case("train --data {data} --model {tmp}/model --steps 1 --resume --overwrite "
                                       "--out {tmp}/run", ("--resume", "--overwrite", "one of them"), finished_run),
    # ----- names checked before the model loads -------------------------------------------------------------------
    "train-unknown-reward": Case("train --data {data} --model {tmp}/model --steps 1 --reward papr --out {tmp}/r",
                                 ("--reward", "papr", "paper")),
    "train-reward-that-does-not-import": Case("train --data {data} --model {tmp}/model --steps 1 --reward "
                                              "no_such_pkg.rewards:score --out {tmp}/r",
                                              ("--reward", "no_such_pkg")),
    "train-unknown-curriculum": Case("train --data {data} --model {tmp}/model --curriculum finest --out {tmp}/r",
                                     ("--curriculum", "finest", "coarse")),
    "train-cpu-without-steps": Case("train --data {data} --model {tmp}/model --out {tmp}/r",
                                    ("--steps 8", "training questions")),
    "train-steps-zero": Case("train --data {data} --model {tmp}/model --steps 0 --out {tmp}/r", ("--steps", "0")),
    "train-adapter-not-saved": Case("train --data {data} --model {tmp}/model --steps 1 --adapter {tmp}/not_adapter "
                                    "--out {tmp}/r", ("not_adapter", "adapter_config.json")),
    # ----- empty or missing splits --------------------------------------------------------------------------------
    "train-empty-split": Case("train --data {test_only} --model {tmp}/model --steps 1 --out {tmp}/r",
                              ("'train'", "no questions", "test (")),
    "eval-empty-split": Case("eval --data {data} --model {tmp}/model --out {tmp}/e", ("'test'", "no questions")),
    "lab-empty-split": Case("lab --data {test_only} --out {tmp}/lab", ("'train'", "no questions")),
    "eval-unknown-split": Case("eval --data {data} --split validation --model {tmp}/model --out {tmp}/e",
                               ("validation", "train, test")),
    "show-unknown-split": Case("show {data} --split dev", ("dev", "train, test")),
    "show-index-out-of-range": Case("show {data} --index 999", ("--index 999", "out of range")),
    # ----- damaged data sets --------------------------------------------------------------------------------------
    "manifest-not-an-object": Case("show {tmp}/copy", ("manifest.json", "not an object"), manifest_list),
    "manifest-not-json": Case("eval --data {tmp}/copy --split train --model {tmp}/model --out {tmp}/e",
                              ("manifest.json", "not valid JSON"), manifest_broken),
    "arrow-truncated": Case("lab --data {tmp}/copy --out {tmp}/lab", (".arrow", "damaged", "generate")
                            , arrow_truncated),
    "arrow-truncated-before-model": Case("train --data {tmp}/copy --model {tmp}/model --steps 1 --out {tmp}/r",
                                         (".arrow", "damaged"), arrow_truncated),
    # ----- models that cannot load from here ----------------------------------------------------------------------
    "model-path-missing": Case("train --data {data} --model {tmp}/runs/demo/modle --steps 1 --out {tmp}/r",
                               ("no such folder", "modle", "make demo")),
    "model-hub-not-cached-offline": Case(f"eval --data {{data}} --split train --model {HUB_NAME} --out {{tmp}}/e",
                                         ("not in the local Hugging Face cache", f"huggingface-cli download {HUB_NAME}",
                                          "runs/demo/model")),
    "eval-adapter-not-saved": Case("eval --data {data} --split train --model {tmp}/model --adapter {tmp}/not_adapter "
                                   "--out {tmp}/e", ("not_adapter", "adapter_config.json")),
    "eval-limit-zero": Case("eval --data {data} --model m --limit 0 --out {tmp}/e", ("--limit", "0")),
    # ----- the other numbers and names ----------------------------------------------------------------------------
    "demo-no-maps": Case("demo --maps 0 --out {tmp}/demo", ("--maps 0", "--maps 2")),
    "generate-no-workers": Case("generate --workers 0 --out {tmp}/g", ("--workers", "0")),
    "generate-unknown-city": Case("generate --maps 1 --real atlantis --out {tmp}/g", ("atlantis", "oslo")),
    "generate-mix-all-zero": Case("generate --planning-mix 0,0,0 --out {tmp}/g", ("planning_mix",)),
    "generate-long-share": Case("generate --long-templates 1.5 --out {tmp}/g", ("long_template_share", "1.5")),
    "generate-test-fraction": Case("generate --test-fraction 1 --out {tmp}/g", ("test_fraction",)),
    "export-pixels-swapped": Case("export --data {data} --out {tmp}/x --min-pixels 9000 --max-pixels 100",
                                  ("--min-pixels", "--max-pixels")),
    "export-pixels-zero": Case("export --data {data} --out {tmp}/x --min-pixels 0", ("--min-pixels 0",)),
    "lab-group-of-one": Case("lab --data {data} --group-size 1 --out {tmp}/lab", ("--group-size", "at least 2")),
    "lab-error-rate-above-one": Case("lab --data {data} --error-rates 0.2,1.5 --out {tmp}/lab",
                                     ("--error-rates", "1.5", "[0, 1]")),
    "lab-completions-missing": Case("lab --data {data} --completions {tmp}/completions.jsonl --out {tmp}/lab",
                                    ("--completions", "completions.jsonl", "no such file")),
    "lab-unknown-reward": Case("lab --data {data} --rewards paper,dense --out {tmp}/lab", ("--rewards", "dense")),
    "lab-limit-zero": Case("lab --data {data} --limit 0 --out {tmp}/lab", ("--limit", "0")),
}


@pytest.fixture
def no_model_load(monkeypatch):
    """Any model load fails the test: every case must stop before it."""
    def refuse(*a, **k):
        raise AssertionError("a model was loaded for a user mistake")

    monkeypatch.setattr(model_commands, "load_model", refuse)


def run_cli(capsys, argv: list[str]) -> tuple[int, str]:
    try:
        code = main(argv)
    except SystemExit as e:  # argparse exits instead of returning
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_mistake_is_one_line_before_the_work_and_loses_nothing(name, sets, tmp_path, capsys, no_model_load):
    case = CASES[name]
    model_folder(tmp_path, sets)
    if case.prepare:
        case.prepare(tmp_path, sets)
    before, data_before = snapshot(tmp_path), snapshot(sets["data"])
    argv = case.args.format(tmp=tmp_path, data=sets["data"], test_only=sets["test_only"]).split()
    t0 = time.perf_counter()
    code, err = run_cli(capsys, argv)
    seconds = time.perf_counter() - t0
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err, err
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith(f"rmlite {argv[0]}: error: "), lines[0]
    for needle in case.needles:
        assert needle in lines[0], (needle, lines[0])
    assert snapshot(tmp_path) == before, "the command changed, removed or hid something in the user's folder"
    assert snapshot(sets["data"]) == data_before, "the command wrote into the data set"
    assert seconds < 10, f"{name} took {seconds:.1f} s: the check should come before the work"


def test_the_table_covers_every_command_that_writes():
    commands = {c.args.split()[0] for c in CASES.values() if "notes.txt/" in c.args}  # a path under a file
    assert commands >= {"generate", "lab", "export", "show", "audit", "demo", "train", "eval"}


# ----- models: offline in well under a second, unreachable hub fast, a cached name found ------------------------------
@pytest.mark.regression
def test_offline_hub_name_is_one_line_in_well_under_a_second(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="huggingface-cli download"):
        model_source(HUB_NAME)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.regression
def test_unreachable_hub_fails_fast_without_retries(monkeypatch, caplog):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    t0 = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="could not be reached") as info:
        model_source(HUB_NAME)
    assert time.perf_counter() - t0 < 5.0
    assert "\n" not in str(info.value) and "huggingface-cli download" in str(info.value)
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]


def fake_cache(root: Path, repo: str) -> Path:
    """The hub cache layout (`models--owner--name/refs/main`, `snapshots/<rev>/config.json`)."""
    folder = root / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)
    snap = folder / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    return folder


def test_a_cached_hub_name_passes_offline_and_is_refused_by_cpu_tiny(monkeypatch, tmp_path, sets, capsys,
                                                                   no_model_load):
    from huggingface_hub import constants

    fake_cache(tmp_path / "hub", "rmlite-tests/cached-model")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert model_source("rmlite-tests/cached-model") == "cache"
    code, err = run_cli(capsys, ["train", "--data", str(sets["data"]), "--model", "rmlite-tests/cached-model",
                                 "--cpu-tiny", "--steps", "1", "--out", str(tmp_path / "r")])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--cpu-tiny" in err and "hub model" in err, err


def test_model_source_tells_folders_from_hub_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "model").mkdir()
    with pytest.raises(ModelUnavailable, match="no config.json"):
        model_source("runs/model")
    (tmp_path / "runs" / "model" / "config.json").write_text("{}")
    assert model_source("runs/model") == "local"
    for typo in ("runs/modle", "./model", "a/b/c"):  # a path, not a hub id: no hub question asked
        with pytest.raises(ModelUnavailable, match="no such folder"):
            model_source(typo)


# ----- file-system errors inside a command ---------------------------------------------------------------------------
def test_a_filesystem_error_during_the_work_is_one_line(monkeypatch, sets, tmp_path, capsys):
    import rmlite.cli.data_commands as data_commands

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x" / "train.parquet"))

    monkeypatch.setattr(data_commands, "export", denied)
    code, err = run_cli(capsys, ["export", "--data", str(sets["data"]), "--out", str(tmp_path / "x")])
    assert code == 2 and err.strip() == f"rmlite export: error: {tmp_path / 'x' / 'train.parquet'}: Permission denied"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_a_read_only_folder_is_refused_before_the_work(tmp_path, capsys):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        code, err = run_cli(capsys, ["generate", "--maps", "1", "--out", str(ro / "set")])
    finally:
        ro.chmod(0o700)
    assert code == 2 and "cannot write" in err and not list(ro.iterdir())
