"""Scoring: RewardMap's dense reward and ReasonMap's evaluation metrics (no torch, transformers, trl or datasets).

Rooms, bottom up: `forms` (the accepted forms of via counts, via lists and echoed prompts, shared by every reader),
`parse` (reading model output), `official_parse` (the released parser), `index` (a sample's map, indexed once),
`checks` (route checks and the detail term), `robust` (the robust preset's route rules), `rules` (each preset's
rule set as an object), `config` (RewardConfig, the presets, RewardBreakdown), `official` (the released reward's
path), `score` (`score(completion, sample, config)`), `functions` (reward callables: presets, users' rewards, one
TRL function per component), `engines` (verl / EasyR1 `compute_score`), `metrics` (ReasonMap's evaluation), `compat`
(where that evaluation departs from the release: one switch each).
"""

from rmlite.reward.config import OFFICIAL, PAPER, PRESETS, ROBUST, SPARSE, RewardBreakdown, RewardConfig, get_config
from rmlite.reward.functions import as_total, load_reward, trl_reward_funcs
from rmlite.reward.rules import PaperRules, ReleasedRules, RobustRules, SparseRules
from rmlite.reward.score import score

__all__ = ["OFFICIAL", "PAPER", "PRESETS", "ROBUST", "SPARSE", "RewardBreakdown", "RewardConfig", "PaperRules",
           "ReleasedRules", "RobustRules", "SparseRules", "get_config", "as_total", "load_reward", "trl_reward_funcs",
           "score"]
