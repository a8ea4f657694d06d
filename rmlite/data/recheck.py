"""Every answer key and reference route recomputed by a second path, and every name a question uses looked up.

Independent on purpose: nothing here imports the generator (`rmlite.data.questions`, `rmlite.data.answers`) or
`rmlite.maps.network`'s routing. It reads the map's stored metro data (`{line: [stations in order]}`, the maps
table's copy, which is what the picture was drawn from) and asks networkx: one graph per line for stop counts and
same-line facts, and a (station, line) state graph with a lexicographic (transfers, stops) weight for the optimal
routes and their number. It reads the question text and the key text with its own patterns, so a fault in the
generator's bookkeeping (a flipped key, a route with a skipped stop, a name that is not on the map, a key text that
disagrees with the stored route) shows up as a disagreement with a cause and the ids that have it.

>>> md = {"Line 1": ["A", "B", "C", "D"], "Line 2": ["E", "C", "F"]}
>>> row = {"id": "q", "map_id": "m", "type": "torf1", "answer": "no", "station1": "A", "station2": "F",
...        "line": "", "choices": [], "question": "Is it true that A is the same line as F?", "metro_data": "",
...        "routes": "[]", "route_count": 0, "question_transfer_count": 0, "difficulty_question": "easy"}
>>> recheck_rows({"m": md}, [row], {}).faults
{}
>>> recheck_rows({"m": md}, [{**row, "answer": "yes"}], {}).faults
{'torf1: wrong key': ['q']}
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx

# A stored question row (the fields of rmlite.schema.Sample). Not imported from there: this second path imports
# nothing from rmlite (tests/test_audit.py checks), so it shares no code with the generator it checks.
Row = dict[str, Any]

LETTERS = "ABCD"
LEVELS = ("easy", "middle", "hard")  # question difficulty by transfers: 0, 1, 2 or more
EXAMPLES = 5  # ids kept per cause
# How a question names its stops and line, as the audit reads the text (a template change shows up here first).
NAMING = {"counting1": "between {s1} and {s2} (", "counting2": "pass through {s1}?",
          "torf1": "that {s1} is the same line as {s2}?", "torf2": "that {s1} is on the line {line}?",
          "planning": "from {s1} to {s2}?"}
_OPTIONS = re.compile(r"\nA\) (\d+) \nB\) (\d+) \nC\) (\d+) \nD\) (\d+)\s*$")
_SECTION_FIELD = re.compile(r"^(Route Name|Departure Stop|Arrival Stop|Number of Via Stops|Via Stops): ?(.*)$")


@dataclass
class Recheck:
    """What the second path found: cause → ids of the questions with it (first `EXAMPLES`), and counts."""

    checked: Counter = field(default_factory=Counter)  # questions rechecked, per type
    faults: dict[str, list[str]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)  # questions per cause

    def add(self, cause: str, qid: str) -> None:
        self.counts[cause] += 1
        ids = self.faults.setdefault(cause, [])
        if len(ids) < EXAMPLES:
            ids.append(qid)

    def failures(self) -> list[str]:
        return [f"{self.counts[c]} question(s): {c} (e.g. {', '.join(ids)})" for c, ids in sorted(self.faults.items())]


class MapFacts:
    """One map's metro data as networkx graphs: per line, and the (station, line) state graph for routing."""

    def __init__(self, md: dict[str, list[str]]):
        self.md = md
        self.lines_at: dict[str, set[str]] = defaultdict(set)
        self.line_graph: dict[str, nx.Graph] = {}
        for name, stops in md.items():
            g = nx.Graph()
            g.add_edges_from((u, v) for u, v in pairwise(stops) if u != v)
            self.line_graph[name] = g
            for s in stops:
                self.lines_at[s].add(name)
        # One transfer outweighs every stop of the map, so one number orders routes by (transfers, stops).
        self.big = 1 + sum(len(s) for s in md.values())
        self.states = nx.DiGraph()
        for name, g in self.line_graph.items():
            for u, v in g.edges:
                self.states.add_edge((u, name), (v, name), weight=1)
                self.states.add_edge((v, name), (u, name), weight=1)
        for s, lines in self.lines_at.items():
            for a in lines:
                for b in lines - {a}:
                    self.states.add_edge((s, a), (s, b), weight=self.big)

    def once(self, line: str, s: str) -> bool:
        stops = self.md[line]
        ring = stops[:-1] if self.loop(line) else stops
        return ring.count(s) == 1

    def loop(self, line: str) -> bool:
        stops = self.md[line]
        return len(stops) > 3 and stops[0] == stops[-1]

    def ways(self, line: str, a: str, b: str) -> tuple[int, int | None] | None:
        """(intermediate stops the short way, the long way on a loop or None); None when a or b is not once."""
        if a == b or not (self.once(line, a) and self.once(line, b)):
            return None
        g = self.line_graph[line]
        short = nx.shortest_path_length(g, a, b) - 1
        return short, (g.number_of_nodes() - short - 2 if self.loop(line) else None)

    def best(self, a: str, b: str) -> tuple[int, int, int] | None:
        """(transfers, stops, number of optimal routes) from a to b, or None when b cannot be reached."""
        g = self.states
        g.add_edges_from((("<from>", (a, ln)) for ln in self.lines_at[a]), weight=0)
        g.add_edges_from((((b, ln), "<to>") for ln in self.lines_at[b]), weight=0)
        try:
            pred, dist = nx.dijkstra_predecessor_and_distance(g, "<from>")
        finally:
            g.remove_nodes_from(["<from>", "<to>"])
        if "<to>" not in dist:
            return None
        paths: dict = {"<from>": 1}
        for node in sorted(dist, key=dist.get):
            if node != "<from>":
                paths[node] = sum(paths[p] for p in pred[node])
        return dist["<to>"] // self.big, dist["<to>"] % self.big, paths["<to>"]


