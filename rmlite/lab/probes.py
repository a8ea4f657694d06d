"""Hack probes: answers built to exploit a reward, scored beside the reference answer, one-error near misses and
failed attempts, so a reward that pays for them shows it before training does.

A GRPO policy does not need to beat the honest answer, only its own failed attempts. So each planning probe is
checked by the rule that names its exploit (`PROBE_RULES`):

| rule | the probe fails the reward when |
|---|---|
| useless | on some question it scores at least a one-error near miss, or gets a positive advantage in a group of failed attempts |
| keeps_detail | its detail term is at least the reference's on some question (a part of the route is never checked) |
| judged_correct | it is judged correct, or scores at least the reference, on some question |
| reference | it scores at least the reference on some question |

`probe_answers` writes the answers, `hack_probes` scores them (plus `useless_vs_near_miss`: the best `USELESS`
answer of each question) and `probe_table` condenses the rows to one line per reward and probe.
"""  # noqa: E501 - a table row

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rmlite.data.answers import SECTION_SEPARATOR, format_route, reference_completion
from rmlite.lab.mistakes import OPERATORS, apply_errors, fake_line, map_of
from rmlite.lab.rollouts import Policy, simulate
from rmlite.lab.stats import reward_name
from rmlite.maps.network import Section, routes_from_json
from rmlite.names import normalize_station
from rmlite.reward.functions import as_total, load_reward
from rmlite.reward.parse import parse_route
from rmlite.schema import Sample, answer_kind, kind_of

FILLER = "Let me think about this carefully and check the map again. "
PROBE_RULES = {
    "stay_put": "useless", "prompt_copy": "useless", "invented_line": "useless", "every_line": "useless",
    "keyword_stuffing": "useless", "empty": "useless", "invented_last_line": "keeps_detail",
    "detour": "judged_correct", "zero_length": "judged_correct", "longer_than_best": "judged_correct",
    "wrong_via_count": "judged_correct", "direct_claim": "judged_correct", "padding": "reference",
    "repeated_sections": "reference", "every_option": "reference", "every_box": "reference",
    "useless_vs_near_miss": "useless",
}
# The answers the issue calls useless; `useless_vs_near_miss` is the best of them on each question.
USELESS = ("stay_put", "prompt_copy", "invented_line", "every_line")
# On a direct question these three are one answer: its two stops under a line the map lacks. That is what a misread
# line looks like (`Line 3` on a map without one), which the route metric counts as one edit (issue 22), so they
# are probes only where a transfer is needed.
MISREAD_ON_DIRECT = ("stay_put", "prompt_copy", "invented_line")
# One-error near misses: the route operators that keep an answer's shape (not format, empty or refusal).
NEAR_MISS_OPERATORS = tuple(n for n, op in OPERATORS.items() if op.kinds == ("route",))
_SECTION = "Route Name: {}\nDeparture Stop: {}\nArrival Stop: {}"


# ----- the answers ----------------------------------------------------------------------------------------------------
def probe_answers(sample: Sample) -> dict[str, str]:
    """Answers built to exploit a reward rather than to answer (see `PROBE_RULES`); "reference" is the honest one.

    Planning: stay-put (ride from the origin to the origin q times, then an invented line to the destination),
    prompt copy, invented line (these three only where a transfer is needed: see `MISREAD_ON_DIRECT`), invented last
    line, every line, detour, zero-length section, a longer route with the fewest transfers, a wrong via count (long
    templates), padding, keyword stuffing, repeated sections, a direct claim where a transfer is needed, and the
    empty answer.
    """
    ref = reference_completion(sample)
    kind = kind_of(sample["type"])
    if not kind.route:
        every = kind.every_option  # every value the answer could take (counts: the small ones)
        return {"reference": ref, "padding": FILLER * 80 + "\n" + ref,
                "keyword_stuffing": "yes no true A B C D 1 2 3 4 " + ref,
                "every_option": "\\boxed{" + every + "}",
                "every_box": " ".join(f"\\boxed{{{v}}}" for v in every.replace(" or ", ", ").split(", ")),
                "empty": ""}
    m = map_of(sample)
    s1, s2 = sample["station1"], sample["station2"]
    fake = fake_line(m, random.Random(0))
    out = {"reference": ref, "padding": FILLER * 80 + "\n" + ref,
           "keyword_stuffing": _SECTION.format(" ".join(m.lines), s1, s2) + "\n\nStations: " + ", ".join(m.stations),
           "every_line": SECTION_SEPARATOR.join(_SECTION.format(ln, s1, s2) for ln in m.lines),
           "repeated_sections": SECTION_SEPARATOR.join([ref] * 3),
           "invented_line": _SECTION.format(fake, s1, s2),
           "prompt_copy": _SECTION.format(f"from {s1} to {s2}", s1, s2),
           "stay_put": _stay_put(sample, m, fake), "empty": ""}
    out.update(_route_probes(sample, m, fake))
    if not int(sample.get("question_transfer_count") or 0):
        for name in MISREAD_ON_DIRECT:  # one-error answers here, not useless ones
            out.pop(name, None)
    return {k: v for k, v in out.items() if v is not None}


