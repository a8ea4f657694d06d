"""GRPO training on CPU with the tiny VLM: two stages, one adapter, exact switch, logs, resume, validation.

A random tiny model never answers in the right format, so the RewardMap reward is 0 everywhere and no group
has spread; these tests train with a user reward that varies with the completion (which also covers the
`reward=<callable>` path), so LoRA weights really move.
"""

import json
import shutil

import pytest
from fixtures.models import tiny_model_cached

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_split

pytest.importorskip("trl")


def spread_reward(completion: str, sample: dict) -> float:
    """Varies with the text, so GRPO groups have spread (a user reward: (completion, sample) -> float)."""
    return (len(set(completion)) % 5) / 4.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("train") / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 1, "planning": 3})
    generate_dataset(out, DatasetConfig(n_maps=2, size=512, test_fraction=0.0, questions=q), progress=False,
                     workers=1)
    return out


def _model(tmp_path):
    from rmlite.models.load import load_model

    src = tmp_path / "tiny"
    shutil.copytree(tiny_model_cached(), src)
    return load_model(str(src), load_in_4bit=True, lora_rank=8)


def _lora_b(model):
    return {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}


@pytest.mark.slow
def test_two_stages_train_one_adapter_and_switch_exactly(data_dir, tmp_path):
    import torch
    from transformers import TrainerCallback

    from rmlite.schema import COMPLETIONS_FILE
    from rmlite.train.grpo import cpu_tiny_settings, read_metrics, train

    model, proc = _model(tmp_path)
    ds = load_split(data_dir, "train")
    n_perception = sum(t != "planning" for t in ds["type"])
    start = _lora_b(model)
    snaps = {}

    class Snap(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            snaps[state.global_step] = _lora_b(model)

    settings = cpu_tiny_settings(str(tmp_path / "run"), max_steps=n_perception + 2, max_completion_length=12)
    res = train(model, proc, ds, reward=spread_reward, curriculum="coarse", settings=settings, callbacks=(Snap(),))
    # the schedule: one prompt per step, perception for the first n_perception steps, then planning
    rows = [json.loads(x) for x in (res.output_dir / COMPLETIONS_FILE).read_text().splitlines()]
    assert rows and all(set(r) >= {"step", "stage", "id", "type", "completion", "reward"} for r in rows)
    for r in rows:
        assert (r["type"] == "planning") == (r["step"] >= n_perception), r
        assert r["stage"] == (1 if r["step"] >= n_perception else 0)
    # one adapter moves in both stages: weights after stage 1 differ from the start and from the end
    end = _lora_b(model)
    mid = snaps[n_perception]
    changed = lambda a, b: any(not torch.equal(a[k], b[k]) for k in a)  # noqa: E731
    assert changed(start, mid) and changed(mid, end)
    assert (res.output_dir / "adapter" / "adapter_config.json").is_file()
    metrics = read_metrics(res.output_dir)
    assert [m["step"] for m in metrics] == list(range(1, n_perception + 3))
    for key in ("reward", "rewards/spread_reward/mean", "rewards/accuracy/mean",
                "frac_reward_zero_std", "curriculum/stage"):
        assert all(key in m for m in metrics), key
    assert [m["curriculum/stage"] for m in metrics][-1] == 1
    assert res.stage_starts == [(n_perception + 1, 1)]  # the first logged step trained on planning
    assert (res.output_dir / "metrics.png").is_file() and (res.output_dir / "metrics.csv").is_file()
    # rollouts cannot sample the image placeholder (trl 1.15, the unsloth pin, does not block it by itself)
    from rmlite.train.grpo import image_token_ids

    assert image_token_ids(model) and model.config.image_token_id in image_token_ids(model)
    assert set(image_token_ids(model)) <= set(res.trainer.generation_config.suppress_tokens)


@pytest.mark.slow
def test_paper_reward_logs_every_component_and_resumes(tiny_grpo_run, tmp_path):
    """On the session's shared run (paper reward, 4-bit base, checkpoints every 2 steps), then a copy of it resumed
    for 2 more steps by a freshly loaded model, as a new process would."""
    from fixtures.grpo_run import load_tiny

    from rmlite.train.grpo import cpu_tiny_settings, read_metrics, train

    run = tiny_grpo_run
    for comp in ("format_reward", "correctness_reward", "detail_reward", "accuracy"):
        assert all(f"rewards/{comp}/mean" in m for m in read_metrics(run.res.output_dir)), comp
    out = tmp_path / "run"
    shutil.copytree(run.res.output_dir, out)
    steps = run.settings.max_steps
    last = max(int(p.name.split("-")[1]) for p in out.glob("checkpoint-*"))
    assert last == steps  # resumed from the finished run's last checkpoint: the steps go on from there
    model2, proc2 = load_tiny(tmp_path / "again")
    train(model2, proc2, run.ds, reward="paper", curriculum="coarse", resume=True, progress=False,
          settings=cpu_tiny_settings(str(out), max_steps=steps + 2, save_steps=2, max_completion_length=8))
    assert [m["step"] for m in read_metrics(out)] == list(range(1, steps + 3))


def test_malformed_sample_stops_before_step_one(data_dir, tmp_path):
    from rmlite.train.grpo import cpu_tiny_settings, train

    ds = load_split(data_dir, "train", images=False)
    bad = ds.map(lambda r, i: {"answer": "maybe"} if i == 3 and r["type"] == "torf1" else {}, with_indices=True)
    bad = bad.map(lambda r, i: {"type": "tarot"} if i == 0 else {}, with_indices=True)
    with pytest.raises(ValueError, match="unknown type 'tarot'"):
        train(None, None, bad, settings=cpu_tiny_settings(str(tmp_path / "x")))


def test_default_scaling_keeps_difficulty_weight():
    from rmlite.train.grpo import GRPOSettings, grpo_config

    assert GRPOSettings().scale_rewards == "batch"
    cfg = grpo_config(GRPOSettings(output_dir="/tmp/rmlite-cfg-test"))
    assert cfg.scale_rewards == "batch" and cfg.shuffle_dataset is False
    with pytest.raises(ValueError, match="divisible"):
        GRPOSettings(per_device_train_batch_size=3, gradient_accumulation_steps=1)


@pytest.mark.parametrize("dtypes,native,cpu,expected", [
    ({"float32"}, True, True, (False, False)),          # CPU: fp32
    ({"float16", "float32"}, True, False, (False, True)),  # unsloth on a T4 loads fp16, even where bf16 exists
    ({"float16", "uint8"}, False, False, (False, True)),
    ({"bfloat16", "uint8"}, True, False, (True, False)),
    ({"bfloat16"}, False, False, (False, True)),          # a bf16 checkpoint on a card without bf16
    ({"float32", "uint8"}, False, False, (False, True)),  # 4-bit base + fp32 LoRA on a T4
    ({"float32", "uint8"}, True, False, (True, False)),   # the same on an L4 / A100
])
def test_precision_follows_the_model_then_the_card(dtypes, native, cpu, expected):
    from rmlite.train.grpo import choose_precision

    assert choose_precision(dtypes, native_bf16=native, use_cpu=cpu) == expected


def test_native_bf16_ignores_emulation(monkeypatch):
    """torch.cuda.is_bf16_supported() says True on a T4 (emulation); rmlite asks for compute capability 8.0+."""
    import torch

    from rmlite.models.gpu import native_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (7, 5))
    assert native_bf16() is False
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *a: (8, 9))
    assert native_bf16() is True


