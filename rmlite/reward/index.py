"""A sample's map and question, indexed once for scoring: normalised line and station keys, cached by sample.

Every completion in a GRPO group is scored against the same sample, so the metro data is parsed and normalised
once (`index_sample`, cached by the sample's `rmlite.schema.SCORED_FIELDS`) rather than per completion.
`index_samples` indexes a whole data set before training's first step, so a malformed sample fails there and not
at step 400. `resolve_sections` and `station_key` turn parsed names into the index's keys. The caches: `LRUCache`,
bounded by entries and keyed by value (the sample indexes, each sample's memo of scored routes), and `SizedCache`,
bounded by bytes, for values keyed by long model output.
"""

from __future__ import annotations

import json
import sys
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from functools import lru_cache
from operator import itemgetter
from typing import Any

from rmlite.maps.rides import between
from rmlite.names import normalize_line, normalize_station, rewardmap_clean
from rmlite.schema import (
    ANSWER_KINDS,
    CHOICE_LETTERS,
    SCORED_FIELDS,
    TEMPLATES,
    Sample,
    answer_kind,
    metro_data_of,
    validate_sample,
)


class LRUCache:
    """A cache keyed by value, bounded by its number of entries: when full, the least recently used entry goes
    (one at a time, so the hot entries stay; a cache that empties itself when full loses them all at once).

    >>> c = LRUCache(maxsize=2)
    >>> c.put("a", 1), c.put("b", 2), c.get("a"), c.put("c", 3), c.get("b"), len(c)
    (1, 2, 1, 3, None, 2)
    """

    __slots__ = ("data", "maxsize")

    def __init__(self, maxsize: int):
        if not (isinstance(maxsize, int) and maxsize > 0):
            raise ValueError(f"maxsize must be a positive int, got {maxsize!r}")
        self.data: OrderedDict = OrderedDict()
        self.maxsize = maxsize

    def get(self, key: Hashable) -> Any:
        """The value kept under `key` (now the most recently used), or None."""
        hit = self.data.get(key)
        if hit is not None:
            self.data.move_to_end(key)
        return hit

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep `value` (not None) under `key`, dropping the least recently used entry if full; return `value`."""
        data = self.data
        data[key] = value
        if len(data) > self.maxsize:
            data.popitem(last=False)
        return value

    def clear(self) -> None:
        self.data.clear()

    def __len__(self) -> int:
        return len(self.data)


class SizedCache:
    """A cache bounded by the bytes of what it holds, not by its number of entries: keys made from model output can
    be long (a note after the last stop is part of a released arrival), so a count of entries bounds nothing.
    When the next entry would pass `max_bytes`, the oldest entries are dropped until it fits (first in, first out:
    `get` stays one dict lookup on the scoring path); an entry larger than `max_bytes` is not kept.

    >>> c = SizedCache(max_bytes=200)
    >>> c.put("a", "x"), c.get("a"), c.put("b" * 500, "y"), c.get("b" * 500), c.nbytes <= 200
    ('x', 'x', 'y', None, True)
    >>> c = SizedCache(max_bytes=3)
    >>> [c.put(k, k, size=1) for k in "abcd"] and (c.get("a"), c.get("b"), c.get("d"), c.nbytes)
    (None, 'b', 'd', 3)
    """

    __slots__ = ("data", "sizes", "nbytes", "max_bytes")

    def __init__(self, max_bytes: int):
        self.data: dict = {}
        self.sizes: dict = {}
        self.nbytes = 0
        self.max_bytes = max_bytes

    def get(self, key: Hashable) -> Any:
        return self.data.get(key)

    def clear(self) -> None:
        self.data.clear()
        self.sizes.clear()
        self.nbytes = 0

    def put(self, key: Hashable, value: Any, size: int | None = None) -> Any:
        """Keep `value` under `key` (size: its bytes; default the sizes of key and value) and return it."""
        if size is None:
            size = sys.getsizeof(key) + sys.getsizeof(value)
        if size > self.max_bytes:
            return value
        if key in self.sizes:
            del self.data[key]
            self.nbytes -= self.sizes.pop(key)
        while self.nbytes + size > self.max_bytes:
            oldest = next(iter(self.data))
            del self.data[oldest]
            self.nbytes -= self.sizes.pop(oldest)
        self.data[key] = value
        self.sizes[key] = size
        self.nbytes += size
        return value


# ----- per-sample indexes (built once, cached) ----------------------------------------------------------------------
class MapIndex:
    """Everything about one metro map that scoring needs, keyed by normalised names."""

    __slots__ = ("lines", "exact", "norm", "off_lines", "order", "stations")

    def __init__(self, metro: dict[str, list[str]]):
        self.order = {ln: tuple(normalize_station(s) for s in st) for ln, st in metro.items()}
        self.lines = {ln: frozenset(st) for ln, st in self.order.items()}
        self.stations = frozenset().union(*self.lines.values())  # every station key of the map
        self.off_lines = {ln: frozenset(rewardmap_clean(s) for s in st) for ln, st in metro.items()}
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


MEMO_SIZE = 1024  # results a sample's memo keeps (every config's together)


class SampleIndex:
    """One sample, resolved: type and answer kind, key, weight inputs and (route kind) stops and map index."""

    __slots__ = ("qtype", "kind", "answer", "level", "q", "template", "map", "s1", "s2", "direct", "off_s1", "off_s2",
                 "off_direct", "sid", "best_stops", "refs", "memo", "choices")

    def __init__(self, sample: Sample):
        validate_sample(sample)
        self.memo = LRUCache(MEMO_SIZE)  # scorers' per-sample memo of pure results (rmlite.reward.robust)
        self.sid = sample.get("id")
        self.qtype = sample["type"]
        self.kind = answer_kind(self.qtype)
        self.choices = ANSWER_KINDS[self.kind].choices  # validated beside the key on every cache hit (`index_sample`)
        self.answer = str(sample["answer"])
        self.level = sample["difficulty_city"]
        self.q = int(sample.get("question_transfer_count") or 0)
        self.template = sample.get("template") or "short"
        if self.kind == "route" and self.template not in TEMPLATES:
            raise ValueError(f"sample {self.sid}: template {self.template!r} not in {TEMPLATES}")
        md = sample["metro_data"]
        self.map = _map_index(md if isinstance(md, str) else json.dumps(md, ensure_ascii=False, sort_keys=True))
        if self.kind == "route":
            self.s1, self.s2 = normalize_station(sample["station1"]), normalize_station(sample["station2"])
            self.direct = frozenset(ln for ln, st in self.map.lines.items() if self.s1 in st and self.s2 in st)
            self.off_s1 = rewardmap_clean(sample["station1"])
            self.off_s2 = rewardmap_clean(sample["station2"])
            self.off_direct = frozenset(ln for ln, st in self.map.off_lines.items()
                                        if self.off_s1 in st and self.off_s2 in st)
            self.refs = _reference_rides(sample.get("routes"))
            self.best_stops = _reference_stops(self.map, self.refs)


def _reference_rides(routes: Any) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """Each reference route as (first departure key, its lines, its arrival keys); () when there is none."""
    try:
        listed = json.loads(routes) if isinstance(routes, str) else routes
        return tuple((normalize_station(r[0]["departure_stop"]), tuple(s["route_name"] for s in r),
                      tuple(normalize_station(s["arrival_stop"]) for s in r)) for r in listed if r)
    except (TypeError, ValueError, KeyError, IndexError):
        return ()


def _reference_stops(m: MapIndex, refs: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]) -> int | None:
    """Stops ridden on the sample's first reference route (None when there is none or a ride is ambiguous)."""
    if not refs:
        return None
    start, lines, arrivals = refs[0]
    rides = [ride(m, ln, a, b) for ln, a, b in zip(lines, (start, *arrivals[:-1]), arrivals, strict=True)]
    return None if any(r is None for r in rides) else sum(len(r) + 1 for r in rides)


