"""A sample's map and question, indexed once for scoring: normalised line and station keys, cached by sample.

Every completion in a GRPO group is scored against the same sample, so the metro data is parsed and normalised
once (`_index`, LRU-cached by the sample's key fields) rather than per completion. `validate_samples` indexes a
whole data set before training's first step, so a malformed sample fails there and not at step 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from rmlite.names import normalize_line, normalize_station, official_clean_string
from rmlite.schema import TEMPLATES, metro_data_of, validate_sample


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


def _resolve_line(m: _MapIndex, name: str, cap: int) -> str | None:
    ln = m.exact.get(name)
    if ln is None and len(name) <= cap:
        ln = m.norm.get(_line_key(name))
    return ln


_line_key = lru_cache(maxsize=65536)(normalize_line)


def _station_key(name: str, cap: int) -> str | None:
    return normalize_station(name) if len(name) <= cap else None
