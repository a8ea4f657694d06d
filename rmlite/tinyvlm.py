"""A tiny Qwen2.5-VL built offline, a supervised warm start for it, and the GRPO reward-spread check.

The tiny model is the CPU default for tests, CI and the demo: the real Qwen2.5-VL architecture (about 1 M
parameters: text hidden 128 × 4 layers, vision hidden 64 × 2 blocks), a byte-level BPE tokenizer trained
locally on rmlite's own vocabulary (question templates, station names, answer formats) with Qwen's
pre-tokenizer, special tokens and chat template, and an image processor with small `max_pixels` (112×112 →
16 visual tokens). It is saved with `save_pretrained` and loaded back through `rmlite.models.load_model(path)`,
the same path real models take. Nothing is downloaded.

Two facts measured while designing it (see the notes in the repository's issue 4):

* A random model never answers in the right format, so every reward is 0, every GRPO group has zero spread
  and GRPO learns nothing. `warm_start` fixes that with a short supervised run on the reference answers
  (`rmlite.formats.reference_completion`); `reward_spread_share` measures the share of groups with spread.
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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

# Question types the warm start uses by default: all perception types and planning with short answers.
WARM_TYPES = ("counting1", "counting2", "counting3", "torf1", "torf2", "planning")


# ----- building -------------------------------------------------------------------------------------------------
def tiny_vocab_texts(n_station_names: int = 1500, seed: int = 0) -> list[str]:
    """The corpus the tiny tokenizer is trained on: rmlite's question templates, station and line names and
    every answer format. Byte-level BPE still encodes any other text (one byte per token at worst).
    """
    from rmlite.formats import boxed
    from rmlite.questions import (
        COUNTING1_TEMPLATE,
        COUNTING2_TEMPLATE,
        COUNTING3_TEMPLATE,
        TORF1_TEMPLATE,
        TORF2_TEMPLATE,
        planning_question,
    )
    from rmlite.stationnames import FLAVOURS, StationNamer

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
               "Yellow", "Brown", "Grey", "Black", "White", "Violet", "Lime", "Navy"]
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

    Load it with `rmlite.models.load_model(path, ...)` (or plain `AutoProcessor`/`AutoModelForImageTextToText`).
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
    info = {"built_by": "rmlite.tinyvlm.build_tiny_vlm", "params": sum(p.numel() for p in model.parameters()),
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

    A stand-in for `rmlite.generate` + `rmlite.render` in tests: fast, deterministic, and with answers a
    tiny model can partly read from 16 visual tokens (how many lines, mostly).
    """
    from PIL import Image, ImageDraw

    from rmlite.network import Network
    from rmlite.questions import QuestionConfig, generate_questions
    from rmlite.stationnames import StationNamer

    counts = dict(per_map or {"counting1": 2, "counting2": 2, "counting3": 1, "torf1": 2, "torf2": 2, "planning": 3})
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


# ----- encoding samples for plain PyTorch training ---------------------------------------------------------------
def _image_of(i: int, sample: Mapping, images) -> Any:
    if images is None:
        return sample["image"]
    if isinstance(images, Mapping):
        return images[sample["map_id"]]
    return images[i]


class _Encoder:
    """Turns (sample, image) into prompt ids + answer ids + pixel values, as GRPO sees them: the prompt through
    the chat template (image placeholder expanded), the completion tokenised on its own and ended by <|im_end|>.
    Image features are cached per image object (a map has many questions)."""

    def __init__(self, processor):
        self.processor = processor
        self.tok = processor.tokenizer
        self.eos = self.tok.convert_tokens_to_ids("<|im_end|>")
        self.image_token = getattr(processor, "image_token", "<|image_pad|>")
        self.merge = processor.image_processor.merge_size
        self._img_cache: dict[int, tuple] = {}

    def image(self, img):
        key = id(img)
        if key not in self._img_cache:
            feats = self.processor.image_processor(images=[img.convert("RGB")], return_tensors="pt")
            self._img_cache[key] = (feats["pixel_values"], feats["image_grid_thw"], img)
        return self._img_cache[key][:2]

    def prompt_text(self, sample: Mapping) -> str:
        prompt = sample.get("prompt") or [{"role": "user", "content": [{"type": "image"},
                                                                        {"type": "text", "text": sample["question"]}]}]
        return self.processor.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)

    def reference(self, sample: Mapping) -> tuple[str, list[int]]:
        """The reference answer and its token ids (ended by <|im_end|>), as the warm start trains on it."""
        from rmlite.formats import reference_completion

        ans = reference_completion(dict(sample))
        return ans, self.tok(ans, add_special_tokens=False)["input_ids"] + [self.eos]

    def encode(self, sample: Mapping, img, answer: str | None = None) -> dict:
        from rmlite.formats import reference_completion

        pv, thw = self.image(img)
        n_img = int(thw.prod()) // (self.merge ** 2)
        text = self.prompt_text(sample).replace(self.image_token, self.image_token * n_img, 1)
        prompt_ids = self.tok(text, add_special_tokens=False)["input_ids"]
        ans = reference_completion(dict(sample)) if answer is None else answer
        answer_ids = self.tok(ans, add_special_tokens=False)["input_ids"] + [self.eos]
        return {"prompt_ids": prompt_ids, "answer_ids": answer_ids, "pixel_values": pv, "image_grid_thw": thw,
                "answer": ans}


