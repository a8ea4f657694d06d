"""Reward entry points for the engines users move to when they outgrow one GPU: verl and EasyR1.

Both carry the sample as a JSON string in `ground_truth` (a dict is accepted too) and return the total with its
weighted components, so the engine logs them. Pick the preset with a keyword (`reward="official"`), which verl
passes from `custom_reward_function.reward_kwargs` and EasyR1 from `worker.reward.reward_function_kwargs`.
Both engines load this file by path: `python -m rmlite.reward.engines` prints the path of the installed copy and
the settings below with it filled in, wherever rmlite is installed.

verl (0.9.1):     reward.custom_reward_function.path=<this file>  reward.custom_reward_function.name=compute_score
EasyR1 (July 2026): worker.reward.reward_function=<this file>:compute_score   (EasyR1 reads REWARD_TYPE and
                  REWARD_NAME from the module itself; its old `worker.reward.reward_type` key no longer exists)

>>> import json; from rmlite.reward import PAPER
>>> md = json.dumps({"Line 1": ["A", "B"]})
>>> gt = json.dumps({"id": "x", "type": "torf1", "answer": "yes", "station1": "A", "station2": "B",
...                  "metro_data": md, "difficulty_city": "easy"})
>>> compute_score("rmlite", "\\\\boxed{yes}", gt)["score"]
11.0
>>> compute_score([{"response": "\\\\boxed{no}", "response_length": 3, "ground_truth": gt}])[0]["overall"]
1.0
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmlite.reward.config import RewardBreakdown, get_config
from rmlite.reward.score import score

# What EasyR1's reward manager reads from a reward module: "batch" means one call with a list of inputs.
REWARD_TYPE = "batch"
REWARD_NAME = "rmlite"


def _sample(ground_truth: Any) -> Mapping[str, Any]:
    if isinstance(ground_truth, Mapping):
        return ground_truth
    try:
        sample = json.loads(ground_truth)
    except (TypeError, ValueError) as e:
        raise ValueError(f"ground_truth must be a sample as a JSON object string, got {str(ground_truth)[:80]!r} "
                         f"({e})") from None
    if not isinstance(sample, dict):
        raise ValueError(f"ground_truth must decode to a JSON object, got {type(sample).__name__}")
    return sample


def _numbers(b: RewardBreakdown) -> dict[str, float]:
    c = b.components()
    return {"format": c["format"], "correctness": c["correctness"], "detail": c["detail"], "weight": b.weight,
            "acc": float(b.correct), "parsed": float(b.error is None)}


def verl_compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Any = None,
                       reward: str = "paper", **kwargs: Any) -> dict[str, float]:
    """verl's `compute_score(data_source, solution_str, ground_truth, extra_info)` → `{"score": …, components…}`."""
    b = score(solution_str, _sample(ground_truth), get_config(reward))
    return {"score": b.total, **_numbers(b)}


def easyr1_compute_score(reward_inputs: list[dict[str, Any]], reward: str = "paper",
                         **kwargs: Any) -> list[dict[str, float]]:
    """EasyR1's batch `compute_score(reward_inputs)`: each input has `response` and `ground_truth`."""
    if not isinstance(reward_inputs, list):
        raise ValueError(f"EasyR1 calls this module as REWARD_TYPE={REWARD_TYPE!r}: compute_score takes a list of "
                         f"inputs, got {type(reward_inputs).__name__}")
    cfg = get_config(reward)
    out = []
    for item in reward_inputs:
        b = score(item["response"], _sample(item["ground_truth"]), cfg)
        out.append({"overall": b.total, **_numbers(b)})
    return out


def compute_score(data_source: Any = None, solution_str: str | None = None, ground_truth: Any = None,
                  extra_info: Any = None, **kwargs: Any) -> Any:
    """One entry point for both engines: a list first argument is an EasyR1 batch, anything else a verl call."""
    if isinstance(data_source, list) and solution_str is None:
        return easyr1_compute_score(data_source, **kwargs)
    return verl_compute_score(data_source, solution_str, ground_truth, extra_info, **kwargs)


def engine_settings() -> str:
    """The verl and EasyR1 settings that load this installed file, with its absolute path filled in."""
    path = Path(__file__).resolve()
    return (f"verl:   reward.custom_reward_function.path={path} reward.custom_reward_function.name=compute_score\n"
            f"EasyR1: worker.reward.reward_function={path}:compute_score")


if __name__ == "__main__":
    print(engine_settings())
