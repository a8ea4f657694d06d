"""rmlite.models.inference: the one path from (image, question) to an answer. Batched, left-padded generation must give
what each question gives alone (the independent path: no padding at all)."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers", reason="the `train` extra is not installed")

from rmlite.models.inference import generate_answers, stop_ids
from rmlite.models.load import load_model


@pytest.mark.regression
def test_batched_greedy_answers_equal_one_at_a_time(warm_model_dir, toy_data):
    """Regression: the tiny model's own batch path (no mm_token_type_ids) gave other answers for left-padded rows
    (11 of 32 differed), so its warm-start accuracy and reward-spread numbers were off."""
    model, processor = load_model(str(warm_model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    samples, images = toy_data
    rows = samples[:16]
    lengths = {len(processor.tokenizer(s["question"])["input_ids"]) for s in rows}
    assert len(lengths) > 3, "the batch must need padding for this test to mean anything"
    qs, ims = [s["question"] for s in rows], [images[s["map_id"]] for s in rows]
    batched = generate_answers(model, processor, qs, ims, max_new_tokens=24, batch_size=16, progress=False)
    alone = [generate_answers(model, processor, [q], [im], max_new_tokens=24, batch_size=1, progress=False)[0]
             for q, im in zip(qs, ims, strict=True)]
    assert batched == alone
    assert len(set(alone)) > 1, "a model that always says the same thing cannot show a padding bug"


def test_sampling_groups_and_modes(warm_model_dir, toy_data):
    model, processor = load_model(str(warm_model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    samples, images = toy_data
    model.train()
    outs = generate_answers(model, processor, [s["question"] for s in samples[:3]],
                            [images[s["map_id"]] for s in samples[:3]], max_new_tokens=8, do_sample=True,
                            num_return_sequences=4, progress=False)
    assert len(outs) == 12 and model.training, "groups of 4 per question; training mode restored"
    assert processor.tokenizer.padding_side == "left"  # what load_model set, restored after the call
    # near-zero temperature sampling is greedy: the 3 answers of each question come out together, in order
    qs, ims = [s["question"] for s in samples[:3]], [images[s["map_id"]] for s in samples[:3]]
    greedy = generate_answers(model, processor, qs, ims, max_new_tokens=8, progress=False)
    cold = generate_answers(model, processor, qs, ims, max_new_tokens=8, do_sample=True, temperature=1e-4,
                            num_return_sequences=3, progress=False)
    assert cold == [g for g in greedy for _ in range(3)]
    with pytest.raises(ValueError, match="2 questions but 1 images"):
        generate_answers(model, processor, ["a", "b"], [images[samples[0]["map_id"]]])
    with pytest.raises(ValueError, match="needs do_sample"):
        generate_answers(model, processor, qs, ims, num_return_sequences=2)


def test_stop_ids_add_the_end_of_turn_token():
    import types

    class Tok:
        eos_token_id, unk_token_id = 5, 0

        def convert_tokens_to_ids(self, token):
            return {"<|im_end|>": 9}.get(token, 0)

    model = types.SimpleNamespace(generation_config=types.SimpleNamespace(eos_token_id=[5, 6]))
    assert stop_ids(model, Tok()) == [5, 6, 9]
    model.generation_config.eos_token_id = None
    assert stop_ids(model, Tok()) == [5, 9]
    Tok.convert_tokens_to_ids = lambda self, t: 0  # no <|im_end|> in this vocabulary (unk)
    assert stop_ids(types.SimpleNamespace(), Tok()) == [5]
