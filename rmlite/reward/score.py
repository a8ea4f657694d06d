"""RewardMap's difficulty-aware dense reward, the released variant, and a sparse baseline, as one configurable scorer.

    R = W · (R_format + R_correctness + α · R_detail),    W = W_map + W_question   (RewardMap Sec. 4.2, App. B)

`score(completion, sample, config)` returns a `RewardBreakdown`; `trl_reward_funcs(config)` gives TRL one logged
function per component. Three presets: `PAPER` (the paper's formula, off-by-one fixed, detail clipped to [0, 10]),
`OFFICIAL` (the released `reason_map.py` point for point, parser included) and `SPARSE` (format + correctness,
weight 1). Left out: the released, disabled Counting1 stop-list reward. Parsing lives in `rmlite.reward.parse`.

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

from collections.abc import Mapping
from typing import Any

from rmlite.reward import parse
from rmlite.reward.checks import _check_route, _detail, _route_text, _section_text, _short
from rmlite.reward.config import PAPER, RewardBreakdown, RewardConfig, _breakdown, get_config
from rmlite.reward.index import _Index, _index, _resolve_line, _station_key
from rmlite.reward.official import _perception_official, _planning_official


# ----- scoring ------------------------------------------------------------------------------------------------------
def score(completion: str, sample: Mapping[str, Any], config: RewardConfig | str = PAPER) -> RewardBreakdown:
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
    return _score(completion, _index(sample), config)


def _score(completion: Any, idx: _Index, cfg: RewardConfig) -> RewardBreakdown:
    w = cfg.weight(idx.level, idx.qtype, idx.q)
    if not isinstance(completion, str):
        return _breakdown(cfg, w, False, False, 0.0, None, "completion is not text", "not a string")
    if idx.qtype == "planning":
        if cfg.parser == "official":
            return _planning_official(completion, idx, cfg, w)
        return _planning(completion, idx, cfg, w)
    if cfg.parser == "official":
        return _perception_official(completion, idx, cfg, w)
    return _perception(completion, idx, cfg, w)


_PARSE_VALUE = {"counting1": parse.parse_choice, "counting2": parse.parse_int, "counting3": parse.parse_int,
                "torf1": parse.parse_yes_no, "torf2": parse.parse_yes_no}


def _perception(text: str, idx: _Index, cfg: RewardConfig, w: float) -> RewardBreakdown:
    part = parse.strict_answer(text)
    token = parse.strict_boxed(part, idx.qtype) if part is not None and len(part) <= cfg.max_answer_chars else None
    answer = token if token is not None else parse.extract_answer(text, cfg.max_answer_chars)
    value = _PARSE_VALUE[idx.qtype](answer)
    if value is None:
        why = "no answer found" if answer is None else f"cannot read {_short(answer)!r} as a {_KIND[idx.qtype]}"
        return _breakdown(cfg, w, token is not None, False, 0.0, None, why, why)
    key = int(idx.answer) if idx.qtype in ("counting2", "counting3") else idx.answer
    ok = value == key
    return _breakdown(cfg, w, token is not None, ok, 0.0, str(value), "correct" if ok else f"{value} is wrong")


_KIND = {"counting1": "letter A-D", "counting2": "number", "counting3": "number", "torf1": "yes/no",
         "torf2": "yes/no"}


def _planning(text: str, idx: _Index, cfg: RewardConfig, w: float) -> RewardBreakdown:
    part = parse.strict_answer(text)
    sections = None
    if part is not None and len(part) <= cfg.max_answer_chars:
        sections = parse.strict_route(part, idx.template, cfg.max_sections)
    fmt = sections is not None
    if sections is None:
        sections = parse.parse_route(text, cfg.max_answer_chars)
    if not sections:
        return _breakdown(cfg, w, False, False, 0.0, None, "no route sections found", "no route sections found")
    if len(sections) > cfg.max_sections:
        return _breakdown(cfg, w, False, False, 0.0, None, "too many sections", "too many sections")
    m, cap = idx.map, cfg.max_name_chars
    resolved = [(_resolve_line(m, s.route_name, cap), _station_key(s.departure, cap), _station_key(s.arrival, cap))
                for s in sections]
    ok, why, bad = _check_route(resolved, m.lines, idx.s1, idx.s2)
    if bad is not None:
        why += f" ({_section_text(sections[bad])})"
    detail = _detail(cfg, resolved, m.lines, idx.s1, idx.s2, idx.q, idx.direct) if cfg.detail else 0.0
    return _breakdown(cfg, w, fmt, ok, detail, _route_text(sections), why)
