"""The README's main job (`python -m rmlite demo`): its checks before any work, its zero-spread statistics (checked
against independent recomputations), its report lines, the whole demo end to end, shrunk, and `--quick`: the shipped
warm start is the one the code trains (its fingerprint, checked without training), a stale or broken one is refused
in one line, and a quick run reuses a matching one and shows the same sections."""

import contextlib
import dataclasses
import inspect
import io
import json
import math
import os
import random
import shutil
import statistics
from pathlib import Path

import pytest

import rmlite.demo_quick as dq
from rmlite.data.store import MapImages, load_maps, load_questions
from rmlite.demo import (
    MARKER,
    REPORT,
    REPORT_TITLE,
    SPARSE,
    DemoSettings,
    below_majority,
    beyond_noise,
    check_arguments,
    claim_folder,
    cluster_mean_se,
    default_settings,
    is_demo_folder,
    run_demo,
    score_groups,
    spread_rewards,
    spread_stats,
    zero_flags,
)
from rmlite.evaluate import EvalReport
from rmlite.reward.config import PRESETS
from rmlite.reward.score import score

MINI = Path(__file__).resolve().parent.parent / "data" / "mini"


# ----- checks before any work --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, bad, least", [("n_maps", 0, 2), ("n_maps", 1, 2), ("warm_steps", 0, 1),
                                              ("stage_prompts", 0, 1), ("eval_limit", 0, 1), ("spread_prompts", 0, 1),
                                              ("spread_repeats", 0, 1), ("pass_k", 0, 1), ("seed", -1, 0)])
def test_a_bad_argument_fails_before_any_work_naming_the_smallest_that_works(tmp_path, name, bad, least):
    out = tmp_path / "demo"
    with pytest.raises(ValueError, match=rf"{name} >= {least}\b") as e:
        run_demo(str(out), **{name: bad})
    assert "\n" not in str(e.value)
    assert not out.exists()  # nothing was written: the check came first
    check_arguments(**{name: least})  # the named value works


def test_bad_size_and_non_integers_are_refused(tmp_path):
    with pytest.raises(ValueError, match="size"):
        run_demo(str(tmp_path / "d"), size=100)
    with pytest.raises(ValueError, match="n_maps"):
        check_arguments(n_maps=2.5)
    with pytest.raises(ValueError, match="pass_k"):
        check_arguments(pass_k=True)
    assert not (tmp_path / "d").exists()


def test_a_folder_with_the_users_files_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "data" / "x.csv").write_text("1,2")
    with pytest.raises(ValueError, match="did not write"):
        run_demo(str(out))
    assert sorted(p.name for p in out.rglob("*")) == ["data", "notes.txt", "x.csv"]
    assert (out / "notes.txt").read_text() == "mine"
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        run_demo(str(afile))
    assert afile.read_text() == "x"


