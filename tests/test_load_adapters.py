"""Loading a saved LoRA adapter (stage 2 after stage 1, evaluation, the notebooks): `load_model(adapter=...)` on the
transformers path (real tiny model, 4-bit and float) and on the unsloth path (a fake unsloth that does what
unsloth 2026.10.9's loader does with an adapter folder), with `verify_adapter` as the independent check."""

from __future__ import annotations

import json
import sys
import textwrap
import warnings

import pytest

pytest.importorskip("peft", reason="the `train` extra is not installed")
import torch  # noqa: E402

from rmlite.models import gpu  # noqa: E402
from rmlite.models.load import check_adapter_base, load_model, verify_adapter  # noqa: E402


def _lora(model) -> dict[str, torch.Tensor]:
    return {n: p for n, p in model.named_parameters() if "lora_" in n}


@pytest.fixture(scope="module")
def trained_adapter(tiny_model_dir, tmp_path_factory):
    """An adapter with non-zero LoRA B (as after training), saved the way rmlite.train saves it."""
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=4, dtype="float32")
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for n, p in _lora(model).items():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    out = tmp_path_factory.mktemp("adapter") / "adapter"
    model.save_pretrained(str(out))
    return out, {n.replace(".default", ""): p.detach().clone() for n, p in _lora(model).items()}


@pytest.mark.parametrize("four_bit", [False, True], ids=["float", "4bit"])
def test_adapter_is_really_loaded_and_trainable(tiny_model_dir, trained_adapter, four_bit, capsys):
    path, saved = trained_adapter
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=four_bit, adapter=path, trainable=True)
    assert f"adapter loaded from {path}" in capsys.readouterr().out
    lora = {n.replace(".default", ""): p for n, p in _lora(model).items()}
    assert set(lora) == set(saved)
    for n, p in lora.items():  # independent of verify_adapter: the tensors we wrote before saving
        assert torch.allclose(p.detach().float(), saved[n].float(), atol=1e-6), n
        assert p.requires_grad, f"{n} is frozen: training would not update the adapter"
    frozen = [n for n, p in model.named_parameters() if p.requires_grad and "lora_" not in n]
    assert not frozen, f"non-LoRA weights are trainable: {frozen[:3]}"


def test_adapter_for_evaluation_is_frozen(tiny_model_dir, trained_adapter):
    path, _ = trained_adapter
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0, adapter=path, trainable=False)
    assert _lora(model) and not any(p.requires_grad for p in model.parameters())
    assert not model.training


def test_untrained_adapter_is_refused(tiny_model_dir, tmp_path):
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=4)
    model.save_pretrained(str(tmp_path / "fresh"))
    with pytest.raises(RuntimeError, match="untrained adapter"):
        load_model(str(tiny_model_dir), load_in_4bit=False, adapter=tmp_path / "fresh")


def test_verify_adapter_catches_a_model_that_differs_from_the_file(tiny_model_dir, trained_adapter):
    path, _ = trained_adapter
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, adapter=path)
    with torch.no_grad():
        next(p for n, p in _lora(model).items() if "lora_A" in n).add_(1.0)
    with pytest.raises(RuntimeError, match="differs from the file"):
        verify_adapter(model, path)


