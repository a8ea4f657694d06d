"""RewardMap's difficulty-aware dense reward, the released variant, and a sparse baseline, as one configurable scorer.

    R = W · (R_format + R_correctness + α · R_detail),    W = W_map + W_question   (RewardMap Sec. 4.2, App. B)

`score(completion, sample, config)` returns a `RewardBreakdown`; `trl_reward_funcs(config)` gives TRL one logged
function per component. Three presets: `PAPER` (the paper's formula, off-by-one fixed, detail clipped to [0, 10]),
`OFFICIAL` (the released `reason_map.py` point for point, parser included) and `SPARSE` (format + correctness,
weight 1). Left out: the released, disabled Counting1 stop-list reward. Parsing lives in `rmlite.parse`.

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

import importlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from rmlite import parse
from rmlite.names import normalize_line, normalize_station, official_clean_string
from rmlite.schema import DIFFICULTIES, TEMPLATES, metro_data_of, validate_sample

LEVEL = {d: i for i, d in enumerate(DIFFICULTIES)}


# ----- configuration -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RewardConfig:
    """Every number and rule the scorer uses. Frozen, hashable, validated on creation.

    Weight. `W = gamma[map difficulty] + W_question`, where W_question = `beta[0]` for a planning question whose
    reference route has no transfer, `beta[1]` when it has one or more, and 0 for the perception types.
    Note: W is the same for every rollout of a question, so under GRPO's default per-group standard-deviation
    scaling (TRL `scale_rewards="group"`, also the released verl setting) it cancels out of the advantage
    exactly; it only matters with batch-level (`scale_rewards="batch"`) or no scaling (`"none"`).

    Detail (planning only; case → credit):

    | case | paper | official (released) |
    |---|---|---|
    | first departure / last arrival right | +2 if either (`endpoint_rule="either"`) | +2 only if both |
    | per-section credit given | always | only when both endpoints are right |
    | section i (0-based) has used too many transfers | −5 if i > q | −5 if i + 1 > q (off-by-one) |
    | direct question (q = 0), section on a line serving both stops | +4, first section only | +4 each |
    | transfer question, section on any line of the map | 0 | +3 |
    | transfer consistent (arrival = next departure, both stops on the line) | +1 | +1 while i + 1 ≤ q |
    | clip | [0, 10] | (−∞, 10] |
    """

    name: str = "custom"
    parser: str = "lenient"  # "lenient" (rmlite.parse) or "official" (the released parser and clean_string)
    format_points: float = 1.0  # strict format; the released code has no format term (0)
    correct_points: float = 10.0  # as the released code (the paper's text says 1)
    alpha: float = 0.5  # weight of the detail term
    gamma: tuple[float, float, float] = (1.0, 1.2, 1.5)  # W_map for easy / middle / hard maps
    beta: tuple[float, float] = (0.0, 0.5)  # W_question for 0 / ≥1 transfers (planning only)
    detail: bool = True  # False: no detail term (sparse baseline)
    endpoint_points: float = 2.0
    endpoint_rule: str = "either"  # "either" (paper) or "both" (released)
    section_credit_needs_endpoints: bool = False  # released: per-section credit only inside the endpoint branch
    transfer_penalty: float = 5.0
    penalty_off_by_one: bool = False  # released: penalise when i + 1 > q, so every correct route pays once
    direct_line_points: float = 4.0
    direct_line_first_section_only: bool = True
    line_points: float = 0.0  # released: +3 per section on a line of the map when q > 0
    transfer_points: float = 1.0
    transfer_points_within_budget: bool = False  # released: +1 only while i + 1 ≤ q
    detail_min: float | None = 0.0  # None: no floor
    detail_max: float | None = 10.0
    max_answer_chars: int = parse.WINDOW  # lenient parsing reads this tail of the answer; longer is never strict
    max_completion_chars: int = 65536  # the official parser reads this tail (released: all; differs only beyond)
    max_sections: int = 256  # more sections than this is scored as unparseable (bounded time)
    max_name_chars: int = 256  # a longer station / line "name" matches nothing (bounded time)

    def __post_init__(self) -> None:
        def check(ok: bool, msg: str) -> None:
            if not ok:
                raise ValueError(f"RewardConfig {self.name!r}: {msg}")

        check(self.parser in ("lenient", "official"), f"parser must be 'lenient' or 'official', got {self.parser!r}")
        check(self.endpoint_rule in ("either", "both"), f"endpoint_rule must be 'either' or 'both', got "
                                                        f"{self.endpoint_rule!r}")
        check(len(self.gamma) == 3 and all(_finite(g) and g > 0 for g in self.gamma),
              f"gamma needs three positive weights (easy, middle, hard), got {self.gamma!r}")
        check(len(self.beta) == 2 and all(_finite(b) and b >= 0 for b in self.beta),
              f"beta needs two non-negative weights (0, >=1 transfers), got {self.beta!r}")
        for f in ("format_points", "correct_points", "alpha", "endpoint_points", "transfer_penalty",
                  "direct_line_points", "line_points", "transfer_points"):
            check(_finite(getattr(self, f)) and getattr(self, f) >= 0, f"{f} must be finite and >= 0")
        check(self.correct_points > 0, "correct_points must be > 0")
        lo, hi = self.detail_min, self.detail_max
        check(lo is None or _finite(lo), "detail_min must be finite or None")
        check(hi is None or _finite(hi), "detail_max must be finite or None")
        check(lo is None or hi is None or lo <= hi, f"detail_min {lo} > detail_max {hi}")
        for f in ("max_answer_chars", "max_completion_chars", "max_sections", "max_name_chars"):
            check(isinstance(getattr(self, f), int) and getattr(self, f) > 0, f"{f} must be a positive int")
        object.__setattr__(self, "gamma", tuple(float(g) for g in self.gamma))
        object.__setattr__(self, "beta", tuple(float(b) for b in self.beta))

    def weight(self, difficulty_city: str, qtype: str, transfers: int) -> float:
        """W for one sample.

        >>> PAPER.weight("middle", "planning", 1), PAPER.weight("hard", "torf1", 0)
        (1.7, 1.5)
        """
        w = self.gamma[LEVEL[difficulty_city]]
        if qtype == "planning":
            w += self.beta[1] if transfers > 0 else self.beta[0]
        return w


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


PAPER = RewardConfig(name="paper")
OFFICIAL = RewardConfig(
    name="official", parser="official", format_points=0.0, endpoint_rule="both", section_credit_needs_endpoints=True,
    penalty_off_by_one=True, direct_line_first_section_only=False, line_points=3.0,
    transfer_points_within_budget=True, detail_min=None,
)
SPARSE = RewardConfig(name="sparse", detail=False, gamma=(1.0, 1.0, 1.0), beta=(0.0, 0.0))
PRESETS: dict[str, RewardConfig] = {c.name: c for c in (PAPER, OFFICIAL, SPARSE)}


def get_config(config: RewardConfig | str = "paper", **overrides: Any) -> RewardConfig:
    """A preset by name (or a config), with keyword overrides: `get_config("paper", alpha=1.0)`."""
    if isinstance(config, str):
        if config not in PRESETS:
            raise ValueError(f"unknown reward preset {config!r}; expected one of {sorted(PRESETS)}")
        config = PRESETS[config]
    if not isinstance(config, RewardConfig):
        raise TypeError(f"expected a RewardConfig or preset name, got {type(config).__name__}")
    return replace(config, **overrides) if overrides else config


# ----- the result --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RewardBreakdown:
    """One scored completion. `format`, `correctness` and `detail` are unweighted points;
    `total = weight · (format + correctness + alpha · detail)`, and `components()` gives the weighted terms."""

    total: float
    format: float
    correctness: float
    detail: float
    weight: float
    alpha: float
    correct: bool
    parsed: str | None
    reason: str
    error: str | None = None

    def components(self) -> dict[str, float]:
        """The weighted terms (what TRL logs); they sum to `total`."""
        return {"format": self.weight * self.format, "correctness": self.weight * self.correctness,
                "detail": self.weight * self.alpha * self.detail}


def _breakdown(cfg: RewardConfig, w: float, fmt: bool, correct: bool, detail: float, parsed: str | None,
               reason: str, error: str | None = None) -> RewardBreakdown:
    f = cfg.format_points if fmt else 0.0
    c = cfg.correct_points if correct else 0.0
    total = w * f + w * c + w * cfg.alpha * detail
    return RewardBreakdown(total, f, c, detail, w, cfg.alpha, correct, parsed, reason, error)


# ----- per-sample indexes (built once, cached) ----------------------------------------------------------------------
class _MapIndex:
    """Everything about one metro map that scoring needs, keyed by normalised names."""

    __slots__ = ("lines", "exact", "norm", "off_lines")

    def __init__(self, metro: dict[str, list[str]]):
        self.lines = {ln: frozenset(normalize_station(s) for s in st) for ln, st in metro.items()}
        self.off_lines = {ln: frozenset(official_clean_string(s) for s in st) for ln, st in metro.items()}
        self.exact = {ln: ln for ln in metro}
        keys: dict[str, set[str]] = {}
        for ln in metro:
            words = normalize_line(ln)
            for k in {words, *_line_suffixes(ln)}:
                keys.setdefault(k, set()).add(ln)
        # A loose key names a line only if the map has exactly one line with it ("where the map is unambiguous").
        self.norm = {k: next(iter(v)) for k, v in keys.items() if len(v) == 1 and k}


def _line_suffixes(name: str) -> list[str]:
    """'Metrorail Green Line' → ['green'] so "Green Line" resolves; the full key is added separately."""
    words = [w for w in name.split() if w.lower() not in ("line", "route")]
    return [normalize_station(" ".join(words[i:])) for i in range(1, len(words))]


class _Index:
    """One sample, resolved: type, key, weight inputs and (planning) stops and map index."""

    __slots__ = ("qtype", "answer", "level", "q", "template", "map", "s1", "s2", "direct", "off_s1", "off_s2",
                 "off_direct", "sid")

    def __init__(self, sample: Mapping[str, Any]):
        validate_sample(sample)
        self.sid = sample.get("id")
        self.qtype = sample["type"]
        self.answer = str(sample["answer"])
        self.level = sample["difficulty_city"]
        self.q = int(sample.get("question_transfer_count") or 0)
        self.template = sample.get("template") or "short"
        if self.qtype == "planning" and self.template not in TEMPLATES:
            raise ValueError(f"sample {self.sid}: template {self.template!r} not in {TEMPLATES}")
        md = sample["metro_data"]
        self.map = _map_index(md if isinstance(md, str) else json.dumps(md, ensure_ascii=False, sort_keys=True))
        if self.qtype == "planning":
            self.s1, self.s2 = normalize_station(sample["station1"]), normalize_station(sample["station2"])
            self.direct = frozenset(ln for ln, st in self.map.lines.items() if self.s1 in st and self.s2 in st)
            self.off_s1 = official_clean_string(sample["station1"])
            self.off_s2 = official_clean_string(sample["station2"])
            self.off_direct = frozenset(ln for ln, st in self.map.off_lines.items()
                                        if self.off_s1 in st and self.off_s2 in st)


@lru_cache(maxsize=256)
def _map_index(metro_json: str) -> _MapIndex:
    return _MapIndex(metro_data_of({"metro_data": metro_json}))


_KEY_FIELDS = ("id", "type", "answer", "station1", "station2", "line", "metro_data", "routes", "difficulty_city",
               "question_transfer_count", "template")
_INDEX_CACHE: dict[tuple, _Index] = {}
_INDEX_CACHE_SIZE = 16384


def _index(sample: Mapping[str, Any]) -> _Index:
    if not isinstance(sample, Mapping):
        raise ValueError(f"a sample must be a mapping, got {type(sample).__name__}")
    get = sample.get
    key = tuple([get(f) for f in _KEY_FIELDS])
    try:
        idx = _INDEX_CACHE.get(key)
    except TypeError:  # an unhashable field (metro_data as a dict): index it without caching
        return _Index(sample)
    if idx is None:
        idx = _Index(sample)
        if len(_INDEX_CACHE) >= _INDEX_CACHE_SIZE:
            _INDEX_CACHE.clear()
        _INDEX_CACHE[key] = idx
    return idx


def validate_samples(samples: Any) -> int:
    """Check (and index) every sample before training's first step; raises ValueError on the first bad one."""
    n = 0
    for s in samples:
        _index(s)
        n += 1
    return n


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