def recheck_rows(metro: dict[str, dict], rows: list[Row], hidden: dict[str, set[str]]) -> Recheck:
    """Recheck every row against its map's metro data (`metro`: map_id → metro data); `hidden`: map_id → stations
    a reader cannot find on the picture (synthetic maps only; no question or reference route may use one)."""
    out = Recheck()
    facts: dict[str, MapFacts] = {}
    for r in rows:
        out.checked[r["type"]] += 1
        md = metro.get(r["map_id"])
        if md is None:
            out.add("its map is not in the maps table", r["id"])
            continue
        if r.get("metro_data") and json.loads(r["metro_data"]) != md:
            out.add(f"{r['type']}: metro data differs from its map's", r["id"])
        f = facts.get(r["map_id"]) or facts.setdefault(r["map_id"], MapFacts(md))
        unseen = hidden.get(r["map_id"], set())
        causes = _names(r, f, unseen) or _key(r, f)
        if r["type"] == "planning" and route_stations(r) & unseen:
            causes.append("a reference route names a station a reader cannot find")
        for cause in causes:
            out.add(f"{r['type']}: {cause}", r["id"])
    return out


def _names(r: Row, f: MapFacts, hidden: set[str]) -> list[str]:
    """The stops and line the question names: in its text, on its map, readable."""
    names = {"s1": r["station1"], "s2": r["station2"], "line": r["line"]}
    phrase = NAMING.get(r["type"])
    if phrase is None:
        return []
    faults = []
    if phrase.format(**names) not in r["question"]:
        faults.append("question text does not name its stops/line")
    stops = [names[k] for k in ("s1", "s2") if "{" + k + "}" in phrase]
    if any(s not in f.lines_at for s in stops) or ("{line}" in phrase and names["line"] not in f.md):
        faults.append("names a station or line not on the map")
    elif any(s in hidden for s in stops):
        faults.append("names a station a reader cannot find")
    return faults


def _key(r: Row, f: MapFacts) -> list[str]:
    typ, s1, s2 = r["type"], r["station1"], r["station2"]
    if typ == "counting2":
        return [] if r["answer"] == str(len(f.lines_at[s1])) else ["wrong key"]
    if typ == "counting3":
        return [] if r["answer"] == str(len(f.md)) else ["wrong key"]
    if typ == "torf1":
        return [] if r["answer"] == ("yes" if f.lines_at[s1] & f.lines_at[s2] else "no") else ["wrong key"]
    if typ == "torf2":
        return [] if r["answer"] == ("yes" if s1 in f.md[r["line"]] else "no") else ["wrong key"]
    if typ == "counting1":
        return _counting1(r, f)
    if typ == "planning":
        return _planning(r, f)
    return []


