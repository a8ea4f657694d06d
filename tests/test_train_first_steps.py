"""`rmlite train --steps N` says which question types its first N steps will see (issue 25: `--steps 8` trained
only true/false questions and nothing said so). The expected step is counted here from the data set's types and the
batch geometry, not through the curriculum code."""

from __future__ import annotations

import json

import pytest

from rmlite.cli import main
from rmlite.data.build import MINI_DIR

pytest.importorskip("transformers", reason="the `train` extra is not installed")


def train_line(tmp_path, monkeypatch, capsys, *extra: str) -> tuple[str, list]:
    """The printed lines of `rmlite train` on the shipped mini set, the model load and the training stubbed (the
    line must come before the model loads, so the stub records whether it was printed by then)."""
    import rmlite.cli.model_commands as model_commands
    import rmlite.train.grpo as grpo

    printed_before_load = []

    def fake_load(*a, **k):
        printed_before_load.append(capsys.readouterr().out)
        return "model", "processor"

    monkeypatch.setattr(model_commands, "load_model", fake_load)
    monkeypatch.setattr(grpo, "train", lambda *a, **k: grpo.TrainResult(tmp_path, [], []))
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "model" / "config.json").write_text("{}")
    code = main(["train", "--data", str(MINI_DIR), "--model", str(tmp_path / "model"), "--out",
                 str(tmp_path / "run"), "--overwrite", *extra])
    assert code == 0
    return printed_before_load[0], printed_before_load


def counts() -> dict[str, int]:
    return json.loads((MINI_DIR / "manifest.json").read_text())["counts"]["train"]["by_type"]


def test_steps_8_says_only_true_false(tmp_path, monkeypatch, capsys):
    out, _ = train_line(tmp_path, monkeypatch, capsys, "--steps", "8")
    # GRPOSettings on a CPU: 4 completions per device x 2 accumulated / 4 per group = 2 questions per step; the
    # paper's first stage is every torf1 and torf2 question (whole steps only), then counting2 and counting3.
    c = counts()
    torf_steps = (c["torf1"] + c["torf2"]) // 2
    line, = [x for x in out.splitlines() if x.startswith("the first 8 steps")]
    assert line.startswith("the first 8 steps train on torf1, torf2 only: the paper curriculum reaches counting23 "
                           f"at step {torf_steps + 1} of "), line


def test_steps_past_the_first_stage_name_what_they_reach(tmp_path, monkeypatch, capsys):
    c = counts()
    steps = (c["torf1"] + c["torf2"]) // 2 + 3
    out, _ = train_line(tmp_path, monkeypatch, capsys, "--steps", str(steps))
    assert f"the first {steps} steps train on counting2, counting3, torf1, torf2 only" in out


def test_no_line_when_every_type_is_trained(tmp_path, monkeypatch, capsys):
    out, _ = train_line(tmp_path, monkeypatch, capsys, "--steps", "8", "--curriculum", "none")
    assert "steps train on" not in out
    out, _ = train_line(tmp_path, monkeypatch, capsys, "--steps", "100000")
    assert "steps train on" not in out