def _short(s: str, n: int = 40) -> str:
    return s if len(s) <= n else s[:n] + "…"


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


def _resolve_line(m: _MapIndex, name: str, cap: int) -> str | None:
    ln = m.exact.get(name)
    if ln is None and len(name) <= cap:
        ln = m.norm.get(_line_key(name))
    return ln


_line_key = lru_cache(maxsize=65536)(normalize_line)


def _station_key(name: str, cap: int) -> str | None:
    return normalize_station(name) if len(name) <= cap else None


def _section_text(s: parse.Section) -> str:
    return f"{_short(s.route_name, 24)}: {_short(s.departure, 32)} → {_short(s.arrival, 32)}"


def _route_text(sections: Any) -> str:
    return " | ".join(_section_text(s) for s in sections)


def _check_route(secs: list[tuple[str | None, str | None, str | None]], lines: Mapping[str, frozenset],
                 s1: str, s2: str) -> tuple[bool, str, int | None]:
    """ReasonMap's Algorithm 1 on resolved sections → (correct, reason, index of the offending section or None)."""
    if secs[0][1] != s1:
        return False, "wrong departure stop", None
    if secs[-1][2] != s2:
        return False, "wrong arrival stop", None
    last = len(secs) - 1
    for i, (line, dep, arr) in enumerate(secs):
        stations = lines.get(line) if line is not None else None
        if stations is None:
            return False, f"section {i + 1}: unknown line", i
        if dep not in stations or arr not in stations:
            return False, f"section {i + 1}: stop not on the line", i
        if i < last and arr != secs[i + 1][1]:
            return False, f"section {i + 1}: arrival is not the next departure", i
    return True, "correct route", None


