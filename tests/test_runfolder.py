"""The run folder without training: `start` refuses, resumes or clears; `run_card` says what ran, from facts given by
hand; the eval command it prints is one `rmlite eval` accepts. (A real run's cards: tests/test_console.py.)"""

import json
import shlex

import pytest

pytest.importorskip("trl")

from rmlite.train.runfolder import (  # noqa: E402
    HeldOutLine,
    RunFacts,
    adapter_card,
    cut_records,
    eval_command,
    finished,
    last_checkpoint,
    run_card,
    start,
)

FACTS = RunFacts(output_dir="runs/rewardmap", base_model="unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit",
                 four_bit=True, data_dir="data/maps768",
                 data_counts={"questions": 1200, "maps": 240, "by_type": {"planning": 700, "torf1": 500}}, rows=1200,
                 reward="paper", reward_settings={"name": "paper", "correct_points": 10.0, "gamma": (1.0, 1.2, 1.5),
                                                  "robust": None},
                 curriculum="coarse", mode="adaptive", stages=[("perception", 1), ("planning", 37)], steps=200,
                 max_steps=200, final_reward=4.25,
                 heldout=[HeldOutLine("torf1", 10, 0.5, 0.158, 0.6, 0.155), HeldOutLine("all", 20, 0.4, 0.11, 0.5,
                                                                                       0.112)],
                 heldout_steps=(0, 200), heldout_change=(0.1, 0.03, 20), date="2026-11-28 13:00 UTC")


def test_run_card_says_what_ran():
    card = run_card(FACTS)
    assert card.startswith("# rmlite GRPO run: rewardmap\n")
    for part in ("rmlite 0.1.0 on 2026-11-28 13:00 UTC", "`unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit` (4-bit)",
                 "`data/maps768`, training split: 1200 questions on 240 maps (planning 700, torf1 500); 1200 questions "
                 "given to this run",
                 "reward: `paper`: correct_points 10.0, gamma (1.0, 1.2, 1.5)",
                 "steps: 200 of 200; sampled reward at the last step: 4.250",
                 "Curriculum `coarse` (adaptive), 2 stage(s):", "1. perception: from step 1",
                 "2. planning: from step 37", "at step 0 and step 200 (± SE)",
                 "| torf1 | 10 | 0.500 ± 0.158 | 0.600 ± 0.155 |", "| all | 20 | 0.400 ± 0.110 | 0.500 ± 0.112 |",
                 "Change (paired, n=20): +0.100 ± 0.030, beyond two standard errors.",
                 "python -m rmlite eval --data data/maps768 --model unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit "
                 "--adapter runs/rewardmap/adapter --out runs/rewardmap/eval"):
        assert part in card, part
    assert "robust" not in card.split("## Held-out")[0]  # None settings are left out
    assert "fine-tuned version" not in card


def test_run_card_without_heldout_data_or_preset():
    from dataclasses import replace

    f = replace(FACTS, heldout=(), heldout_steps=None, heldout_change=None, data_dir=None, data_counts=None,
                reward="my_reward", reward_settings=None, stages=[("torf", 1), ("planning", None)], final_reward=None,
                four_bit=False)
    card = run_card(f)
    for part in ("No held-out evaluation ran", "training split: not known", "a user function",
                 "2. planning: not reached", "sampled reward at the last step: not logged", "--data DATA",
                 "--no-4bit"):
        assert part in card, part
    small = replace(FACTS, heldout_change=(0.05, 0.03, 20))
    assert "+0.050 ± 0.030, not beyond two standard errors" in run_card(small)
    assert "../README.md" in adapter_card(FACTS) and eval_command(FACTS) in adapter_card(FACTS)


def test_eval_command_is_one_the_cli_accepts():
    from dataclasses import replace

    from rmlite.cli import build_parser

    for facts in (FACTS, replace(FACTS, four_bit=False, output_dir="runs/my run")):
        words = shlex.split(eval_command(facts))
        assert words[:4] == ["python", "-m", "rmlite", "eval"]
        a = build_parser().parse_args(words[3:])
        assert (a.data, a.model) == (facts.data_dir, facts.base_model)
        assert a.adapter == f"{facts.output_dir}/adapter" and a.out == f"{facts.output_dir}/eval"
        assert a.no_4bit is (not facts.four_bit)


def checkpoint(out, step, max_steps=8):
    """A checkpoint as complete as transformers and the curriculum callback leave one (their state files)."""
    (out / f"checkpoint-{step}").mkdir(parents=True)
    (out / f"checkpoint-{step}" / "optimizer.pt").write_bytes(b"x")
    (out / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps({"global_step": step,
                                                                               "max_steps": max_steps}))
    (out / f"checkpoint-{step}" / "curriculum_state.json").write_text("{}")


