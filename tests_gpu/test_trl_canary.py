"""Why requirements/cpu.txt keeps trl 1.16 while the GPU pins hold trl 1.15: trl 1.15's GRPO adds a fused LM head
(trl/trainer/utils.py `add_fused_lm_head`) that calls its Triton kernel `ChunkedLogProbFunction` whatever the device,
so on a CPU without unsloth's trainer the first step fails ("0 active drivers"); trl 1.16 checks the device first.
When this canary fails (trl on the GPU pins trains on a CPU), the two constraint sets can become one."""

from __future__ import annotations

from tests_gpu.lane import lane_facts


def test_trl_without_unsloth_cannot_train_on_cpu(tmp_path):
    facts = lane_facts("canary", tmp_path)
    assert not facts["unsloth_imported"], "the canary must run TRL unpatched"
    assert not facts["trained"], (
        f"trl {facts['trl']} now trains on a CPU without unsloth: requirements/cpu.txt can move to the GPU pins and "
        "the CPU and GPU stacks can be unified (then retire this canary)")
    assert "active drivers" in facts["error"] or "triton" in facts.get("traceback_tail", "").lower(), facts["error"]