def _detail(cfg: RewardConfig, secs: list[tuple[str | None, str | None, str | None]],
            lines: Mapping[str, frozenset], s1: str, s2: str, q: int, direct: frozenset) -> float:
    """R_detail on resolved sections `(line or None, departure key, arrival key)`; see the RewardConfig table."""
    dep_ok, arr_ok = secs[0][1] == s1, secs[-1][2] == s2
    ends = (dep_ok and arr_ok) if cfg.endpoint_rule == "both" else (dep_ok or arr_ok)
    total = cfg.endpoint_points if ends else 0.0
    if ends or not cfg.section_credit_needs_endpoints:
        shift = 1 if cfg.penalty_off_by_one else 0
        last = len(secs) - 1
        for i, (line, dep, arr) in enumerate(secs):
            if i + shift > q:
                total -= cfg.transfer_penalty
            stations = lines.get(line) if line is not None else None
            if stations is None:
                continue
            if q == 0:
                if line in direct and (i == 0 or not cfg.direct_line_first_section_only):
                    total += cfg.direct_line_points
            else:
                total += cfg.line_points
            if (i < last and arr == secs[i + 1][1] and dep in stations and arr in stations
                    and (not cfg.transfer_points_within_budget or i + 1 <= q)):
                total += cfg.transfer_points
    if cfg.detail_max is not None and total > cfg.detail_max:
        total = cfg.detail_max
    if cfg.detail_min is not None and total < cfg.detail_min:
        total = cfg.detail_min
    return total