def test_new_empty_and_earlier_demo_folders_are_accepted_and_marked(tmp_path):
    args = {"out": "x", "n_maps": 2}
    for out in (tmp_path / "new" / "deeper", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        claim_folder(out, args)
        assert is_demo_folder(out) and json.loads((out / MARKER).read_text())["rmlite_demo"] == args
    old = tmp_path / "old"  # a report from before the marker existed
    old.mkdir()
    (old / REPORT).write_text(f"{REPORT_TITLE}\n\nold numbers\n")
    (old / "spread.json").write_text("{}")
    assert is_demo_folder(old)
    claim_folder(old, args)
    assert (old / "spread.json").read_text() == "{}"  # claiming deletes nothing
    other = tmp_path / "other"
    other.mkdir()
    (other / REPORT).write_text("# my report\n")
    (other / MARKER).write_text("[1, 2]")  # valid JSON, not the demo's marker
    assert not is_demo_folder(other)


def test_an_unwritable_folder_is_one_value_error(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot write the demo report into"):
        claim_folder(blocker / "demo", {})  # its parent is a file: no one can create it, root included
    assert blocker.read_text() == "x"
    if os.name == "posix" and os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        try:
            with pytest.raises(ValueError, match="cannot write"):
                claim_folder(locked / "demo", {})
        finally:
            locked.chmod(0o700)


# ----- zero-spread statistics --------------------------------------------------------------------------------------
def test_cluster_mean_se_equals_a_recomputation_over_question_means():
    rng = random.Random(3)
    values = [float(rng.random() < 0.3) for _ in range(60)]
    clusters = [i % 15 for i in range(60)]  # 15 questions, 4 groups each
    means = [statistics.fmean(values[q::15]) for q in range(15)]
    m, se = cluster_mean_se(values, clusters)
    assert m == pytest.approx(statistics.fmean(values))  # equal cluster sizes: the plain mean
    assert se == pytest.approx(statistics.stdev(means) / math.sqrt(15))
    # one group per question: the plain standard error of the mean
    assert cluster_mean_se(values, list(range(60)))[1] == pytest.approx(statistics.stdev(values) / math.sqrt(60))


def test_spread_stats_by_hand():
    flags = {"total": {SPARSE: [1, 1, 0, 0], "paper": [0, 1, 0, 0]},
             "route": {SPARSE: [1, 1, 1, 1], "paper": [0, 0, 1, 1]}}
    res = spread_stats(flags, ["a", "b", "c", "d"])
    assert res["total"]["zero_spread"][SPARSE]["share"] == 0.5 and res["zero_spread"] == res["total"]["zero_spread"]
    d = res["total"]["difference_vs_sparse"]["paper"]  # differences -1, 0, 0, 0
    assert d["difference"] == -0.25 and d["se"] == pytest.approx(0.25)
    assert d["interval95"] == pytest.approx([-0.25 - 1.96 * 0.25, -0.25 + 1.96 * 0.25]) and not beyond_noise(d)
    r = res["route"]["difference_vs_sparse"]["paper"]  # differences -1, -1, 0, 0
    assert r["difference"] == -0.5 and r["se"] == pytest.approx(math.sqrt(1 / 3) / 2)
    assert beyond_noise({"interval95": [-0.3, -0.01]}) and beyond_noise({"interval95": [0.01, 0.3]})


def _planning_sample() -> dict:
    return next(dict(r) for r in load_questions(MINI, "train") if r["type"] == "planning"
                and int(r["question_transfer_count"]) == 0)


def test_zero_flags_match_an_independent_scoring():
    """Three groups: one identical wrong answer four times; two formatted wrong answers and two unformatted; one
    right route among wrong ones. Each flag is recomputed with `score` and the breakdown's own fields."""
    s = _planning_sample()
    right = s["answer"]
    wrong = "Route Name: Line 1\nDeparture Stop: Nowhere Park\nArrival Stop: Elsewhere Square"
    junk = "I cannot tell from the map."
    assert score(right, s).correct and score(wrong, s, PRESETS[SPARSE]).format > 0
    assert score(junk, s, PRESETS[SPARSE]).format == 0
    groups = [[wrong] * 4, [wrong, junk, wrong, junk], [right, wrong, wrong, junk]]
    flags = zero_flags(score_groups([s] * 3, groups))
    assert flags["total"][SPARSE] == [1.0, 0.0, 0.0]  # spread from the format credit in the second group
    assert flags["route"][SPARSE] == [1.0, 1.0, 0.0]  # but on the route terms only the right route gives spread
    for name in spread_rewards():
        cfg = PRESETS[name]
        for part, value in (("total", lambda b: b.total),
                            ("route", lambda b: b.weight * (b.correctness + b.alpha * b.detail))):
            want = []
            for g in groups:
                vals = [value(score(c, s, cfg)) for c in g]
                want.append(float(max(vals) - min(vals) <= 1e-9))
            assert flags[part][name] == want, (name, part)


def _report(name: str, rows: list[tuple[str, float]]) -> EvalReport:
    return EvalReport(name, [{"id": f"q{i}", "type": t, "correct": c, "format_error": 0}
                             for i, (t, c) in enumerate(rows)])


def test_below_majority_names_each_type_once():
    model = _report("tiny+GRPO", [("torf1", 0), ("torf1", 1), ("counting1", 1), ("counting1", 1), ("planning", 0)])
    major = _report("majority", [("torf1", 1), ("torf1", 1), ("counting1", 1), ("counting1", 0), ("planning", 0)])
    lines = below_majority(model, major)
    assert len(lines) == 1 and lines[0].startswith("torf1: tiny+GRPO 0.500") and "majority baseline 1.000" in lines[0]
    assert "(n=2)" in lines[0]
    assert below_majority(major, major) == []


# ----- end to end ----------------------------------------------------------------------------------------------------
SMALL = dict(n_maps=2, seed=0, size=512, warm_steps=10, stage_prompts=2, eval_limit=8, spread_prompts=5,
             spread_repeats=3, pass_k=2)  # spread_repeats 3: above --quick's cap, so a quick run cuts it


def _demo(out: Path, **kw) -> tuple[Path, str]:
    """A demo run and what it printed."""
    console = io.StringIO()
    with contextlib.redirect_stdout(console):
        run_demo(str(out), **kw)
    return out, console.getvalue()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory) -> tuple[Path, str]:
    """The whole demo, shrunk (shared by the tests of its report and of --quick, which reuses its warm start)."""
    pytest.importorskip("trl")
    return _demo(tmp_path_factory.mktemp("full") / "demo", **SMALL)


@pytest.mark.slow
def test_demo_writes_a_complete_report(full_run):
    from rmlite.demo import BEFORE_NAME, MODEL_NAME

    out, console = full_run
    for name in (REPORT, MARKER, "warm_start.json", "warm_start.png", "spread.json", "spread_groups.jsonl",
                 "sample_answer.png", "grpo/metrics.jsonl", "grpo/metrics.png", "grpo/heldout.jsonl",
                 "eval/report.json", "eval/report.md", "eval/accuracy.png"):
        assert (out / name).is_file(), name
    assert is_demo_folder(out)
    report = (out / REPORT).read_text()
    for phrase in ("cannot", "image masked", "pass@2", "[95 %]", "route terms", "format credit alone",
                   "Held-out accuracy changed by", "chance", "Below the majority baseline", "format errors"):
        assert phrase in report, phrase
    # every dense preset is compared with sparse, read at run time (a preset added later is picked up)
    dense = {n for n, c in PRESETS.items() if c.dense and c.alpha > 0}
    assert set(spread_rewards()) == dense | {"sparse"} and "paper" in dense
    spread = json.loads((out / "spread.json").read_text())
    assert spread["groups"] == spread["questions"] * 3 and spread["questions"] <= 5
    for part in ("total", "route"):
        assert set(spread[part]["zero_spread"]) == set(spread_rewards())
        assert set(spread[part]["difference_vs_sparse"]) == dense
        for name, v in spread[part]["difference_vs_sparse"].items():  # paired difference = difference of shares
            assert v["difference"] == pytest.approx(spread[part]["zero_spread"][name]["share"]
                                                    - spread[part]["zero_spread"]["sparse"]["share"])
            assert v["interval95"][0] <= v["difference"] <= v["interval95"][1]
    _check_shares_from_the_logged_groups(out, spread)
    steps = [json.loads(x)["step"] for x in (out / "grpo" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # two prompts per stage, one prompt per step
    held = json.loads((out / "eval" / "report.json").read_text())
    assert {BEFORE_NAME, MODEL_NAME, "chance", "majority"} <= set(held)
    assert held[BEFORE_NAME]["n"] == held[MODEL_NAME]["n"] == 8
    warm = json.loads((out / "warm_start.json").read_text())
    assert warm["pass_at_k"]["k"] == 2 and warm["pass_at_k"]["by_type"]
    assert "[demo] finished in" in console and "Quick mode" not in report
    first = console.splitlines()[0]  # said before any work
    assert first.startswith("[demo] expected time: ") and "quiet 2-core machine" in first and "cores, load" in first
    assert not [line for line in console.splitlines() if line.lstrip().startswith("{")], "a raw dict on the console"


def _check_shares_from_the_logged_groups(out: Path, spread: dict) -> None:
    """The zero-spread shares recomputed from `spread_groups.jsonl` with `score`, apart from the demo's code."""
    rows = [json.loads(x) for x in (out / "spread_groups.jsonl").read_text().splitlines()]
    assert len(rows) == spread["groups"] and all(len(r["completions"]) == spread["group_size"] for r in rows)
    samples = {r["id"]: dict(r) for r in load_questions(out / "data", "train")}
    assert len({r["id"] for r in rows}) == spread["questions"]
    for name in spread_rewards():
        flat = []
        for r in rows:
            totals = [score(c, samples[r["id"]], PRESETS[name]).total for c in r["completions"]]
            flat.append(max(totals) - min(totals) <= 1e-6 * max(1.0, max(abs(t) for t in totals)))
        assert spread["total"]["zero_spread"][name]["share"] == pytest.approx(sum(flat) / len(flat)), name


# ----- the shipped warm start (--quick) -----------------------------------------------------------------------------
def _json(x):
    return json.loads(json.dumps(x, default=str))


def test_the_shipped_warm_start_is_the_one_the_demo_trains():
    """data/warm_tiny was made with the settings run_demo's defaults give now (else `make warm-tiny`): cheap, nothing
    is trained. The settings are compared first, so a failure names what changed."""
    _, settings = default_settings()
    record = dq.shipped_record()
    for part in settings:
        assert record["settings"][part] == _json(settings[part]), f"{part} changed: data/warm_tiny is stale, run " \
                                                                   "`make warm-tiny`"
    assert record["fingerprint"] == dq.fingerprint(settings), "data/warm_tiny is stale: run `make warm-tiny`"


def test_the_shipped_model_was_built_and_trained_as_the_defaults_say():
    """The same question by another path: the records the tiny model's builder and the warm start wrote into the
    shipped model folder (`rmlite_tiny.json`, transformers' `config.json`), against the defaults read here."""
    model = dq.SHIPPED_DIR / dq.MODEL
    info = json.loads((model / "rmlite_tiny.json").read_text())
    config = json.loads((model / "config.json").read_text())
    demo = DemoSettings()
    tiny = inspect.signature(dq.build_tiny_vlm).parameters
    for key in ("hidden_size", "num_layers", "vision_hidden", "vision_depth", "max_pixels"):
        assert info[key] == tiny[key].default, key
    assert info["seed"] == demo.seed and config["text_config"]["hidden_size"] == tiny["hidden_size"].default
    warm, ws = info["warm_start"], dq.WarmStartSettings()
    assert warm["steps"] == demo.warm_steps and warm["pass_at_k"]["k"] == demo.pass_k
    assert warm["batch_size"] == ws.batch_size and warm["lr"] == ws.lr
    stats = json.loads((dq.SHIPPED_DIR / dq.STATS).read_text())
    assert len(stats["losses"]) == stats["steps"] == warm["steps"] and stats["pass_at_k"] == warm["pass_at_k"]
    size = sum(p.stat().st_size for p in dq.SHIPPED_DIR.rglob("*") if p.is_file())
    assert size < 5e6, f"data/warm_tiny is {size / 1e6:.1f} MB"


def test_the_shipped_warm_start_trained_on_the_questions_the_demo_generates(tmp_path):
    """The demo's default data set, generated again (seconds), has the questions the shipped warm start trained on:
    a generator that changed under the same settings makes this fail."""
    data, _ = default_settings()
    _, images, rows = dq.make_data(tmp_path / "data", data)
    assert dq.question_digest(rows, images) == dq.shipped_record()["questions"], "data/warm_tiny is stale: " \
                                                                                 "`make warm-tiny`"


@pytest.mark.parametrize("change", ["tiny model", "data", "warm start", "steps"])
def test_the_fingerprint_changes_with_every_part_of_the_settings(monkeypatch, change):
    """Each part the fingerprint covers, changed the way a code change would (a default) or an argument would."""
    base = dq.fingerprint(default_settings()[1])
    if change == "tiny model":
        monkeypatch.setitem(dq.build_tiny_vlm.__kwdefaults__, "hidden_size", 96)
    elif change == "data":
        monkeypatch.setattr(dq, "REAL_MAPS", ("oslo", "geneva"))
    elif change == "warm start":
        monkeypatch.setattr(next(f for f in dataclasses.fields(dq.WarmStartSettings) if f.name == "lr"), "default",
                            1e-3)
    _, settings = dq.demo_settings(12, 0, 512, 299 if change == "steps" else 300, 8)
    assert dq.fingerprint(settings) != base
    assert dq.shipped_record()["fingerprint"] != dq.fingerprint(settings)  # the shipped check above would fail


def test_the_question_digest_changes_with_a_question_or_one_pixel_of_a_map():
    from PIL import Image

    rows = [{"id": "q1", "map_id": "m", "type": "torf1", "question": "Is A next to B?", "answer": "yes"}]
    img = Image.new("RGB", (8, 8), "white")
    base = dq.question_digest(rows, {"m": img})
    other = img.copy()
    other.putpixel((3, 3), (254, 255, 255))
    assert dq.question_digest(rows, {"m": other}) != base
    assert dq.question_digest([{**rows[0], "answer": "no"}], {"m": img}) != base
    assert dq.question_digest(rows, {"m": img.copy()}) == base


def _ship_from(run: Path, dest: Path, **changes) -> Path:
    """A shipped warm start made from a demo run's model and stats, for `SMALL` (with `changes`)."""
    small = {**SMALL, **changes}
    data, settings = dq.demo_settings(*(small[k] for k in ("n_maps", "seed", "size", "warm_steps", "pass_k")))
    rows = [dict(r) for r in load_questions(run / "data", "train")]
    stats = json.loads((run / "warm_start.json").read_text())
    return dq.ship(run / "model", stats, settings, dq.question_digest(rows, _images(run)), dest)


def _images(run: Path) -> MapImages:
    return MapImages(load_maps(run / "data"))


@pytest.mark.slow
@pytest.mark.parametrize("corrupt", ["settings", "questions", "weights", "record"])
def test_a_stale_or_broken_shipped_warm_start_is_refused_in_one_line(full_run, tmp_path, corrupt):
    run = full_run[0]
    src = _ship_from(run, tmp_path / "shipped", **({"warm_steps": 11} if corrupt == "settings" else {}))
    if corrupt == "questions":
        record = json.loads((src / dq.RECORD).read_text())
        (src / dq.RECORD).write_text(json.dumps({**record, "questions": "0" * 16}))
    elif corrupt == "weights":
        (src / dq.MODEL / "model.safetensors").unlink()
    elif corrupt == "record":
        (src / dq.RECORD).write_text("{not json")
    data, settings = dq.demo_settings(*(SMALL[k] for k in ("n_maps", "seed", "size", "warm_steps", "pass_k")))
    rows = [dict(r) for r in load_questions(run / "data", "train")]
    stats, why = dq.reuse(settings, dq.question_digest(rows, _images(run)), tmp_path / "model", src)
    assert stats is None and why and "\n" not in why
    assert {"settings": "other settings", "questions": "other questions", "weights": "no usable",
            "record": "no usable"}[corrupt] in why
    assert not (tmp_path / "model").exists()  # nothing copied


@pytest.mark.slow
def test_quick_reuses_a_matching_warm_start_and_shows_the_same_sections(full_run, tmp_path, monkeypatch):
    """A quick run with the full run's warm start shipped, into a copy of the full run's folder: not trained again
    (the same stats, the same weights), the full run's report sections plus one saying what quick cut, the cut
    applied, and the earlier report replaced (its GRPO run too: `make demo` twice once stopped at "already holds a
    run")."""
    run, _ = full_run
    monkeypatch.setattr(dq, "SHIPPED_DIR", _ship_from(run, tmp_path / "shipped"))
    shutil.copytree(run, tmp_path / "quick")  # an earlier report there: a re-run replaces it, its GRPO run included
    out, console = _demo(tmp_path / "quick", quick=True, **SMALL)
    assert "overwrite: removed" in console and "grpo" in console
    assert console.splitlines()[0].startswith("[demo] quick: expected time: ")
    assert "[demo] quick: reusing the shipped warm start" in console and "warm start (shipped):" in console
    assert json.loads((out / "warm_start.json").read_text()) == json.loads((run / "warm_start.json").read_text())
    assert (out / "model" / "model.safetensors").read_bytes() == (run / "model" / "model.safetensors").read_bytes()
    heads = [x for x in (out / REPORT).read_text().splitlines() if x.startswith("## ")]
    full_heads = [x for x in (run / REPORT).read_text().splitlines() if x.startswith("## ")]
    assert [x for x in heads if not x.startswith("## Quick mode")] == full_heads and len(heads) == len(full_heads) + 1
    report = (out / REPORT).read_text()
    assert "not trained in this run" in report and "groups per planning question: 2 (full demo: 4)" in report
    spread = json.loads((out / "spread.json").read_text())
    assert spread["repeats"] == 2 and spread["groups"] == 2 * spread["questions"]  # capped from SMALL's 3
    assert json.loads((out / MARKER).read_text())["rmlite_demo"]["quick"] is True


@pytest.mark.slow
def test_quick_with_a_stale_warm_start_says_so_and_warms_up(full_run, tmp_path, monkeypatch, capsys):
    run, _ = full_run
    monkeypatch.setattr(dq, "SHIPPED_DIR", _ship_from(run, tmp_path / "shipped", warm_steps=11))
    data, settings = dq.demo_settings(2, 0, 512, 2, 1)  # 2 steps, pass@1: a short warm start
    maps, images, rows = dq.make_data(tmp_path / "data", data)
    model_dir, stats, shipped = dq.warm_up(tmp_path, rows, images, settings, quick=True)
    said = [x for x in capsys.readouterr().out.splitlines() if x.startswith("[demo]")]
    assert not shipped and len(stats.losses) == 2 and (model_dir / "model.safetensors").is_file()
    assert len(said) == 1 and "other settings" in said[0] and "warming up instead" in said[0]
    assert "make warm-tiny" in said[0]


def test_the_demo_runs_fewer_threads_on_a_busy_machine_and_restores_them(monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    monkeypatch.setattr(os, "getloadavg", lambda: (5.0, 5.0, 5.0))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with dq.load_threads(50.0):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    line = capsys.readouterr().out
    # 50 s × (5 + 1 thread) / 2 cores = 150 s
    assert line.startswith("[demo] expected time: 50 s") and "load 5.0, 1 thread, so about 150 s (× 3.0" in line
