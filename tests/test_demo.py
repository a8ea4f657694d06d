"""The README's main job (`python -m rmlite demo`) end to end, shrunk: every stage runs and writes its outputs."""

import json

import pytest

pytest.importorskip("trl")


def test_demo_writes_a_complete_report(tmp_path):
    from rmlite.demo import BEFORE_NAME, MODEL_NAME, run_demo, spread_rewards
    from rmlite.reward.config import PRESETS

    out = run_demo(str(tmp_path / "demo"), n_maps=3, warm_steps=10, stage_prompts=2, eval_limit=8, spread_prompts=6,
                   pass_k=2)
    for name in ("REPORT.md", "warm_start.json", "warm_start.png", "spread.json", "sample_answer.png",
                 "grpo/metrics.jsonl", "grpo/metrics.png", "grpo/heldout.jsonl", "eval/report.json", "eval/report.md",
                 "eval/accuracy.png"):
        assert (out / name).is_file(), name
    report = (out / "REPORT.md").read_text()
    for phrase in ("cannot", "image masked", "pass@2", "95 % interval", "Held-out accuracy changed by", "chance",
                   "majority", "format errors"):
        assert phrase in report, phrase
    # every dense preset is compared with sparse, read at run time (a preset added later is picked up)
    dense = {n for n, c in PRESETS.items() if c.detail and c.alpha > 0}
    assert set(spread_rewards()) == dense | {"sparse"} and "paper" in dense
    spread = json.loads((out / "spread.json").read_text())
    assert set(spread["zero_spread"]) == set(spread_rewards()) and set(spread["difference_vs_sparse"]) == dense
    for name, v in spread["difference_vs_sparse"].items():  # the paired difference equals the difference of shares
        assert v["difference"] == pytest.approx(spread["zero_spread"][name]["share"]
                                                - spread["zero_spread"]["sparse"]["share"])
        assert v["interval95"][0] <= v["difference"] <= v["interval95"][1]
    assert spread["groups"] <= 6 and all(0 <= v["share"] <= 1 for v in spread["zero_spread"].values())
    steps = [json.loads(x)["step"] for x in (out / "grpo" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]  # two prompts per stage, one prompt per step
    held = json.loads((out / "eval" / "report.json").read_text())
    assert {BEFORE_NAME, MODEL_NAME, "chance", "majority"} <= set(held)
    assert held[BEFORE_NAME]["n"] == held[MODEL_NAME]["n"] == 8
    warm = json.loads((out / "warm_start.json").read_text())
    assert warm["probe"]["k"] == 2 and warm["probe"]["by_type"]