# ----- the released behaviour ---------------------------------------------------------------------------------------
_RELEASED_LINE_HACKS = (("八通", "Line 1"), ("大兴", "Line 4"))  # Beijing special cases of the released code


def _perception_official(text: str, idx: _Index, cfg: RewardConfig, w: float) -> RewardBreakdown:
    ans = parse.official_extract(text[-cfg.max_completion_chars:])
    if idx.qtype in ("torf1", "torf2"):
        ok = ans.lower() == idx.answer
    elif idx.qtype == "counting1":
        ok = ans.lower() == idx.answer.lower() and len(ans) == 1
    else:
        try:
            ok = int(ans) == int(idx.answer)
        except ValueError:
            ok = False
    return _breakdown(cfg, w, False, ok, 0.0, ans, "correct" if ok else f"{_short(ans)!r} is wrong")


def _off_key(raw: str, cap: int) -> str:
    """The released code cleans departures and arrivals twice (once when parsed, once when compared)."""
    return _clean_twice(raw) if len(raw) <= cap else "\x00"


@lru_cache(maxsize=65536)
def _clean_twice(raw: str) -> str:
    return official_clean_string(official_clean_string(raw))


def _off_resolve(cfg: RewardConfig, secs: list[tuple[str, str, str]], lines: Mapping[str, frozenset]) -> list:
    out = []
    for name, dep, arr in secs:
        for needle, repl in _RELEASED_LINE_HACKS:
            if needle in name:
                name = repl
        out.append((name if name in lines else None, _off_key(dep, cfg.max_name_chars),
                    _off_key(arr, cfg.max_name_chars)))
    return out


