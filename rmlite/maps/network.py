"""A transit network: lines, stations, transfers, and a router for the fewest transfers, then the fewest stops.

A `Network` is the single source of truth for one map. Everything a question or a reward needs
(same-line facts, stop counts, optimal routes) is derived from its ordered line lists, which is also
ReasonMap's flat `{line: [stations in order]}` "metro data" format. A branch is its own line.

Routing runs on a state graph whose nodes are (station, line) pairs: riding one stop costs (0 transfers, 1 stop),
changing line at a station costs (1 transfer, 0 stops). Every equally good route is enumerated from the
shortest-path DAG (each state path is one route, so nothing repeats), with the total count, as ReasonMap keeps
several reference routes and a scorer needs to know when a stored list was cut.

The router is written by hand on plain adjacency lists, not networkx, on purpose. It is faster: networkx's
`all_shortest_paths` on the same graph gave the same routes in the same order for all 6,000 queries asked on 30
generated maps, but answered 0.67-0.76x as many per CPU-second (`bench/bench_routing.py`); and networkx has no
count without listing every path, where this router counts them on its DAG and lists at most `_ENUMERATE` times
the cap. And the audit's second path (`rmlite.data.recheck`) is networkx over the stored metro data, so the
generator and its check share no algorithm.

A loop line is written closed (its first station repeated at the end); stop counts on it take the shorter way
(`rmlite.maps.rides`, the one rule for the stops between two stations that the reward and the lab use too).

>>> net = Network.from_metro_data({"Line 1": ["A", "B", "C"], "Line 2": ["D", "B", "E"]})
>>> sorted(net.transfer_stations)
['B']
>>> [s.route_name for s in net.routes("A", "E")[0]]
['Line 1', 'Line 2']
"""

from __future__ import annotations

import heapq
import itertools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from rmlite.maps.rides import is_loop, ring, ways
from rmlite.names import strip_tags
from rmlite.schema import DIFFICULTIES

# Lexicographic (transfers, stops) as one additive weight; no real route has 10,000 stops.
_TRANSFER_COST = 10_000
# Enumerate every route and sort when there are at most this many times the cap; beyond, keep the first in DAG order.
_ENUMERATE = 16
# Reference routes kept per question: generous, since the map score takes the best match over them.
MAX_ROUTES = 64


@dataclass(frozen=True)
class Line:
    """One line (or branch) of a network: its name, colour and stations in riding order."""

    name: str
    stations: tuple[str, ...]
    color: str = "#444444"

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a line needs a non-empty name")
        if len(self.stations) < 2:
            raise ValueError(f"line {self.name!r} needs at least two stations, got {len(self.stations)}")

    @property
    def loop(self) -> bool:
        """A closed loop: the first station is repeated at the end (and the ring has at least three stops)."""
        return is_loop(self.stations)

    @property
    def ring(self) -> tuple[str, ...]:
        """The stations of a loop once each, in riding order (the plain list for an open line)."""
        return tuple(ring(self.stations))


@dataclass(frozen=True)
class Section:
    """One ride on one line, in ReasonMap's route-section fields."""

    route_name: str
    departure_stop: str
    arrival_stop: str
    via_stops: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"route_name": self.route_name, "departure_stop": self.departure_stop,
                "arrival_stop": self.arrival_stop, "via_stops": list(self.via_stops),
                "num_via_stops": len(self.via_stops)}

    @staticmethod
    def from_dict(d: Mapping) -> Section:
        return Section(str(d["route_name"]), str(d["departure_stop"]), str(d["arrival_stop"]),
                       tuple(d.get("via_stops") or ()))


Route = tuple[Section, ...]


