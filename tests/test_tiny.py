"""rmlite.models.tiny: the offline tiny Qwen2.5-VL, its tokenizer and processor, the warm start, reward spread."""

from __future__ import annotations

import json

import pytest

from rmlite.data.answers import reference_completion
from rmlite.models.load import describe_model, load_model
from rmlite.models.tiny import MARKER, SPECIAL_TOKENS, is_tiny_model_dir, tiny_info
from rmlite.models.warmstart import SampleEncoder, collate_train, exact_match, reward_spread_share, warm_start


def test_build_makes_a_real_qwen25vl_of_about_a_million_params(tiny_model_dir):
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(tiny_model_dir)
    assert cfg.model_type == "qwen2_5_vl"
    assert cfg.text_config.hidden_size == 128 and cfg.text_config.num_hidden_layers == 4
    info = tiny_info(tiny_model_dir)
    assert 0.5e6 < info["params"] < 2e6
    assert is_tiny_model_dir(tiny_model_dir) and info["warm_start"] is None
    for f in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json", MARKER):
        assert (tiny_model_dir / f).exists(), f


def test_processor_loads_with_autoprocessor_and_maps_white_to_zero(tiny_model_dir):
    from PIL import Image
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny_model_dir)
    assert type(proc).__name__ == "Qwen2_5_VLProcessor"
    ip = proc.image_processor
    assert list(ip.image_mean) == [1.0, 1.0, 1.0] and list(ip.image_std) == [0.5, 0.5, 0.5]
    feats = ip(images=[Image.new("RGB", (1024, 1024), "white")], return_tensors="pt")
    assert float(feats["pixel_values"].abs().max()) == 0.0  # white map background → exactly 0
    assert int(feats["image_grid_thw"].prod()) // 4 == 16


@pytest.mark.parametrize("text", ["Grønåsen", "Place Verte", "Kőhalom", "Nowa Wola", "Zürich HB", "東京", "Line 12",
                                  "São João", "\\boxed{B}", "Route Name: Line 3\nDeparture Stop: A\nArrival Stop: B"])
def test_tokenizer_encodes_any_text(tiny_model_dir, text):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert tok.unk_token_id not in ids or tok.unk_token == "<|endoftext|>"


def test_tokenizer_specials_and_chat_template(tiny_model_dir):
    from transformers import AutoProcessor

    proc = AutoProcessor.from_pretrained(tiny_model_dir)
    tok = proc.tokenizer
    for t in SPECIAL_TOKENS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1, t
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "How many lines?"}]}]
    text = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    assert text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                    "<|vision_start|><|image_pad|><|vision_end|>How many lines?<|im_end|>\n<|im_start|>assistant\n")
    # rmlite's answer formats are short: the vocabulary was trained on them
    assert len(tok("\\boxed{yes}", add_special_tokens=False)["input_ids"]) <= 4


def test_encoder_masks_the_prompt(tiny_model_dir, toy_data):
    from transformers import AutoProcessor

    samples, images = toy_data
    proc = AutoProcessor.from_pretrained(tiny_model_dir)
    enc = SampleEncoder(proc)
    rows = [enc.encode(s, images[s["map_id"]]) for s in samples[:3]]
    batch = collate_train(rows, enc.tok.pad_token_id)
    for i, (r, s) in enumerate(zip(rows, samples[:3], strict=True)):
        kept = batch["labels"][i][batch["labels"][i] != -100].tolist()
        assert kept == r["answer_ids"] and kept[-1] == enc.eos
        assert enc.tok.decode(kept[:-1]) == reference_completion(s)
        n_img = int((batch["input_ids"][i] == proc.image_token_id).sum())
        assert n_img == 16
    # the concatenated ids equal what the processor makes from the full text (no tokenisation seam)
    text = enc.prompt_text(samples[0]) + rows[0]["answer"] + "<|im_end|>"
    full = proc(text=[text], images=[images[samples[0]["map_id"]]], return_tensors="pt")["input_ids"][0].tolist()
    assert full == rows[0]["prompt_ids"] + rows[0]["answer_ids"]


def test_warm_start_lowers_loss_and_learns_some_answers(warm_start_stats):
    st = warm_start_stats
    assert len(st.losses) == st.steps == 60
    assert st.loss_last < 0.6 * st.loss_first
    assert st.accuracy > 0.0
    assert st.n_heldout > 0 and set(st.accuracy_by_type) <= {"counting1", "counting2", "counting3", "torf1", "torf2",
                                                               "planning"}


def test_warm_started_model_is_saved_and_loads_through_load_model(warm_model_dir, toy_data):
    info = json.loads((warm_model_dir / MARKER).read_text())
    assert info["warm_start"]["steps"] == 60 and info["warm_start"]["accuracy"] > 0
    model, processor = load_model(str(warm_model_dir), load_in_4bit=True)  # the GRPO path: 4-bit + LoRA
    assert describe_model(model)["lora_language_layers"] == 28
    samples, images = toy_data
    share = reward_spread_share(model, processor, samples, images, exact_match, n_prompts=8, group_size=4)
    assert 0.0 <= share <= 1.0


@pytest.mark.slow
def test_reward_spread_share_counts_groups(warm_model_dir, toy_data):
    model, processor = load_model(str(warm_model_dir), load_in_4bit=False, lora_rank=0)
    samples, images = toy_data
    assert reward_spread_share(model, processor, samples, images, lambda c, s: 1.0, n_prompts=6) == 0.0
    share, groups = reward_spread_share(model, processor, samples, images, lambda c, s: float(len(c)), n_prompts=6,
                                        return_details=True)
    assert len(groups) == 6 and all(len(g["rewards"]) == 4 for g in groups)
    assert share == sum(g["spread"] for g in groups) / 6
    # the dense paper reward (rmlite.reward) by name, returning RewardBreakdown objects
    dense = reward_spread_share(model, processor, samples, images, "paper", n_prompts=12, seed=1)
    assert 0.0 <= dense <= 1.0


def test_warm_start_on_a_model_object_trains_in_place(tiny_model_dir, toy_data, tmp_path):
    import torch

    model, processor = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    samples, images = toy_data
    st = warm_start(model, processor, samples, images, steps=3, batch_size=4, progress=False, save=tmp_path / "out",
                    heldout=4)
    assert len(st.losses) == 3 and st.saved_to == str(tmp_path / "out")
    changed = sum(not torch.equal(before[n], p) for n, p in model.named_parameters())
    assert changed > 0
    assert (tmp_path / "out" / "model.safetensors").exists() and (tmp_path / "out" / "tokenizer.json").exists()
    assert not tiny_info(tiny_model_dir)["warm_start"]  # the shared fixture folder was not touched


def test_warm_start_needs_samples(tiny_model_dir, toy_data):
    model, processor = load_model(str(tiny_model_dir), load_in_4bit=False, lora_rank=0)
    samples, images = toy_data
    with pytest.raises(ValueError, match="at least 2 samples"):
        warm_start(model, processor, samples, images, types=("nonexistent",), steps=1, save=False)
