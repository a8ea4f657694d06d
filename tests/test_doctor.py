"""rmlite.doctor: the runtime report, the published architectures, and the fit check run for real on the tiny model
(every line but the CUDA calls): its memory estimate, its temporary folder, unsloth's import order, the vision tower
kept 16-bit under --random-weights, and the one-line refusal of a hub-size model on a CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import warnings
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


@pytest.mark.slow
def test_fit_check_runs_forced_full_length_steps(tmp_path):
    result = doctor.fit_check(_small_cpu_preset(), steps=1, work=tmp_path)
    assert result.fits and result.steps == 1 and result.step_seconds > 0
    assert result.mean_completion_tokens == 8, "every completion is forced to the preset's full length"
    assert result.completion_tokens_per_s > 0 and result.peak_allocated_gb is None  # no CUDA here
    assert "the tiny CPU model" in result.summary() and "fits" in result.summary()
    memory = result.summary().splitlines()[-1]
    assert memory.startswith("memory: estimate (no GPU here: nothing measured): ") and "KV cache" in memory
    assert "measured" not in memory.replace("nothing measured", "")
    path = doctor.write_report(tmp_path / "out", doctor.runtime_report(), result)
    fit = json.loads(path.read_text())["fit"]
    assert fit["mean_completion_tokens"] == 8 and fit["estimate"]["peak_gb"] > 0 and fit["estimate"]["logits_note"]
    assert (tmp_path / "tiny").is_dir() and (tmp_path / "data").is_dir(), "a given work folder is kept"


def test_a_gpu_run_prints_the_measured_peak_beside_the_estimate():
    from rmlite.train.memory import RunShape, estimate

    est = estimate(doctor.ARCHITECTURES["3b"], RunShape(4, 4, 2, 512, prompt_tokens=150, visual_tokens=324))
    r = doctor.FitResult("m", gpu_preset("Tesla T4"), 2, True, 3.0, 100.0, 512.0, 6.1, 7.0, 15.0, estimate=est)
    line = r.summary().splitlines()[-1]
    assert line.startswith("memory: measured peak 6.1 GB allocated / 7.0 GB reserved (cap 15 GB); estimate ")
    assert f"{est.peak_gb:.3g} GB peak" in line
    oom = doctor.FitResult("m", gpu_preset("Tesla T4"), 2, False, advice="Try, in this order", estimate=est)
    assert "memory: estimate (no GPU here" in oom.summary() and oom.summary().endswith("Try, in this order")


def _stub_train(*a, **k):
    import rmlite.train.grpo as grpo

    return grpo.TrainResult(Path(k["settings"].output_dir), [{"completions/mean_length": 8.0}], [])


@pytest.mark.parametrize("stop", ["returns", "out of memory", "KeyboardInterrupt"])
def test_the_temporary_folder_is_always_removed(stop, tmp_path, monkeypatch):
    import rmlite.train.grpo as grpo

    made = []

    def mkdtemp(prefix=""):
        made.append(tmp_path / f"{prefix}x")
        made[-1].mkdir()
        return str(made[-1])

    def train(*a, **k):
        if stop == "KeyboardInterrupt":
            raise KeyboardInterrupt  # Ctrl-C mid-fit
        if stop == "out of memory":
            raise RuntimeError("CUDA out of memory")
        return _stub_train(*a, **k)

    monkeypatch.setattr(doctor.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(grpo, "train", train)
    if stop == "KeyboardInterrupt":
        with pytest.raises(KeyboardInterrupt):
            doctor.fit_check(_small_cpu_preset(), steps=1)
    else:
        assert doctor.fit_check(_small_cpu_preset(), steps=1).fits is (stop == "returns")
    assert len(made) == 1 and not made[0].exists(), "the model, data and run it built are left behind"


def test_a_given_work_folder_survives_an_interrupt(tmp_path, monkeypatch):
    import rmlite.train.grpo as grpo

    monkeypatch.setattr(grpo, "train", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(KeyboardInterrupt):
        doctor.fit_check(_small_cpu_preset(), steps=1, work=tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me" and (tmp_path / "tiny").is_dir()


def test_a_hub_size_model_is_refused_on_a_cpu_before_anything_is_built(tmp_path):
    for kw in ({"preset": gpu_preset("Tesla T4")}, {"random_weights": True}, {"memory_cap_gb": 15.0}):
        with pytest.raises(ValueError, match="no GPU here"):
            doctor.fit_check(**kw, work=tmp_path / "w")
    assert not (tmp_path / "w").exists()
    run = [sys.executable, "-m", "rmlite", "doctor", "--fit"]
    for extra in (["--card", "Tesla T4"], ["--memory-cap", "15"], ["--random-weights"]):
        bad = subprocess.run(run + extra, capture_output=True, text=True, cwd=ROOT, timeout=300,
                             env={**os.environ, "TMPDIR": str(tmp_path)})
        assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr[-2000:]
        assert "no GPU here" in bad.stderr and "device:" not in bad.stdout
        # what a CPU can say about a card: its run's analytic estimate, labelled as one (nothing built)
        estimated = "memory: estimate (no GPU here: nothing measured): " in bad.stdout
        assert estimated is ("--random-weights" not in extra), bad.stdout
        if extra[0] == "--card":
            assert bad.stdout.startswith("Tesla T4 (preset 16gb): unsloth/Qwen2.5-VL-3B") and "KV cache" in bad.stdout
    assert not list(tmp_path.glob("rmlite-doctor-*"))


def test_card_estimate_is_the_fit_checks_estimate_for_that_card():
    """On a CPU, `--card` prints the same estimate a GPU's fit check would print beside its measurement."""
    for card in ("Tesla T4", "NVIDIA L4", "NVIDIA A100-SXM4-80GB"):
        p = gpu_preset(card)
        settings = doctor.fit_settings(p, "unused", steps=2)
        from rmlite.data.build import MINI_DIR
        from rmlite.data.store import load_questions

        chars = max(len(q["question"]) for q in load_questions(MINI_DIR, "train") if q["type"] == "planning")
        est, _ = doctor.fit_estimate(p, settings, p["model"], chars, "unsloth", cuda=True)
        assert doctor.card_estimate(p).endswith(est.line()) and est.cuda_context_gb > 0


