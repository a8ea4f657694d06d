"""Error operators: realistic wrong and partly wrong answers made from a sample's reference answer.

Each *error operator* names one failure mode reported for ReasonMap models (visual confusion of lines and stops,
missing or extra transfers, detours, reversed routes, hallucinated or repeated sections, broken format, empty
answers, refusals; off-by-one counts, wrong letters, flipped yes/no). Each applies to the answer kinds it `fits`
(read from their `rmlite.schema.AnswerKind` records), so a new question type or answer kind gets its errors for free.
Operators compose: k errors are k distinct operators applied to the reference (`rmlite.lab.rollouts` draws groups of
them). Left out: errors inside thinking text.

>>> import json
>>> md = json.dumps({"Line 1": ["A", "B", "C"], "Line 2": ["D", "B", "E"]})
>>> s = {"id": "m-planning-0", "type": "planning", "answer": "", "metro_data": md, "difficulty_city": "easy",
...      "station1": "A", "station2": "E", "question_transfer_count": 1, "template": "short",
...      "routes": json.dumps([[{"route_name": "Line 1", "departure_stop": "A", "arrival_stop": "B"},
...                             {"route_name": "Line 2", "departure_stop": "B", "arrival_stop": "E"}]])}
>>> print(apply_errors(s, ["reversed_direction"], seed=0).splitlines()[:3])
['Route Name: Line 2', 'Departure Stop: E', 'Arrival Stop: B']
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter

from rmlite.data.answers import boxed, format_route, reference_completion
from rmlite.maps.network import Section, routes_from_json
from rmlite.maps.rides import between, is_loop, ring
from rmlite.names import normalize_line, normalize_station, rewardmap_clean
from rmlite.schema import ANSWER_KINDS, CHOICE_LETTERS, AnswerKind, Sample, kind_of

REFUSAL = "I'm sorry, but I can't determine that from the image."
ROUTE = attrgetter("route")  # an operator's `fits`: it edits route answers (`AnswerKind.route`)
NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty").split()


# ----- the map, indexed once per metro data ---------------------------------------------------------------------------
class _Map:
    __slots__ = ("lines", "sets", "stations", "keys", "off_keys", "line_keys")

    def __init__(self, metro_json: str):
        md = json.loads(metro_json)
        self.lines = {ln: list(st) for ln, st in md.items()}
        self.sets = {ln: frozenset(st) for ln, st in md.items()}
        self.stations = sorted({s for st in md.values() for s in st})
        self.keys = frozenset(normalize_station(s) for s in self.stations)
        self.off_keys = frozenset(rewardmap_clean(s) for s in self.stations)
        self.line_keys = frozenset(normalize_line(ln) for ln in md) | frozenset(md)

    def via(self, line: str, a: str, b: str) -> tuple[str, ...]:
        """Intermediate stations from a to b on `line` (`rmlite.maps.rides.between`: the shorter way round a loop);
        () when that is not one unambiguous ride."""
        st = self.lines.get(line)
        return (between(st, a, b) if st is not None else None) or ()


@lru_cache(maxsize=512)
def _map(metro_json: str) -> _Map:
    return _Map(metro_json)


def map_of(sample: Sample) -> _Map:
    md = sample["metro_data"]
    return _map(md if isinstance(md, str) else json.dumps(md, ensure_ascii=False, sort_keys=True))


# ----- a draft answer that operators edit ---------------------------------------------------------------------------
@dataclass
class Draft:
    """The answer being built: route sections `[line, departure, arrival, via]` or one perception value."""

    sample: Sample
    sections: list[list] = field(default_factory=list)
    value: str = ""
    surface: Callable[[Draft], str] | None = None  # a whole-text rewrite, applied when rendering

    def body(self) -> str:
        if kind_of(self.sample["type"]).route:
            secs = [Section(ln, a, b, tuple(v)) for ln, a, b, v in self.sections]
            return format_route(secs, self.sample.get("template") or "short")
        return boxed(self.value)

    def render(self) -> str:
        return self.surface(self) if self.surface is not None else self.body()


def draft_of(sample: Sample) -> Draft:
    """The reference answer as an editable draft (rendering it gives `reference_completion(sample)`)."""
    if kind_of(sample["type"]).route:
        route = routes_from_json(sample["routes"])[0]
        return Draft(sample, [[s.route_name, s.departure_stop, s.arrival_stop, tuple(s.via_stops)] for s in route])
    return Draft(sample, value=str(sample["answer"]))


# ----- route operators: each edits the draft in place and returns False when it does not apply -----------------------
# An operator edits only an intact part of the route (a section whose line serves both of its stops, which differ),
# so a later error never undoes or overwrites an earlier one: k operators make k errors (`rmlite.lab.ladders`).
def _intact(m: _Map, sec: list) -> bool:
    """The section still rides its line from one of its stops to another (no error has touched it)."""
    st = m.sets.get(sec[0])
    return st is not None and sec[1] != sec[2] and sec[1] in st and sec[2] in st


def _pick(d: Draft, m: _Map, rng: random.Random, ok: Callable[[int], bool] | None = None) -> int | None:
    """A random index of an intact section (that also passes `ok`), or None when there is none."""
    cand = [i for i, s in enumerate(d.sections) if _intact(m, s) and (ok is None or ok(i))]
    return rng.choice(cand) if cand else None


def _wrong_line(d: Draft, m: _Map, rng: random.Random) -> bool:
    """Visual confusion: one section names a real line that does not serve both of its stops (a crossing one first)."""
    i = _pick(d, m, rng)
    if i is None:
        return False
    line, a, b, _ = d.sections[i]
    bad = [ln for ln in m.lines if ln != line and not (a in m.sets[ln] and b in m.sets[ln])]
    crossing = [ln for ln in bad if a in m.sets[ln] or b in m.sets[ln]]
    if not bad:
        return False
    d.sections[i] = [rng.choice(crossing or bad), a, b, ()]
    return True


def _endpoint(d: Draft, rng: random.Random) -> tuple[int, int]:
    """(section index, 1 for its departure / 2 for its arrival): the route's first departure or last arrival."""
    return (0, 1) if rng.random() < 0.5 else (len(d.sections) - 1, 2)


