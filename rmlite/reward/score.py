"""RewardMap's difficulty-aware dense reward, the released variant, and a sparse baseline, as one configurable scorer.

    R = W · (R_format + R_correctness + α · R_detail),    W = W_map + W_question   (RewardMap Sec. 4.2, App. B)

`score(completion, sample, config)` returns a `RewardBreakdown`; `trl_reward_funcs(config)` gives TRL one logged
function per component. Four presets: `PAPER` (the paper's formula, off-by-one fixed, detail clipped to [0, 10]),
`OFFICIAL` (the released `reason_map.py`, parser included), `SPARSE` (format + correctness, weight 1) and `ROBUST`
(the paper's shape with a detail term a policy cannot game, `rmlite.reward.robust`). Left out: the released,
disabled Counting1 stop-list reward. Parsing lives in `rmlite.reward.parse`.

>>> import json
>>> md = json.dumps({"Line 1": ["A", "B", "C"], "Line 2": ["D", "B", "E"]})
>>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
...      "station1": "A", "station2": "E", "question_transfer_count": 1, "template": "short",
...      "routes": json.dumps([[{"route_name": "Line 1", "departure_stop": "A", "arrival_stop": "B"},
...                             {"route_name": "Line 2", "departure_stop": "B", "arrival_stop": "E"}]])}
>>> good = "Route Name: Line 1\\nDeparture Stop: A\\nArrival Stop: B\\n--\\nRoute Name: Line 2\\n" \\
...        "Departure Stop: B\\nArrival Stop: E"
>>> b = score(good, s)
>>> (b.total, b.format, b.correctness, b.detail, b.weight)
(18.75, 1.0, 10.0, 3.0, 1.5)
>>> score("Take **line 1** to B, then line 2.", s).error
'no route sections found'
"""

from __future__ import annotations

from typing import Any

from rmlite.reward import parse
from rmlite.reward.checks import Route, route_text, shorten
from rmlite.reward.config import PAPER, RewardBreakdown, RewardConfig, get_config, make_breakdown
from rmlite.reward.index import SampleIndex, index_sample, resolve_sections
from rmlite.reward.official import score_official_perception, score_official_planning
from rmlite.schema import ANSWER_KINDS, Sample


# ----- scoring ------------------------------------------------------------------------------------------------------
def score(completion: str, sample: Sample, config: RewardConfig | str = PAPER) -> RewardBreakdown:
    """Score one completion for one sample. Never raises on model output; raises ValueError on a bad sample.

    Args:
        completion: the model's text (thinking included, if any); non-strings are scored as unparseable.
        sample: a row following `rmlite.schema`.
        config: a `RewardConfig` (`PAPER`, `OFFICIAL`, `SPARSE` or your own) or a preset name.

    Returns:
        A `RewardBreakdown`.
    """
    if not isinstance(config, RewardConfig):
        config = get_config(config)
    return score_indexed(completion, index_sample(sample), config)


def score_indexed(completion: Any, idx: SampleIndex, cfg: RewardConfig) -> RewardBreakdown:
    """`score` on an already indexed sample (what the TRL functions call, memoised per completion)."""
    w = cfg.weight(idx.level, idx.qtype, idx.q)
    if not isinstance(completion, str):
        return make_breakdown(cfg, w, reason="completion is not text", error="not a string")
    if idx.kind == "route":
        if cfg.parser == "official":
            return score_official_planning(completion, idx, cfg, w)
        return _planning(completion, idx, cfg, w)
    if cfg.parser == "official":
        return score_official_perception(completion, idx, cfg, w)
    return _perception(completion, idx, cfg, w)


class _Readers(dict):
    def __missing__(self, kind: str) -> Any:
        raise ValueError(f"answer kind {kind!r} has no reader: add one to rmlite.reward.score.READERS")


# How each perception answer kind is read leniently: reward-layer code, one entry per kind (everything else about a
# kind, what a reason calls it included, is its record in `rmlite.schema.ANSWER_KINDS`).
READERS = _Readers(letter=parse.parse_choice, integer=parse.parse_int, yes_no=parse.parse_yes_no)


def _perception(text: str, idx: SampleIndex, cfg: RewardConfig, w: float) -> RewardBreakdown:
    part = parse.strict_answer(text)
    token = parse.strict_boxed(part, idx.kind) if part is not None and len(part) <= cfg.max_answer_chars else None
    answer = token if token is not None else parse.extract_answer(text, cfg.max_answer_chars)
    value = READERS[idx.kind](answer)
    if value is None:
        word = ANSWER_KINDS[idx.kind].word
        why = "no answer found" if answer is None else f"cannot read {shorten(answer)!r} as a {word}"
        return make_breakdown(cfg, w, reason=why, fmt=token is not None, error=why)
    key = int(idx.answer) if ANSWER_KINDS[idx.kind].count else idx.answer
    ok = value == key
    return make_breakdown(cfg, w, reason="correct" if ok else f"{value} is wrong", fmt=token is not None, correct=ok,
                          parsed=str(value))


def _planning(text: str, idx: SampleIndex, cfg: RewardConfig, w: float) -> RewardBreakdown:
    part = parse.strict_answer(text)
    sections = None
    if part is not None and len(part) <= cfg.max_answer_chars:
        sections = parse.strict_route(part, idx.template, cfg.max_sections)
    fmt = sections is not None
    if sections is None:
        sections = parse.parse_route(text, cfg.max_answer_chars)
    if not sections:
        return make_breakdown(cfg, w, reason="no route sections found", error="no route sections found")
    if len(sections) > cfg.max_sections:
        return make_breakdown(cfg, w, reason="too many sections", error="too many sections")
    m = idx.map
    resolved = resolve_sections(m, sections, cfg.max_name_chars)
    ok, why, detail = cfg.rules.judge(cfg, idx, Route(resolved, sections, m.lines, idx.s1, idx.s2, idx.direct))
    return make_breakdown(cfg, w, reason=why, fmt=fmt, correct=ok, detail=detail, parsed=route_text(sections))