UNSLOTH_FIRST = """
import sys
import rmlite.doctor as d
from rmlite.train.settings import cpu_preset

d.choose_backend = lambda backend="auto": "unsloth"
seen = []

def load_model(*a, **k):
    seen.append(("rmlite.train.grpo" in sys.modules, "unsloth" in sys.modules))
    raise KeyboardInterrupt

d.load_model = load_model
try:
    d.fit_check(dict(cpu_preset(), max_completion_length=8), steps=1)
except KeyboardInterrupt:
    pass
print(seen)
"""


def test_unsloth_is_imported_before_transformers_and_the_model_before_trl(tmp_path):
    """A stand-in unsloth records what was imported before it; the model loads before rmlite.train.grpo (trl)."""
    (tmp_path / "unsloth").mkdir()
    (tmp_path / "unsloth" / "__init__.py").write_text(
        "import sys\nBEFORE = sorted(m for m in ('transformers', 'trl', 'peft') if m in sys.modules)\n"
        "print('unsloth saw', BEFORE)\n")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"}
    out = subprocess.run([sys.executable, "-c", UNSLOTH_FIRST], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "unsloth saw []" in out.stdout and out.stdout.strip().endswith("[(False, True)]"), out.stdout


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
    pytest.importorskip("bitsandbytes", reason="4-bit on the CPU needs bitsandbytes >= 0.50")
    import bitsandbytes as bnb

    def quantised(model):
        return {n.split(".visual.")[0] + ".visual" if ".visual." in n else "language"
                for n, m in model.named_modules() if isinstance(m, bnb.nn.Linear4bit)}

    as_fit, _ = load_model(str(path), load_in_4bit=True, keep_16bit_modules=doctor.KEEP_16BIT)
    assert quantised(as_fit) == {"language"}, "the vision tower stays 16-bit, as in unsloth's bnb-4bit checkpoints"
    plain, _ = load_model(str(path), load_in_4bit=True)  # the transformers path's own list keeps it too
    assert quantised(plain) == {"language"}
    layer0 = "model.language_model.layers.0"
    kept, _ = load_model(str(path), load_in_4bit=True, keep_16bit_modules=(layer0,))  # the keyword reaches bnb
    in_4bit = {n for n, m in kept.named_modules() if isinstance(m, bnb.nn.Linear4bit)}
    assert in_4bit and not [n for n in in_4bit if layer0 + "." in n]
    assert [n for n in in_4bit if "layers.1." in n]


def test_unsloth_gets_the_vision_tower_in_its_skip_list(monkeypatch):
    """The unsloth path (stood in for: no CUDA here) passes a BitsAndBytesConfig with unsloth's own skip list plus
    the modules kept 16-bit, and nothing when none are asked for."""
    import torch

    from rmlite.models import load

    calls = []

    class FastVisionModel:
        @staticmethod
        def from_pretrained(name, **kw):
            calls.append(kw)
            return "model", "processor"

        @staticmethod
        def get_peft_model(model, **kw):
            return model

    zoo = types.ModuleType("unsloth_zoo.peft_utils")
    zoo.SKIP_QUANTIZATION_MODULES = ["lm_head", "visual"]
    monkeypatch.setitem(sys.modules, "unsloth", types.SimpleNamespace(FastVisionModel=FastVisionModel))
    monkeypatch.setitem(sys.modules, "unsloth_zoo", types.ModuleType("unsloth_zoo"))
    monkeypatch.setitem(sys.modules, "unsloth_zoo.peft_utils", zoo)
    monkeypatch.setattr(load, "_own_gpu", lambda: {"": 0})
    s = load.LoadSettings(load_in_4bit=True, lora_rank=16, dtype="fp16", max_seq_length=2048, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers is imported before the stand-in: the order warning
        load._load_unsloth("m", s.replace(keep_16bit_modules=doctor.KEEP_16BIT))
        load._load_unsloth("m", s)
    q = calls[0]["quantization_config"]
    assert q.llm_int8_skip_modules == ["lm_head", "visual", "model.visual"]
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4" and q.bnb_4bit_compute_dtype == torch.float16
    assert "quantization_config" not in calls[1]


def test_cli_doctor_and_its_one_line_mistake():
    run = [sys.executable, "-m", "rmlite", "doctor"]
    ok = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert ok.returncode == 0 and "device: cpu" in ok.stdout, ok.stderr[-2000:]
    bad = subprocess.run(run + ["--random-weights"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert bad.returncode == 2 and "add --fit" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