# A value other than the default for every GRPOSettings field (a valid run: 2 × 3 divisible by 3), and where it
# shows in GRPOConfig. Written out here, not read from rmlite.train.grpo: a field added to GRPOSettings without a
# line here fails below.
NOT_DEFAULT = {"max_steps": 7, "num_train_epochs": 2.0, "num_generations": 3, "per_device_train_batch_size": 2,
               "gradient_accumulation_steps": 3, "max_completion_length": 33, "learning_rate": 3e-5,
               "loss_type": "grpo", "beta": 0.01, "scale_rewards": "group", "temperature": 0.7, "logging_steps": 2,
               "save_steps": 9, "seed": 5, "bf16": True, "fp16": False, "optim": "adamw_torch", "weight_decay": 0.1,
               "warmup_steps": 3, "epsilon_high": 0.3, "mask_truncated_completions": True, "use_cpu": True,
               "gradient_checkpointing": False, "extra": {"log_completions": True}}


def _unreached(cfg, settings) -> list[str]:
    """The GRPOSettings fields whose value does not show in `cfg` (read attribute by attribute, by hand)."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cfg)}
    shown = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(settings) if f.name in names}
    if "activation_checkpointing" in names:  # transformers >= 5.24 takes the new name
        shown["gradient_checkpointing"] = cfg.activation_checkpointing
    shown["extra"] = {k: getattr(cfg, k) for k in settings.extra}
    shown = {k: getattr(v, "value", v) for k, v in shown.items()}  # enums (optim) as their strings
    return [f.name for f in dataclasses.fields(settings) if shown.get(f.name, "absent") != getattr(settings, f.name)]


def test_every_grpo_setting_reaches_grpo_config(tmp_path):
    import dataclasses

    from rmlite.train.grpo import RMLITE_ONLY, GRPOSettings, grpo_config

    given = {**NOT_DEFAULT, "output_dir": str(tmp_path / "x")}
    assert {f.name for f in dataclasses.fields(GRPOSettings)} == set(given), "add the new field to NOT_DEFAULT"
    assert RMLITE_ONLY == ("extra",)  # reaches the config item by item, checked through `extra` above
    settings = GRPOSettings(**given)
    assert not [k for k, v in given.items() if v == getattr(GRPOSettings(), k)], "a value equal to the default"
    assert _unreached(grpo_config(settings), settings) == []
    # the check fails on a config that dropped them: the default settings' config misses every field but use_cpu
    # and fp16 (None resolves to True and False on a machine without CUDA, the values given here)
    missed = _unreached(grpo_config(GRPOSettings()), settings)
    assert set(missed) == set(given) - {"use_cpu", "fp16"}, missed


def test_settings_pin_what_unsloth_would_change(tmp_path):
    from rmlite.train.grpo import GRPOSettings, grpo_config

    args = grpo_config(GRPOSettings(output_dir=str(tmp_path), use_cpu=True))
    assert (args.optim.value if hasattr(args.optim, "value") else args.optim) == "adamw_torch_fused"
    assert (args.weight_decay, args.warmup_steps, args.epsilon_high, args.mask_truncated_completions) == \
        (0.0, 0.0, 0.2, False)
    assert (args.bf16, args.fp16) == (False, False)
    # checkpointing under the name the installed transformers has (5.24 warns on the old one; 5.17 lacks the new)
    import dataclasses
    import warnings

    from trl import GRPOConfig

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        args = grpo_config(GRPOSettings(output_dir=str(tmp_path), use_cpu=True, gradient_checkpointing=True))
    assert args.gradient_checkpointing is True
    if "activation_checkpointing" in {f.name for f in dataclasses.fields(GRPOConfig)}:
        assert args.activation_checkpointing is True
    assert not [w for w in caught if "checkpointing" in str(w.message)], [str(w.message) for w in caught]
    # epsilon_high follows a changed lower clip (TRL's None), but is passed as a number (unsloth turns None into 0.28)
    args = grpo_config(GRPOSettings(output_dir=str(tmp_path), use_cpu=True, extra={"epsilon": 0.1}))
    assert (args.epsilon, args.epsilon_high) == (0.1, 0.1)


def test_image_tokens_suppressed_except_under_vllm():
    import types

    from rmlite.train.grpo import with_suppressed_image_tokens

    model = types.SimpleNamespace(config=types.SimpleNamespace(image_token_id=7, video_token_id=8))
    out = with_suppressed_image_tokens(model, {"generation_kwargs": {"suppress_tokens": [3], "top_k": 5}})
    assert out["generation_kwargs"] == {"suppress_tokens": [3, 7, 8], "top_k": 5}
    with pytest.warns(UserWarning, match="vLLM"):
        assert with_suppressed_image_tokens(model, {"use_vllm": True}) == {"use_vllm": True}
    model.vllm_engine = object()  # unsloth fast_inference: use_vllm is switched on inside its trainer
    with pytest.warns(UserWarning, match="vLLM"):
        assert with_suppressed_image_tokens(model, {}) == {}
    assert with_suppressed_image_tokens(types.SimpleNamespace(config=None), {"a": 1}) == {"a": 1}


def test_a_model_unsloth_did_not_load_is_refused_once_unsloth_is_imported(monkeypatch):
    import sys
    import types

    import torch

    from rmlite.train.grpo import _check_unsloth_model

    model = torch.nn.Linear(2, 2)
    _check_unsloth_model(model)  # no unsloth: fine
    monkeypatch.setitem(sys.modules, "unsloth", types.ModuleType("unsloth"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(ValueError, match="only trains models loaded by unsloth"):
        _check_unsloth_model(model)
    model.for_training = lambda **kw: None
    _check_unsloth_model(model)
