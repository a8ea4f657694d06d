"""Third-party API surface that rmlite relies on, checked against the INSTALLED versions so that drift fails CI.

Verified (2026-11-24) by reading the installed sources and running this file against:
  * trl 1.16.0 + transformers 5.24.0 + peft 0.21.2 + tokenizers 0.23.3   (requirements/cpu.txt, CPU/CI)
  * trl 1.15.0 + transformers 5.17.0 (same peft/tokenizers)               (requirements/gpu.txt, unsloth 2026.10.9)

Differences between the two sets that matter to rmlite (code must use only what exists in BOTH):
  * GRPOConfig fields: identical set of 79 own fields in trl 1.15.0 and 1.16.0. Only change: `pad_to_multiple_of`
    default None (1.15) -> "auto" (1.16; resolves to None except on Neuron). Do not rely on either default.
  * TrainingArguments (transformers): 5.24 adds `activation_checkpointing` / `activation_checkpointing_kwargs` and
    deprecates `gradient_checkpointing` (FutureWarning, removal announced for v6). 5.17 has only
    `gradient_checkpointing` -> rmlite must keep passing `gradient_checkpointing`.
  * GRPOTrainer.__init__ signature identical (model, reward_funcs, args, train_dataset, eval_dataset,
    processing_class, reward_processing_classes, callbacks, optimizers, quantization_config, peft_config, tools,
    rollout_func, environment_factory).
  * Reward-function calling convention identical: f(prompts=, completions=, completion_ids=, **kwargs) where kwargs
    = every dataset column except prompt/completion/completion_ids (repeated per generation, incl. image/images),
    plus trainer_state, log_extra, log_metric (and environments when used). Must return a list of len(prompts)
    (None -> NaN); a wrong length raises ValueError in both versions.
  * trl 1.15 imports its Triton loss kernel unconditionally (try/except ImportError) and its GRPO fused LM head
    (trl/trainer/utils.py `add_fused_lm_head`) calls `ChunkedLogProbFunction` (Triton) whatever the device, so trl
    1.15 cannot train on a CPU unless unsloth's trainer replaces that path; 1.16 checks `_use_triton(device)` first.
    That is why cpu.txt keeps trl 1.16 (tests_gpu/test_trl_canary.py says when it stops being true).

The GPU-pin lane (`make test-gpu-stack`) runs this file against requirements/gpu.txt; `make test` against cpu.txt.
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

trl = pytest.importorskip("trl")
transformers = pytest.importorskip("transformers")

GRPO_FIELDS = [
    "use_cpu", "bf16", "fp16", "num_generations", "per_device_train_batch_size", "gradient_accumulation_steps",
    "steps_per_generation", "num_iterations", "max_completion_length", "scale_rewards", "shuffle_dataset",
    "loss_type", "beta", "reward_weights", "logging_steps", "save_steps", "max_steps", "learning_rate",
    "temperature", "log_completions", "report_to", "output_dir", "remove_unused_columns", "gradient_checkpointing",
    "optim", "weight_decay", "warmup_steps", "epsilon", "epsilon_high", "mask_truncated_completions",
    "generation_kwargs",
]  # fmt: skip  (the last row: set by rmlite.train too; grpo_config with them checked under trl 1.15 + tf 5.17 too)


def test_versions_reported():
    import importlib.metadata as md

    for pkg in ("trl", "transformers", "peft", "accelerate", "tokenizers", "datasets", "torch", "bitsandbytes"):
        try:
            print(pkg, md.version(pkg))
        except md.PackageNotFoundError:
            print(pkg, "not installed")


def test_grpo_config_fields():
    names = {f.name for f in dataclasses.fields(trl.GRPOConfig)}
    missing = [f for f in GRPO_FIELDS if f not in names]
    assert not missing, f"trl {trl.__version__} GRPOConfig lacks {missing}"


def _field_help(name: str) -> str:
    return next(f for f in dataclasses.fields(trl.GRPOConfig) if f.name == name).metadata.get("help", "")


def test_grpo_config_scale_rewards_values(tmp_path):
    assert all(v in _field_help("scale_rewards") for v in ("'batch'", "group", "'none'"))
    for given, stored in [("group", "group"), ("batch", "batch"), ("none", "none"), (True, "group"), (False, "none")]:
        cfg = trl.GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none", scale_rewards=given)
        assert cfg.scale_rewards == stored


def test_grpo_config_loss_types_and_cpu(tmp_path):
    assert all(f"'{v}'" in _field_help("loss_type") for v in ("grpo", "dr_grpo", "dapo", "bnpo"))
    cfg = trl.GRPOConfig(
        output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", max_steps=1, logging_steps=1,
        per_device_train_batch_size=4, num_generations=4, max_completion_length=8, beta=0.0, loss_type="dr_grpo",
        reward_weights=[1.0, 0.5], shuffle_dataset=False, log_completions=False, save_strategy="no",
    )  # fmt: skip
    assert cfg.use_cpu and not cfg.bf16 and cfg.loss_type == "dr_grpo"
    assert cfg.remove_unused_columns is False  # extra dataset columns must reach the reward functions


def test_grpo_trainer_init_params():
    params = inspect.signature(trl.GRPOTrainer.__init__).parameters
    for p in ("model", "reward_funcs", "args", "train_dataset", "processing_class", "peft_config", "callbacks"):
        assert p in params, f"trl {trl.__version__} GRPOTrainer.__init__ lacks {p!r}"


def test_grpo_reward_kwargs_contract():
    """Reward functions are called with prompts=, completions=, completion_ids= and these extra kwargs."""
    src = inspect.getsource(trl.GRPOTrainer._calculate_rewards)
    for token in ("prompts=prompts", "completions=completions", "completion_ids=", '"trainer_state"', '"log_metric"',
                  '"log_extra"'):  # fmt: skip
        assert token in src, f"reward calling convention changed: {token} not in _calculate_rewards"


def test_trl_multimodal_prompt_helper():
    """A conversational prompt whose content already holds {"type": "image"} is filled, not duplicated."""
    from trl.data_utils import prepare_multimodal_messages

    img = object()
    plain = prepare_multimodal_messages([{"role": "user", "content": "q?"}], images=[img])
    assert plain[0]["content"] == [{"type": "image", "image": img}, {"type": "text", "text": "q?"}]
    blocks = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "q?"}]}]
    assert prepare_multimodal_messages(blocks, images=[img])[0]["content"][0] == {"type": "image", "image": img}
    with pytest.raises(ValueError):
        prepare_multimodal_messages(blocks, images=[img, img])


def test_trainer_callback_hooks():
    cb = transformers.TrainerCallback
    for hook in ("on_step_begin", "on_step_end", "on_train_begin", "on_save"):
        assert callable(getattr(cb, hook, None)), hook


@pytest.mark.parametrize(
    "name",
    [
        "AutoProcessor", "AutoModelForImageTextToText", "Qwen2_5_VLForConditionalGeneration", "Qwen2_5_VLConfig",
        "Qwen2_5_VLProcessor", "Qwen2VLImageProcessor", "BitsAndBytesConfig", "PreTrainedTokenizerFast",
        "GenerationConfig",
    ],
)  # fmt: skip
def test_transformers_exports(name):
    assert getattr(transformers, name, None) is not None, f"transformers {transformers.__version__} lacks {name}"


def test_peft_exports():
    peft = pytest.importorskip("peft")
    for name in ("LoraConfig", "get_peft_model", "prepare_model_for_kbit_training", "PeftModel"):
        assert getattr(peft, name, None) is not None, name


def test_tokenizers_exports():
    tokenizers = pytest.importorskip("tokenizers")
    assert tokenizers.models.BPE and tokenizers.trainers.BpeTrainer and tokenizers.pre_tokenizers.ByteLevel
