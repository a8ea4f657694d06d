"""rmlite's training under unsloth's patched TRL, as on a GPU: the trainer is unsloth's, the settings that reach TRL
are rmlite's (UnslothGRPOConfig has its own defaults for most of them), and a curriculum run completes end to end."""

from __future__ import annotations

# TRL's own clipping default: rmlite sends it explicitly, since unsloth's GRPOConfig turns a missing epsilon_high into
# 0.28 for loss_type "dapo".
TRL_EPSILON = 0.2


def test_trl_grpo_trainer_is_unsloths(unsloth_run):
    assert unsloth_run["imported_before_unsloth"] == [], "unsloth must be imported before trl/transformers/peft"
    assert unsloth_run["trl_grpo_trainer_mro"][0] == "UnslothGRPOTrainer", unsloth_run["trl_grpo_trainer_mro"]
    assert unsloth_run["trainer_mro"][:2] == ["CurriculumGRPOTrainer", "UnslothGRPOTrainer"], unsloth_run["trainer_mro"]


def test_rmlite_settings_reach_trl(unsloth_run):
    asked, got = unsloth_run["asked"], unsloth_run["args"]
    for name in ("optim", "weight_decay", "warmup_steps", "mask_truncated_completions", "bf16", "fp16",
                 "learning_rate", "max_completion_length", "num_generations"):
        assert got[name] == asked[name], f"{name}: rmlite asked {asked[name]!r}, TRL got {got[name]!r} under unsloth"
    assert asked["epsilon_high"] is None and got["epsilon_high"] == TRL_EPSILON, got["epsilon_high"]


def test_rollouts_never_sample_image_tokens(unsloth_run):
    """trl 1.15 does not suppress the image placeholder token itself; rmlite passes it in generation_kwargs."""
    ids = unsloth_run["image_token_ids"]
    assert ids, "the tiny model should have image/video placeholder tokens"
    suppressed = (unsloth_run["args"]["generation_kwargs"] or {}).get("suppress_tokens") or []
    assert set(ids) <= set(suppressed), f"image tokens {ids} not in generation_kwargs.suppress_tokens {suppressed}"


def test_curriculum_run_completes(unsloth_run):
    steps = unsloth_run["max_steps"]
    assert unsloth_run["steps"] == list(range(1, steps + 1)), "every step logged exactly once"
    switches = [(t["from_stage"], t["to_stage"], t["reason"]) for t in unsloth_run["transitions"]]
    assert switches == [(0, 1, "max_steps")], switches
    assert [s[1] for s in unsloth_run["stage_starts"]] == [1], unsloth_run["stage_starts"]
    assert {"adapter_config.json", "adapter_model.safetensors"} <= set(unsloth_run["adapter_files"])


def test_adapter_reloads_frozen(unsloth_run):
    """load_model(adapter=..., trainable=False) checks the file against the loaded LoRA (an untrained one raises)."""
    reloaded = unsloth_run["reloaded"]
    assert reloaded["lora_layers"] > 0 and reloaded["trainable"] == 0, reloaded