def test_not_an_adapter_folder(tiny_model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved LoRA adapter"):
        load_model(str(tiny_model_dir), adapter=tmp_path)


def test_adapter_trained_on_another_base_warns(trained_adapter):
    path, _ = trained_adapter
    with pytest.warns(UserWarning, match="was trained on"):
        check_adapter_base(path, "Qwen/Qwen2.5-VL-7B-Instruct")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base = json.loads((path / "adapter_config.json").read_text())["base_model_name_or_path"]
        check_adapter_base(path, base)


# ----- the unsloth path -------------------------------------------------------------------------------------------
FAKE_UNSLOTH = textwrap.dedent('''
    """A fake unsloth whose FastVisionModel does, with transformers + peft, what unsloth 2026.10.9 does: an adapter
    folder as `model_name` loads the base named in adapter_config.json and attaches the adapter trainable
    (loader.py: PeftModel.from_pretrained(..., is_trainable=True) then post_patch_model)."""
    import json, os
    CALLS = []

    class FastVisionModel:
        @staticmethod
        def from_pretrained(model_name, **kw):
            from transformers import AutoModelForImageTextToText, AutoProcessor
            CALLS.append(["from_pretrained", model_name])
            cfg = os.path.join(model_name, "adapter_config.json")
            base = json.load(open(cfg))["base_model_name_or_path"] if os.path.isfile(cfg) else model_name
            model = AutoModelForImageTextToText.from_pretrained(base)
            if os.path.isfile(cfg):
                from peft import PeftModel
                model = PeftModel.from_pretrained(model, model_name, is_trainable=True)
            return model, AutoProcessor.from_pretrained(base)

        @staticmethod
        def get_peft_model(model, **kw):
            CALLS.append(["get_peft_model"])
            if hasattr(model, "peft_config"):
                raise RuntimeError("Unsloth: You already added LoRA adapters to your model!")
            return model

        @staticmethod
        def for_inference(model):
            CALLS.append(["for_inference"])
            model.eval()
''')


@pytest.fixture
def fake_unsloth_loader(tmp_path, monkeypatch):
    pkg = tmp_path / "fake" / "unsloth"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(FAKE_UNSLOTH)
    monkeypatch.syspath_prepend(str(tmp_path / "fake"))
    monkeypatch.delitem(sys.modules, "unsloth", raising=False)
    monkeypatch.setattr(gpu, "cuda_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: None)  # no GPU here: the fake loads on the CPU
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    yield
    sys.modules.pop("unsloth", None)


@pytest.mark.parametrize("trainable", [True, False])
def test_unsloth_loads_the_adapter_folder_itself(tiny_model_dir, trained_adapter, fake_unsloth_loader, trainable,
                                                 capsys):
    path, saved = trained_adapter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers was imported before the fake unsloth in this process
        model, _ = load_model(str(tiny_model_dir), backend="unsloth", adapter=path, trainable=trainable)
    import unsloth

    expected = [["from_pretrained", str(path)]] + ([] if trainable else [["for_inference"]])
    assert unsloth.CALLS == expected, "the adapter folder goes to from_pretrained; no second get_peft_model"
    assert f"adapter loaded from {path}" in capsys.readouterr().out
    lora = {n.replace(".default", ""): p for n, p in _lora(model).items()}
    assert all(torch.equal(lora[n].detach(), saved[n]) for n in saved)


def test_verify_adapter_compares_at_the_coarser_precision(tiny_model_dir, trained_adapter):
    """A LoRA held in fp16 (as a GPU may hold it) still matches its fp32 file; a real difference still fails."""
    path, _ = trained_adapter
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, adapter=path)
    with torch.no_grad():
        for p in _lora(model).values():
            p.data = p.data.half()
    assert "LoRA tensors match the file" in verify_adapter(model, path)
    with torch.no_grad():
        next(p for n, p in _lora(model).items() if "lora_B" in n).mul_(1.5)
    with pytest.raises(RuntimeError, match="differs from the file"):
        verify_adapter(model, path)


def test_verify_adapter_same_size_half_types(tiny_model_dir, trained_adapter, tmp_path):
    """An fp16 file loaded into a bf16 LoRA (a T4 adapter evaluated on an L4) matches; the comparison rounds the file
    the way loading rounds it."""
    from safetensors.torch import load_file, save_file

    path, _ = trained_adapter
    half = tmp_path / "half"
    half.mkdir()
    (half / "adapter_config.json").write_text((path / "adapter_config.json").read_text())
    save_file({k: v.half() for k, v in load_file(str(path / "adapter_model.safetensors")).items()},
              str(half / "adapter_model.safetensors"))
    model, _ = load_model(str(tiny_model_dir), load_in_4bit=False, adapter=half)
    with torch.no_grad():
        for p in _lora(model).values():
            p.data = p.data.to(torch.bfloat16)
    assert "LoRA tensors match the file" in verify_adapter(model, half)