def _neighbour_station(d: Draft, m: _Map, rng: random.Random) -> bool:
    """Misplaced by one: the first departure or last arrival becomes the next stop along the same line (never the
    section's other stop: that would be a section from a stop to itself, another error)."""
    i, k = _endpoint(d, rng)
    sec = d.sections[i]
    if not _intact(m, sec):
        return False
    loop, st = is_loop(m.lines[sec[0]]), ring(m.lines[sec[0]])  # a loop's stops once each; its ends are neighbours
    j = st.index(sec[k])
    near = [st[x % len(st)] for x in (j - 1, j + 1) if (loop or 0 <= x < len(st)) and st[x % len(st)] not in sec[1:3]]
    if not near:
        return False
    sec[k] = rng.choice(near)
    sec[3] = m.via(sec[0], sec[1], sec[2])
    return True


def garble(name: str, m: _Map, rng: random.Random) -> str | None:
    """A misreading of `name` (two letters swapped, one dropped or doubled) that names no station of the map."""
    idx = [i for i, ch in enumerate(name) if ch.isalpha()]
    for _ in range(12):
        if len(idx) < 3:
            return None
        i = rng.choice(idx[1:-1])
        how = rng.randrange(3)
        if how == 0:
            out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        elif how == 1:
            out = name[:i] + name[i + 1:]
        else:
            out = name[:i] + name[i] + name[i:]
        if normalize_station(out) not in m.keys and rewardmap_clean(out) not in m.off_keys:
            return out
    return None


def _stop_slots(d: Draft) -> list[list[tuple[int, int]]]:
    """Every stop the route names, as the (section, field) places that hold it (a transfer stop has two)."""
    n = len(d.sections)
    return [[(0, 1)]] + [[(i, 2), (i + 1, 1)] for i in range(n - 1)] + [[(n - 1, 2)]]


def _misread_station(d: Draft, m: _Map, rng: random.Random) -> bool:
    """A stop's name is misread (spelling), so it names no station of the map."""
    cand = [sl for sl in _stop_slots(d) if all(_intact(m, d.sections[i]) for i, _ in sl)]
    if not cand:
        return False
    slots = rng.choice(cand)
    i, k = slots[0]
    new = garble(d.sections[i][k], m, rng)
    if new is None:
        return False
    for i, k in slots:
        d.sections[i][k] = new
        d.sections[i][3] = ()
    return True


def _other_line_stop(d: Draft, m: _Map, rng: random.Random) -> bool:
    """A section's arrival (the next departure too) is a stop of another line, not on the line ridden (nor the
    section's departure or the next section's arrival, which would make a section from a stop to itself, nor one
    of the question's stops, which could put back an endpoint an earlier error moved)."""
    n = len(d.sections)
    i = _pick(d, m, rng, lambda i: i + 1 == n or _intact(m, d.sections[i + 1]))
    if i is None:
        return False
    line = d.sections[i][0]
    keep = {d.sections[i][1], d.sections[i + 1][2] if i + 1 < n else None, d.sample["station1"],
            d.sample["station2"]}
    pool = [s for s in m.stations if s not in m.sets[line] and s not in keep]
    if not pool:
        return False
    x = rng.choice(pool)
    d.sections[i][2], d.sections[i][3] = x, ()
    if i + 1 < len(d.sections):  # the next ride starts at x too (its via stops are its own, if it still rides)
        nxt = d.sections[i + 1]
        nxt[1], nxt[3] = x, m.via(nxt[0], x, nxt[2])
    return True


