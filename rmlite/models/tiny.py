"""A tiny Qwen2.5-VL built offline (and toy data for it). Its warm start and the GRPO reward-spread check live in
`rmlite.models.warmstart`.

The tiny model is the CPU default for tests, CI and the demo: the real Qwen2.5-VL architecture (about 1 M
parameters: text hidden 128 × 4 layers, vision hidden 64 × 2 blocks), a byte-level BPE tokenizer trained
locally on rmlite's own vocabulary (question templates, station names, answer formats) with Qwen's
pre-tokenizer, special tokens and chat template, and an image processor with small `max_pixels` (112×112 →
16 visual tokens). It is saved with `save_pretrained` and loaded back through `rmlite.models.load.load_model(path)`,
the same path real models take. Nothing is downloaded.

Two facts measured while designing it (see the notes in the repository's issue 4):

* A random model never answers in the right format, so every reward is 0, every GRPO group has zero spread
  and GRPO learns nothing. `rmlite.models.warmstart.warm_start` fixes that with a short supervised run on the reference
  answers; `rmlite.models.warmstart.reward_spread_share` measures the share of groups with spread.
* With the stock CLIP pixel normalisation a white pixel becomes about +2 in every channel, and a tiny vision
  tower trained from scratch on white-background maps never learns to see. The tiny processor therefore uses
  `image_mean=1, image_std=0.5`: white becomes exactly 0 (and black −2).

This module imports torch/transformers at call time only where it can; `import rmlite` never imports it.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rmlite.data.answers import boxed
from rmlite.data.questions import (
    COUNTING1_TEMPLATE,
    COUNTING2_TEMPLATE,
    COUNTING3_TEMPLATE,
    TORF1_TEMPLATE,
    TORF2_TEMPLATE,
    QuestionConfig,
    generate_questions,
    planning_question,
)
from rmlite.maps.namer import FLAVOURS, StationNamer
from rmlite.maps.network import Network
from rmlite.schema import QUESTION_TYPES, answer_kind

# Qwen2.5-VL's special tokens, in Qwen's order (ids 0..13 in the tiny vocabulary).
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip

# Qwen2.5-VL-Instruct's chat template (default system prompt, image/video placeholders, optional vision ids).
QWEN_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: "
    "{% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

TINY_MAX_PIXELS = 112 * 112  # a square map → 4×4 merged patches = 16 visual tokens
TINY_MIN_PIXELS = 56 * 56
MARKER = "rmlite_tiny.json"  # written next to config.json: how the tiny model was built (and warm-started)



# ----- building -------------------------------------------------------------------------------------------------
def tiny_vocab_texts(n_station_names: int = 1500, seed: int = 0) -> list[str]:
    """The corpus the tiny tokenizer is trained on: rmlite's question templates, station and line names and
    every answer format. Byte-level BPE still encodes any other text (one byte per token at worst).
    """
    rng = random.Random(seed)
    names: list[str] = []
    for flavour in FLAVOURS:
        namer = StationNamer(random.Random(f"{seed}-{flavour}"), flavours=(flavour,))
        for _ in range(max(1, n_station_names // len(FLAVOURS))):
            try:
                names.append(namer.next())
            except RuntimeError:
                break
    colours = ["Blue", "Orange", "Green", "Red", "Purple", "Sky", "Pink", "Indigo", "Olive", "Teal", "Gold", "Maroon",
               "Yellow", "Brown", "Grey", "Coral", "Black", "White", "Violet", "Lime", "Navy"]
    lines = [f"Line {i}" for i in range(1, 31)] + [f"{c} Line" for c in colours]
    texts: list[str] = []
    for _ in range(3000):
        a, b = rng.sample(names, 2)
        line = rng.choice(lines)
        opts = sorted(rng.sample(range(0, 30), 4))
        kind = rng.randrange(9)
        if kind == 0:
            texts.append(COUNTING1_TEMPLATE.format(s1=a, s2=b, a=opts[0], b=opts[1], c=opts[2], d=opts[3]))
        elif kind == 1:
            texts.append(COUNTING2_TEMPLATE.format(s1=a))
        elif kind == 2:
            texts.append(COUNTING3_TEMPLATE.format())
        elif kind == 3:
            texts.append(TORF1_TEMPLATE.format(s1=a, s2=b))
        elif kind == 4:
            texts.append(TORF2_TEMPLATE.format(s1=a, line=line))
        elif kind == 5:
            texts.append(planning_question(a, b, rng.choice(("short", "long1", "long2"))))
        elif kind == 6:  # a route answer in the three templates
            secs = []
            for _ in range(rng.randint(1, 3)):
                c, d = rng.sample(names, 2)
                sec = f"Route Name: {rng.choice(lines)}\nDeparture Stop: {c}\nArrival Stop: {d}"
                if rng.random() < 0.3:
                    sec += f"\nNumber of Via Stops: {rng.randint(0, 20)}"
                elif rng.random() < 0.3:
                    sec += "\nVia Stops: " + ", ".join(rng.sample(names, rng.randint(1, 4)))
                secs.append(sec)
            texts.append("\n--\n".join(secs))
        elif kind == 7:
            keys = (rng.choice("ABCD"), rng.randint(0, 40), rng.choice(("yes", "no")))
            texts.append(" ".join(boxed(x) for x in keys))
        else:
            texts.append(" ".join(rng.sample(names, 6)) + " " + " ".join(rng.sample(lines, 3)))
    texts += ["You are a helpful assistant.", "system user assistant", "0 1 2 3 4 5 6 7 8 9 10 11 12"]
    return texts


def _train_tokenizer(texts: Sequence[str], vocab_size: int):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX, Qwen2Tokenizer

    # Same normaliser / pre-tokeniser / decoder as Qwen2Tokenizer, so the tiny tokenizer splits text like Qwen's.
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(texts), trainer)
    bpe = json.loads(tok.to_str())["model"]
    hf = Qwen2Tokenizer(vocab=bpe["vocab"], merges=[tuple(m) for m in bpe["merges"]], eos_token="<|im_end|>",
                        pad_token="<|endoftext|>", unk_token=None, errors="replace")
    hf.add_special_tokens({"additional_special_tokens": [AddedToken(t, special=True, normalized=False)
                                                         for t in SPECIAL_TOKENS]})
    hf.chat_template = QWEN_CHAT_TEMPLATE
    hf.padding_side = "left"
    return hf


def build_tiny_vlm(path: str | os.PathLike, *, vocab_texts: Sequence[str] | None = None, seed: int = 0,
                   vocab_size: int = 1024, hidden_size: int = 128, num_layers: int = 4, vision_hidden: int = 64,
                   vision_depth: int = 2, max_pixels: int = TINY_MAX_PIXELS) -> Path:
    """Build, save and return the folder of a tiny random Qwen2.5-VL with a locally trained tokenizer.

    Load it with `rmlite.models.load.load_model(path, ...)` (or plain `AutoProcessor`/`AutoModelForImageTextToText`).
    About 1 M parameters and a few seconds on a laptop CPU; nothing is downloaded.
    """
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    t0 = time.perf_counter()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    tok = _train_tokenizer(vocab_texts if vocab_texts is not None else tiny_vocab_texts(seed=seed), vocab_size)
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    # White → 0: see the module docstring (a from-scratch vision tower stays blind on white maps otherwise).
    px = dict(min_pixels=TINY_MIN_PIXELS, max_pixels=max_pixels, patch_size=14, temporal_patch_size=2, merge_size=2,
              image_mean=[1.0, 1.0, 1.0], image_std=[0.5, 0.5, 0.5])
    processor = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(**px), tokenizer=tok,
                                    video_processor=Qwen2VLVideoProcessor(**px), chat_template=QWEN_CHAT_TEMPLATE)
    n_heads = 4
    head_dim = hidden_size // n_heads
    half = head_dim // 2  # mrope sections (temporal, height, width) must sum to head_dim / 2
    mrope = [half // 4, (half - half // 4) // 2, half - half // 4 - (half - half // 4) // 2]
    cfg = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=len(tok), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
            num_hidden_layers=num_layers, num_attention_heads=n_heads, num_key_value_heads=2,
            max_position_embeddings=4096, tie_word_embeddings=True,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(depth=vision_depth, hidden_size=vision_hidden, intermediate_size=2 * vision_hidden,
                           num_heads=2, out_hidden_size=hidden_size, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=112, fullatt_block_indexes=[vision_depth - 1]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(cfg)
    model.generation_config = GenerationConfig(eos_token_id=ids["<|im_end|>"], pad_token_id=ids["<|endoftext|>"],
                                               bos_token_id=ids["<|endoftext|>"])
    model.save_pretrained(out)
    processor.save_pretrained(out)
    info = {"built_by": "rmlite.models.tiny.build_tiny_vlm", "params": sum(p.numel() for p in model.parameters()),
            "vocab_size": len(tok), "hidden_size": hidden_size, "num_layers": num_layers,
            "vision_hidden": vision_hidden, "vision_depth": vision_depth, "max_pixels": max_pixels, "seed": seed,
            "image_mean": 1.0, "image_std": 0.5, "build_seconds": round(time.perf_counter() - t0, 2),
            "warm_start": None}
    (out / MARKER).write_text(json.dumps(info, indent=2) + "\n")
    return out


def is_tiny_model_dir(path: str | os.PathLike) -> bool:
    return (Path(path) / MARKER).is_file()


def tiny_info(path: str | os.PathLike) -> dict:
    """The build (and warm-start) record of a tiny model folder."""
    return json.loads((Path(path) / MARKER).read_text())


# ----- toy data (tests and smoke runs without the map renderer) -------------------------------------------------
_TOY_COLOURS = ((0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 51, 17), (170, 51, 119), (86, 180, 233))


def toy_dataset(n_maps: int = 8, *, seed: int = 0, size: int = 224, per_map: Mapping[str, int] | None = None):
    """Small synthetic maps drawn with PIL (coloured straight lines on white, station dots, no labels) and
    their rmlite questions. Returns `(samples, images)` with `images` keyed by `map_id`.

    A stand-in for `rmlite.maps.generate` + `rmlite.maps.render` in tests: fast, deterministic, and with answers a
    tiny model can partly read from 16 visual tokens (how many lines, mostly).
    """
    from PIL import Image, ImageDraw

    # Default: two questions of each perception type (a map has one line count), three route questions.
    counts = dict(per_map or {t: 3 if answer_kind(t) == "route" else 2 for t in QUESTION_TYPES})
    samples: list[dict] = []
    images: dict[str, Any] = {}
    for m in range(n_maps):
        rng = random.Random(f"toy-{seed}-{m}")
        namer = StationNamer(rng)
        n_lines = rng.randint(2, 4)
        hub = namer.next()
        md: dict[str, list[str]] = {}
        img = Image.new("RGB", (size, size), "white")
        draw = ImageDraw.Draw(img)
        c = size / 2
        for k in range(n_lines):
            n = rng.randint(3, 6)
            pos = rng.randint(1, n - 2)
            names = [namer.next() for _ in range(n - 1)]
            md[f"Line {k + 1}"] = names[:pos] + [hub] + names[pos:]
            ang = math.pi * (k / n_lines + rng.uniform(-0.08, 0.08))
            dx, dy = math.cos(ang), math.sin(ang)
            r = size * 0.42
            draw.line([(c - r * dx, c - r * dy), (c + r * dx, c + r * dy)], fill=_TOY_COLOURS[k],
                      width=max(3, size // 28))
            for j in range(n):
                t = -r + 2 * r * j / (n - 1)
                x, y = c + t * dx, c + t * dy
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill="white", outline="black")
        net = Network.from_metro_data(md, name=f"toy{m}")
        map_id = f"toy-{seed}-{m}"
        images[map_id] = img
        samples += generate_questions(net, map_id=map_id, seed=seed + m, config=QuestionConfig(per_map=counts))
    return samples, images
