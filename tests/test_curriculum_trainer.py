"""The curriculum's TRL adapter on a real GRPOTrainer (CPU, a tiny text model built here, nothing downloaded).

Reward functions record which sample types they see at each `trainer_state.global_step`, so the tests check
what was really generated at each step: scheduled stage boundaries, the adaptive switch under a scripted reward
(exact despite the dataloader's prefetch), and the stage state across save/resume.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from datasets import Dataset  # noqa: E402
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

from rmlite.curriculum import get_curriculum  # noqa: E402
from rmlite.schema import QUESTION_TYPES, STATE_FILE  # noqa: E402
from rmlite.train.curriculum_trainer import METRIC, CurriculumCallback, CurriculumGRPOTrainer, schedule_dataset  # noqa: E402

WORDS = ["q", "yes", "no", "a", "b", "c", "d", *QUESTION_TYPES, *map(str, range(10))]


@pytest.fixture(scope="module")
def tokenizer() -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    rng = random.Random(0)
    tok.train_from_iterator([" ".join(rng.choices(WORDS, k=8)) for _ in range(500)], trainers.BpeTrainer(
        vocab_size=128, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>")


def tiny_model(tok: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=64,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id)
    return LlamaForCausalLM(cfg)


def make_dataset(per_type: dict[str, int]) -> Dataset:
    rows = [{"prompt": f"q {t} {i}", "type": t, "difficulty_question": "easy", "difficulty_city": "easy"}
            for t, n in per_type.items() for i in range(n)]
    random.Random(1).shuffle(rows)  # the curriculum, not the file order, must produce the stages
    return Dataset.from_list(rows)


class Recorder:
    """A reward that records (global_step → prompts/types) and returns a scripted correctness per step."""

    def __init__(self, correct=lambda step: 0.0):
        self.types: dict[int, list[str]] = defaultdict(list)
        self.prompts: dict[int, list[str]] = defaultdict(list)
        self.correct = correct
        self.__name__ = "accuracy_reward"

    def __call__(self, completions, type, trainer_state, prompts=None, **kwargs):  # noqa: A002 (TRL column name)
        step = trainer_state.global_step
        self.types[step] += list(type)
        self.prompts[step] += list(prompts)
        return [self.correct(step)] * len(completions)


def config(tmp_path, **kw) -> GRPOConfig:
    base = dict(output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", per_device_train_batch_size=4,
                num_generations=2, max_completion_length=3, logging_steps=1, save_strategy="no", learning_rate=1e-3,
                shuffle_dataset=False, seed=0, disable_tqdm=True, gradient_checkpointing=False)
    return GRPOConfig(**{**base, **kw})


GEOMETRIES = [  # (per-device batch, grad accum, num_iterations) → (prompts per generation batch, steps per batch)
    pytest.param(dict(per_device_train_batch_size=4), id="defaults"),  # (2, 1)
    pytest.param(dict(per_device_train_batch_size=2, gradient_accumulation_steps=2, num_iterations=2), id="ga2-it2"),
]


SCHEDULE_DATA = {"torf1": 3, "torf2": 2, "counting2": 3, "counting1": 4, "planning": 3}


@pytest.mark.parametrize("via", ["callback", "trainer"])
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_schedule_first_batch_after_each_boundary_is_new_stage(tmp_path, tokenizer, geom, via):
    cur = get_curriculum("paper")
    ds, spans = schedule_dataset(make_dataset(SCHEDULE_DATA), cur, config(tmp_path, **geom))
    assert [s.num_batches for s in spans] == [2, 1, 2, 1]  # truncated to whole batches of 2 prompts
    steps = spans[-1].stop_step
    rec = Recorder()
    args = config(tmp_path, max_steps=steps, **geom)
    if via == "callback":  # plain GRPOTrainer on the pre-ordered data, as the paper does
        cb = CurriculumCallback(cur, spans=spans)
        trainer = GRPOTrainer(model=tiny_model(tokenizer), reward_funcs=rec, args=args, train_dataset=ds,
                              processing_class=tokenizer, callbacks=[cb])
    else:  # the subclass orders the raw data itself, identically
        trainer = CurriculumGRPOTrainer(tiny_model(tokenizer), rec, args, make_dataset(SCHEDULE_DATA),
                                        curriculum=cur, processing_class=tokenizer)
        cb = trainer.curriculum_callback
        assert cb.spans == spans
    trainer.train()
    seen = {s: set(ts) for s, ts in rec.types.items()}
    spb = spans[0].stop_step // spans[0].num_batches
    assert sorted(seen) == list(range(0, steps, spb))  # one generation per batch, at these global steps
    for span in spans:
        want = set(cur.stages[span.index].types)
        for step in range(span.start_step, span.stop_step, spb):
            assert seen[step] <= want, (span.name, step, seen[step])
    logged = {h["step"]: h[METRIC] for h in trainer.state.log_history if METRIC in h}
    assert logged == {s: cb.stage_at(s - 1) for s in range(1, steps + 1)}
    assert logged[spans[1].start_step + 1] == 1 and logged[spans[1].start_step] == 0
    if via == "trainer":
        _check_stage_starts(trainer, logged)


def adaptive_trainer(tmp_path, tok, rec, max_steps, **kw) -> CurriculumGRPOTrainer:
    cur = get_curriculum("paper", mode="adaptive", window=4, threshold=1.0, min_steps=2)
    ds = make_dataset({"torf1": 4, "torf2": 4, "counting2": 4, "counting3": 2, "counting1": 6, "planning": 6})
    return CurriculumGRPOTrainer(tiny_model(tok), [rec], config(tmp_path, max_steps=max_steps, **kw), ds,
                                 curriculum=cur, processing_class=tok)


def scripted(step: int) -> float:
    return 1.0 if step >= 3 else 0.0  # the model "masters" every stage from step 3 on


# With 4 rollouts per step (2 prompts × 2 generations) and window 4, threshold 1.0, min_steps 2:
# stage 0 fills its window with 1s at step 3 → switch; stage 1 starts at step 4 and may leave at 4 + 2 = 6; ...
EXPECTED_STAGE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]


@pytest.mark.parametrize("geom", [pytest.param({}, id="defaults"),
                                  pytest.param(dict(per_device_train_batch_size=2, gradient_accumulation_steps=2),
                                               id="ga2")])
def test_adaptive_switch_is_exact_despite_prefetch(tmp_path, tokenizer, geom):
    rec = Recorder(scripted)
    trainer = adaptive_trainer(tmp_path, tokenizer, rec, max_steps=12, **geom)
    trainer.train()
    cur = trainer.curriculum
    assert [(t.step, t.from_stage, t.to_stage, t.reason) for t in trainer.curriculum_callback.transitions] == [
        (3, 0, 1, "threshold"), (6, 1, 2, "threshold"), (9, 2, 3, "threshold")]
    for step, stage in enumerate(EXPECTED_STAGE):
        assert set(rec.types[step]) <= set(cur.stages[stage].types), (step, stage, rec.types[step])
    # Each switch beat the prefetch: the dataloader had already drawn the next chunk from the old stage.
    assert trainer.curriculum_redraws == 3
    logged = {h["step"]: h[METRIC] for h in trainer.state.log_history if METRIC in h}
    assert [logged[s + 1] for s in range(12)] == EXPECTED_STAGE
    _check_stage_starts(trainer, logged)


def _check_stage_starts(trainer, logged: dict[int, int]) -> None:
    """The first logged step of each new stage (what the console prints and the curves mark) equals the step where
    the logged `curriculum/stage` changes, and each transition's step (its deciding global_step) plus one generation
    batch plus one (logged steps are 1-based) lands there."""
    first: dict[int, int] = {}
    for step in sorted(logged):
        first.setdefault(logged[step], step)
    starts = trainer.curriculum_callback.stage_starts()
    assert starts == [(first[k], k) for k in sorted(first) if k > 0]
    per_batch = trainer.curriculum_steps_per_batch
    assert [t.step + per_batch + 1 for t in trainer.curriculum_callback.transitions] == [step for step, _ in starts]


@pytest.mark.slow
def test_adaptive_state_survives_save_and_resume(tmp_path, tokenizer):
    full = Recorder(scripted)
    adaptive_trainer(tmp_path / "full", tokenizer, full, max_steps=10).train()

    first = Recorder(scripted)
    t1 = adaptive_trainer(tmp_path / "run", tokenizer, first, max_steps=5, save_strategy="steps", save_steps=5)
    t1.train()
    ckpt = tmp_path / "run" / "checkpoint-5"
    state = json.loads((ckpt / STATE_FILE).read_text())
    assert state["switcher"]["current_stage"] == 1 and state["global_step"] == 5
    assert state["switcher"]["transitions"][0]["step"] == 3

    second = Recorder(scripted)
    t2 = adaptive_trainer(tmp_path / "run", tokenizer, second, max_steps=10)
    t2.train(resume_from_checkpoint=str(ckpt))
    assert min(second.prompts) == 5
    assert {s: sorted(p) for s, p in second.prompts.items()} == {s: sorted(full.prompts[s]) for s in range(5, 10)}
    assert [t.step for t in t2.curriculum_callback.transitions] == [3, 6, 9]


@pytest.mark.slow
def test_schedule_resume_continues_the_pass(tmp_path, tokenizer):
    cur = get_curriculum("paper")
    full = Recorder()
    CurriculumGRPOTrainer(tiny_model(tokenizer), full, config(tmp_path / "full", max_steps=6),
                          make_dataset(SCHEDULE_DATA), curriculum=cur, processing_class=tokenizer).train()
    CurriculumGRPOTrainer(tiny_model(tokenizer), Recorder(), config(tmp_path / "run", max_steps=3, save_steps=3,
                                                                     save_strategy="steps"),
                          make_dataset(SCHEDULE_DATA), curriculum=cur, processing_class=tokenizer).train()
    resumed = Recorder()
    t2 = CurriculumGRPOTrainer(tiny_model(tokenizer), resumed, config(tmp_path / "run", max_steps=6),
                               make_dataset(SCHEDULE_DATA), curriculum=cur, processing_class=tokenizer)
    t2.train(resume_from_checkpoint=True)  # the last checkpoint: checkpoint-3
    assert dict(resumed.prompts) == {s: full.prompts[s] for s in range(3, 6)}
    # Another data set (so other spans) must not silently resume the pass at the wrong place.
    other = CurriculumGRPOTrainer(tiny_model(tokenizer), Recorder(), config(tmp_path / "run", max_steps=6),
                                  make_dataset({**SCHEDULE_DATA, "planning": 9}), curriculum=cur,
                                  processing_class=tokenizer)
    with pytest.raises(ValueError, match="spans differ"):
        other.train(resume_from_checkpoint=True)


def test_resume_with_other_curriculum_is_refused(tmp_path, tokenizer):
    t1 = adaptive_trainer(tmp_path, tokenizer, Recorder(), max_steps=2, save_strategy="steps", save_steps=2)
    t1.train()
    cb = CurriculumCallback(get_curriculum("coarse", mode="adaptive"), sampler=t1.curriculum_callback.sampler)
    with pytest.raises(ValueError, match="stages"):
        cb.load(os.path.join(tmp_path, "checkpoint-2"))


def test_trainer_refuses_bad_setups(tmp_path, tokenizer):
    with pytest.raises(ValueError, match="shuffle_dataset=False"):
        CurriculumGRPOTrainer(tiny_model(tokenizer), [Recorder()], config(tmp_path, shuffle_dataset=True),
                              make_dataset({"torf1": 4, "planning": 4}), curriculum=get_curriculum("coarse"),
                              processing_class=tokenizer)
    with pytest.raises(ValueError, match="no samples for stage"):
        CurriculumGRPOTrainer(tiny_model(tokenizer), [Recorder()], config(tmp_path),
                              make_dataset({"torf1": 4}), curriculum=get_curriculum("coarse", mode="adaptive"),
                              processing_class=tokenizer)
    with pytest.raises(ValueError, match="save_steps"):
        adaptive_trainer(tmp_path, tokenizer, Recorder(), max_steps=4, num_iterations=2, save_strategy="steps",
                         save_steps=3)
