"""A run killed mid-way and resumed leaves the records of an uninterrupted run, row for row (issue 24 part 5).

Before the fix, a run that crashed after step 3 with its last checkpoint at step 2 and was resumed kept the rows of
step 3 that the checkpoint does not hold and wrote them again: `metrics.jsonl` steps [1, 2, 3, 3, 4, 5] and four
completions too many. Only wall-clock fields (`step_time`) may differ; the completions match because transformers
restores the checkpoint's RNG states (`rng_state.pth`) before the next rollout. And `--resume` on a finished run
trains nothing (issue 25): transformers would train one step past the end and replace the adapter.
"""

import json
import shutil

import pytest
from fixtures.models import tiny_model_cached

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_split
from rmlite.schema import COMPLETIONS_FILE, HELDOUT_FILE, METRICS_FILE, RUN_CARD

pytest.importorskip("trl")

STEPS, SAVE, KILL, EVERY = 5, 2, 3, 3  # checkpoints at 2, 4 and 5; killed after step 3, so resumed from step 2
CLOCK = {"step_time"}  # wall-clock seconds: the one field that legitimately differs
RECORDS = (METRICS_FILE, COMPLETIONS_FILE, HELDOUT_FILE)


class Killed(Exception):
    """What the kill callback raises: the run stops as a crash stops it, between two rows."""


def spread_reward(completion: str, sample: dict) -> float:
    """Varies with the text, so groups have spread and the LoRA weights move (a resumed run must restore them)."""
    return (len(set(completion)) % 5) / 4.0


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("resume") / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 1, "planning": 3})
    generate_dataset(out, DatasetConfig(n_maps=2, size=512, test_fraction=0.0, questions=q), progress=False,
                     workers=1)
    ds = load_split(out, "train")
    return ds.select(range(3, len(ds))), ds.select(range(3)), out  # training rows, held-out rows, the folder


def _train(data, out, tmp_path, **kw):
    from rmlite.models.load import load_model
    from rmlite.train.grpo import cpu_tiny_settings, train
    from rmlite.train.heldout import HeldOutEval

    src = tmp_path / "model"  # each run loads it afresh, as a new process would; training writes nothing there
    if not src.is_dir():
        shutil.copytree(tiny_model_cached(), src)
    model, proc = load_model(str(src), load_in_4bit=False, lora_rank=8, dtype="float32")
    train_rows, held, _ = data
    settings = cpu_tiny_settings(str(out), max_steps=STEPS, save_steps=SAVE, max_completion_length=6)
    return train(model, proc, train_rows, reward=spread_reward, curriculum="paper", settings=settings,
                 heldout=HeldOutEval(held, every=EVERY, max_new_tokens=6), progress=False, **kw)


def _kill_after(step):
    from transformers import TrainerCallback

    class Kill(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kw):  # after RunLogger (earlier in the list) wrote
            if state.global_step == step:
                raise Killed(f"killed after step {step}")

    return Kill()


def rows(folder, name):
    return [json.loads(line) for line in (folder / name).read_text().splitlines()]


def differences(a, b, name):
    """Where two runs' record `name` differ, ignoring wall-clock fields: [] when they match row for row."""
    ra, rb = rows(a, name), rows(b, name)
    out = [f"{name}: {len(ra)} rows against {len(rb)}"] if len(ra) != len(rb) else []
    for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
        keys = sorted(k for k in set(x) | set(y) if k not in CLOCK and x.get(k) != y.get(k))
        if keys:
            out.append(f"{name} row {i} (step {x.get('step')}): {keys}")
    return out


@pytest.mark.slow
def test_killed_and_resumed_run_keeps_the_records_of_an_uninterrupted_one(data, tmp_path, capsys):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    _train(data, whole, tmp_path)
    with pytest.raises(Killed):
        _train(data, broken, tmp_path, callbacks=(_kill_after(KILL),))
    # the crash left rows the checkpoint does not hold: step 3's metrics and held-out rows, its 4 completions
    assert [r["step"] for r in rows(broken, METRICS_FILE)] == [1, 2, 3]
    assert [r["step"] for r in rows(broken, HELDOUT_FILE)] == [0, 3]
    assert sorted({r["step"] for r in rows(broken, COMPLETIONS_FILE)}) == [0, 1, 2]
    assert sorted(p.name for p in broken.glob("checkpoint-*")) == ["checkpoint-2"]
    capsys.readouterr()
    _train(data, broken, tmp_path, resume=True)
    assert any(m["grad_norm"] > 0 for m in rows(whole, METRICS_FILE))  # the weights moved: resume restores them
    for name in RECORDS:
        assert differences(whole, broken, name) == [], name
    assert [r["step"] for r in rows(broken, METRICS_FILE)] == list(range(1, STEPS + 1))
    assert [r["step"] for r in rows(broken, HELDOUT_FILE)] == [0, 3, 5]  # not evaluated again at the resume
    assert "resume: from checkpoint-2; dropped the rows written after it (1 metrics.jsonl, 1 heldout.jsonl, 4 " \
           "completions.jsonl), which this run writes again" in capsys.readouterr().out
    # the held-out change still runs from step 0 (read back from heldout.jsonl), so the cards say the same
    card = [line for line in (broken / RUN_CARD).read_text().splitlines() if not line.startswith("Written by")]
    assert card == [line.replace("whole", "broken") for line in (whole / RUN_CARD).read_text().splitlines()
                    if not line.startswith("Written by")]
    assert "at step 0 and step 5" in "\n".join(card)
    # resumed once more, the finished run is left as it is (without the guard: "steps: 6 of 5", a new adapter)
    before = {p: p.read_bytes() for p in broken.rglob("*") if p.is_file()}
    _train(data, broken, tmp_path, resume=True)
    assert "nothing to do" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in broken.rglob("*") if p.is_file()} == before