def _missing_transfer(d: Draft, m: _Map, rng: random.Random) -> bool:
    """Two rides merged into one: the change of line is skipped, so the arrival is not on the line ridden."""
    i = _pick(d, m, rng, lambda i: i + 1 < len(d.sections) and _intact(m, d.sections[i + 1]))
    if i is None:
        return False
    line, a = d.sections[i][0], d.sections[i][1]
    b = d.sections[i + 1][2]
    d.sections[i:i + 2] = [[line, a, b, m.via(line, a, b)]]
    return True


def _extra_transfer(d: Draft, m: _Map, rng: random.Random) -> bool:
    """An unneeded change at an intermediate stop (to another line serving the rest when one exists). Still valid."""
    cand = [i for i, s in enumerate(d.sections) if m.via(s[0], s[1], s[2])]
    if not cand:
        return False
    i = rng.choice(cand)
    line, a, b, _ = d.sections[i]
    v = rng.choice(m.via(line, a, b))
    other = [ln for ln in m.lines if ln != line and v in m.sets[ln] and b in m.sets[ln]]
    l2 = rng.choice(other) if other else line
    d.sections[i:i + 1] = [[line, a, v, m.via(line, a, v)], [l2, v, b, m.via(l2, v, b)]]
    return True


def _detour(d: Draft, m: _Map, rng: random.Random) -> bool:
    """Overshoot by one stop and ride back: a valid but longer route with an extra section."""
    i = _pick(d, m, rng)
    if i is None:
        return False
    line, a, b, _ = d.sections[i]
    loop, st = is_loop(m.lines.get(line, [])), ring(m.lines.get(line, []))  # a loop's stops once each
    if st.count(a) != 1 or st.count(b) != 1:
        return False
    ib, n, via = st.index(b), len(st), m.via(line, a, b)
    # One stop past b the way the ride goes (round a loop: away from the side it reaches b from).
    j = ib + ((1 if st[ib - 1] == (via or (a,))[-1] else -1) if loop else (1 if ib > st.index(a) else -1))
    x = st[j % n] if loop or 0 <= j < n else a
    if x in (a, b) or loop and len(m.via(line, a, x)) <= len(via):  # round a loop, through b must be a shortest way
        return False
    d.sections[i:i + 1] = [[line, a, x, (*via, b) if loop else m.via(line, a, x)], [line, x, b, ()]]
    return True


def _reversed_direction(d: Draft, m: _Map, rng: random.Random) -> bool:
    """The route is given backwards, from the destination to the origin."""
    d.sections = [[ln, b, a, tuple(reversed(v))] for ln, a, b, v in reversed(d.sections)]
    return True


def fake_line(m: _Map, rng: random.Random) -> str:
    """A line name the map does not have (no exact or lenient match)."""
    n = len(m.lines) + 1 + rng.randrange(8)
    while f"Line {n}" in m.line_keys or str(n) in m.line_keys:
        n += 1
    return f"Line {n}"


def _hallucinated_section(d: Draft, m: _Map, rng: random.Random) -> bool:
    """A section on a line that does not exist is inserted (at a stop of the route, so the chain still connects)."""
    i = rng.randrange(len(d.sections) + 1)
    stop = d.sections[i][1] if i < len(d.sections) else d.sections[-1][2]
    d.sections.insert(i, [fake_line(m, rng), stop, stop, ()])
    return True


def _repeated_section(d: Draft, m: _Map, rng: random.Random) -> bool:
    """One section is written twice in a row (the repetition seen in thinking models)."""
    i = rng.randrange(len(d.sections))
    d.sections.insert(i + 1, list(d.sections[i]))
    return True


# ----- perception operators -----------------------------------------------------------------------------------------
def _off_by_one(d: Draft, m: _Map, rng: random.Random) -> bool:
    """A count one too high or too low (a letter: the option whose value is one off, when there is one)."""
    if kind_of(d.sample["type"]).choices:
        choices = list(d.sample["choices"])
        truth = choices[CHOICE_LETTERS.index(d.value)]
        near = [CHOICE_LETTERS[k] for k, v in enumerate(choices) if abs(v - truth) == 1]
        d.value = rng.choice(near) if near else d.value
        return bool(near)
    v = int(d.value)
    d.value = str(v + 1 if v == 0 or rng.random() < 0.5 else v - 1)
    return True


