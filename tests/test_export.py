"""Export to verl / EasyR1 parquet, read back the way those engines read it (after moving the folder), in the
curriculum order rmlite trains in, and scored through the adapters.

The engines are not installed in CI, so their image lookup is restated here from their code (cited per helper),
sharing nothing with `rmlite.data.export`; `scripts/check_engines.py` runs their real dataset classes.
"""

import json
import os
import shutil
import subprocess
from functools import partial
from io import BytesIO

import pyarrow.parquet as pq
import pytest
from PIL import Image

from rmlite.cli import main
from rmlite.curriculum import get_curriculum, order_samples
from rmlite.data.answers import reference_completion
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.export import export
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions
from rmlite.reward.engines import compute_score

# The paper curriculum's stages, written out by hand from the paper's released rl_dataset.py order (TorF →
# Counting2+3 → Counting1 → planning), so the order check does not read rmlite.curriculum.
PAPER_STAGE = {"torf1": 0, "torf2": 0, "counting2": 1, "counting3": 1, "counting1": 2, "planning": 3}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("exp") / "data"
    q = QuestionConfig(per_map={"torf1": 3, "counting2": 2, "planning": 3})
    generate_dataset(out, DatasetConfig(n_maps=2, size=512, real_maps=("oslo", "miami"), questions=q),
                     progress=False, workers=1)
    return out


def _stored_pngs(data_dir):
    from datasets import Image as ImageFeature

    maps = load_maps(data_dir).cast_column("image", ImageFeature(decode=False))
    return {m["map_id"]: m["image"]["bytes"] for m in maps}


def _settings(folder):
    return json.loads((folder / "engine_settings.json").read_text())


def _files(value):
    """A Hydra / OmegaConf file value: `a.parquet` or `[a.parquet,b.parquet]`."""
    return value.strip("[]").split(",")


# ----- the engines' image lookup, restated from their code -------------------------------------------------------
def verl_image(entry):
    """verl 0.9.1 `utils/dataset/rl_dataset.py` _build_messages (lines 339-344): a dict with "bytes" is opened from
    the bytes; otherwise `{"type": "image", **entry}` goes to qwen_vl_utils 0.0.14 `vision_process.py` fetch_image
    (lines 94-117), which strips "file://" and calls `Image.open(path)`: a relative path is read from the working
    directory. verl has no image-folder setting."""
    if "bytes" in entry and entry["bytes"] is not None:
        return Image.open(BytesIO(entry["bytes"]))
    path = entry["image"]
    return Image.open(path[7:] if path.startswith("file://") else path)


def easyr1_image(image, image_dir):
    """EasyR1 b44b311 `verl/utils/dataset.py`: a string is joined with `data.image_dir` (lines 230-231, and 192-193
    for the length filter), then `process_image` (lines 56-61) opens a string as a path and a dict from its "bytes".
    `image_dir` is made absolute from the working directory at launch (`verl/trainer/config.py` line 60 calls
    `verl/utils/py_functional.py` get_abs_path, lines 123-128)."""
    if isinstance(image, str):
        return Image.open(os.path.join(image_dir, image) if image_dir is not None else image)
    return Image.open(BytesIO(image["bytes"]))


def _map_of(row, fmt):
    return json.loads(row["reward_model"]["ground_truth"] if fmt == "verl" else row["answer"])["map_id"]


# ----- exports that travel -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("images", ["files", "embedded"])
@pytest.mark.parametrize("fmt", ["verl", "easyr1"])
def test_a_moved_export_loads_every_row(data_dir, tmp_path, monkeypatch, fmt, images):
    """Export, move the folder, and read every row's image the way the engine does, run as engine_settings says
    (from the export folder); embedded images from anywhere."""
    export(data_dir, tmp_path / "made" / "export", fmt, images=images)
    moved = tmp_path / "moved" / "here"
    moved.parent.mkdir()
    shutil.move(str(tmp_path / "made" / "export"), str(moved))
    shutil.rmtree(tmp_path / "made")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings = _settings(moved)
    assert settings["run_from"] == "the export folder"
    monkeypatch.chdir(moved)
    s = settings["settings"]
    image_dir = os.path.abspath(s["data.image_dir"]) if "data.image_dir" in s else None  # EasyR1's get_abs_path
    if fmt == "easyr1" or images == "embedded":
        monkeypatch.chdir(elsewhere)  # nothing below depends on the working directory any more
    pngs = _stored_pngs(data_dir)
    loaded = {}
    for split in ("data.train_files", "data.val_files"):
        for name in _files(s[split]):
            rows = pq.read_table(moved / name).to_pylist()
            for r in rows:
                entry = r["images"][0]
                with verl_image(entry) if fmt == "verl" else easyr1_image(entry, image_dir) as im:
                    assert im.format == "PNG"
                    im.load()
                png = pngs[_map_of(r, fmt)]
                if images == "files":
                    with open(entry["image"] if fmt == "verl" else os.path.join(image_dir, entry), "rb") as f:
                        assert f.read() == png
                if images == "embedded":
                    assert entry["bytes"] == png
            loaded[split] = loaded.get(split, 0) + len(rows)
    assert loaded == {"data.train_files": len(load_questions(data_dir, "train")),
                      "data.val_files": len(load_questions(data_dir, "test"))}