def _collate_train(rows: Sequence[dict], pad_id: int):
    import torch

    seqs = [r["prompt_ids"] + r["answer_ids"] for r in rows]
    n = max(len(s) for s in seqs)
    ids = torch.full((len(rows), n), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    labels = torch.full((len(rows), n), -100, dtype=torch.long)
    for i, (r, s) in enumerate(zip(rows, seqs, strict=True)):  # right padding for training
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        p = len(r["prompt_ids"])
        labels[i, p:len(s)] = torch.tensor(r["answer_ids"])  # loss on the answer (and its <|im_end|>) only
    return {"input_ids": ids, "attention_mask": mask, "labels": labels,
            "pixel_values": torch.cat([r["pixel_values"] for r in rows]),
            "image_grid_thw": torch.cat([r["image_grid_thw"] for r in rows])}


def _eligible(sample: Mapping, types: Sequence[str], max_sections: int) -> bool:
    if sample["type"] not in types:
        return False
    if sample["type"] == "planning":
        if (sample.get("template") or "short") != "short":
            return False
        return int(sample.get("question_transfer_count") or 0) + 1 <= max_sections
    return True


def exact_match(completion: str, sample: Mapping) -> float:
    """1.0 when the completion equals the reference answer text (whitespace-trimmed), else 0.0."""
    from rmlite.formats import reference_completion

    return float(completion.strip() == reference_completion(dict(sample)).strip())


# ----- warm start -----------------------------------------------------------------------------------------------
@dataclass
class WarmStartStats:
    steps: int
    batch_size: int
    lr: float
    seconds: float
    seconds_per_step: float
    losses: list[float] = field(default_factory=list)
    loss_first: float = float("nan")  # mean of the first 10 steps
    loss_last: float = float("nan")  # mean of the last 10 steps
    accuracy_before: float | None = None
    accuracy: float = 0.0  # greedy exact answers on the held-out slice
    accuracy_by_type: dict[str, float] = field(default_factory=dict)
    n_train: int = 0
    n_heldout: int = 0
    examples: list[dict] = field(default_factory=list)  # a few held-out (type, reference, answer)
    saved_to: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        by = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.accuracy_by_type.items()))
        before = "" if self.accuracy_before is None else f"{self.accuracy_before:.2f} → "
        return (f"warm start: {self.steps} steps × {self.batch_size} in {self.seconds:.0f} s "
                f"({self.seconds_per_step:.2f} s/step); loss {self.loss_first:.3f} → {self.loss_last:.3f}; "
                f"held-out exact accuracy {before}{self.accuracy:.2f} (n={self.n_heldout}; {by})")