@lru_cache(maxsize=1 << 16)  # keys come from model output: bounded, the least recently used dropped
def ride(m: MapIndex, line: str | None, a: str | None, b: str | None) -> tuple[str, ...] | None:
    """The stops strictly between a and b riding `line` (the shorter way round a loop, written closed); None when
    the line is unknown, a stop is not on it, a = b, or a stop appears twice on an open line (ambiguous).

    >>> m = MapIndex({"L": ["A", "B", "C", "D"], "R": ["A", "B", "C", "D", "E", "A"]})
    >>> ride(m, "L", "d", "a"), ride(m, "R", "b", "e"), ride(m, "L", "a", "a")
    (('c', 'b'), ('a',), None)
    """
    st = m.order.get(line) if line is not None else None
    out = None if st is None or a == b or a not in m.lines[line] or b not in m.lines[line] else between(st, a, b)
    return out


@lru_cache(maxsize=256)
def _map_index(metro_json: str) -> MapIndex:
    return MapIndex(metro_data_of({"metro_data": metro_json}))


_scored = itemgetter(*SCORED_FIELDS)  # the cache key (faster than a loop of `get`: scoring calls this each time)
_INDEXES = LRUCache(16384)  # sample indexes by their scored fields (a data set's worth)


def index_sample(sample: Sample) -> SampleIndex:
    """The sample validated and indexed for scoring, cached by its scored fields (raises ValueError if malformed)."""
    if type(sample) is not dict and not isinstance(sample, Mapping):  # a dict first: the ABC check is slow
        raise ValueError(f"a sample must be a mapping, got {type(sample).__name__}")
    try:
        key = _scored(sample)
    except KeyError:  # an optional field left out: None, as `get` gives
        get = sample.get
        key = tuple([get(f) for f in SCORED_FIELDS])
    try:
        idx = _INDEXES.get(key)
    except TypeError:  # an unhashable field (metro_data as a dict): index it without caching
        return SampleIndex(sample)
    if idx is None:
        return _INDEXES.put(key, SampleIndex(sample))
    if idx.choices:  # `choices` is validated but not scored (not in the key): a hit must not skip its check
        ch = sample.get("choices")
        if not isinstance(ch, (list, tuple)) or len(ch) != len(CHOICE_LETTERS):
            validate_sample(sample)  # raises validate_sample's own message
    return idx


