"""rmlite.doctor: the runtime report, the published architectures, and the fit check run for real on the tiny model
(every line but the CUDA calls)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rmlite import doctor
from rmlite.models.gpu import gpu_preset

pytest.importorskip("trl", reason="the fit check trains: the `train` extra is not installed")
ROOT = Path(__file__).resolve().parent.parent


def test_runtime_report_on_a_cpu():
    report = doctor.runtime_report()
    assert report["device"] == "cpu" and report["precision"] == "fp32 (CPU)" and report["backend"] == "transformers"
    assert report["versions"]["torch"] and report["missing"] == []
    text = doctor.format_runtime(report)
    assert "device: cpu" in text and "the tiny CPU model" in text and "MISSING" not in text


def test_missing_and_drifted_packages_are_named(monkeypatch):
    real = doctor.metadata.version

    def version(dist):
        if dist == "trl":
            raise doctor.metadata.PackageNotFoundError(dist)
        return "0.0.1" if dist == "peft" else real(dist)

    monkeypatch.setattr(doctor.metadata, "version", version)
    report = doctor.runtime_report()
    assert report["missing"] == ["trl"]
    assert any(d.startswith("peft 0.0.1 (tested ") for d in report["drift"])
    assert "MISSING (pinned, not installed): trl" in doctor.format_runtime(report)


def test_pins_are_read_from_the_checkout():
    pins = doctor.pinned_versions()
    assert pins["torch"] == "2.14.1" and "trl" in pins


@pytest.mark.parametrize(("size", "published"), [("3b", 3_754_622_976), ("7b", 8_292_166_656)])
def test_architectures_match_the_published_parameter_counts(size, published):
    """The model cards' parameter counts: the configuration numbers written in rmlite.doctor are the real ones."""
    assert doctor.count_parameters(size) == published


def _small_cpu_preset():
    return {**gpu_preset(), "max_completion_length": 8, "num_generations": 2, "per_device_train_batch_size": 2}


def test_fit_check_runs_forced_full_length_steps(tmp_path):
    result = doctor.fit_check(_small_cpu_preset(), steps=1, work=tmp_path)
    assert result.fits and result.steps == 1 and result.step_seconds > 0
    assert result.mean_completion_tokens == 8, "every completion is forced to the preset's full length"
    assert result.completion_tokens_per_s > 0 and result.peak_allocated_gb is None  # no CUDA here
    assert "the tiny CPU model" in result.summary() and "fits" in result.summary()
    path = doctor.write_report(tmp_path / "out", doctor.runtime_report(), result)
    assert json.loads(path.read_text())["fit"]["mean_completion_tokens"] == 8


def test_out_of_memory_gives_the_advice(tmp_path, monkeypatch):
    import rmlite.train.grpo as grpo

    def boom(*a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(grpo, "train", boom)
    result = doctor.fit_check(_small_cpu_preset(), steps=1, work=tmp_path)
    assert not result.fits and "Try, in this order" in result.advice
    assert result.summary().startswith("DOES NOT FIT")


def test_other_errors_are_not_called_out_of_memory(tmp_path, monkeypatch):
    import rmlite.train.grpo as grpo

    monkeypatch.setattr(grpo, "train", lambda *a, **k: (_ for _ in ()).throw(ValueError("a real bug")))
    with pytest.raises(ValueError, match="a real bug"):
        doctor.fit_check(_small_cpu_preset(), steps=1, work=tmp_path)


def test_random_weight_model_loads_through_load_model(tmp_path, monkeypatch, tiny_model_dir):
    """The --random-weights path end to end, on a shrunken architecture (the real ones are GBs)."""
    from rmlite.models.load import load_model

    small = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 1, "vocab_size": 2048, "tie_word_embeddings": True,
             "vision": {"depth": 8, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2,
                        "out_hidden_size": 64}}
    monkeypatch.setitem(doctor.ARCHITECTURES, "3b", small)
    path = doctor.random_weight_model("3b", tmp_path / "m", tiny_model_dir)
    model, processor = load_model(str(path), load_in_4bit=False)
    cfg = model.config
    assert (cfg.text_config.hidden_size, cfg.text_config.num_hidden_layers, cfg.vision_config.depth) == (64, 2, 8)
    assert processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == cfg.image_token_id


def test_cli_doctor_and_its_one_line_mistake():
    run = [sys.executable, "-m", "rmlite", "doctor"]
    ok = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert ok.returncode == 0 and "device: cpu" in ok.stdout, ok.stderr[-2000:]
    bad = subprocess.run(run + ["--random-weights"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "add --fit" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
