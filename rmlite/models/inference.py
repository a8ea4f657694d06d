"""Greedy answers from a VLM for rmlite samples: the one place that turns (image, question) into model input.

Used by evaluation, `ask`, the warm start's accuracy check and the demo, so every caller formats prompts
exactly as training does (the sample's conversational `prompt`, the processor's chat template).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from rmlite.schema import Sample


def chat_text(processor, question: str) -> str:
    """The templated prompt string for one question with one image, ending with the assistant turn."""
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}]
    return processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)


def blank_like(image):
    """A white image of the same size: the "image masked" baseline (does the model read the map at all?)."""
    from PIL import Image

    return Image.new("RGB", image.size, "white")


def stop_ids(model, tok) -> list[int] | None:
    """End-of-turn token ids: the model's own eos ids plus `<|im_end|>` when the tokenizer has it (the tiny model's
    generation config knows no eos; Qwen's lists <|im_end|> already)."""
    cfg = getattr(model, "generation_config", None)
    eos = getattr(cfg, "eos_token_id", None)
    ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    im_end = tok.convert_tokens_to_ids("<|im_end|>") if hasattr(tok, "convert_tokens_to_ids") else None
    for extra in (getattr(tok, "eos_token_id", None), im_end):  # TRL stops on the tokenizer's eos as well
        if isinstance(extra, int) and extra != getattr(tok, "unk_token_id", None) and extra not in ids:
            ids.append(extra)
    return ids or None


@contextmanager
def keep_4bit_layout(model) -> Iterator[None]:
    """Generation without bitsandbytes' CPU repacking. A CPU 4-bit layer run in eval mode without grad repacks its
    weight for AVX512-BF16 once and for all, and the repacked weight breaks the next training backward pass ("a
    view of a leaf Variable ... in-place operation"): evaluating during training, or before it, would end the run."""
    layers = [m for m in model.modules() if getattr(m, "support_avx512bf16_for_cpu", False)]
    for m in layers:
        m.support_avx512bf16_for_cpu = False
    try:
        yield
    finally:
        for m in layers:
            m.support_avx512bf16_for_cpu = True


def generate_answers(model, processor, questions: Sequence[str], images: Sequence, *, max_new_tokens: int = 256,
                     batch_size: int = 4, do_sample: bool = False, temperature: float = 1.0,
                     num_return_sequences: int = 1, progress: bool = True, desc: str = "generate") -> list[str]:
    """Answers (decoded new tokens, special tokens dropped) for each (question, image) pair, greedy by default.

    `do_sample=True` samples as GRPOTrainer does (plain temperature, no top-k / top-p truncation, whatever the
    model's generation config says); `num_return_sequences` answers per question come out consecutively. The model
    is put in eval mode (no dropout) for the call and restored after.
    """
    import torch
    from tqdm.auto import tqdm

    if len(questions) != len(images):
        raise ValueError(f"{len(questions)} questions but {len(images)} images")
    if num_return_sequences > 1 and not do_sample:
        raise ValueError("num_return_sequences > 1 needs do_sample=True (greedy answers would all be the same)")
    tok = getattr(processor, "tokenizer", processor)
    old_side = getattr(tok, "padding_side", "left")
    tok.padding_side = "left"  # decoder-only generation needs left padding so new tokens line up
    gen_kwargs = {"max_new_tokens": max_new_tokens, "do_sample": do_sample, "pad_token_id": tok.pad_token_id,
                  "eos_token_id": stop_ids(model, tok), "num_return_sequences": num_return_sequences}
    if do_sample:
        # not the model's own sampling defaults (Qwen ships top_k/top_p/repetition_penalty): TRL's GRPO settings
        gen_kwargs.update(temperature=temperature, top_k=0, top_p=1.0, min_p=None, repetition_penalty=1.0)
    else:
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    out: list[str] = []
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        bar = tqdm(total=len(questions), desc=desc, unit="q", disable=not progress)
        for i in range(0, len(questions), batch_size):
            qs = questions[i:i + batch_size]
            ims = [im.convert("RGB") for im in images[i:i + batch_size]]
            texts = [chat_text(processor, q) for q in qs]
            inputs = processor(text=texts, images=ims, return_tensors="pt", padding=True).to(device)
            with torch.inference_mode(), keep_4bit_layout(model):
                seq = model.generate(**inputs, **gen_kwargs)
            new = seq[:, inputs["input_ids"].shape[1]:]
            out += [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]
            bar.update(len(qs))
        bar.close()
    finally:
        tok.padding_side = old_side
        model.train(was_training)
    return out


def ask(model, processor, image, question: str, *, max_new_tokens: int = 512) -> str:
    """One question about any image (e.g. a user's own map photo or a ReasonMap map).

    `image` may be a PIL image or a path.
    """
    from PIL import Image

    if not hasattr(image, "convert"):
        with Image.open(image) as im:
            image = im.convert("RGB")
    return generate_answers(model, processor, [question], [image], max_new_tokens=max_new_tokens, batch_size=1,
                            progress=False)[0]


def answers_for(model, processor, samples: Iterable[Sample], *, mask_image: bool = False, **kw) -> list[str]:
    """Greedy answers for samples that carry an `image` (see `rmlite.data.store.load_split`)."""
    rows = list(samples)
    images = [blank_like(r["image"]) if mask_image else r["image"] for r in rows]
    return generate_answers(model, processor, [r["question"] for r in rows], images, **kw)
