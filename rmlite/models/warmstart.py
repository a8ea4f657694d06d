"""A supervised warm start for the tiny VLM (or any small VLM), and its greedy exact-answer check.

A random model never answers in the right format, so every reward is 0, every GRPO group has zero spread and GRPO
learns nothing. `warm_start` fixes that with a short supervised run on the reference answers
(`rmlite.data.answers.reference_completion`), encoded exactly as GRPO sees them (prompt through the chat template, the
completion ended by <|im_end|>). Generation for the accuracy check goes through `rmlite.models.inference`.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rmlite.data.answers import reference_completion
from rmlite.models.inference import generate_answers
from rmlite.models.load import load_model
from rmlite.models.passk import sample_pass_at_k
from rmlite.models.tiny import MARKER, is_tiny_model_dir, tiny_info
from rmlite.reward.functions import as_total, load_reward
from rmlite.schema import Sample, answer_kind
from rmlite.stats import has_spread


# ----- encoding samples for plain PyTorch training ---------------------------------------------------------------
def _image_of(i: int, sample: Sample, images) -> Any:
    if images is None:
        return sample["image"]
    if isinstance(images, Mapping):
        return images[sample["map_id"]]
    return images[i]


class SampleEncoder:
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

    def prompt_text(self, sample: Sample) -> str:
        prompt = sample.get("prompt") or [{"role": "user", "content": [{"type": "image"},
                                                                        {"type": "text", "text": sample["question"]}]}]
        return self.processor.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)

    def reference(self, sample: Sample) -> tuple[str, list[int]]:
        """The reference answer and its token ids (ended by <|im_end|>), as the warm start trains on it."""
        ans = reference_completion(dict(sample))
        return ans, self.tok(ans, add_special_tokens=False)["input_ids"] + [self.eos]

    def encode(self, sample: Sample, img, answer: str | None = None) -> dict:
        pv, thw = self.image(img)
        n_img = int(thw.prod()) // (self.merge ** 2)
        text = self.prompt_text(sample).replace(self.image_token, self.image_token * n_img, 1)
        prompt_ids = self.tok(text, add_special_tokens=False)["input_ids"]
        ans = reference_completion(dict(sample)) if answer is None else answer
        answer_ids = self.tok(ans, add_special_tokens=False)["input_ids"] + [self.eos]
        return {"prompt_ids": prompt_ids, "answer_ids": answer_ids, "pixel_values": pv, "image_grid_thw": thw,
                "answer": ans}


def collate_train(rows: Sequence[dict], pad_id: int):
    """A right-padded training batch from encoded rows, with the loss on the answer tokens only."""
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


def _eligible(sample: Sample, types: Sequence[str] | None, max_sections: int) -> bool:
    if types is not None and sample["type"] not in types:
        return False
    if answer_kind(sample["type"]) == "route":
        if (sample.get("template") or "short") != "short":
            return False
        return int(sample.get("question_transfer_count") or 0) + 1 <= max_sections
    return True


def exact_match(completion: str, sample: Sample) -> float:
    """1.0 when the completion equals the reference answer text (whitespace-trimmed), else 0.0."""
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
    pass_at_k: dict | None = None  # pass@k per type against guessing (`rmlite.models.passk.PassAtKReport.as_dict`)
    warnings: list[str] = field(default_factory=list)  # one line per type where pass@k is at chance
    saved_to: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        by = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.accuracy_by_type.items()))
        before = "" if self.accuracy_before is None else f"{self.accuracy_before:.2f} → "
        return (f"warm start: {self.steps} steps × {self.batch_size} in {self.seconds:.0f} s "
                f"({self.seconds_per_step:.2f} s/step); loss {self.loss_first:.3f} → {self.loss_last:.3f}; "
                f"held-out exact accuracy {before}{self.accuracy:.2f} (n={self.n_heldout}; {by})")


def _split(samples: list[Sample], heldout: int | float, seed: int) -> tuple[list[int], list[int]]:
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


def evaluate_exact(model, processor, samples: Sequence[Sample], images=None, *, batch_size: int = 32,
                   max_new_tokens: int | None = None, encoder: SampleEncoder | None = None,
                   progress: bool = False) -> tuple[float, dict[str, float], list[dict]]:
    """Greedy exact-answer accuracy (overall, by type) and the rows (type, reference, answer)."""
    from tqdm.auto import tqdm

    enc = encoder or SampleEncoder(processor)
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


@dataclass(frozen=True)
class WarmStartSettings:
    """What a warm start trains on and how (`warm_start`'s options). The fields are also `warm_start` keywords;
    `rmlite.demo_quick` hashes them into the shipped warm start's fingerprint, so a renamed field is a new warm start.
    `steps` AdamW steps of `batch_size` (`warmup_steps` linear warm-up, cosine decay to 10 %). `heldout`: share (float)
    or number (int) of samples held out by map for the greedy exact-answer check (at most `max_heldout`), measured
    before training too with `eval_before`. `types`: trained on (None: all), routes only up to `max_sections`
    sections. With pass_k > 0, pass@k at `temperature` per type on the held-out slice against a guesser
    (`rmlite.models.passk`); a type where it is at chance is warned about in one printed line.
    """

    steps: int = 300
    lr: float = 2e-3
    batch_size: int = 16
    seed: int = 0
    heldout: int | float = 0.15
    max_heldout: int = 96
    types: Sequence[str] | None = None
    max_sections: int = 2
    warmup_steps: int = 10
    eval_before: bool = False
    pass_k: int = 0
    temperature: float = 1.0


def warm_start(model_dir_or_model, processor=None, samples: Sequence[Sample] = (), images=None,
               settings: WarmStartSettings | None = None, *, progress: bool = True,
               save: bool | str | os.PathLike = True, **options: Any) -> WarmStartStats:
    """A short supervised warm start: cross-entropy on the reference answer tokens only (prompt masked).

    Args:
        model_dir_or_model: a model folder (e.g. from `build_tiny_vlm`; loaded in float32, all weights trained)
            or a model object (trained in place: whatever parameters require grad, e.g. a LoRA adapter).
        processor: the model's processor (loaded from the folder when None).
        samples: rmlite samples (`settings.types` and short routes are used).
        images: `{map_id: PIL image}`, a sequence parallel to `samples`, or None to read `sample["image"]`.
        settings: a WarmStartSettings; `options` (its field names as keywords) change fields of it.
        save: True saves back into the model folder; a path saves there; False does not save.
    Returns a `WarmStartStats` (loss curve, held-out exact accuracy, timing); also printed when `progress`.
    """
    s = replace(settings or WarmStartSettings(), **options)
    model, processor, model_dir = _model_and_processor(model_dir_or_model, processor)
    chosen = [(i, x) for i, x in enumerate(samples) if _eligible(x, s.types, s.max_sections)]
    if len(chosen) < 2:
        wanted = "any type" if s.types is None else f"types {tuple(s.types)}"
        raise ValueError(f"warm start needs at least 2 samples of {wanted}, got {len(chosen)}")
    pool = [dict(x) for _, x in chosen]
    pool_images = [_image_of(i, x, images) for i, x in chosen]
    train_idx, held_idx = _split(pool, s.heldout, s.seed)
    held_idx = held_idx[:s.max_heldout]
    enc = SampleEncoder(processor)
    t_enc = time.perf_counter()
    encoded = [enc.encode(pool[i], pool_images[i]) for i in train_idx]
    held = [pool[i] for i in held_idx]
    held_images = [pool_images[i] for i in held_idx]
    t_enc = time.perf_counter() - t_enc

    stats = WarmStartStats(steps=s.steps, batch_size=s.batch_size, lr=s.lr, seconds=0.0, seconds_per_step=0.0,
                           n_train=len(encoded), n_heldout=len(held))
    if s.eval_before and held:
        stats.accuracy_before = evaluate_exact(model, processor, held, held_images, encoder=enc)[0]
    train_s = _train(model, enc, encoded, stats, seed=s.seed, warmup_steps=s.warmup_steps, progress=progress)
    if held:
        stats.accuracy, stats.accuracy_by_type, detail = evaluate_exact(model, processor, held, held_images,
                                                                        encoder=enc)
        stats.examples = detail[:6]
        if s.pass_k > 0:
            _check_pass_at_k(model, processor, stats, (held, held_images), pool=[pool[i] for i in train_idx], s=s)
    k = min(10, len(stats.losses))
    if k:
        stats.loss_first = sum(stats.losses[:k]) / k
        stats.loss_last = sum(stats.losses[-k:]) / k
    stats.seconds = round(train_s + t_enc, 2)
    stats.seconds_per_step = round(train_s / max(1, s.steps), 4)
    target = (model_dir if save is True else Path(save) if save else None)
    if target is not None:
        _save(model, processor, model_dir, target, stats)
    if progress:
        print(stats.summary())
    return stats


def _check_pass_at_k(model, processor, stats: WarmStartStats, held: tuple[list[dict], list], *, pool: list[dict],
                     s: WarmStartSettings) -> None:
    """Is there anything for GRPO to amplify? pass@k per type on the held-out (samples, images), warnings printed."""
    report = sample_pass_at_k(model, processor, *held, k=s.pass_k, temperature=s.temperature, pool=pool, seed=s.seed)
    stats.pass_at_k, stats.warnings = report.as_dict(), report.warnings()
    for line in stats.warnings:
        print(line)


def _model_and_processor(model_dir_or_model, processor) -> tuple[Any, Any, Path | None]:
    """(model, processor, its folder or None): a folder is loaded in float32 for full training."""
    if isinstance(model_dir_or_model, (str, os.PathLike)):
        model_dir = Path(model_dir_or_model)
        model, loaded_proc = load_model(str(model_dir), load_in_4bit=False, lora_rank=0, backend="transformers",
                                        dtype="float32", max_pixels=None)
        return model, processor or loaded_proc, model_dir
    if processor is None:
        raise ValueError("pass the processor together with a model object")
    return model_dir_or_model, processor, None


def _train(model, enc: SampleEncoder, encoded: list[dict], stats: WarmStartStats, *, seed: int, warmup_steps: int,
           progress: bool) -> float:
    """`stats.steps` AdamW steps on random batches of `encoded` (losses recorded in `stats`); returns the seconds."""
    import torch
    from tqdm.auto import tqdm

    steps = stats.steps
    torch.manual_seed(seed)
    rng = random.Random(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=stats.lr, weight_decay=0.0, betas=(0.9, 0.98))

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
        rows = [encoded[rng.randrange(len(encoded))] for _ in range(stats.batch_size)]
        batch = {k: v.to(device) for k, v in collate_train(rows, enc.tok.pad_token_id).items()}
        loss = model(**batch).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        stats.losses.append(round(float(loss.detach()), 5))
        bar.set_postfix(loss=f"{stats.losses[-1]:.3f}")
    bar.close()
    seconds = time.perf_counter() - t0
    model.eval()
    return seconds


def _save(model, processor, model_dir: Path | None, target: Path, stats: WarmStartStats) -> None:
    """The trained model (and processor, when elsewhere) under `target`, with the warm start in the tiny marker."""
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


def _as_float(value) -> float:
    """A reward's scalar: `as_total` (a breakdown or a number), or an EasyR1-style score dict."""
    if isinstance(value, Mapping):
        for key in ("overall", "total", "reward", "score"):
            if key in value:
                return float(value[key])
        raise ValueError(f"reward returned a dict without an overall/total/reward/score key: {sorted(value)}")
    return as_total(value)


def reward_spread_share(model, processor, samples: Sequence[Sample], images=None,
                        reward: Callable[[str, Mapping], Any] | str | None = None, *, group_size: int = 4,
                        n_prompts: int = 32, temperature: float = 1.0, max_new_tokens: int | None = None,
                        prompts_per_batch: int = 8, seed: int = 0, return_details: bool = False):
    """Share of GRPO groups with reward spread: for `n_prompts` samples, draw `group_size` completions at
    `temperature` (as GRPOTrainer does) and count the groups whose rewards are not all equal.

    `1 - share` is what TRL logs as `frac_reward_zero_std`. `reward(completion_text, sample)` returns a float,
    a `RewardBreakdown` (its `total`) or a dict with an `overall` key; a string names an `rmlite.reward` preset
    ("paper", "sparse", ...) or "package.module:function"; None is the paper preset.
    """
    import torch

    fn = load_reward("paper" if reward is None else reward)
    rng = random.Random(seed)
    idx = list(range(len(samples)))
    rng.shuffle(idx)
    idx = idx[:n_prompts]
    enc = SampleEncoder(processor)
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
                           "spread": has_spread(rewards), "completions": comps})
    share = sum(g["spread"] for g in groups) / max(1, len(groups))
    return (share, groups) if return_details else share
