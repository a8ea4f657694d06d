"""trl_reward_funcs: TRL GRPOTrainer's calling convention, conversational completions, pickling, one parse each."""

import pickle

import pytest
from fixtures.reward import perception_sample, planning_sample, reference

import rmlite.reward.functions as rw
from rmlite.reward.config import OFFICIAL, PAPER
from rmlite.reward.functions import trl_reward_funcs
from rmlite.reward.score import score

SAMPLES = [planning_sample("oslo", "Lillevann Station", "Åsjordet Station"), perception_sample("geneva", "torf1"),
           planning_sample("miami", "Palmetto Station", "Okeechobee Station", difficulty="easy")]


def batch(completions, samples):
    """Keyword arguments as TRL passes them: dataset columns as lists, one entry per completion, plus extras."""
    cols = {k: [s[k] for s in samples] for k in samples[0] if k != "prompt"}
    return {"prompts": [s["prompt"] for s in samples], "completions": completions,
            "completion_ids": [[1, 2, 3]] * len(samples), "trainer_state": object(), "log_extra": None,
            "log_metric": None, "images": [None] * len(samples), **cols}


def test_names_and_sum():
    funcs = trl_reward_funcs(PAPER)
    assert [f.__name__ for f in funcs] == ["format_reward", "correctness_reward", "detail_reward"]
    texts = [reference(s) for s in SAMPLES[:2]] + ["no idea"]
    parts = [f(**batch(texts, SAMPLES)) for f in funcs]
    totals = [score(t, s, PAPER).total for t, s in zip(texts, SAMPLES, strict=True)]
    assert [sum(p) for p in zip(*parts, strict=True)] == pytest.approx(totals)
    assert parts[0][0] == pytest.approx(1.7) and parts[1][0] == pytest.approx(17.0)  # already weighted


def test_conversational_completions():
    texts = [reference(s) for s in SAMPLES]
    conv = [[{"role": "assistant", "content": t}] for t in texts]
    parts = [{"role": "assistant", "content": [{"type": "text", "text": t}]} for t in texts]
    f = trl_reward_funcs("official")[1]
    assert f(**batch(conv, SAMPLES)) == f(**batch(texts, SAMPLES)) == f(**batch([[p] for p in parts], SAMPLES))
    assert trl_reward_funcs(OFFICIAL)[1](**batch([[{"role": "assistant", "content": None}]] * 3, SAMPLES)) == [0] * 3


def test_picklable_and_parsed_once(monkeypatch):
    funcs = pickle.loads(pickle.dumps(trl_reward_funcs(PAPER)))
    calls = []
    real = rw.score_indexed
    monkeypatch.setattr(rw, "score_indexed", lambda *a: calls.append(1) or real(*a))
    rw._MEMO.clear()
    texts = [f"{reference(s)}" for s in SAMPLES]
    for f in funcs:
        assert len(f(**batch(texts, SAMPLES))) == 3
    assert len(calls) == 3  # three components, one score per completion


def test_user_reward_is_one_function(tmp_path, monkeypatch):
    (tmp_path / "user_rw.py").write_text("def brevity_reward(completion, sample):\n    return -len(completion)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    (f,) = trl_reward_funcs("user_rw:brevity_reward")
    assert f.__name__ == "brevity_reward"
    assert f(**batch(["ab", [{"role": "assistant", "content": "abc"}], ""], SAMPLES)) == [-2.0, -3.0, 0.0]
    (g,) = trl_reward_funcs(lambda c, s: score(c, s, PAPER))
    assert g(**batch([reference(SAMPLES[1])], SAMPLES[1:2])) == [score(reference(SAMPLES[1]), SAMPLES[1]).total]


def test_malformed_sample_fails_loudly():
    bad = dict(SAMPLES[0], type="routing")
    with pytest.raises(ValueError, match="unknown type"):
        trl_reward_funcs()[0](**batch(["x"], [bad]))
