"""rmlite.models: load_model (4-bit and float paths, LoRA placement, unsloth import order and errors), GPU
presets, OOM advice, visual tokens. CPU only, nothing downloaded (the tiny model is built locally)."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from rmlite.models import gpu, load
from rmlite.models.gpu import DEFAULT_MODEL, gpu_preset, oom_advice, visual_tokens
from rmlite.models.load import BackendUnavailable, describe_model, load_model
from rmlite.models.warmstart import SampleEncoder, collate_train

ROOT = Path(__file__).resolve().parent.parent


# ----- light parts ------------------------------------------------------------------------------------------------
def test_doctests_of_models():
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS, verbose=False) for m in (gpu, load)]
    assert sum(r.attempted for r in results) >= 4 and all(r.failed == 0 for r in results)


@pytest.mark.parametrize("w,h,max_pixels,expected", [
    (768, 768, 768 * 768, 729), (1024, 1024, 768 * 768, 729), (512, 512, 768 * 768, 324), (448, 448, 10**7, 256),
    (1024, 1024, 112 * 112, 16), (224, 224, 224 * 224, 64), (1024, 512, 768 * 768, 18 * 37),
])
def test_visual_tokens(w, h, max_pixels, expected):
    assert visual_tokens(w, h, max_pixels) == expected


def test_visual_tokens_match_the_real_image_processor(tiny_model_dir):
    from PIL import Image
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny_model_dir)
    for size in ((1024, 1024), (512, 300), (90, 200)):
        grid = proc.image_processor(images=[Image.new("RGB", size, "white")], return_tensors="pt")["image_grid_thw"]
        assert int(grid.prod()) // 4 == visual_tokens(*size, 112 * 112, min_pixels=56 * 56)


def test_importing_models_imports_no_torch():
    code = ("import sys, rmlite.models; "
            "print(sorted(m for m in ('torch', 'transformers', 'trl', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name,tier,bf16,model_size", [
    ("Tesla T4", "16gb", False, "3B"),
    ("NVIDIA L4", "24gb", True, "3B"),
    ("NVIDIA A100-SXM4-80GB", "80gb", True, "7B"),
    ("NVIDIA H100", "80gb", True, "7B"),
    ("NVIDIA A100-SXM4-40GB", "48gb", True, "7B"),
    ("NVIDIA GeForce RTX 4090", "24gb", True, "3B"),
])
def test_gpu_preset_by_card(name, tier, bf16, model_size):
    p = gpu_preset(name)
    assert p["tier"] == tier and p["device"] == name
    assert p["bf16"] is bf16 and p["fp16"] is (not bf16)
    assert model_size in p["model"]
    assert p["per_device_train_batch_size"] % p["num_generations"] == 0  # TRL's divisibility rule
    assert p["max_completion_length"] == 512
    assert p["visual_tokens"] == visual_tokens(p["image_size"], p["image_size"], p["max_pixels"])
    assert p["finetune_vision_layers"] is False and p["load_in_4bit"] is True
    assert not {"fast_inference", "gpu_memory_utilization", "optim"} & set(p)  # no vLLM; one optimizer owner


def test_gpu_preset_is_pure_and_memory_overrides_name():
    assert gpu_preset("Tesla T4") == gpu_preset("Tesla T4")
    assert gpu_preset("Tesla T4")["image_size"] == 768  # maps are never shrunk below the README's 768 px
    assert gpu_preset("NVIDIA L4")["image_size"] == 768
    assert gpu_preset("Some Card", total_mem_gb=80, compute_capability=(9, 0))["tier"] == "80gb"
    assert gpu_preset("Some Card", total_mem_gb=80, compute_capability=(9, 0))["bf16"] is True
    assert gpu_preset("Some Card", total_mem_gb=16)["fp16"] is True  # unknown card: the safe precision
    assert gpu_preset("Tesla V100-SXM2-16GB")["bf16"] is False


def test_gpu_preset_without_gpu_is_the_cpu_preset(monkeypatch):
    monkeypatch.setattr(gpu, "_detect", lambda: (None, None, None))
    p = gpu_preset()
    assert p["tier"] == "cpu" and p["use_cpu"] is True and p["bf16"] is False and p["fp16"] is False
    assert p["visual_tokens"] == 16


def test_oom_advice_is_concrete():
    text = oom_advice(gpu_preset("Tesla T4"))
    assert "Tesla T4" in text and "max_pixels=" in text and "num_generations=2" in text
    assert "max_completion_length=256" in text and "vLLM" not in text
    assert gpu.is_oom(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert not gpu.is_oom(ValueError("something else"))


def test_default_model_name():
    assert DEFAULT_MODEL == "unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit"


# ----- backend choice and unsloth -----------------------------------------------------------------------------
def test_unsloth_without_gpu_is_one_clear_sentence(monkeypatch):
    monkeypatch.setattr(gpu, "cuda_available", lambda: False)
    with pytest.raises(BackendUnavailable) as e:
        load_model("anything", backend="unsloth")
    msg = str(e.value)
    assert "CUDA GPU" in msg and "backend='transformers'" in msg and "\n" not in msg
    assert e.value.__cause__ is None and isinstance(e.value, RuntimeError)


def test_unsloth_not_installed_is_one_clear_sentence(monkeypatch):
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    monkeypatch.setattr(gpu, "unsloth_installed", lambda: False)
    with pytest.raises(BackendUnavailable, match=r"unsloth is not installed.*rmlite\[gpu\]"):
        load_model("anything", backend="unsloth")


def test_auto_backend(monkeypatch):
    monkeypatch.setattr(gpu, "cuda_available", lambda: False)
    assert load.choose_backend("auto") == "transformers"
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    monkeypatch.setattr(gpu, "unsloth_installed", lambda: True)
    assert load.choose_backend("auto") == "unsloth"
    monkeypatch.setattr(gpu, "unsloth_installed", lambda: False)
    assert load.choose_backend("auto") == "transformers"
    with pytest.raises(ValueError):
        load.choose_backend("vllm")


FAKE_UNSLOTH = textwrap.dedent('''
    """A fake unsloth: records what was already imported when it was imported, and every call."""
    import sys
    IMPORTED_FIRST = {m: (m in sys.modules) for m in ("transformers", "trl", "peft")}
    CALLS = []

    class FastVisionModel:
        @staticmethod
        def from_pretrained(name, **kw):
            CALLS.append(("from_pretrained", name, sorted(kw)))
            CALLS.append(("kwargs", {k: v for k, v in kw.items() if isinstance(v, (bool, int, str))}))
            CALLS.append(("device_map", kw.get("device_map")))

            class ImageProcessor:
                size = {"shortest_edge": 3136, "longest_edge": 12845056}
                merge_size = 2

            class Tok:
                padding_side = "right"

            class Processor:
                image_processor = ImageProcessor()
                tokenizer = Tok()
            return object(), Processor()

        @staticmethod
        def get_peft_model(model, **kw):
            CALLS.append(("get_peft_model", {k: v for k, v in kw.items() if isinstance(v, (bool, int, str))}))
            return model
''')


def test_unsloth_is_imported_before_transformers_and_trl(tmp_path):
    """In a fresh process, load_model(backend='unsloth') imports unsloth before transformers/trl/peft."""
    pkg = tmp_path / "fakes" / "unsloth"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_UNSLOTH)
    code = textwrap.dedent(f'''
        import json, sys, warnings
        sys.path.insert(0, {str(tmp_path / "fakes")!r})
        import rmlite.models.gpu as g
        import rmlite.models.load as m
        g.cuda_available = lambda: True
        g.device_map = lambda cuda: {{"": 0}}  # (torch.cuda.set_device is faked below: no GPU here)
        import torch
        torch.cuda.set_device = lambda i: None
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            model, proc = m.load_model("unsloth/Qwen2.5-VL-3B-Instruct-unsloth-bnb-4bit", lora_rank=8,
                                       finetune_vision_layers=True)
        import unsloth
        print(json.dumps({{"first": unsloth.IMPORTED_FIRST, "calls": unsloth.CALLS,
                          "warnings": [str(x.message) for x in w],
                          "max_pixels": proc.image_processor.size["longest_edge"],
                          "padding": proc.tokenizer.padding_side}}))
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    assert rec["first"] == {"transformers": False, "trl": False, "peft": False}
    assert not [w for w in rec["warnings"] if "unsloth" in w]
    kinds = [c[0] for c in rec["calls"]]
    assert kinds == ["from_pretrained", "kwargs", "device_map", "get_peft_model"]
    fp = rec["calls"][1][1]
    assert rec["calls"][2][1] == {"": 0}
    assert fp["load_in_4bit"] is True and fp["use_gradient_checkpointing"] == "unsloth"
    peft = rec["calls"][3][1]
    assert peft["r"] == 8 and peft["lora_alpha"] == 8 and peft["finetune_vision_layers"] is True
    assert peft["finetune_language_layers"] is True and peft["use_gradient_checkpointing"] == "unsloth"
    assert rec["max_pixels"] == 768 * 768 and rec["padding"] == "left"


@pytest.fixture
def fake_unsloth(tmp_path, monkeypatch):
    """An importable fake `unsloth` package on sys.path, with CUDA reported as available."""
    pkg = tmp_path / "unsloth"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(FAKE_UNSLOTH)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "unsloth", raising=False)
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    import torch

    set_to = []
    monkeypatch.setattr(torch.cuda, "set_device", set_to.append)  # no GPU here: record what would be selected
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    yield set_to
    sys.modules.pop("unsloth", None)


def test_warns_when_transformers_was_imported_before_unsloth(fake_unsloth):
    import transformers  # noqa: F401  -- the situation being warned about

    with pytest.warns(UserWarning, match="imported before unsloth"):
        load_model("x", backend="unsloth")


# ----- one process per GPU (torchrun / accelerate) ------------------------------------------------------------------
@pytest.mark.parametrize("env, count, want", [
    ({"LOCAL_RANK": "1", "RANK": "1", "WORLD_SIZE": "2"}, 2, {"": 1}),  # rank 1 of 2 on one host
    ({"LOCAL_RANK": "0", "RANK": "2", "WORLD_SIZE": "4"}, 2, {"": 0}),  # second host: RANK is global, not a card
    ({}, 2, {"": 0}),  # one process
    ({"LOCAL_RANK": "3", "WORLD_SIZE": "4"}, 1, {"": 0}),  # one visible card per process
])
def test_device_map_follows_local_rank(env, count, want):
    assert gpu.device_map(True, env, device_count=count) == want
    assert gpu.device_map(False, env, device_count=count) == "cpu"


@pytest.mark.parametrize("env, count, match", [
    ({"LOCAL_RANK": "x"}, 2, "not a number"), ({"LOCAL_RANK": "-1"}, 2, "negative"),
    ({"LOCAL_RANK": "2"}, 2, "sees 2 GPUs"),
])
def test_device_map_refuses_a_rank_without_a_card(env, count, match):
    with pytest.raises(ValueError, match=match):
        gpu.device_map(True, env, device_count=count)


def test_unsloth_backend_loads_rank_1_on_gpu_1(fake_unsloth, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_model("x", backend="unsloth")
    import unsloth

    assert ("device_map", {"": 1}) in unsloth.CALLS and fake_unsloth == [1]


def test_transformers_backend_loads_rank_1_on_gpu_1(tiny_model_dir, monkeypatch):
    """What `from_pretrained` is asked for by the second of two processes on a two-GPU host (no GPU needed)."""
    import torch
    import transformers

    seen, set_to = {}, []

    class Stop(Exception):
        pass

    def fake_from_pretrained(name, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", set_to.append)
    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", fake_from_pretrained)
    with pytest.raises(Stop):
        load_model(str(tiny_model_dir), backend="transformers", load_in_4bit=False, dtype="fp16")
    assert seen["device_map"] == {"": 1} and set_to == [1]


# ----- the transformers path on the tiny model (CPU) -------------------------------------------------------------
def _forward_backward(model, processor, samples, images):
    enc = SampleEncoder(processor)
    rows = [enc.encode(s, images[s["map_id"]]) for s in samples[:4]]
    batch = collate_train(rows, enc.tok.pad_token_id)
    model.train()
    loss = model(**batch).loss
    loss.backward()
    return float(loss.detach())


def test_load_4bit_lora_on_cpu(tiny_model_dir, toy_data):
    model, processor = load_model(str(tiny_model_dir), load_in_4bit=True)
    d = describe_model(model)
    assert "Linear4bit" in d["quantized_layer_types"]
    assert d["lora_language_layers"] == 4 * 7 and d["lora_vision_layers"] == 0
    import torch

    kinds = {n: type(m).__name__ for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    vision = {n: k for n, k in kinds.items() if ".visual." in n}
    assert vision and set(vision.values()) == {"Linear"}, vision  # the vision tower stays in full precision
    assert {k for n, k in kinds.items() if n.endswith(".mlp.up_proj.base_layer")} == {"Linear4bit"}
    assert 0 < d["trainable"] < d["params"]
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_" in n for n in trainable)
    loss = _forward_backward(model, processor, *toy_data)
    assert loss == loss and loss > 0  # finite
    grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert grads and all(g is not None for g in grads)
    assert processor.tokenizer.padding_side == "left"


def test_load_float32_roundtrip_and_generate(tiny_model_dir, toy_data):
    import torch

    model, processor = load_model(str(tiny_model_dir), load_in_4bit=False)
    d = describe_model(model)
    assert d["quantized_layer_types"] == [] and d["lora_vision_layers"] == 0 and d["lora_language_layers"] == 28
    assert all(p.dtype == torch.float32 for p in model.parameters())
    from rmlite.models.inference import generate_answers

    samples, images = toy_data
    outs = generate_answers(model, processor, [s["question"] for s in samples[:2]],
                            [images[s["map_id"]] for s in samples[:2]], max_new_tokens=5, progress=False)
    assert len(outs) == 2 and all(isinstance(o, str) for o in outs)


def test_vision_layers_get_lora_only_when_asked(tiny_model_dir):
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, finetune_vision_layers=True)
    d = describe_model(model)
    assert d["lora_vision_layers"] > 0 and d["lora_language_layers"] == 28
    names = {n.rsplit(".lora_", 1)[0] for n, _ in model.named_parameters() if ".lora_" in n}
    assert any(".visual.blocks." in n for n in names) and any(".visual.merger." in n for n in names)
    assert not any(n.endswith("lm_head") for n in names)


def test_lora_rank_zero_is_the_full_model(tiny_model_dir):
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)
    d = describe_model(model)
    assert d["lora_layers"] == 0 and d["trainable"] == d["params"]


def test_max_pixels(tiny_model_dir):
    from PIL import Image

    _, proc = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)  # "auto": keeps the tiny 112²
    assert load.get_max_pixels(proc) == 112 * 112
    _, proc = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0, max_pixels=224 * 224)
    grid = proc.image_processor(images=[Image.new("RGB", (1024, 1024))], return_tensors="pt")["image_grid_thw"]
    assert int(grid.prod()) // 4 == 64 == visual_tokens(1024, 1024, 224 * 224)


def test_max_pixels_under_unsloths_read_only_properties(tiny_model_dir):
    """unsloth_zoo (2026.10.9) makes a Qwen2-VL image processor's max_pixels / min_pixels read-only views of `size`;
    setting them raised AttributeError for every GPU user (found by the GPU-pin lane). Reproduced here with the same
    kind of class; the cap must still take effect through `size`."""
    from PIL import Image

    _, proc = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)
    ip = proc.image_processor
    read_only = type("ReadOnlyPixels", (type(ip),), {
        "max_pixels": property(lambda self: self.size["longest_edge"]),
        "min_pixels": property(lambda self: self.size["shortest_edge"])})
    ip.__class__ = read_only
    with pytest.raises(AttributeError):
        ip.max_pixels = 1  # what the old code did
    load.set_max_pixels(proc, 224 * 224, 56 * 56)
    assert ip.max_pixels == load.get_max_pixels(proc) == 224 * 224 and ip.min_pixels == 56 * 56
    grid = ip(images=[Image.new("RGB", (1024, 1024))], return_tensors="pt")["image_grid_thw"]
    assert int(grid.prod()) // 4 == visual_tokens(1024, 1024, 224 * 224)


def test_a_cap_that_does_not_take_is_an_error(tiny_model_dir, monkeypatch):
    _, proc = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)
    ip = proc.image_processor
    ip.__class__ = type("Frozen", (type(ip),), {"size": property(lambda self: {"longest_edge": 99,
                                                                               "shortest_edge": 1}, lambda s, v: None)})
    with pytest.raises(RuntimeError, match="could not cap"):
        load.set_max_pixels(proc, 224 * 224)


def test_four_bit_without_bitsandbytes_is_a_clear_error(tiny_model_dir, monkeypatch):
    real = load.importlib.util.find_spec
    monkeypatch.setattr(load.importlib.util, "find_spec", lambda n, *a: None if n == "bitsandbytes" else real(n, *a))
    with pytest.raises(BackendUnavailable, match="bitsandbytes"):
        load_model(str(tiny_model_dir), load_in_4bit=True, backend="transformers")
