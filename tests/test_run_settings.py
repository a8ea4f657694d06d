"""rmlite.train.settings: one owner for a card's run. `rmlite train`, notebooks 03-04 and `rmlite doctor --fit` build
the same GRPOSettings and load options from a card's preset; each default has one owner."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

import rmlite.cli.model_commands as model_commands
import rmlite.notebook as nb
from rmlite import doctor
from rmlite.cli.parser import build_parser
from rmlite.models.gpu import gpu_preset
from rmlite.train.settings import (
    PRESET_FIELDS,
    GRPOSettings,
    card_load_options,
    card_settings,
    cpu_preset,
    cpu_tiny_settings,
)

CARDS = {"T4": ("Tesla T4", None), "L4": ("NVIDIA L4", None), "A100-80GB": ("NVIDIA A100-SXM4-80GB", None),
         "CPU": None}
FIT_FIELDS = {"max_steps", "save_steps", "extra"}  # what the fit check must set: steps, no checkpoint, forced length


def preset_of(card: str) -> dict:
    return cpu_preset() if CARDS[card] is None else gpu_preset(*CARDS[card])


def differing(a: GRPOSettings, b: GRPOSettings) -> set[str]:
    return {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_importing_the_settings_imports_no_training_stack():
    code = ("import sys, rmlite.train, rmlite.train.settings, rmlite.train.memory, rmlite.doctor, rmlite.cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr[-2000:]


def test_the_old_homes_still_export_the_names():
    import rmlite.train as train_pkg

    assert train_pkg.GRPOSettings is GRPOSettings and train_pkg.cpu_tiny_settings is cpu_tiny_settings
    assert train_pkg.card_settings is card_settings and "train" in dir(train_pkg)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        train_pkg.nothing  # noqa: B018


@pytest.mark.parametrize("card", CARDS)
def test_card_settings_take_the_preset_and_every_other_default_from_grpo_settings(card):
    preset = preset_of(card)
    s = card_settings(preset, "runs/x")
    assert {k: getattr(s, k) for k in PRESET_FIELDS} == {k: preset[k] for k in PRESET_FIELDS}
    assert (s.bf16, s.fp16) == (preset["bf16"], preset["fp16"])
    owner = cpu_tiny_settings("runs/x") if preset["use_cpu"] else GRPOSettings(output_dir="runs/x")
    assert differing(s, owner) <= set(PRESET_FIELDS) | {"bf16", "fp16"}, "a default with a second owner"
    assert card_settings(preset, "runs/x", learning_rate=3e-5).learning_rate == 3e-5  # overrides come last


def test_the_cpu_preset_and_the_tiny_settings_agree():
    preset, tiny = cpu_preset(), cpu_tiny_settings()
    assert {k: getattr(tiny, k) for k in PRESET_FIELDS} == {k: preset[k] for k in PRESET_FIELDS}
    assert (tiny.bf16, tiny.fp16, tiny.use_cpu) == (False, False, True)
    assert card_settings(cpu_preset(), "runs/tiny") == tiny


def test_load_options_follow_the_preset_precision_not_the_card_it_runs_on():
    t4 = card_load_options(gpu_preset("Tesla T4"))
    assert t4 == {"load_in_4bit": True, "max_pixels": 768 * 768, "dtype": "fp16"}  # on an A100 too: as on a T4
    assert card_load_options(gpu_preset("NVIDIA A100-SXM4-80GB"))["dtype"] == "bf16"
    assert card_load_options(cpu_preset()) == {"load_in_4bit": True, "max_pixels": 112 * 112, "dtype": "float32"}


@pytest.mark.parametrize("card", CARDS)
def test_the_doctor_runs_the_card_settings(card, tmp_path):
    preset = preset_of(card)
    fit = doctor.fit_settings(preset, tmp_path / "run", steps=2)
    plain = card_settings(preset, tmp_path / "run")
    assert differing(fit, plain) == FIT_FIELDS
    assert (fit.max_steps, fit.extra["generation_kwargs"]["min_new_tokens"]) == (2, plain.max_completion_length)


@pytest.mark.parametrize("card", ["T4", "L4", "A100-80GB"])
def test_rmlite_train_on_a_gpu_runs_the_detected_card(card, monkeypatch):
    preset = preset_of(card)
    monkeypatch.setattr(model_commands, "cuda_available", lambda: True)
    monkeypatch.setattr(model_commands, "gpu_preset", lambda: preset)
    parse = build_parser().parse_args
    base = ["train", "--data", "d", "--model", "m", "--out", "o"]
    assert model_commands.train_settings(parse(base)) == card_settings(preset, "o")
    assert model_commands.train_settings(parse([*base, "--steps", "7"])) == card_settings(preset, "o", max_steps=7)
    assert model_commands.train_load_options(parse(base)) == card_load_options(preset)
    assert model_commands.train_load_options(parse([*base, "--no-4bit"]))["load_in_4bit"] is False
    # --cpu-tiny stays the CPU preset wherever it runs
    assert model_commands.train_settings(parse([*base, "--cpu-tiny"])) == card_settings(cpu_preset(), "o")


def test_rmlite_train_on_a_cpu_keeps_its_defaults():
    parse = build_parser().parse_args
    base = ["train", "--data", "d", "--model", "m", "--out", "o"]
    assert model_commands.train_settings(parse(base)) == GRPOSettings(output_dir="o")  # no card: the owner's
    assert model_commands.train_load_options(parse(base)) == {"load_in_4bit": True}  # load_model's own defaults
    tiny = model_commands.train_load_options(parse([*base, "--cpu-tiny"]))
    assert tiny == {**card_load_options(cpu_preset()), "load_in_4bit": True}  # 4-bit unless --no-4bit, as before


def test_notebook_settings_are_the_card_settings_with_the_knobs_given(tmp_path):
    k = nb.knobs(model=None, steps=4, num_generations=None, max_completion_length=None, learning_rate=None)
    assert nb.settings(k, tmp_path, save_steps=25) == card_settings(cpu_preset(), tmp_path, max_steps=4, save_steps=25)
    assert nb.completion_length(k) == cpu_preset()["max_completion_length"]
    k.max_completion_length, k.learning_rate = 32, 3e-4
    s = nb.settings(k, tmp_path)
    assert (s.max_completion_length, s.learning_rate, nb.completion_length(k)) == (32, 3e-4, 32)