def index_samples(samples: Any) -> int:
    """Check and index every sample before training's first step (ValueError on the first bad one); the count."""
    n = 0
    for s in samples:
        index_sample(s)
        n += 1
    return n


_line_key = lru_cache(maxsize=65536)(normalize_line)


def resolve_sections(m: MapIndex, sections: Any, cap: int) -> list[tuple[str | None, str | None, str | None]]:
    """Parsed sections as `(line, departure key, arrival key)`: the map's line each written line name means (exact,
    else its unambiguous loose key) and each stop's `station_key`; None for a name that is unknown or longer than
    `cap` (inlined: scoring calls this for every route answer).

    >>> from rmlite.reward.parse import ParsedSection
    >>> resolve_sections(MapIndex({"Line 1": ["Tøyen", "B"]}), [ParsedSection("line 1", "Toyen", "b" * 9)], 8)
    [('Line 1', 'toyen', None)]
    """
    exact, norm, out = m.exact, m.norm, []
    for sec in sections:
        name, dep, arr = sec[0], sec[1], sec[2]
        ln = exact.get(name)
        if ln is None and len(name) <= cap:
            ln = norm.get(_line_key(name))
        out.append((ln, normalize_station(dep) if len(dep) <= cap else None,
                    normalize_station(arr) if len(arr) <= cap else None))
    return out


def station_key(name: str, cap: int) -> str | None:
    """The normalised key of a written stop name, or None when it is longer than `cap` (it then matches nothing)."""
    return normalize_station(name) if len(name) <= cap else None
