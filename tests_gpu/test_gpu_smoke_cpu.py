"""scripts/gpu_smoke.py --cpu: every stage of the GPU smoke kit on the tiny model, unsloth's GPU branch forced, so the
script a GPU box runs once is known to work up to the CUDA calls before anyone spends GPU time on it."""

from __future__ import annotations

import pytest

from tests_gpu.lane import ROOT, run_json

STAGES = ("import", "fit_check", "model", "train", "reload_trainable", "reload_frozen")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("gpu-smoke")
    out = tmp / "smoke.json"
    return run_json([str(ROOT / "scripts" / "gpu_smoke.py"), "--cpu", "--out", str(out), "--work", str(tmp / "w")],
                    tmp, out)


def test_every_stage_ok(smoke):
    failed = {k: s["traceback"][-1500:] for k, s in smoke["stages"].items() if not s["ok"]}
    assert not failed, "\n".join(f"stage {k}:\n{tb}" for k, tb in failed.items())
    assert tuple(smoke["stages"]) == STAGES and smoke["ok"]


def test_import_stage_reports_the_stack(smoke):
    imp = smoke["stages"]["import"]
    for pkg in ("unsloth", "trl", "transformers", "peft", "bitsandbytes", "torch", "accelerate"):
        assert imp["versions"][pkg], f"{pkg} version missing"
    assert imp["trainer_chain"][0] == "UnslothGRPOTrainer" and imp["imported_before_unsloth"] == []


def test_fit_check_recorded(smoke):
    fit = smoke["stages"]["fit_check"]
    assert fit["fits"] is True and fit["step_seconds"] > 0 and fit["summary"].startswith("fits")
    assert fit["result"]["preset"]["tier"] == "cpu"


def test_train_stage(smoke):
    train = smoke["stages"]["train"]
    assert train["steps"] == [1, 2] and train["args"]["fp16"] == "True"
    assert [(t["from_stage"], t["to_stage"]) for t in train["transitions"]] == [(0, 1)]
    assert len(train["heldout_evaluations"]) >= 3, "start, every step and the end"


def test_reloads(smoke):
    assert smoke["stages"]["reload_trainable"]["model"]["trainable"] > 0
    frozen = smoke["stages"]["reload_frozen"]
    assert frozen["model"]["trainable"] == 0 and len(frozen["answers"]) == 2