def _split(samples: list[dict], heldout: int | float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, held-out). Held out by map when there are several maps, so held-out maps are unseen."""
    n = len(samples)
    k = int(round(heldout * n)) if isinstance(heldout, float) else int(heldout)
    k = max(1, min(k, n - 1)) if n > 1 else 0
    rng = random.Random(seed)
    maps = sorted({s.get("map_id", "") for s in samples})
    if len(maps) >= 3:
        rng.shuffle(maps)
        held_maps: set = set()
        count = 0
        by_map: dict[str, int] = {}
        for s in samples:
            by_map[s.get("map_id", "")] = by_map.get(s.get("map_id", ""), 0) + 1
        for m in maps[:-1]:
            if count >= k:
                break
            held_maps.add(m)
            count += by_map[m]
        held = [i for i, s in enumerate(samples) if s.get("map_id", "") in held_maps]
    else:
        held = sorted(rng.sample(range(n), k))
    hs = set(held)
    return [i for i in range(n) if i not in hs], held


def evaluate_exact(model, processor, samples: Sequence[Mapping], images=None, *, batch_size: int = 32,
                   max_new_tokens: int | None = None, encoder: _Encoder | None = None,
                   progress: bool = False) -> tuple[float, dict[str, float], list[dict]]:
    """Greedy exact-answer accuracy (overall, by type) and the rows (type, reference, answer)."""
    from tqdm.auto import tqdm

    from rmlite.generation import generate_answers

    enc = encoder or _Encoder(processor)
    refs = [enc.reference(s) for s in samples]
    answers: list[str] = []
    for i in tqdm(range(0, len(samples), batch_size), desc="eval", disable=not progress, leave=False):
        chunk = range(i, min(i + batch_size, len(samples)))
        mnt = max_new_tokens or (max(len(refs[k][1]) for k in chunk) + 8)
        answers += generate_answers(model, processor, [samples[k]["question"] for k in chunk],
                                    [_image_of(k, samples[k], images) for k in chunk], max_new_tokens=mnt,
                                    batch_size=len(chunk), progress=False)
    detail = [{"type": s["type"], "reference": r[0], "answer": a, "exact": a.strip() == r[0].strip()}
              for s, r, a in zip(samples, refs, answers, strict=True)]
    by: dict[str, list[bool]] = {}
    for d in detail:
        by.setdefault(d["type"], []).append(d["exact"])
    acc = sum(d["exact"] for d in detail) / max(1, len(detail))
    return acc, {t: sum(v) / len(v) for t, v in by.items()}, detail


def warm_start(model_dir_or_model, processor=None, samples: Sequence[Mapping] = (), images=None, *,
               steps: int = 300, lr: float = 2e-3, batch_size: int = 16, seed: int = 0, progress: bool = True,
               heldout: int | float = 0.15, max_heldout: int = 96, types: Sequence[str] = WARM_TYPES,
               max_sections: int = 2, warmup_steps: int = 10, eval_before: bool = False,
               save: bool | str | os.PathLike = True) -> WarmStartStats:
    """A short supervised warm start: cross-entropy on the reference answer tokens only (prompt masked).

    Args:
        model_dir_or_model: a model folder (e.g. from `build_tiny_vlm`; loaded in float32, all weights trained)
            or a model object (trained in place: whatever parameters require grad, e.g. a LoRA adapter).
        processor: the model's processor (loaded from the folder when None).
        samples: rmlite samples; only `types` are used, planning only with short answers of ≤ `max_sections`.
        images: `{map_id: PIL image}`, a sequence parallel to `samples`, or None to read `sample["image"]`.
        heldout: share (float) or number (int) of samples held out (by map) for the greedy exact-answer check.
        save: True saves back into the model folder; a path saves there; False does not save.
    Returns a `WarmStartStats` (loss curve, held-out exact accuracy, timing); also printed when `progress`.
    """
    import torch
    from tqdm.auto import tqdm

    model_dir = None
    if isinstance(model_dir_or_model, (str, os.PathLike)):
        from rmlite.models import load_model

        model_dir = Path(model_dir_or_model)
        model, loaded_proc = load_model(str(model_dir), load_in_4bit=False, lora_rank=0, backend="transformers",
                                        dtype="float32", max_pixels=None)
        processor = processor or loaded_proc
    else:
        model = model_dir_or_model
        if processor is None:
            raise ValueError("pass the processor together with a model object")
    chosen = [(i, s) for i, s in enumerate(samples) if _eligible(s, types, max_sections)]
    if len(chosen) < 2:
        raise ValueError(f"warm start needs at least 2 samples of types {tuple(types)}, got {len(chosen)}")
    pool = [dict(s) for _, s in chosen]
    pool_images = [_image_of(i, s, images) for i, s in chosen]
    train_idx, held_idx = _split(pool, heldout, seed)
    held_idx = held_idx[:max_heldout]

    enc = _Encoder(processor)
    t_enc = time.perf_counter()
    encoded = [enc.encode(pool[i], pool_images[i]) for i in train_idx]
    held = [pool[i] for i in held_idx]
    held_images = [pool_images[i] for i in held_idx]
    t_enc = time.perf_counter() - t_enc

    stats = WarmStartStats(steps=steps, batch_size=batch_size, lr=lr, seconds=0.0, seconds_per_step=0.0,
                           n_train=len(encoded), n_heldout=len(held))
    if eval_before and held:
        stats.accuracy_before = evaluate_exact(model, processor, held, held_images, encoder=enc)[0]

    torch.manual_seed(seed)
    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0, betas=(0.9, 0.98))

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to 10 %
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        t = (step - warmup_steps) / max(1, steps - warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    device = next(model.parameters()).device
    model.train()
    t0 = time.perf_counter()
    bar = tqdm(range(steps), desc="warm start", unit="step", disable=not progress)
    for _ in bar:
        rows = [encoded[rng.randrange(len(encoded))] for _ in range(batch_size)]
        batch = {k: v.to(device) for k, v in _collate_train(rows, enc.tok.pad_token_id).items()}
        loss = model(**batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        stats.losses.append(round(float(loss.detach()), 5))
        bar.set_postfix(loss=f"{stats.losses[-1]:.3f}")
    bar.close()
    train_s = time.perf_counter() - t0
    model.eval()
    if held:
        stats.accuracy, stats.accuracy_by_type, detail = evaluate_exact(model, processor, held, held_images,
                                                                        encoder=enc)
        stats.examples = detail[:6]
    k = min(10, len(stats.losses))
    if k:
        stats.loss_first = sum(stats.losses[:k]) / k
        stats.loss_last = sum(stats.losses[-k:]) / k
    stats.seconds = round(train_s + t_enc, 2)
    stats.seconds_per_step = round(train_s / max(1, steps), 4)

    target = (model_dir if save is True else Path(save) if save else None)
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(target)
        if target != model_dir:
            processor.save_pretrained(target)
        marker = target / MARKER
        info = json.loads(marker.read_text()) if marker.is_file() else (tiny_info(model_dir) if model_dir and
                                                                        is_tiny_model_dir(model_dir) else {})
        info["warm_start"] = {k: v for k, v in stats.as_dict().items() if k not in ("losses", "examples")}
        marker.write_text(json.dumps(info, indent=2) + "\n")
        stats.saved_to = str(target)
    if progress:
        print(stats.summary())
    return stats


# ----- GRPO reward spread ---------------------------------------------------------------------------------------
def default_reward() -> Callable[[str, Mapping], Any]:
    """`rmlite.reward.score` (the paper preset) when the reward module is present, else exact match."""
    try:
        from rmlite.reward import score
    except ImportError:
        return exact_match
    return score


def _resolve_reward(reward) -> Callable[[str, Mapping], Any]:
    if reward is None:
        return default_reward()
    if isinstance(reward, str):  # a preset name ("paper", "sparse", ...) or "package.module:function"
        from rmlite.reward import load_reward

        return load_reward(reward)
    return reward


def _as_float(value) -> float:
    if isinstance(value, Mapping):
        for key in ("overall", "total", "reward", "score"):
            if key in value:
                return float(value[key])
        raise ValueError(f"reward returned a dict without an overall/total/reward/score key: {sorted(value)}")
    for attr in ("overall", "total", "reward"):
        if hasattr(value, attr):
            return float(getattr(value, attr))
    return float(value)


def reward_spread_share(model, processor, samples: Sequence[Mapping], images=None,
                        reward: Callable[[str, Mapping], Any] | str | None = None, *, group_size: int = 4,
                        n_prompts: int = 32, temperature: float = 1.0, max_new_tokens: int | None = None,
                        prompts_per_batch: int = 8, seed: int = 0, return_details: bool = False):
    """Share of GRPO groups with reward spread: for `n_prompts` samples, draw `group_size` completions at
    `temperature` (as GRPOTrainer does) and count the groups whose rewards are not all equal.

    `1 - share` is what TRL logs as `frac_reward_zero_std`. `reward(completion_text, sample)` returns a float,
    a `RewardBreakdown` (its `total`) or a dict with an `overall` key; a string names an `rmlite.reward` preset
    ("paper", "sparse", ...); None uses `default_reward()`.
    """
    import torch

    fn = _resolve_reward(reward)
    rng = random.Random(seed)
    idx = list(range(len(samples)))
    rng.shuffle(idx)
    idx = idx[:n_prompts]
    from rmlite.generation import generate_answers

    enc = _Encoder(processor)
    torch.manual_seed(seed)
    groups = []
    for start in range(0, len(idx), prompts_per_batch):
        chunk = idx[start:start + prompts_per_batch]
        mnt = max_new_tokens or (max(len(enc.reference(samples[i])[1]) for i in chunk) + 8)
        outs = generate_answers(model, processor, [samples[i]["question"] for i in chunk],
                                [_image_of(i, samples[i], images) for i in chunk], max_new_tokens=mnt,
                                batch_size=len(chunk), do_sample=True, temperature=temperature,
                                num_return_sequences=group_size, progress=False)
        for j, i in enumerate(chunk):
            comps = outs[j * group_size:(j + 1) * group_size]
            rewards = [_as_float(fn(c, samples[i])) for c in comps]
            groups.append({"id": samples[i].get("id"), "type": samples[i]["type"], "rewards": rewards,
                           "spread": max(rewards) - min(rewards) > 1e-9, "completions": comps})
    share = sum(g["spread"] for g in groups) / max(1, len(groups))
    return (share, groups) if return_details else share