def test_the_move_check_fails_on_absolute_paths(data_dir, tmp_path, monkeypatch):
    """The lookup above refuses what the export wrote before (absolute paths) once the folder moved."""
    export(data_dir, tmp_path / "a", "verl")
    row = pq.read_table(tmp_path / "a" / "train.parquet").to_pylist()[0]
    entry = {**row["images"][0], "image": str((tmp_path / "a" / row["images"][0]["image"]).resolve())}
    with verl_image(entry):  # before the move it opens
        pass
    shutil.move(str(tmp_path / "a"), str(tmp_path / "b"))
    monkeypatch.chdir(tmp_path / "b")
    with pytest.raises(FileNotFoundError):
        verl_image(entry)
    with pytest.raises(FileNotFoundError):
        easyr1_image(entry["image"], str(tmp_path / "b"))  # os.path.join keeps an absolute path as it is


def test_verl_layout_round_trip(data_dir, tmp_path, monkeypatch):
    paths = export(data_dir, tmp_path / "verl", "verl", max_pixels=768 * 768, min_pixels=28 * 28)
    assert {p.name for p in paths} == {"train.parquet", "test.parquet"}
    rows = pq.read_table(paths[0]).to_pylist()
    qs = {q["id"]: q for q in load_questions(data_dir, paths[0].stem)}
    pngs = _stored_pngs(data_dir)
    assert len(rows) == len(qs)
    monkeypatch.chdir(tmp_path / "verl")
    for r in rows:
        assert r["prompt"][0]["role"] == "user" and r["prompt"][0]["content"].startswith("<image>")
        image = r["images"][0]  # verl's process_image opens image["image"] and resizes within the budget
        assert (image["max_pixels"], image["min_pixels"]) == (768 * 768, 28 * 28)
        assert not os.path.isabs(image["image"])
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


# ----- the curriculum ----------------------------------------------------------------------------------------------
def _train_rows(folder, fmt="verl"):
    return [r for name in _files(_settings(folder)["settings"]["data.train_files"])
            for r in pq.read_table(folder / name).to_pylist()]


def _stage(r, fmt):
    return (r["extra_info"]["stage"], r["extra_info"]["stage_name"]) if fmt == "verl" else (r["stage"], r["stage_name"])


@pytest.mark.parametrize("fmt", ["verl", "easyr1"])
def test_train_rows_come_in_the_paper_stage_order(data_dir, tmp_path, fmt):
    paper = get_curriculum("paper")
    export(data_dir, tmp_path / "x", fmt, order=partial(order_samples, curriculum=paper, seed=3))
    rows = [json.loads(r["reward_model"]["ground_truth"] if fmt == "verl" else r["answer"]) | {"_stage": _stage(r, fmt)}
            for r in _train_rows(tmp_path / "x")]
    stages = [PAPER_STAGE[s["type"]] for s in rows]
    assert stages == sorted(stages) and len(set(stages)) == 3, "perception stages first, planning last"
    assert [s["_stage"] for s in rows] == [(k, paper.names[k]) for k in stages]
    train = load_questions(data_dir, "train")
    assert sorted(s["id"] for s in rows) == sorted(train["id"]), "every train question once"
    order, _ = order_samples(list(train), paper, seed=3)  # the order `rmlite train` trains on with this seed
    assert [s["id"] for s in rows] == [train[i]["id"] for i in order]
    position, types = {q: i for i, q in enumerate(train["id"])}, dict(zip(train["id"], train["type"], strict=True))
    unshuffled = sorted((s["id"] for s in rows), key=lambda q: (PAPER_STAGE[types[q]], position[q]))
    assert [s["id"] for s in rows] != unshuffled, "shuffled inside each stage"
    settings = _settings(tmp_path / "x")
    assert settings["settings"]["data.shuffle"] == "false" and "shuffles" in settings["warnings"][0]