def test_start_refuses_resumes_and_overwrites(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert start(out) is True and out.is_dir()  # an empty or missing folder: fine
    checkpoint(out, 4)
    (out / "metrics.jsonl").write_text("{}\n")
    (out / "eval").mkdir()  # not a run entry: never removed
    (out / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError) as e:
        start(out)
    assert str(e.value) == (f"{out} already holds a run (checkpoint-4, metrics.jsonl): pass --resume to continue it "
                            f"or --overwrite to replace it")
    assert start(out, resume=True) is True and (out / "metrics.jsonl").is_file()  # resume keeps everything
    with pytest.raises(ValueError, match="exclude each other"):
        start(out, resume=True, overwrite=True)
    capsys.readouterr()
    assert start(out, overwrite=True) is True
    assert sorted(p.name for p in out.iterdir()) == ["eval", "notes.txt"]
    assert capsys.readouterr().out == f"overwrite: removed checkpoint-4, metrics.jsonl from {out}\n"
    # another process of a torchrun job neither checks nor clears: the main process does
    (out / "metrics.jsonl").write_text("{}\n")
    monkeypatch.setenv("RANK", "1")
    assert start(out) is False and (out / "metrics.jsonl").is_file()


def test_interrupted_before_its_first_checkpoint_names_overwrite(tmp_path):
    """Ctrl-C before the first save (issue 25): starting again says --overwrite, which works, not --resume."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").write_text('{"step": 1}\n')
    (out / "checkpoint-2").mkdir()  # killed while saving: no trainer_state.json yet
    (out / "checkpoint-2" / "model.safetensors").write_bytes(b"x")
    with pytest.raises(FileExistsError, match="it stopped before its first checkpoint, so pass --overwrite to start"):
        start(out)
    with pytest.raises(FileNotFoundError, match="holds no complete checkpoint-\\* folder to resume from: the "
                                                "run stopped before its first checkpoint, so start it again with "
                                                "--overwrite"):
        start(out, resume=True)
    assert (out / "metrics.jsonl").read_text() == '{"step": 1}\n'  # nothing cut or removed
    assert start(out, overwrite=True) is True and not any(out.iterdir())


# (file, rows as written: the step of each, "torn" for a last line cut short by the kill)
WRITTEN = {"metrics.jsonl": [1, 2, 3, 4, 5, "torn"], "heldout.jsonl": [0, 3, 4, 5],
           "completions.jsonl": [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]}
# what a resume from checkpoint-4 keeps: metrics and held-out rows up to step 4, rollouts generated before step 4
# (a completion's `step` is the global_step it was generated at, trained on by the step after it)
KEPT = {"metrics.jsonl": [1, 2, 3, 4], "heldout.jsonl": [0, 3, 4], "completions.jsonl": [0, 0, 1, 1, 2, 2, 3, 3]}


def test_resume_cuts_every_record_back_to_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    for name, steps in WRITTEN.items():
        text = "".join('{"st' if s == "torn" else json.dumps({"step": s, "x": i}) + "\n" for i, s in enumerate(steps))
        (out / name).write_text(text)
    checkpoint(out, 2)
    checkpoint(out, 4)
    checkpoint(out, 6)
    (out / "checkpoint-6" / "curriculum_state.json").unlink()  # killed before the curriculum state was saved
    assert last_checkpoint(out).name == "checkpoint-4"
    monkeypatch.setenv("RANK", "1")  # another process of a torchrun job cuts nothing
    assert start(out, resume=True) is False
    assert (out / "metrics.jsonl").read_text().endswith('{"st')
    monkeypatch.setenv("RANK", "0")
    assert start(out, resume=True) is True
    assert capsys.readouterr().out == ("resume: from checkpoint-4; dropped the rows written after it (2 metrics.jsonl, "
                                       "1 heldout.jsonl, 4 completions.jsonl), which this run writes again\n")
    for name, steps in KEPT.items():
        rows = [json.loads(x) for x in (out / name).read_text().splitlines()]
        assert [r["step"] for r in rows] == steps, name
        assert [r["x"] for r in rows] == list(range(len(steps))), name  # the same rows, in their order
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".cut") == []
    assert cut_records(out, 4) == {"metrics.jsonl": 0, "heldout.jsonl": 0, "completions.jsonl": 0}  # idempotent


def test_cut_keeps_what_it_cannot_read(tmp_path):
    """Only rows with a step past the checkpoint go: a line that is not an rmlite row stays where it was."""
    (tmp_path / "metrics.jsonl").write_text('{"step": 1}\nnot json\n[1, 2]\n{"loss": 1}\n{"step": 9}\n')
    assert cut_records(tmp_path, 2)["metrics.jsonl"] == 1
    assert (tmp_path / "metrics.jsonl").read_text() == '{"step": 1}\nnot json\n[1, 2]\n{"loss": 1}\n'


def test_finished_compares_the_last_checkpoint_with_the_steps_asked_for(tmp_path):
    checkpoint(tmp_path, 4, max_steps=8)
    assert finished(tmp_path, 8) is None and finished(tmp_path, -1) is None
    checkpoint(tmp_path, 8, max_steps=8)
    assert finished(tmp_path, 8) == (f"resume: {tmp_path} already trained 8 of 8 steps (checkpoint-8); nothing to do "
                                     f"(pass --steps above 8 to train further)")
    assert finished(tmp_path, -1) is not None and finished(tmp_path, 12) is None