def _wrong_letter(d: Draft, m: _Map, rng: random.Random) -> bool:
    """Another option letter (another of the kind's options)."""
    d.value = rng.choice([c for c in kind_of(d.sample["type"]).options if c != d.value])
    return True


def _flipped_yes_no(d: Draft, m: _Map, rng: random.Random) -> bool:
    """yes ↔ no (the other of a kind's two options)."""
    d.value = next(o for o in kind_of(d.sample["type"]).options if o != d.value)
    return True


# ----- surface operators: rewrite the whole text (applied last) -------------------------------------------------------
def _prose(d: Draft) -> str:
    kind = kind_of(d.sample["type"])
    if kind.route:
        rides = [f"take {ln} from {a} to {b}" for ln, a, b, _ in d.sections]
        return "First " + ", then ".join(rides) + "."
    if kind.choices:
        return f"It is the option with {d.sample['choices'][CHOICE_LETTERS.index(d.value)]} stops."
    if kind.count:
        return f"There are {NUMBER_WORDS[int(d.value)] if int(d.value) < len(NUMBER_WORDS) else 'very many'}."
    return "It is hard to tell from the map."


def _loose(d: Draft) -> str:
    if kind_of(d.sample["type"]).route:
        return "Sure! Here is the route:\n" + d.body() + "\nHave a nice trip."
    return f"The answer is {d.value}."


def _surface(fn: Callable[[Draft], str]) -> Callable[[Draft, _Map, random.Random], bool]:
    def op(d: Draft, m: _Map, rng: random.Random) -> bool:
        d.surface = fn
        return True
    return op


@dataclass(frozen=True)
class Operator:
    """A failure mode. `fits`: the answer kinds it edits (`bool`: all); `fatal`: loses correctness; `surface`: last."""

    name: str
    apply: Callable[[Draft, _Map, random.Random], bool]
    fits: Callable[[AnswerKind], bool]
    fatal: bool = True
    surface: bool = False
    doc: str = ""

    @property
    def kinds(self) -> tuple[str, ...]:  # the names of the kinds it fits, read now (a kind registered later counts)
        return tuple(name for name, kind in ANSWER_KINDS.items() if self.fits(kind))

    def applies_to(self, sample: Sample) -> bool:
        """Whether this operator can edit an answer to `sample` (its type's kind, looked up now)."""
        return self.fits(kind_of(sample["type"]))


def _op(name, fn, fits, *, fatal=True, surface=False, doc=None) -> Operator:
    return Operator(name, fn, fits, fatal, surface, doc or (fn.__doc__ or "").strip())


OPERATORS: dict[str, Operator] = {o.name: o for o in (
    _op("missing_transfer", _missing_transfer, ROUTE),
    _op("reversed_direction", _reversed_direction, ROUTE),
    _op("wrong_line", _wrong_line, ROUTE),
    _op("neighbour_station", _neighbour_station, ROUTE),
    _op("misread_station", _misread_station, ROUTE),
    _op("other_line_stop", _other_line_stop, ROUTE),
    _op("extra_transfer", _extra_transfer, ROUTE, fatal=False),
    _op("detour", _detour, ROUTE, fatal=False),
    _op("hallucinated_section", _hallucinated_section, ROUTE),
    _op("repeated_section", _repeated_section, ROUTE),
    _op("off_by_one", _off_by_one, lambda k: k.count or k.choices),  # a letter points at one of `choices`' counts
    _op("wrong_letter", _wrong_letter, lambda k: len(k.options) > 2),
    _op("flipped_yes_no", _flipped_yes_no, lambda k: len(k.options) == 2),
    _op("broken_format", _surface(_prose), bool, surface=True, doc="The answer as prose: nothing parseable."),
    _op("loose_format", _surface(_loose), bool, fatal=False, surface=True,
        doc="Right answer, wrong format: chatty text around it, or no \\boxed{}."),
    _op("empty", _surface(lambda d: ""), bool, surface=True, doc="No answer at all."),
    _op("refusal", _surface(lambda d: REFUSAL), bool, surface=True, doc="A refusal."),
)}
NO_ERROR = "none"
ORDER = list(OPERATORS)  # the order operators compose in (see `rollout`)


def apply_errors(sample: Sample, names: Sequence[str], seed: int | random.Random = 0) -> str | None:
    """The reference answer of `sample` with the named errors applied in order; None if one does not apply.

    `apply_errors(s, [])` (or `["none"]`) is exactly `reference_completion(s)`.
    """
    names = [n for n in names if n != NO_ERROR]
    if not names:
        return reference_completion(sample)
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    d, m = draft_of(sample), map_of(sample)
    for n in names:
        op = OPERATORS[n]
        if not op.applies_to(sample) or not op.apply(d, m, rng):
            return None
    return d.render()