@dataclass
class Network:
    """A metro network. `positions`/`geometry` are present for synthetic maps (grid units), None for real ones.

    Args:
        lines: the lines, each with its ordered stations.
        difficulty: map difficulty label, one of easy / middle / hard (ReasonMap's "middle").
        name: a map or city name.
        positions: station → (x, y) on the layout grid; None when unknown (real maps).
        geometry: line name → polyline of grid points (stations and bends) for drawing.
    """

    lines: tuple[Line, ...]
    difficulty: str = "easy"
    name: str = ""
    positions: dict[str, tuple[float, float]] | None = None
    geometry: dict[str, list[tuple[float, float]]] | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lines = tuple(self.lines)
        if not self.lines:
            raise ValueError("a network needs at least one line")
        names = [ln.name for ln in self.lines]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate line names: {sorted(n for n in set(names) if names.count(n) > 1)}")
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")

    # ----- derived facts -------------------------------------------------------------------------
    @cached_property
    def line_by_name(self) -> dict[str, Line]:
        return {ln.name: ln for ln in self.lines}

    @cached_property
    def stations(self) -> tuple[str, ...]:
        """All stations, in first-seen order."""
        return tuple(dict.fromkeys(s for ln in self.lines for s in ln.stations))

    @cached_property
    def station_lines(self) -> dict[str, tuple[str, ...]]:
        """station → names of the lines that serve it (each line once)."""
        out: dict[str, list[str]] = {}
        for ln in self.lines:
            for s in dict.fromkeys(ln.stations):
                out.setdefault(s, []).append(ln.name)
        return {s: tuple(v) for s, v in out.items()}

    @cached_property
    def transfer_stations(self) -> frozenset[str]:
        """Stations served by two or more lines."""
        return frozenset(s for s, lines in self.station_lines.items() if len(lines) > 1)

    def metro_data(self) -> dict[str, list[str]]:
        """ReasonMap's `{line: [stations in order]}`."""
        return {ln.name: list(ln.stations) for ln in self.lines}

    def common_lines(self, a: str, b: str) -> tuple[str, ...]:
        """Lines that serve both stations."""
        lb = set(self.station_lines.get(b, ()))
        return tuple(n for n in self.station_lines.get(a, ()) if n in lb)

    def ways_between(self, line: str, a: str, b: str) -> tuple[int, int | None] | None:
        """(intermediate stops the short way, the long way round a loop or None on an open line), None if a station
        is absent or ambiguous (a station the line visits twice) or a == b: the counts of `rmlite.maps.rides.ways`.

        >>> net = Network.from_metro_data({"Ring": ["A", "B", "C", "D", "E", "F", "A"], "Line": ["A", "B", "C"]})
        >>> net.ways_between("Ring", "B", "F"), net.ways_between("Line", "A", "C"), net.ways_between("Line", "A", "A")
        ((1, 3), (1, None), None)
        """
        w = ways(self.line_by_name[line].stations, a, b)
        return None if w is None else (len(w[0]), None if w[1] is None else len(w[1]))

    # ----- routing -------------------------------------------------------------------------------
    def routes(self, start: str, end: str, max_routes: int = MAX_ROUTES) -> list[Route]:
        """All routes with the fewest transfers, then the fewest stops (at most `max_routes`, deterministic order).

        Raises:
            ValueError: unknown station, start == end, or no route between them.
        """
        return self.routes_and_count(start, end, max_routes)[0]

    def routes_and_count(self, start: str, end: str, max_routes: int = MAX_ROUTES) -> tuple[list[Route], int]:
        """(the first `max_routes` equally good routes in sorted order, how many there are in all).

        Routes are the paths of the shortest-path DAG over (station, line) states, enumerated without repeats;
        when there are more than `_ENUMERATE` times the cap, the first `max_routes` in DAG order are kept instead.
        """
        for s in (start, end):
            if s not in self.station_lines:
                raise ValueError(f"unknown station {s!r} on map {self.name!r}")
        if start == end:
            raise ValueError("start and end are the same station")
        if max_routes < 1:
            raise ValueError("max_routes must be at least 1")
        preds, ends = self._route_dag(start, end)
        counts = _path_counts(preds, ends)
        total = sum(counts[e] for e in ends)
        limit = total if total <= _ENUMERATE * max_routes else max_routes
        found = [_path_to_route(p) for p in itertools.islice(_dag_paths(preds, ends), limit)]
        return sorted(found, key=_route_sort_key)[:max_routes], total

    @cached_property
    def _state_adjacency(self) -> dict[tuple[str, str], list[tuple[tuple[str, str], int]]]:
        """The state graph as sorted adjacency lists, state → [(neighbour, weight)]: riding one stop costs 1,
        changing line at a station `_TRANSFER_COST` (each link once, both ways)."""
        adj: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
        links = [((u, ln.name), (v, ln.name), 1) for ln in self.lines for u, v in itertools.pairwise(ln.stations)
                 if u != v]
        links += [((s, a), (s, b), _TRANSFER_COST) for s, lines in self.station_lines.items()
                  for a, b in itertools.combinations(lines, 2)]
        for u, v, w in links:
            adj.setdefault(u, {})[v] = w
            adj.setdefault(v, {})[u] = w
        return {u: sorted(nbs.items()) for u, nbs in adj.items()}

    def _route_dag(self, start: str, end: str) -> tuple[dict, list]:
        """Predecessor lists of every optimal (station, line) state path from `start`, and its optimal end states.

        Dijkstra from every start state at once, stopped as soon as the cheapest end state is settled and the
        queue holds only dearer states (no optimal path runs through those).
        """
        adj = self._state_adjacency
        sources = sorted((start, ln) for ln in self.station_lines[start])
        targets = {(end, ln) for ln in self.station_lines[end]}
        dist: dict = dict.fromkeys(sources, 0)
        preds: dict = {u: [] for u in sources}
        heap = [(0, u) for u in sources]
        done: set = set()
        best = None
        while heap:
            d, u = heapq.heappop(heap)
            if best is not None and d > best:
                break
            if u in done:
                continue
            done.add(u)
            if u in targets and best is None:
                best = d
            for v, w in adj.get(u, ()):
                nd = d + w
                if v not in dist or nd < dist[v]:
                    dist[v], preds[v] = nd, [u]
                    heapq.heappush(heap, (nd, v))
                elif nd == dist[v] and v not in done:
                    preds[v].append(u)
        if best is None:
            raise ValueError(f"no route from {start!r} to {end!r} on map {self.name!r}")
        # An end state reached through another end state (a transfer at the arrival) costs more: never optimal.
        return preds, sorted(t for t in targets if t in done and dist[t] == best)

    # ----- (de)serialisation ---------------------------------------------------------------------
    @classmethod
    def from_metro_data(cls, data: Mapping[str, Iterable[str]], *, difficulty: str = "easy", name: str = "",
                        colors: Mapping[str, str] | None = None, loops: Iterable[str] = ()) -> Network:
        """Build from ReasonMap's `{line: [stations]}`; ReasonMap's tags such as "(Transfer Station)" are dropped.

        `loops` names lines that are loops written open (see `rmlite.maps.real.OPEN_LOOPS`): they are closed by
        repeating their first station, so routing, counting and the stored metro data all see the closing link.
        """
        loops = frozenset(loops)
        if not isinstance(data, Mapping) or not data:
            raise ValueError("metro data must be a non-empty JSON object {line: [stations]}")
        lines = []
        for ln_name, stations in data.items():
            if isinstance(stations, str) or not isinstance(stations, Iterable):
                raise ValueError(f"line {ln_name!r}: expected a list of station names")
            clean = tuple(strip_tags(str(s)) for s in stations)
            if any(not s for s in clean):
                raise ValueError(f"line {ln_name!r} has an empty station name")
            if ln_name in loops and len(clean) > 2 and clean[0] != clean[-1]:
                clean = (*clean, clean[0])
            lines.append(Line(str(ln_name), clean, (colors or {}).get(ln_name, "#444444")))
        return cls(tuple(lines), difficulty=difficulty, name=name)

    def to_dict(self) -> dict:
        return {"name": self.name, "difficulty": self.difficulty,
                "lines": [{"name": ln.name, "color": ln.color, "stations": list(ln.stations)} for ln in self.lines],
                "positions": None if self.positions is None else {k: list(v) for k, v in self.positions.items()},
                "geometry": None if self.geometry is None else
                {k: [list(p) for p in v] for k, v in self.geometry.items()},
                "meta": self.meta}

    @classmethod
    def from_dict(cls, d: Mapping) -> Network:
        pos = d.get("positions")
        geo = d.get("geometry")
        return cls(tuple(Line(x["name"], tuple(x["stations"]), x.get("color", "#444444")) for x in d["lines"]),
                   difficulty=d.get("difficulty", "easy"), name=d.get("name", ""),
                   positions=None if pos is None else {k: tuple(v) for k, v in pos.items()},
                   geometry=None if geo is None else {k: [tuple(p) for p in v] for k, v in geo.items()},
                   meta=dict(d.get("meta") or {}))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _path_counts(preds: dict, ends: list) -> dict:
    """Number of DAG paths from a source to each state (iteratively, in dependency order)."""
    counts: dict = {}
    stack = list(ends)
    while stack:
        u = stack[-1]
        todo = [p for p in preds[u] if p not in counts]
        if todo:
            stack.extend(todo)
            continue
        stack.pop()
        counts[u] = sum(counts[p] for p in preds[u]) if preds[u] else 1
    return counts


