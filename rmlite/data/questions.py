"""Questions about one network: the five ReasonMap-Plus perception types plus ReasonMap route planning.

Every answer key is derived from the `Network` (its ordered line lists and its routing graph), never
typed by hand. Wording follows the papers' templates (ReasonMap-Plus asks for `\\boxed{}`; planning asks
for ReasonMap's `Route Name / Departure Stop / Arrival Stop` sections).

| type | asks | key |
|---|---|---|
| counting1 | intermediate stops between two stops on one line (A–D) | letter; options ascend, key's letter balanced |
| counting2 | how many lines pass through a stop | integer |
| counting3 | how many lines the map has (one per map) | integer |
| torf1 | are two stops on the same line | yes/no, balanced |
| torf2 | is a stop on line X | yes/no, balanced |
| planning | a route from stop 1 to stop 2 | fewest transfers, then fewest stops; all equally good routes kept |

>>> from rmlite.maps.network import Network
>>> net = Network.from_metro_data({"Line 1": list("ABCDEF"), "Line 2": list("GHCIJ")}, name="toy")
>>> qs = generate_questions(net, map_id="toy", seed=0)
>>> sorted({q["type"] for q in qs}) == sorted(QUESTION_TYPES)
True
>>> next(q["answer"] for q in qs if q["type"] == "counting3")
'2'
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Collection
from dataclasses import dataclass, field

from rmlite.data.answers import format_route
from rmlite.data.planning import planning_pairs
from rmlite.maps.network import MAX_ROUTES, Network, route_to_json
from rmlite.schema import (
    CHOICE_LETTERS,
    NAMED_FIELDS,
    QUESTION_TYPES,
    TEMPLATES,
    make_prompt,
    question_difficulty,
)

BOXED_MC = 'Please solve the multiple choice problem and put your answer (one of ABCD) in one "\\boxed{{}}". '
BOXED_INT = 'Please solve the problem and put your answer in one "\\boxed{{}}". '
BOXED_YN = 'Please solve the problem and put your answer (only answer yes or no) in one "\\boxed{{}}". '
COUNTING1_TEMPLATE = (BOXED_MC + "According to the subway map, how many intermediate stops are there between {s1} and "
                      "{s2} (except for this two stops)? \nA) {a} \nB) {b} \nC) {c} \nD) {d}")
COUNTING2_TEMPLATE = BOXED_INT + "According to the subway map, how many lines pass through {s1}?"
COUNTING3_TEMPLATE = BOXED_INT + "According to the subway map, how many subway (metro) lines are there in total?"
TORF1_TEMPLATE = BOXED_YN + "According to the subway map, is it true that {s1} is the same line as {s2}?"
TORF2_TEMPLATE = BOXED_YN + "According to the subway map, is it true that {s1} is on the line {line}?"
_PLAN_HEAD = "According to the subway map, how do I get from {s1} to {s2}? "
_PLAN_EXAMPLE = {
    "short": "Route Name: Line x\nDeparture Stop: xx Station\nArrival Stop: xx Station",
    "long1": "Route Name: Line x\nDeparture Stop: xx Station\nArrival Stop: xx Station\nNumber of Via Stops: x",
    "long2": "Route Name: Line x\nDeparture Stop: xx Station\nArrival Stop: xx Station\nVia Stops: xx Station, "
             "xx Station",
}
PLANNING_TEMPLATES = {
    "short": _PLAN_HEAD + "Provide only one optimal route, with only the line name and the departure and arrival "
                          "stations. The format should be strictly followed:\n",
    "long1": _PLAN_HEAD + "Provide only one optimal route, and include the number of via stops for each route section "
                          "(excluding the departure and arrival stops). The format should be strictly followed:\n",
    "long2": _PLAN_HEAD + "Provide only one optimal route, including all the via stops. The format should be strictly "
                          "followed:\n",
}


def planning_question(s1: str, s2: str, template: str = "short") -> str:
    """The ReasonMap planning prompt for one template, with its two-section format example."""
    ex = _PLAN_EXAMPLE[template]
    return PLANNING_TEMPLATES[template].format(s1=s1, s2=s2) + ex + "\n--\n" + ex


@dataclass(frozen=True)
class QuestionConfig:
    """How many questions of each type to ask per map, and the planning mix.

    Args:
        per_map: questions per type and map (counting3 is capped at one: a map has one line count).
        planning_mix: relative weights of planning questions with 0 / 1 / ≥2 transfers (easy / middle / hard);
            met per map difficulty, not on each map: a map's counts round its shares up or down at random, a map
            with no readable long route fills in with the next longest, and the maps that have them ask more
            (`rmlite.data.planning.LONG_SHORTFALL`), so each difficulty's mix stays within 3 points (issue 23).
        long_template_share: share of planning questions asked with a long template (via-stop counts or lists).
        max_routes: reference routes kept per planning question (all equally good ones up to this cap; the
            sample's `route_count` says how many there are in all).
    """

    per_map: dict = field(default_factory=lambda: {"counting1": 4, "counting2": 4, "counting3": 1, "torf1": 4,
                                                   "torf2": 4, "planning": 8})
    planning_mix: tuple[float, float, float] = (0.5, 0.35, 0.15)
    long_template_share: float = 0.0
    max_routes: int = MAX_ROUTES

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        unknown = set(self.per_map) - set(QUESTION_TYPES)
        if unknown:
            raise ValueError(f"unknown question type(s) {sorted(unknown)}; expected some of {QUESTION_TYPES}")
        if any(not isinstance(v, int) or v < 0 for v in self.per_map.values()):
            raise ValueError(f"per_map counts must be non-negative integers, got {self.per_map}")
        if len(self.planning_mix) != 3 or any(w < 0 for w in self.planning_mix) or sum(self.planning_mix) <= 0:
            raise ValueError(f"planning_mix needs three non-negative weights with a positive sum, got "
                             f"{self.planning_mix}")
        if not 0.0 <= self.long_template_share <= 1.0:
            raise ValueError(f"long_template_share must lie in [0, 1], got {self.long_template_share}")
        if self.max_routes < 1:
            raise ValueError("max_routes must be at least 1")


def generate_questions(net: Network, *, map_id: str, seed: int, config: QuestionConfig | None = None,
                       source: str = "synthetic", unreadable: Collection[str] = (), size: int | None = None
                       ) -> list[dict]:
    """All questions for one map, as flat samples in rmlite's schema (see `rmlite.schema`).

    `unreadable` names stations a reader cannot find on the picture (no label, or a label nearer another mark:
    `rmlite.maps.render.RenderResult.unreadable`); no question names one, and no planning question has a
    reference route through one. `size` (the image side, px) sets the planning mix's trade between maps
    (`rmlite.data.planning.shares_for`). Deterministic for (network, map_id, seed, config, unreadable, size).
    """
    cfg = config or QuestionConfig()
    rng = random.Random(f"rmlite-questions-{seed}-{map_id}")
    base = {"map_id": map_id, "metro_data": json.dumps(net.metro_data(), ensure_ascii=False),
            "difficulty_city": net.difficulty, "seed": int(seed), "source": source}
    out: list[dict] = []
    hidden = frozenset(unreadable)
    for typ in QUESTION_TYPES:
        n = cfg.per_map.get(typ, 0)
        if typ == "counting3":
            n = min(n, 1)
        kept = 0
        made = MAKERS[typ](net, rng, n, cfg) if MAKERS[typ] is not _planning else _planning(net, rng, n, cfg, hidden,
                                                                                             size)
        for k, fields in enumerate(made if n > 0 else ()):
            s = {**base, "id": f"{map_id}-{typ}-{k}", "type": typ, "choices": [], "station1": "", "station2": "",
                 "line": "", "routes": "[]", "route_count": 0, "difficulty_question": net.difficulty,
                 "question_transfer_count": 0, "template": ""}
            s.update(fields)
            if any(s[f] in hidden for f in NAMED_FIELDS.get(typ, ()) if f != "line") or \
                    (hidden and _route_stops(s["routes"]) & hidden):
                continue  # a maker may offer more than n (planning does): the next one takes this one's place
            s["prompt"] = make_prompt(s["question"])
            out.append(s)
            kept += 1
            if kept == n:
                break
    return out


def _route_stops(routes: str) -> set[str]:  # every stop the reference routes name
    return {st for route in json.loads(routes) for sec in route
            for st in (sec["departure_stop"], sec["arrival_stop"], *sec["via_stops"])}


# ----- per-type makers: each yields up to n dicts of the fields that differ from the base ---------------------------
def _counting1(net: Network, rng: random.Random, n: int, cfg: QuestionConfig):
    by_count: dict[int, list] = {}
    pairs = counting1_pairs(net)
    rng.shuffle(pairs)
    for p in pairs:
        by_count.setdefault(p[2], []).append(p)
    offset = rng.randrange(4)
    for k in range(n):
        pos = (offset + k) % 4  # the key's letter cycles through A–D, whatever the options are
        pick = _pick_window(by_count, pos, rng)
        if pick is None:
            break
        (a, b, truth, _), options = pick
        if rng.random() < 0.5:
            a, b = b, a
        yield {"question": COUNTING1_TEMPLATE.format(s1=a, s2=b, a=options[0], b=options[1], c=options[2],
                                                     d=options[3]),
               "answer": CHOICE_LETTERS[pos], "choices": options, "station1": a, "station2": b}


# Spacing of the four counting1 options (all four ascend at one step, so the key's rank is its letter).
OPTION_STEPS = (1, 2)
# On a loop, a pair is asked only when the long way is at least this many stops longer than the short way.
LOOP_MARGIN = 4


def counting1_pairs(net: Network) -> list[tuple[str, str, int, int | None]]:
    """(a, b, stops the short way, stops the long way round a loop or None): every pair counting1 may ask, once.

    A pair is askable when every line serving both gives the same count (parallel branches can differ) and,
    on a loop, the two ways differ by at least `LOOP_MARGIN` stops. Two lines running a corridor in opposite
    directions give the pair once.
    """
    out: dict[tuple[str, str], tuple[str, str, int, int | None]] = {}
    for ln in net.lines:
        for a, b in itertools.combinations(dict.fromkeys(ln.ring), 2):
            key = (a, b) if a < b else (b, a)
            if key in out:
                continue
            ways = {net.ways_between(name, a, b) for name in net.common_lines(a, b)}
            if len(ways) != 1 or None in ways:
                continue
            short, long = ways.pop()
            if long is None or long - short >= LOOP_MARGIN:
                out[key] = (*key, short, long)
    return [out[k] for k in sorted(out)]


def _pick_window(by_count: dict[int, list], pos: int, rng: random.Random) -> tuple[tuple, list[int]] | None:
    """Draw the four options first, then the key among them: a window of four counts one step apart, every one of
    them the count of some askable pair, uniformly; the key is the window's value at letter `pos`, asked about a
    pair with that count (on a loop, one whose long-way count is not an option). Returns (pair, options).

    Because the window is drawn before the letter and every window value could be the key, the option values
    alone say nothing about the letter: P(letter | options) = 1/4 on any map.
    """
    windows = [(m, st) for st in OPTION_STEPS for m in sorted(by_count)
               if all(by_count.get(m + i * st) for i in range(4))]
    rng.shuffle(windows)
    for m, st in windows:
        options = [m + i * st for i in range(4)]
        bucket = by_count[options[pos]]
        for j, pair in enumerate(bucket):
            if pair[3] not in options:
                del bucket[j]
                return pair, options
    return None


def _counting2(net: Network, rng: random.Random, n: int, cfg: QuestionConfig):
    # Spread the answers: cycle through the line counts the map has (1, 2, 3, …) in a shuffled order and ask about
    # a station with that count, so no value dominates where the map has several ("1" was half the answers).
    by_count: dict[int, list[str]] = {}
    for s in sorted(net.stations):
        by_count.setdefault(len(net.station_lines[s]), []).append(s)
    for pool in by_count.values():
        rng.shuffle(pool)
    values = sorted(by_count)
    rng.shuffle(values)
    asked = 0
    for k in itertools.count():
        if asked >= n or not any(by_count.values()):
            break
        pool = by_count[values[k % len(values)]]
        if pool:
            s = pool.pop()
            asked += 1
            yield {"question": COUNTING2_TEMPLATE.format(s1=s), "answer": str(len(net.station_lines[s])),
                   "station1": s}


def _counting3(net: Network, rng: random.Random, n: int, cfg: QuestionConfig):
    yield {"question": COUNTING3_TEMPLATE.format(), "answer": str(len(net.lines))}


# Tries to draw a torf couple that a glance cannot answer (a matching "no" for a "yes"), before settling for less.
TORF_TRIES = 60
# A torf1 "no" pair is drawn as far apart as its "yes" pair, within this share of the map's extent.
DISTANCE_TOLERANCE = 1 / 24


def _drawn(net: Network, a: str, b: str) -> float:
    """How far apart two stops are drawn (grid units; 0 on maps without positions)."""
    if not net.positions:
        return 0.0
    (xa, ya), (xb, yb) = net.positions[a], net.positions[b]
    return ((xa - xb) ** 2 + (ya - yb) ** 2) ** 0.5


def _torf1(net: Network, rng: random.Random, n: int, cfg: QuestionConfig):
    """Couples of a "yes" pair (two stops of one line) and a "no" pair that looks the same at a glance (as many
    interchanges, drawn as far apart, as many termini; where `TORF_TRIES` draws find no such pair, the termini are
    let go, then the distance), so that no such cue tells the answer (issue 23: "yes if a named stop is an
    interchange" scored 66 % when "no" pairs were drawn uniformly)."""
    ends = frozenset(s for ln in net.lines if not ln.loop for s in (ln.stations[0], ln.stations[-1]))
    span = 0.0
    if net.positions:
        xs, ys = zip(*net.positions.values(), strict=True)
        span = ((max(xs) - min(xs)) ** 2 + (max(ys) - min(ys)) ** 2) ** 0.5
    seen: set[frozenset] = set()
    found: dict[bool, list[dict]] = {True: [], False: []}
    for _ in range((n + 1) // 2):
        tries = (lv for lv in (3, 2, 1, 0) for _ in range(TORF_TRIES if lv else 1))
        couple = next(filter(None, (_torf1_couple(net, rng, ends, DISTANCE_TOLERANCE * span, seen, lv)
                                    for lv in tries)), None)
        for (x, y), yes in zip(couple or (), (True, False), strict=False):
            seen.add(frozenset((x, y)))
            found[yes].append({"question": TORF1_TEMPLATE.format(s1=x, s2=y), "answer": "yes" if yes else "no",
                               "station1": x, "station2": y})
    yield from itertools.islice(_even(found), n)


def _torf1_couple(net: Network, rng: random.Random, ends: frozenset[str], tol: float, seen: set, level: int):
    """A "yes" pair and a "no" pair (from a random first stop) alike at `level`: 3 interchanges, drawn distance
    (within `tol`, the nearest) and termini; 2 the first two; 1 interchanges; 0 anything."""
    a, b = rng.sample(sorted(set(rng.choice(net.lines).stations)), 2)
    c = rng.choice(net.stations)
    tr, gap = net.transfer_stations, _drawn(net, a, b)
    best = None
    for d in net.stations if frozenset((a, b)) not in seen else ():
        if d == c or frozenset((c, d)) in seen or net.common_lines(c, d) or \
                (level >= 1 and (c in tr) + (d in tr) != (a in tr) + (b in tr)) or \
                (level >= 3 and (c in ends) + (d in ends) != (a in ends) + (b in ends)):
            continue
        key = (abs(_drawn(net, c, d) - gap) if level >= 2 else 0.0, rng.random())
        if key[0] <= tol and (best is None or key < best[0]):
            best = (key, d)
    if best is None:  # at level 0 no "no" pair exists (one line): a lone "yes", as `_even` then allows
        return ((a, b),) if level == 0 and frozenset((a, b)) not in seen else None
    return (a, b), (c, best[1])


def _torf2(net: Network, rng: random.Random, n: int, cfg: QuestionConfig):
    """Couples about one line: "yes" for a stop on it, "no" for a stop off it that looks the same (interchange or
    not, terminus or not; let go in that order where `TORF_TRIES` draws find none), so neither the line named nor
    the stop's look tells the answer."""
    ends = frozenset(s for ln in net.lines if not ln.loop for s in (ln.stations[0], ln.stations[-1]))
    tr = net.transfer_stations
    seen: set[tuple] = set()
    found: dict[bool, list[dict]] = {True: [], False: []}
    for _ in range((n + 1) // 2):
        for level in (lv for lv in (2, 1, 0) for _ in range(TORF_TRIES)):
            line = rng.choice(net.lines)
            s = rng.choice(line.stations)
            offs = [t for t in net.stations if line.name not in net.station_lines[t] and (t, line.name) not in seen
                    and (level < 1 or (t in tr) == (s in tr)) and (level < 2 or (t in ends) == (s in ends))]
            if offs and (s, line.name) not in seen:
                for stop, ok in ((s, True), (rng.choice(offs), False)):
                    seen.add((stop, line.name))
                    found[ok].append({"question": TORF2_TEMPLATE.format(s1=stop, line=line.name),
                                      "answer": "yes" if ok else "no", "station1": stop, "line": line.name})
                break
    yield from itertools.islice(_even(found), n)


def _even(found: dict[bool, list[dict]]):
    """Yes and no questions, at most one more of either: a map that cannot give a "no" (every pair shares a line)
    gets at most one "yes" rather than a type that is always "yes" (the manifest lists such short types)."""
    k = min(len(found[True]), len(found[False]))
    keep = {True: found[True][: k + 1], False: found[False][: k + (len(found[True]) <= k)]}
    for pair in itertools.zip_longest(keep[True], keep[False]):
        yield from (q for q in pair if q is not None)


def _planning(net: Network, rng: random.Random, n: int, cfg: QuestionConfig, avoid: frozenset[str] = frozenset(),
              size: int | None = None):
    """Planning questions in the mix of 0, 1 and 2+ transfers `cfg.planning_mix` asks of each map difficulty,
    none with a reference route through a stop in `avoid` (unreadable): see `rmlite.data.planning`."""
    for a, b, routes, total in planning_pairs(net, rng, n, cfg.planning_mix, cfg.max_routes, avoid, size):
        template = "short"
        if rng.random() < cfg.long_template_share:
            template = rng.choice(TEMPLATES[1:])
        transfers = len(routes[0]) - 1
        yield {"question": planning_question(a, b, template), "answer": format_route(routes[0], template),
               "station1": a, "station2": b, "routes": route_to_json(routes), "route_count": total,
               "difficulty_question": question_difficulty(transfers), "question_transfer_count": transfers,
               "template": template}


# The maker of each question type: `maker(net, rng, n, cfg)` yields up to n dicts of the fields that differ from the
# base sample (question, answer, and the stops, line, choices or routes the question names).
MAKERS = {"counting1": _counting1, "counting2": _counting2, "counting3": _counting3, "torf1": _torf1, "torf2": _torf2,
          "planning": _planning}