def _stay_put(sample: Sample, m: Any, fake: str) -> str:
    s1, s2, q = sample["station1"], sample["station2"], int(sample.get("question_transfer_count") or 0)
    own = [ln for ln, st in m.sets.items() if s1 in st] or [fake]
    rides = [_SECTION.format(own[i % len(own)], s1, s1) for i in range(q)]
    return SECTION_SEPARATOR.join([*rides, _SECTION.format(fake, s1, s2)])


def _route_probes(sample: Sample, m: Any, fake: str) -> dict[str, str | None]:
    route = list(routes_from_json(sample["routes"])[0])
    tpl = sample.get("template") or "short"
    q = len(route) - 1
    out: dict[str, str | None] = {"detour": apply_errors(sample, ["detour"], 0)}
    first = route[0]
    out["zero_length"] = format_route([Section(first.route_name, first.departure_stop, first.departure_stop, ()),
                                      *route], tpl)
    if q:
        last = route[-1]
        out["invented_last_line"] = format_route([*route[:-1], Section(fake, last.departure_stop,
                                                                       last.arrival_stop, last.via_stops)], tpl)
        first_line = next(ln for ln, st in m.sets.items() if sample["station1"] in st)
        out["direct_claim"] = _SECTION.format(first_line, sample["station1"], sample["station2"])
    longer = longer_route(m, sample["station1"], sample["station2"], route)
    out["longer_than_best"] = format_route(longer, tpl) if longer else None
    if tpl == "long1":
        out["wrong_via_count"] = format_route(route, tpl).replace("Number of Via Stops: ", "Number of Via Stops: 99")
    return out


def longer_route(m: Any, a: str, b: str, best: Sequence[Section], extra: int = 3) -> list[Section] | None:
    """A route with the best route's number of sections (no stop twice, no line twice in a row) but at least
    `extra` more stops, the longest such; None when there is none (routes of up to two sections are searched)."""
    def stops(route: list[Section]) -> int:
        return sum(len(s.via_stops) + 1 for s in route)

    cands: list[list[Section]] = []
    if len(best) == 1:
        cands = [[Section(ln, a, b, m.via(ln, a, b))] for ln in m.lines if m.via(ln, a, b) or b in m.sets[ln]]
    elif len(best) == 2:
        for l1, l2 in ((x, y) for x in m.lines for y in m.lines if x != y and a in m.sets[x] and b in m.sets[y]):
            for t in m.sets[l1] & m.sets[l2] - {a, b}:
                cands.append([Section(l1, a, t, m.via(l1, a, t)), Section(l2, t, b, m.via(l2, t, b))])
    ok = [c for c in cands if all(s.departure_stop != s.arrival_stop and (s.via_stops or _adjacent(m, s))
                                  for s in c) and _no_repeat(c)]
    longest = max(ok, key=stops, default=None)
    return longest if longest is not None and stops(longest) >= stops(list(best)) + extra else None


def _adjacent(m: Any, s: Section) -> bool:
    st = m.lines[s.route_name]
    return st.count(s.departure_stop) == 1 and st.count(s.arrival_stop) == 1 and \
        abs(st.index(s.departure_stop) - st.index(s.arrival_stop)) == 1


def _no_repeat(route: list[Section]) -> bool:
    seen = [route[0].departure_stop] + [x for s in route for x in (*s.via_stops, s.arrival_stop)]
    return len(seen) == len(set(seen))


# ----- scoring them ---------------------------------------------------------------------------------------------------
def near_misses(sample: Sample, seeds: int = 2) -> list[str]:
    """One-error variants of the reference (each route operator, a few seeds), distinct and not the reference.

    Left out: variants that ride nowhere (every section from a stop to itself, as when the misplaced endpoint is
    the other endpoint): those are stay-put answers, not near misses.
    """
    ref = reference_completion(sample)
    out = {apply_errors(sample, [op], seed) for op in NEAR_MISS_OPERATORS for seed in range(seeds)}
    return sorted(t for t in out if t is not None and t != ref and _rides(t))


def _rides(text: str) -> bool:
    return any(normalize_station(s.departure) != normalize_station(s.arrival) for s in parse_route(text))


def failed_attempts(sample: Sample, n: int = 7, error_rate: float = 0.5, seed: int = 0) -> list[str]:
    """`n` simulated rollouts with a fatal error (a GRPO group where nothing is right, less one slot)."""
    r = simulate([sample], Policy(error_rate), 8 * n, seed)
    return [t for t, ok in zip(r.texts, r.correct, strict=True) if not ok][:n]


