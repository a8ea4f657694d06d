"""What a policy could score without reading the map: answer balance and blind baselines, per question type.

The baselines are learners that see one thing: the question text alone (naive Bayes over its words and word
pairs), or one simple cue a glance at the map gives (is a named stop an interchange or a terminus, how far apart two
named stops are drawn, how long the named line is, the map's difficulty), answering the majority answer for the
cue's value. Each is fitted on half the maps and scored on the other half (two folds by map), so it measures what
carries over to unseen maps. Targets: two-answer types ≤ 55 %, other types ≤ the majority share + 5 points, and
counting3 (a map's line count, which its difficulty bounds) balanced within each difficulty. A target is missed when
the score is over it by more than sampling noise: `Shortcut.missed`.
Left out: cues that are the question itself (counting2's interchange mark is the answer, read partly).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass

from rmlite.schema import Sample, kind_of

TWO_ANSWER_MAX, MAJORITY_SLACK, NOISE_Z = 0.55, 0.05, 2.0
CUES = {"torf1": ("interchanges among the stops", "termini among the stops", "drawn distance (quartile)"),
        "torf2": ("stop is an interchange", "stop is a terminus", "named line's length (quartile)"),
        "counting1": ("map difficulty",), "counting2": ("map difficulty",)}


@dataclass(frozen=True)
class Shortcut:
    """One baseline or balance figure: `score` on `n` questions, beside `null` (what no cue gives) and `target`."""

    qtype: str
    what: str
    n: int
    score: float
    null: float
    target: float

    @property
    def missed(self) -> bool:
        """Over the target by more than noise: above it, and `NOISE_Z` standard errors above the no-cue score.

        >>> Shortcut("torf1", "x", 1046, 0.658, 0.5, 0.55).missed, Shortcut("torf1", "x", 20, 0.6, 0.5, 0.55).missed
        (True, False)
        """
        se = math.sqrt(max(self.null * (1 - self.null), 1e-9) / max(self.n, 1))
        return self.score > self.target and self.score - self.null > NOISE_Z * se


@dataclass(frozen=True)
class MapCues:
    """What a glance at one map gives: lines per stop, termini, drawn positions (None on real maps), line lengths."""

    difficulty: str
    lines_at: dict[str, int]
    termini: frozenset[str]
    positions: dict[str, tuple[float, float]] | None
    line_length: dict[str, float]  # stations on the line / stations on the map

    @classmethod
    def from_metro(cls, md: dict[str, list[str]], difficulty: str, positions: dict | None) -> MapCues:
        lines_at: Counter = Counter(s for stops in md.values() for s in set(stops))
        ends = {s for stops in md.values() if stops[0] != stops[-1] for s in (stops[0], stops[-1])}
        total = max(1, len(lines_at))
        return cls(difficulty, dict(lines_at), frozenset(ends), positions,
                   {ln: len(set(stops)) / total for ln, stops in md.items()})


def _cue(r: Sample, m: MapCues, what: str):
    s1, s2 = r["station1"], r["station2"]
    if what == "map difficulty":
        return m.difficulty
    if what == "interchanges among the stops":
        return (m.lines_at.get(s1, 0) > 1) + (m.lines_at.get(s2, 0) > 1)
    if what == "termini among the stops":
        return (s1 in m.termini) + (s2 in m.termini)
    if what == "stop is an interchange":
        return m.lines_at.get(s1, 0) > 1
    if what == "stop is a terminus":
        return s1 in m.termini
    if what == "drawn distance (quartile)":
        if not m.positions or s1 not in m.positions or s2 not in m.positions:
            return None
        xs, ys = zip(*m.positions.values(), strict=True)
        span = math.hypot(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
        return math.dist(m.positions[s1], m.positions[s2]) / span
    return m.line_length.get(r["line"])  # named line's length


def fold_of(map_id: str) -> int:
    """Which of the two folds a map belongs to (stable across runs and machines)."""
    return zlib.crc32(map_id.encode()) % 2


def quartiles(values: list) -> list:
    """Numbers → their quartile (0–3) over the list; None stays None.

    >>> quartiles([0.1, 0.2, 0.3, 0.4, None])
    [0, 1, 2, 3, None]
    """
    nums = sorted(v for v in values if v is not None)
    if not nums:
        return list(values)
    cuts = [nums[min(len(nums) - 1, len(nums) * k // 4)] for k in (1, 2, 3)]
    return [None if v is None else sum(v >= c for c in cuts) for v in values]


def lookup_accuracy(keys: list, answers: list[str], folds: list[int]) -> float:
    """Accuracy of answering the other fold's majority answer for the same key (its overall majority for a key it
    never saw).

    >>> lookup_accuracy([1, 1, 0, 0], ["yes", "yes", "no", "no"], [0, 1, 0, 1])
    1.0
    """
    hits = 0
    for fold in (0, 1):
        table: dict = defaultdict(Counter)
        overall: Counter = Counter()
        for k, a, f in zip(keys, answers, folds, strict=True):
            if f != fold:
                table[k][a] += 1
                overall[a] += 1
        default = _top(overall)
        hits += sum((_top(table[k]) if table.get(k) else default) == a
                    for k, a, f in zip(keys, answers, folds, strict=True) if f == fold)
    return hits / max(1, len(answers))


def _top(c: Counter):
    return min(c.items(), key=lambda kv: (-kv[1], str(kv[0])))[0] if c else None


def _tokens(text: str) -> list[str]:
    words = re.findall(r"\w+|[^\w\s]", text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def text_accuracy(texts: list[str], answers: list[str], folds: list[int]) -> float:
    """Two-fold accuracy of multinomial naive Bayes (add-one smoothing) over the words and word pairs of the text.

    >>> t = ["is it red", "is it blue"] * 4
    >>> text_accuracy(t, ["yes", "no"] * 4, [0, 0, 1, 1] * 2)
    1.0
    """
    toks = [_tokens(t) for t in texts]
    hits = 0
    for fold in (0, 1):
        words: dict[str, Counter] = defaultdict(Counter)
        prior: Counter = Counter()
        for tk, a, f in zip(toks, answers, folds, strict=True):
            if f != fold:
                words[a].update(tk)
                prior[a] += 1
        if not prior:
            continue
        vocab = len({w for c in words.values() for w in c}) + 1
        sizes = {a: words[a].total() + vocab for a in prior}
        for tk, a, f in zip(toks, answers, folds, strict=True):
            if f == fold:
                scores = {c: math.log(prior[c]) + sum(math.log((words[c][w] + 1) / sizes[c]) for w in tk)
                          for c in sorted(prior)}
                hits += max(scores, key=scores.get) == a
    return hits / max(1, len(answers))


def shortcut_table(rows: list[Sample], cues: dict[str, MapCues]) -> list[Shortcut]:
    """Balance and every baseline, per question type (planning and types without rows left out)."""
    by_type: dict[str, list[Sample]] = defaultdict(list)
    for r in rows:
        if not kind_of(r["type"]).route:
            by_type[r["type"]].append(r)
    out: list[Shortcut] = []
    for typ, rs in sorted(by_type.items()):
        answers = [r["answer"] for r in rs]
        folds = [fold_of(r["map_id"]) for r in rs]
        kind = kind_of(typ)
        two = len(kind.options) == 2
        share = Counter(answers).most_common(1)[0][1] / len(rs)
        null = 0.5 if two else share
        target = TWO_ANSWER_MAX if two else share + MAJORITY_SLACK
        if typ == "counting3":
            out += _per_difficulty_balance(rs)
            continue
        if two:
            out.append(Shortcut(typ, "balance: majority answer", len(rs), share, 0.5, TWO_ANSWER_MAX))
        elif kind.options:  # a closed set: a letter A-D
            even = 1 / len(kind.options)
            out.append(Shortcut(typ, f"balance: majority {kind.name}", len(rs), share, even, even + MAJORITY_SLACK))
        out.append(Shortcut(typ, "question text only", len(rs), text_accuracy([r["question"] for r in rs], answers,
                                                                              folds), null, target))
        for what in CUES.get(typ, ()):
            keys = [_cue(r, cues[r["map_id"]], what) for r in rs]
            if what.endswith("(quartile)"):
                keys = quartiles(keys)
            out.append(Shortcut(typ, f"map cue: {what}", len(rs), lookup_accuracy(keys, answers, folds), null,
                                target))
    return out


def _per_difficulty_balance(rows: list[Sample]) -> list[Shortcut]:
    """counting3 within each map difficulty: the majority line count's share against an even spread."""
    out = []
    by_d: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        by_d[r["difficulty_city"]][r["answer"]] += 1
    for d, c in sorted(by_d.items()):
        n = c.total()
        even = 1 / max(len(c), 2)  # a difficulty spans at least two line counts
        out.append(Shortcut("counting3", f"balance on {d} maps: majority line count", n, c.most_common(1)[0][1] / n,
                            even, even + MAJORITY_SLACK))
    return out


def format_shortcuts(table: list[Shortcut]) -> list[str]:
    """The table in Markdown, one row per figure, missed targets marked."""
    lines = ["| type | baseline | n | score | no cue | target | |", "|---" * 7 + "|"]
    for s in table:
        lines.append(f"| {s.qtype} | {s.what} | {s.n} | {s.score:.1%} | {s.null:.1%} | ≤ {s.target:.1%} | "
                     f"{'MISSED' if s.missed else 'ok'} |")
    return lines