def _dag_paths(preds: dict, ends: list):
    """Every source-to-end path of the DAG, each once, in a deterministic order (lazily)."""
    stack = [(e, (e,)) for e in reversed(ends)]
    while stack:
        u, tail = stack.pop()
        if not preds[u]:
            yield list(tail)
            continue
        stack.extend((p, (p, *tail)) for p in sorted(preds[u], reverse=True))


def _path_to_route(states: list[tuple[str, str]]) -> Route:
    """[(station, line), …] along a state-graph path → sections (one per maximal run on one line)."""
    sections: list[Section] = []
    run: list[str] = []
    line = states[0][1]
    for station, ln in states:
        if ln != line:
            sections.append(Section(line, run[0], run[-1], tuple(run[1:-1])))
            run, line = [], ln
        run.append(station)
    sections.append(Section(line, run[0], run[-1], tuple(run[1:-1])))
    return tuple(sections)


def _route_sort_key(route: Route) -> tuple:
    return tuple((s.route_name, s.departure_stop, s.arrival_stop) for s in route)


def route_to_json(routes: Iterable[Route]) -> str:
    """Reference routes as the JSON stored in a sample's `routes` field."""
    return json.dumps([[s.to_dict() for s in r] for r in routes], ensure_ascii=False)


def routes_from_json(text: str) -> list[Route]:
    return [tuple(Section.from_dict(s) for s in r) for r in json.loads(text)]
