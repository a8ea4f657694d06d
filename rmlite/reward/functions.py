"""Rewards as callables: a preset or a user's function as `(completion, sample) -> breakdown | float`, and one
TRL reward function per component.

`load_reward("paper" | RewardConfig | "pkg.module:function" | callable)` gives a reward callable;
`trl_reward_funcs(config)` gives TRL one function per component (`format`, `correctness`, `detail`), so TRL logs
`rewards/<name>/mean` for each; a completion is scored once per step however many components ask (a small memo).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

from rmlite.reward.config import PAPER, PRESETS, RewardBreakdown, RewardConfig
from rmlite.reward.index import SizedCache, index_sample
from rmlite.reward.score import score, score_indexed
from rmlite.schema import SCORED_FIELDS, Sample

# ----- user rewards and TRL -----------------------------------------------------------------------------------------
RewardFn = Callable[[str, Sample], "RewardBreakdown | float"]


class PresetReward:
    """A config as a reward callable `(completion, sample) -> RewardBreakdown` (picklable)."""

    def __init__(self, config: RewardConfig):
        self.config = config
        self.__name__ = f"{config.name}_reward"

    def __call__(self, completion: str, sample: Sample) -> RewardBreakdown:
        return score(completion, sample, self.config)

    def __repr__(self) -> str:
        return f"PresetReward({self.config.name!r})"


def load_reward(spec: str | RewardConfig | RewardFn = "paper") -> RewardFn:
    """A reward callable from a preset name, a config, a `"package.module:function"` path, or a callable.

    >>> load_reward("official")
    PresetReward('official')
    >>> load_reward("rmlite.reward:score").__name__
    'score'
    """
    if isinstance(spec, RewardConfig):
        return PresetReward(spec)
    if isinstance(spec, str):
        if spec in PRESETS:
            return PresetReward(PRESETS[spec])
        if ":" not in spec:
            raise ValueError(f"unknown reward {spec!r}: use a preset {sorted(PRESETS)} or 'package.module:function'")
        mod_name, _, attr = spec.partition(":")
        try:
            obj = importlib.import_module(mod_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as e:
            raise ValueError(f"cannot load reward {spec!r}: {e}") from None
        spec = obj
    if not callable(spec):
        raise ValueError(f"a reward must be callable as (completion, sample), got {type(spec).__name__}")
    return spec


def as_total(result: RewardBreakdown | float) -> float:
    """The scalar reward from what a reward function returned."""
    if isinstance(result, RewardBreakdown):
        return result.total
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    raise TypeError(f"a reward must return a RewardBreakdown or a number, got {type(result).__name__}")


COMPONENTS = ("format", "correctness", "detail")
# One step's completions, scored once for the three components; bounded by the bytes of the completions it holds.
MEMO_BYTES = 16 << 20
_MEMO = SizedCache(MEMO_BYTES)
_ENTRY_BYTES = 512  # a breakdown and the key's tuple, roughly
# Dataset columns the scorer reads (the scored fields, and the choices validation checks); the rest (image, prompt,
# trainer_state, ...) are ignored.
_COLUMNS = SCORED_FIELDS + ("choices",)


def completion_text(completion: Any) -> Any:
    """Plain text of a TRL completion: a string, or the last message's content in a conversation."""
    if isinstance(completion, list) and completion:
        content = completion[-1].get("content") if isinstance(completion[-1], Mapping) else None
        if isinstance(content, list):  # multimodal parts: [{"type": "text", "text": ...}]
            return "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
        return content
    return completion


def _rows(completions: list, columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    n = len(completions)
    cols = {k: v for k, v in columns.items() if k in _COLUMNS and isinstance(v, (list, tuple)) and len(v) == n}
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def _memo_score(completion: Any, sample: Sample, cfg: RewardConfig) -> RewardBreakdown:
    text, idx = completion_text(completion), index_sample(sample)
    key = (text if isinstance(text, str) else repr(text), idx, cfg)
    hit = _MEMO.get(key)
    if hit is None:
        hit = _MEMO.put(key, score_indexed(text, idx, cfg), sys.getsizeof(key[0]) + _ENTRY_BYTES)
    return hit


class ComponentReward:
    """One weighted component as a TRL reward function; the three of a config share one parse per completion."""

    def __init__(self, config: RewardConfig, component: str):
        if component not in COMPONENTS:
            raise ValueError(f"component must be one of {COMPONENTS}, got {component!r}")
        self.config, self.component = config, component
        self.__name__ = f"{component}_reward"

    def __call__(self, prompts: Any = None, completions: list | None = None, completion_ids: Any = None,
                 **columns: Any) -> list[float]:
        completions = list(completions or [])
        rows = _rows(completions, columns)
        return [_memo_score(c, r, self.config).components()[self.component]
                for c, r in zip(completions, rows, strict=True)]

    def __repr__(self) -> str:
        return f"ComponentReward({self.config.name!r}, {self.component!r})"


class UserReward:
    """A user's `(completion, sample)` reward as one TRL reward function returning its total."""

    def __init__(self, fn: RewardFn):
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "user_reward")

    def __call__(self, prompts: Any = None, completions: list | None = None, completion_ids: Any = None,
                 **columns: Any) -> list[float]:
        completions = list(completions or [])
        rows = _rows(completions, columns)
        return [as_total(self.fn(completion_text(c), r)) for c, r in zip(completions, rows, strict=True)]


def trl_reward_funcs(config: RewardConfig | str | RewardFn = PAPER) -> list[Callable[..., list[float]]]:
    """Reward functions for TRL's GRPOTrainer: `format_reward`, `correctness_reward`, `detail_reward`.

    Each is already multiplied by the sample's weight W, so their sum (with `reward_weights` left at 1) is the
    total, and TRL logs each as `rewards/<name>/mean`. They accept plain or conversational completions and read
    the sample's fields from the dataset columns. A user reward (a callable or `"package.module:function"`) gives
    one function that returns its total.

    >>> [f.__name__ for f in trl_reward_funcs("paper")]
    ['format_reward', 'correctness_reward', 'detail_reward']
    """
    if isinstance(config, str) and config in PRESETS:
        config = PRESETS[config]
    if isinstance(config, RewardConfig):
        return [ComponentReward(config, c) for c in COMPONENTS]
    fn = load_reward(config)
    return [ComponentReward(fn.config, c) for c in COMPONENTS] if isinstance(fn, PresetReward) else [UserReward(fn)]
