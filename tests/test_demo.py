"""The README's main job (`python -m rmlite demo`) end to end, shrunk: every stage runs and writes its outputs."""

import json

import pytest

pytest.importorskip("trl")


def test_demo_writes_a_complete_report(tmp_path):
    from rmlite.demo import run_demo

    out = run_demo(str(tmp_path / "demo"), n_maps=3, warm_steps=10, stage_prompts=2, eval_limit=8)
    for name in ("REPORT.md", "warm_start.json", "spread.json", "sample_answer.png", "grpo/metrics.jsonl",
                 "grpo/metrics.png", "eval/report.json", "eval/report.md", "eval/accuracy.png"):
        assert (out / name).is_file(), name
    report = (out / "REPORT.md").read_text()
    assert "cannot" in report and "image masked" in report
    spread = json.loads((out / "spread.json").read_text())["share_of_groups_with_reward_spread"]
    assert set(spread) == {"sparse", "paper"} and all(0.0 <= v <= 1.0 for v in spread.values())
    steps = [json.loads(x)["step"] for x in (out / "grpo" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # two prompts per stage, one prompt per step
