"""The share of GRPO groups with reward spread, measured by sampling a model: the sparse-reward symptom in one number.

`1 - share` is what TRL logs as `frac_reward_zero_std`: groups whose completions all get the same reward give GRPO
no gradient. Sampling goes through `rmlite.generation` (GRPO's way: plain temperature, no top-k / top-p).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rmlite.reward import as_total, load_reward
from rmlite.warmstart import _Encoder, _image_of


def _as_float(value) -> float:
    """A reward's scalar: `rmlite.reward.as_total` (a breakdown or a number), or an EasyR1-style score dict."""
    if isinstance(value, Mapping):
        for key in ("overall", "total", "reward", "score"):
            if key in value:
                return float(value[key])
        raise ValueError(f"reward returned a dict without an overall/total/reward/score key: {sorted(value)}")
    return as_total(value)


def reward_spread_share(model, processor, samples: Sequence[Mapping], images=None,
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

    from rmlite.generation import generate_answers

    fn = load_reward("paper" if reward is None else reward)
    rng = random.Random(seed)
    idx = list(range(len(samples)))
    rng.shuffle(idx)
    idx = idx[:n_prompts]
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