def hack_probes(samples: Sequence[Sample], rewards: Iterable[Any] = ("paper",), per_type: int = 50) -> list[dict]:
    """Each probe's reward vs the reference's, per reward and question kind (planning / perception).

    Row fields: `reward_mean`, `reference_mean` (on the same questions), `ratio` (probe mean / reference mean),
    `beats_reference` (share of questions where the probe scores at least the reference), `correct` (share judged
    correct), `keeps_detail` (share whose detail term is at least the reference's, where that is > 0),
    `above_near_miss` (share of questions where it scores at least one one-error near miss), `positive_advantage`
    (share of questions where, in a group of itself and failed attempts, its advantage is positive), `rule` and
    `fails` (see `PROBE_RULES`).
    The last five need a reward returning a breakdown or are planning only; else None.
    """
    picked: dict[str, list] = {}
    for s in samples:
        if len(picked.setdefault(s["type"], [])) < per_type:
            picked[s["type"]].append(s)
    contexts = {s["id"]: _context(s) for v in picked.values() for s in v}
    out = []
    for spec in rewards:
        fn, name = load_reward(spec), reward_name(spec)
        for group_name in ("planning", "perception"):
            group = [s for t, v in picked.items() if (answer_kind(t) == "route") == (group_name == "planning")
                     for s in v]
            out += _probe_rows(fn, name, group_name, group, contexts)
    return out


def _context(s: Sample) -> dict:
    route = answer_kind(s["type"]) == "route"
    return {"answers": probe_answers(s), "near": near_misses(s) if route else [],
            "failed": failed_attempts(s) if route else []}


def _probe_rows(fn: Any, name: str, kind: str, group: list, contexts: dict) -> list[dict]:
    scored: dict[str, list] = {}
    for s in group:
        ctx = contexts[s["id"]]
        answers = dict(ctx["answers"])
        ref_b = fn(answers.pop("reference"), s)
        ref, ref_detail = as_total(ref_b), getattr(ref_b, "detail", None)
        near = [as_total(fn(t, s)) for t in ctx["near"]]
        failed = [as_total(fn(t, s)) for t in ctx["failed"]]
        useless = []
        for probe, text in answers.items():
            b = fn(text, s)
            v = as_total(b)
            useless += [v] if probe in USELESS else []
            detail = getattr(b, "detail", None)
            keeps = None if detail is None or not ref_detail else detail >= ref_detail - 1e-9
            scored.setdefault(probe, []).append((v, ref, getattr(b, "correct", None), keeps,
                                                 *_versus(v, near, failed)))
        if useless and near:
            scored.setdefault("useless_vs_near_miss", []).append((max(useless), ref, None, None,
                                                                  *_versus(max(useless), near, failed)))
    return [_row(name, kind, probe, vals) for probe, vals in scored.items()]


def _versus(v: float, near: list[float], failed: list[float]) -> tuple[bool | None, bool | None]:
    """(scores at least one near miss, gets a positive advantage in a group of itself and the failed attempts)."""
    above = any(v >= x - 1e-9 for x in near) if near else None
    adv = v - float(np.mean([v, *failed])) > 1e-9 if failed else None
    return above, adv


def _share(xs: list) -> float | None:
    xs = [x for x in xs if x is not None]
    return round(float(np.mean(xs)), 4) if xs else None


def _row(name: str, kind: str, probe: str, vals: list[tuple]) -> dict:
    v, ref = np.array([x[0] for x in vals]), np.array([x[1] for x in vals])
    row = {"reward": name, "kind": kind, "probe": probe, "n": len(v),
           "reward_mean": round(float(v.mean()), 4), "reference_mean": round(float(ref.mean()), 4),
           "ratio": round(float(v.mean() / ref.mean()), 4) if ref.mean() else None,
           "beats_reference": round(float(np.mean(v >= ref - 1e-9)), 4), "correct": _share([x[2] for x in vals]),
           "keeps_detail": _share([x[3] for x in vals]), "above_near_miss": _share([x[4] for x in vals]),
           "positive_advantage": _share([x[5] for x in vals]), "rule": PROBE_RULES.get(probe, "reference")}
    row["fails"] = probe_fails(row)
    return row


def probe_fails(row: Mapping) -> bool:
    """Whether a probe row shows the exploit its rule names (any question counts)."""
    rule = row["rule"]
    hit = [row["beats_reference"]]
    if rule == "useless" and row["kind"] == "planning":
        hit = [row["above_near_miss"], row["positive_advantage"]]
    elif rule == "keeps_detail":
        hit = [row["keeps_detail"]]
    elif rule == "judged_correct":
        hit += [row["correct"]]
    return any(h is not None and h > 0 for h in hit)


def probe_table(rows: Sequence[Mapping], kind: str = "planning") -> list[dict]:
    """One row per probe with, per reward, whether it fails (`"FAIL"` / `"ok"`): the lab's summary."""
    names = list(dict.fromkeys(r["reward"] for r in rows))
    out: dict[str, dict] = {}
    for r in rows:
        if r["kind"] == kind:
            out.setdefault(r["probe"], {"probe": r["probe"], "rule": r["rule"]})[r["reward"]] = \
                "FAIL" if r["fails"] else "ok"
    return [{**row, **{n: row.get(n, "-") for n in names}} for row in out.values()]