def test_the_comparison_sees_a_doubled_or_changed_row(tmp_path):
    """The check above fails on the records the bug left (a row of step 3 twice) and on any changed field."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    good = [{"step": s, "loss": s / 10, "step_time": 1.0} for s in (1, 2, 3, 4, 5)]
    (a / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in good))
    doubled = good[:3] + [dict(good[2], step_time=9.0)] + good[3:]
    (b / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in doubled))
    assert differences(a, b, METRICS_FILE)[0] == "metrics.jsonl: 5 rows against 6"
    changed = [dict(r, loss=0.0) if r["step"] == 4 else dict(r, step_time=2.0) for r in good]
    (b / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in changed))
    assert differences(a, b, METRICS_FILE) == ["metrics.jsonl row 3 (step 4): ['loss']"]


def test_resume_on_a_finished_run_trains_nothing(data, tmp_path, capsys):
    """No model is needed to see it: train() answers before it builds a trainer (None would fail there)."""
    from rmlite.train.grpo import cpu_tiny_settings, train
    from rmlite.train.runfolder import finished

    out = tmp_path / "run"
    _finished_run(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    res = train(None, None, data[0], resume=True, settings=cpu_tiny_settings(str(out), max_steps=STEPS))
    assert capsys.readouterr().out == (f"resume: {out} already trained 5 of 5 steps (checkpoint-5); nothing to do "
                                       f"(pass --steps above 5 to train further)\n")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [m["step"] for m in res.metrics] == list(range(1, STEPS + 1)) and res.trainer is None
    assert res.stage_starts == [(4, 1)]  # read back from metrics.jsonl's curriculum/stage
    with pytest.raises(ValueError, match="exclude each other"):  # asking for both is still refused, not answered
        train(None, None, data[0], resume=True, overwrite=True, settings=cpu_tiny_settings(str(out), max_steps=STEPS))
    # with more steps asked for, or an epoch-based run (max_steps -1: the checkpoint's own), the answer follows
    assert finished(out, STEPS + 1) is None and finished(out, -1) is not None and finished(out, 4) is not None


def _finished_run(out):
    for step in (2, STEPS):
        ckpt = out / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": step, "max_steps": STEPS}))
        (ckpt / "curriculum_state.json").write_text("{}")
    (out / METRICS_FILE).write_text("".join(json.dumps({"step": s, "curriculum/stage": int(s >= 4)}) + "\n"
                                            for s in range(1, STEPS + 1)))


def _cli(capsys, *argv):
    from rmlite.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_resume_on_a_finished_run_says_so_before_the_model_loads(data, tmp_path, capsys, monkeypatch):
    import rmlite.cli.model_commands as model_commands

    monkeypatch.setattr(model_commands, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    out = tmp_path / "run"
    _finished_run(out)
    code, said, err = _cli(capsys, "train", "--data", str(data[2]), "--model", str(tmp_path / "model"), "--steps",
                           str(STEPS), "--resume", "--out", str(out))
    assert (code, err) == (0, "")
    assert said == (f"resume: {out} already trained 5 of 5 steps (checkpoint-5); nothing to do (pass --steps above 5 "
                    f"to train further)\n")


def test_cli_after_ctrl_c_before_the_first_checkpoint_names_overwrite(data, tmp_path, capsys):
    """Issue 25: re-running said "pass --resume", and --resume said "drop --resume"; only --overwrite works."""
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    out = tmp_path / "run"
    out.mkdir()
    (out / METRICS_FILE).write_text('{"step": 1}\n')  # what a run stopped at step 1 leaves: rows, no checkpoint
    base = ["train", "--data", str(data[2]), "--model", str(tmp_path / "model"), "--steps", "3", "--out", str(out)]
    code, _, err = _cli(capsys, *base)
    assert code == 2 and err.count("\n") == 1 and "--overwrite to start it again" in err and "--resume" not in err
    code, _, err = _cli(capsys, *base, "--resume")
    assert code == 2 and err.count("\n") == 1 and "pass --overwrite instead of --resume" in err
    assert "drop --resume" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _cli(capsys, *base[:-1], str(empty), "--resume")
    assert code == 2 and "drop --resume to start a new run" in err  # there, a new run is what works