def _planning_official(text: str, idx: _Index, cfg: RewardConfig, w: float) -> RewardBreakdown:
    text = text[-cfg.max_completion_chars:]
    strict = parse.official_sections(text, False, cfg.max_sections)
    loose = parse.official_sections(text, True, cfg.max_sections)
    if strict is None or loose is None:
        return _breakdown(cfg, w, False, False, 0.0, None, "too many sections", "too many sections")
    lines = idx.map.off_lines
    ok, why = False, "no route sections found"
    if strict:
        ok, why, _ = _check_route(_off_resolve(cfg, strict, lines), lines, idx.off_s1, idx.off_s2)
    detail = 0.0
    if loose and cfg.detail:
        detail = _detail(cfg, _off_resolve(cfg, loose, lines), lines, idx.off_s1, idx.off_s2, idx.q,
                         idx.off_direct)
    parsed = " | ".join(f"{_short(n, 24)}: {_short(d, 32)} → {_short(a, 32)}" for n, d, a in strict) or None
    return _breakdown(cfg, w, False, ok, detail, parsed, why, None if strict or loose else why)


# ----- user rewards and TRL -----------------------------------------------------------------------------------------
RewardFn = Callable[[str, Mapping[str, Any]], "RewardBreakdown | float"]


class PresetReward:
    """A config as a reward callable `(completion, sample) -> RewardBreakdown` (picklable)."""

    def __init__(self, config: RewardConfig):
        self.config = config
        self.__name__ = f"{config.name}_reward"

    def __call__(self, completion: str, sample: Mapping[str, Any]) -> RewardBreakdown:
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
_MEMO: dict[tuple, RewardBreakdown] = {}
_MEMO_SIZE = 8192
# Dataset columns the scorer reads; the rest (image, prompt, trainer_state, ...) are ignored.
_COLUMNS = _KEY_FIELDS + ("choices",)


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


def _memo_score(completion: Any, sample: Mapping[str, Any], cfg: RewardConfig) -> RewardBreakdown:
    text, idx = completion_text(completion), _index(sample)
    key = (text if isinstance(text, str) else repr(text), idx, cfg)
    hit = _MEMO.get(key)
    if hit is None:
        hit = _score(text, idx, cfg)
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = hit
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


__all__ = ["RewardConfig", "RewardBreakdown", "PAPER", "OFFICIAL", "SPARSE", "PRESETS", "get_config", "score",
           "validate_samples", "load_reward", "as_total", "trl_reward_funcs", "ComponentReward", "PresetReward",
           "UserReward", "completion_text"]