def _counting1(r: Row, f: MapFacts) -> list[str]:
    ways = {f.ways(ln, r["station1"], r["station2"]) for ln in f.lines_at[r["station1"]] & f.lines_at[r["station2"]]}
    if len(ways) != 1 or None in ways:
        return ["no single stop count between the stops"]
    short, long = ways.pop()
    choices = [int(c) for c in r["choices"]]
    text = _OPTIONS.search(r["question"])
    if text is None or [int(v) for v in text.groups()] != choices:
        return ["options in the text differ from its choices"]
    if choices.count(short) != 1 or (long is not None and long in choices):
        return ["options do not single out the count"]
    return [] if r["answer"] == LETTERS[choices.index(short)] else ["wrong key"]


def _planning(r: Row, f: MapFacts) -> list[str]:
    best = f.best(r["station1"], r["station2"])
    if best is None:
        return ["no route between the stops"]
    transfers, stops, count = best
    routes = json.loads(r["routes"])
    faults = []
    for route in routes:
        fault = _route_fault(route, r["station1"], r["station2"], f)
        if fault is None and (len(route) - 1, sum(len(s["via_stops"]) + 1 for s in route)) != (transfers, stops):
            fault = "a reference route is not optimal"
        if fault:
            faults.append(fault)
    if not routes or len({json.dumps(x) for x in routes}) != len(routes) or r["route_count"] != count:
        faults.append("reference routes missing, repeated or miscounted")
    if r["question_transfer_count"] != transfers or r["difficulty_question"] != LEVELS[min(transfers, 2)]:
        faults.append("transfer count or question difficulty wrong")
    if routes and not _key_text_matches(r["answer"], routes[0]):
        faults.append("wrong key (answer text differs from the first reference route)")
    return sorted(set(faults))


def _route_fault(route: list[dict], a: str, b: str, f: MapFacts) -> str | None:
    """Why `route` is not a ride from a to b on the map (None when it is one)."""
    if not route or route[0]["departure_stop"] != a or route[-1]["arrival_stop"] != b:
        return "a reference route does not run between the question's stops"
    seen: list[str] = []
    for i, sec in enumerate(route):
        line, walk = sec["route_name"], [sec["departure_stop"], *sec["via_stops"], sec["arrival_stop"]]
        if line not in f.md or sec.get("num_via_stops", len(sec["via_stops"])) != len(sec["via_stops"]):
            return "a reference route names a line not on the map or miscounts its via stops"
        if not all(f.line_graph[line].has_edge(u, v) for u, v in pairwise(walk)):
            return "a reference route is not a ride (stops not adjacent on its line)"
        if i and (route[i - 1]["arrival_stop"] != sec["departure_stop"] or route[i - 1]["route_name"] == line):
            return "a reference route's sections do not connect"
        seen += walk[1:] if i else walk
    return None if len(seen) == len(set(seen)) else "a reference route visits a stop twice"


def _key_text_matches(answer: str, route: list[dict]) -> bool:
    """Does the key text (sections split by a `--` line) name the first reference route's lines, stops and vias?"""
    sections = answer.strip().split("\n--\n")
    if len(sections) != len(route):
        return False
    for text, sec in zip(sections, route, strict=True):
        fields = {}
        for line in text.strip().splitlines():
            m = _SECTION_FIELD.match(line.strip())
            if m is None:
                return False
            fields[m.group(1)] = m.group(2).strip()
        want = {"Route Name": sec["route_name"], "Departure Stop": sec["departure_stop"],
                "Arrival Stop": sec["arrival_stop"], "Number of Via Stops": str(len(sec["via_stops"])),
                "Via Stops": ", ".join(sec["via_stops"])}
        if any(fields.get(k) != want[k] for k in ("Route Name", "Departure Stop", "Arrival Stop")) or \
                any(v != want[k] for k, v in fields.items()):
            return False
    return True


def route_stations(row: Row) -> set[str]:
    """Every stop any reference route of a planning row names (departures, arrivals and vias)."""
    return {s for route in json.loads(row.get("routes") or "[]") for sec in route
            for s in (sec["departure_stop"], sec["arrival_stop"], *sec["via_stops"])}