def test_batches_never_mix_stages(data_dir, tmp_path):
    export(data_dir, tmp_path / "x", "verl", order=partial(order_samples, curriculum=get_curriculum("paper")),
           batch_size=4)
    rows = _train_rows(tmp_path / "x")
    assert len(rows) % 4 == 0
    batches = [rows[i:i + 4] for i in range(0, len(rows), 4)]
    assert all(len({PAPER_STAGE[json.loads(r["reward_model"]["ground_truth"])["type"]] for r in b}) == 1
               for b in batches)
    s = _settings(tmp_path / "x")
    assert s["settings"]["data.train_batch_size"] == 4
    n = len(load_questions(data_dir, "train"))
    assert len(rows) < n and any(f"{len(rows)} of {n} rows" in note for note in s["notes"])


@pytest.mark.parametrize("fmt", ["verl", "easyr1"])
def test_one_file_per_stage_in_order(data_dir, tmp_path, fmt):
    order = partial(order_samples, curriculum=get_curriculum("paper"), seed=1)
    export(data_dir, tmp_path / "one", fmt, order=order)
    paths = export(data_dir, tmp_path / "per", fmt, order=order, stage_files=True)
    names = [p.name for p in paths if p.name.startswith("train")]
    assert names == ["train-stage0-torf.parquet", "train-stage1-counting23.parquet", "train-stage3-planning.parquet"]
    per = [r for n in names for r in pq.read_table(tmp_path / "per" / n).to_pylist()]
    one = pq.read_table(tmp_path / "one" / "train.parquet").to_pylist()
    assert [_id(r, fmt) for r in per] == [_id(r, fmt) for r in one] and len(per) == len(one)
    assert [_stage(r, fmt) for r in per] == [_stage(r, fmt) for r in one]
    s = _settings(tmp_path / "per")["settings"]
    if fmt == "verl":
        assert _files(s["data.train_files"]) == names  # verl concatenates them in this order
    else:
        assert s["data.train_files"] == names[0]
        assert ", ".join(names) in " ".join(_settings(tmp_path / "per")["notes"])


def _id(r, fmt):
    return json.loads(r["reward_model"]["ground_truth"] if fmt == "verl" else r["answer"])["id"]


def test_an_earlier_exports_files_are_named(data_dir, tmp_path):
    order = partial(order_samples, curriculum=get_curriculum("paper"))
    export(data_dir, tmp_path / "x", "verl", order=order)
    assert not any("earlier export" in w for w in _settings(tmp_path / "x")["warnings"])
    export(data_dir, tmp_path / "x", "verl", order=order, stage_files=True)
    assert any("train.parquet from an earlier export" in w for w in _settings(tmp_path / "x")["warnings"])
    assert "train.parquet" not in _settings(tmp_path / "x")["settings"]["data.train_files"]


def test_no_curriculum_no_shuffle_warning(data_dir, tmp_path):
    export(data_dir, tmp_path / "x", "verl", order=partial(order_samples, curriculum=get_curriculum("none")))
    s = _settings(tmp_path / "x")
    assert s["warnings"] == [] and "data.shuffle" not in s["settings"] and s["stages"] == ["all"]


def test_cli_prints_the_settings_and_the_warning(data_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["export", "--data", str(data_dir), "--out", str(out), "--format", "easyr1", "--batch-size", "2"]) == 0
    printed = capsys.readouterr().out
    assert "data.shuffle=false" in printed and "data.rollout_batch_size=2" in printed
    assert "WARNING: EasyR1 shuffles the train rows by default" in printed
    assert "worker.reward.reward_function=" in printed
    assert [r["stage_name"] for r in _train_rows(out)][0] == "torf"
    # The printed command, run by a shell in the folder after a move, names files that exist there.
    command = next(line for line in printed.splitlines() if line.startswith(f"  cd {out} && "))
    args = command.split(" && python -m verl.trainer.main ", 1)[1]
    moved = tmp_path / "moved"
    shutil.move(str(out), str(moved))
    shell = subprocess.run(["bash", "-c", f"cd {moved} && printf '%s\\n' {args}"], capture_output=True, text=True,
                           check=True, cwd=tmp_path)
    given = dict(line.split("=", 1) for line in shell.stdout.splitlines())
    assert os.path.isfile(given["data.train_files"]) and os.path.isfile(given["data.val_files"])
    assert os.path.samefile(given["data.image_dir"], moved)
    row = pq.read_table(given["data.train_files"]).to_pylist()[0]
    with easyr1_image(row["images"][0], given["data.image_dir"]) as im:
        assert im.format == "PNG"


def test_unknown_format_or_image_mode(data_dir, tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export(data_dir, tmp_path, "openrlhf")
    with pytest.raises(ValueError, match="unknown image mode"):
        export(data_dir, tmp_path, "verl", images="links")
    with pytest.raises(ValueError, match="stage_files needs an order"):
        export(data_dir, tmp_path, "verl", stage_files=True)
