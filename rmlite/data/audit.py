"""Audit a data set for what a policy could learn besides reading the map: `python -m rmlite audit DIR`.

Per map difficulty and image size: the share of station labels that sit nearer another station's mark than their
own (misplaced) and of stations with no label, the share of questions naming such a station or one whose label
covers another line's stroke (`rmlite.data.legibility.label_cover`, measured apart from the placer), the smallest
CIEDE2000 distance between two line colours on any map, the line counts hard maps take, and what the picture hides
(`rmlite.data.legibility`: labels over track or station marks, neighbours' labels in swapped order, hairpin
lines). Over the whole set:
the best accuracy on counting1 from the four option values alone (guessers: smallest, largest, median,
out-of-order, and a model of the generator: the most frequent key letter for the same option values, fitted on
the other half), the answer balance per type, duplicate questions, and any map or network in two splits. Every
answer key and reference route is recomputed by a second path (`rmlite.data.recheck`: networkx over the stored
metro data, sharing no code with the generator), and the blind baselines (question text only, simple map cues) and
per-type balance come from `rmlite.data.shortcuts`. `AuditReport.failures` names every missed target. The
label geometry is recomputed from each map's stored network (the same plan the renderer drew), so the audit reads
the data set, never the generator's bookkeeping. Left out: real maps' pictures (their labels are not rmlite's).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rmlite.data.audit_picture import worst_labels_png
from rmlite.data.color_check import check_colours
from rmlite.data.legibility import hairpin_lines, label_cover, order_flips
from rmlite.data.mix_check import check_planning_mix
from rmlite.data.recheck import Recheck, recheck_rows
from rmlite.data.shortcuts import MapCues, Shortcut, format_shortcuts, shortcut_table
from rmlite.data.store import load_maps, load_questions, read_manifest
from rmlite.maps.colors import min_delta_e
from rmlite.maps.labels import label_margins, min_label_margin
from rmlite.maps.layout import cached_plan
from rmlite.maps.network import Network
from rmlite.schema import CHOICE_LETTERS, NAMED_FIELDS

# Targets from issue 11; `AuditReport.failures` names every one that is missed.
TARGETS = {"misplaced": 0.005, "naming_unreadable": 0.0, "min_delta_e": 12.0, "choices_only": 0.30,
           "counting2_majority": 0.45, "over_mark": 0.0, "order_flips": 0.0, "hairpins": 0.0}
GUESSERS = ("smallest", "largest", "median", "out_of_order", "generator_model")
# Checks in their own modules, run on a saved set: check(maps with their pictures, question rows, manifest) returns an
# object with failures() and lines(). Line colours read off the pictures; the planning mix per map difficulty.
CHECKS = (lambda maps, rows, manifest: check_colours(maps),
          lambda maps, rows, manifest: check_planning_mix(
              rows, {m: int(w) for m, w in zip(maps["map_id"], maps["width"], strict=True)},
              manifest.get("config", {}).get("questions", {}).get("planning_mix", (0.5, 0.35, 0.15))))


@dataclass
class GroupStats:
    """One (difficulty, size) group of synthetic maps."""

    difficulty: str
    size: int
    maps: int = 0
    stations: int = 0
    misplaced: int = 0
    unlabelled: int = 0
    questions: int = 0
    naming_unreadable: int = 0
    min_delta_e: float = math.inf
    line_counts: Counter = field(default_factory=Counter)
    labels: int = 0  # labelled stations
    over_other_stroke: int = 0  # labels over a line that does not serve their station
    over_stroke: int = 0  # labels over any line's stroke (their own included)
    over_mark: int = 0  # labels over a tick, terminus bar or transfer pill
    order_pairs: int = 0  # neighbours on a straight run, both labelled
    order_flips: int = 0  # of those, pairs whose labels read in the opposite order
    lines: int = 0
    hairpins: int = 0  # lines that turn back HAIRPIN_TURN octants within HAIRPIN_HOPS hops

    _TOTALS = {"naming_unreadable": "questions", "over_other_stroke": "labels", "over_stroke": "labels",
               "over_mark": "labels", "order_flips": "order_pairs", "hairpins": "lines"}

    def share(self, what: str) -> float:
        total = getattr(self, self._TOTALS.get(what, "stations"))
        return getattr(self, what) / total if total else 0.0


@dataclass
class AuditReport:
    """Everything `audit_dataset` measured (see the module docstring)."""

    groups: list[GroupStats]
    choices_only: dict[str, float]
    counting1: int
    balance: dict[str, dict]
    duplicates: int
    maps_in_two_splits: int
    networks_in_two_splits: int
    worst: list[tuple[float, str, str]] = field(default_factory=list)  # (margin px, map_id, station)
    recheck: Recheck = field(default_factory=Recheck)
    shortcuts: list[Shortcut] = field(default_factory=list)
    checks: list = field(default_factory=list)  # results of CHECKS (audit_dataset)

    def failures(self) -> list[str]:
        """The targets this data set misses, one line each (empty when it meets them all)."""
        out = []
        for g in self.groups:
            tag = f"{g.difficulty}/{g.size}"
            if g.share("misplaced") > TARGETS["misplaced"]:
                out.append(f"{tag}: misplaced labels {g.share('misplaced'):.2%} > {TARGETS['misplaced']:.1%}")
            if g.naming_unreadable:
                out.append(f"{tag}: {g.naming_unreadable} question(s) name a station a reader cannot find")
            if g.min_delta_e < TARGETS["min_delta_e"]:
                out.append(f"{tag}: two line colours {g.min_delta_e:.1f} CIEDE2000 apart (< 12)")
            for what, name in (("over_mark", "labels over a station mark"),
                               ("order_flips", "neighbour labels in swapped order"), ("hairpins", "hairpin lines")):
                if g.share(what) > TARGETS[what]:
                    out.append(f"{tag}: {name} {g.share(what):.2%} > {TARGETS[what]:.0%}")
            if g.difficulty == "hard" and g.maps > 1 and len(g.line_counts) < 2:
                out.append(f"{tag}: every hard map has {next(iter(g.line_counts))} lines")
        # Rates measured on the questions are over their target only beyond noise (`Shortcut.missed`).
        best = max(self.choices_only.values(), default=0.0)
        if self.counting1 and Shortcut("counting1", "", self.counting1, best, 0.25, TARGETS["choices_only"]).missed:
            out.append(f"counting1 choices-only accuracy {best:.1%} > {TARGETS['choices_only']:.0%}")
        c2 = self.balance.get("counting2")
        if c2 and Shortcut("counting2", "", c2["n"], c2["majority_share"], 1 / len(c2["shares"]),
                           TARGETS["counting2_majority"]).missed:
            out.append(f"counting2 majority answer {c2['majority_share']:.1%} > {TARGETS['counting2_majority']:.0%}")
        if self.duplicates:
            out.append(f"{self.duplicates} duplicate question(s)")
        if self.maps_in_two_splits or self.networks_in_two_splits:
            out.append(f"{self.maps_in_two_splits} map(s), {self.networks_in_two_splits} network(s) in two splits")
        out += self.recheck.failures()
        out += [f"{s.qtype}: {s.what} {s.score:.1%} > {s.target:.1%} (n = {s.n}, beyond noise)"
                for s in self.shortcuts if s.missed]
        out += [f for c in self.checks for f in c.failures()]
        return out


# ----- counting1 from the options alone -----------------------------------------------------------------------------
def _guess(options: list[int], how: str) -> int:
    if how == "smallest":
        return int(np.argmin(options))
    if how == "largest":
        return int(np.argmax(options))
    if how == "median":
        return int(np.argsort(options, kind="stable")[1])
    # out-of-order: the option that breaks ascending order (rmlite shows options sorted), else A
    for i in range(1, 4):
        if options[i] < options[i - 1]:
            return i
    return 0


def choices_only_accuracy(rows: list[dict]) -> dict[str, float]:
    """Accuracy of each guesser that sees only the four option values (chance is 25 %).

    `generator_model` is the strongest: for each row it answers the letter most often right for the same four
    values in the other half of the rows (two-fold), i.e. a lookup table of the generator's habits.

    >>> rows = [{"choices": [0, 1, 2, 3], "answer": "A"}] * 4
    >>> choices_only_accuracy(rows)["smallest"], choices_only_accuracy(rows)["generator_model"]
    (1.0, 1.0)
    """
    if not rows:
        return dict.fromkeys(GUESSERS, 0.0)
    keys = [CHOICE_LETTERS.index(r["answer"]) for r in rows]
    out = {g: float(np.mean([_guess(list(r["choices"]), g) == k for r, k in zip(rows, keys, strict=True)]))
           for g in GUESSERS[:4]}
    hits = 0
    for fold in (0, 1):
        table: dict[tuple, Counter] = defaultdict(Counter)
        for i, (r, k) in enumerate(zip(rows, keys, strict=True)):
            if i % 2 != fold:
                table[tuple(r["choices"])][k] += 1
        overall = Counter(k for i, k in enumerate(keys) if i % 2 != fold)
        fallback = overall.most_common(1)[0][0] if overall else 0
        for i, (r, k) in enumerate(zip(rows, keys, strict=True)):
            if i % 2 == fold:
                seen = table.get(tuple(r["choices"]))
                hits += (seen.most_common(1)[0][0] if seen else fallback) == k
    out["generator_model"] = hits / len(rows)
    return out


# ----- answer balance, duplicates, splits ---------------------------------------------------------------------------
def answer_balance(rows: list[dict]) -> dict[str, dict]:
    """Per type: answer shares (yes/no, A–D) or the majority value and its share (counting2/3)."""
    by_type: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        if r["type"] != "planning":
            by_type[r["type"]][r["answer"]] += 1
    out = {}
    for typ, c in sorted(by_type.items()):
        n = c.total()
        value, top = c.most_common(1)[0]
        out[typ] = {"n": n, "shares": {k: round(v / n, 3) for k, v in sorted(c.items())},
                    "majority": value, "majority_share": top / n}
    return out


def duplicate_questions(rows: list[dict]) -> int:
    """Rows asking what an earlier row of the same map already asked (same text, or the same counting1 pair)."""
    seen: set = set()
    dup = 0
    for r in rows:
        key = (r["map_id"], r["type"], r["question"])
        pair = (r["map_id"], r["type"], frozenset((r["station1"], r["station2"]))) if r["type"] == "counting1" else None
        if key in seen or (pair is not None and pair in seen):
            dup += 1
        seen.add(key)
        if pair is not None:
            seen.add(pair)
    return dup


def split_overlap(rows_by_split: dict[str, list[dict]]) -> tuple[int, int]:
    """(map ids, distinct metro data) found in more than one split."""
    maps = Counter(m for rows in rows_by_split.values() for m in {r["map_id"] for r in rows})
    nets = Counter(n for rows in rows_by_split.values() for n in {r["metro_data"] for r in rows})
    return sum(1 for v in maps.values() if v > 1), sum(1 for v in nets.values() if v > 1)


# ----- labels and colours per map -----------------------------------------------------------------------------------
def _map_stats(rec: dict, net: Network, questions: list[dict], group: GroupStats, worst: list) -> set[str]:
    """Add one synthetic map (its maps-table row and its questions) to its group; returns the stations a reader
    cannot find on it."""
    plan = cached_plan(net, int(rec["width"]), False, None)
    margins = label_margins(plan.label_boxes, plan.station_xy)
    unlabelled = {s for s in net.stations if s not in plan.label_boxes}
    misplaced = {s for s, m in margins.items() if m < min_label_margin(int(rec["width"]))}
    group.maps += 1
    group.stations += len(net.stations)
    group.misplaced += len(misplaced)
    group.unlabelled += len(unlabelled)
    group.min_delta_e = min(group.min_delta_e, min_delta_e([ln.color for ln in net.lines]))
    group.line_counts[len(net.lines)] += 1
    over_other = _geometry_stats(plan, net, group)
    hidden = misplaced | unlabelled | over_other
    for q in questions:
        group.questions += 1
        group.naming_unreadable += any(q[f] in hidden for f in NAMED_FIELDS.get(q["type"], ()) if f != "line")
    worst.extend((m, rec["map_id"], s) for s, m in margins.items())
    return hidden


def _geometry_stats(plan, net: Network, group: GroupStats) -> set[str]:
    """What labels cover, whether neighbours' labels keep their order, and hairpin lines, for one map; returns the
    stations whose label covers another line's stroke (a question must not name them)."""
    other, stroke, mark = label_cover(plan, net)
    pairs, flips = order_flips(plan, net)
    group.labels += len(plan.label_boxes)
    group.over_other_stroke += len(other)
    group.over_stroke += len(stroke)
    group.over_mark += len(mark)
    group.order_pairs += pairs
    group.order_flips += flips
    group.lines += len(net.lines)
    group.hairpins += hairpin_lines(net)
    return other


def audit_rows(maps: Iterable[dict], rows_by_split: dict[str, list[dict]]) -> AuditReport:
    """The audit of a maps table (rows with `network`, `width`, `source`) and its questions by split."""
    rows = [r for split_rows in rows_by_split.values() for r in split_rows]
    by_map: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_map[r["map_id"]].append(r)
    groups: dict[tuple, GroupStats] = {}
    worst: list = []
    metro, hidden, cues = {}, {}, {}
    for rec in maps:
        net = Network.from_dict(json.loads(rec["network"]))
        metro[rec["map_id"]] = json.loads(rec["metro_data"])
        cues[rec["map_id"]] = MapCues.from_metro(metro[rec["map_id"]], rec["difficulty_city"], net.positions)
        if rec["source"] != "synthetic":
            continue
        key = (rec["difficulty_city"], int(rec["width"]))
        group = groups.setdefault(key, GroupStats(*key))
        hidden[rec["map_id"]] = _map_stats(rec, net, by_map.get(rec["map_id"], []), group, worst)
    c1 = [r for r in rows if r["type"] == "counting1"]
    overlap = split_overlap(rows_by_split)
    order = {"easy": 0, "middle": 1, "hard": 2}
    known = [r for r in rows if r["map_id"] in cues]
    return AuditReport(sorted(groups.values(), key=lambda g: (order.get(g.difficulty, 3), g.size)),
                       choices_only_accuracy(c1), len(c1), answer_balance(rows), duplicate_questions(rows),
                       overlap[0], overlap[1], sorted(worst)[:8], recheck_rows(metro, rows, hidden),
                       shortcut_table(known, cues))


def audit_dataset(path: str | os.PathLike, picture: str | os.PathLike | None = None, *,
                  pnginfo: Any = None) -> AuditReport:
    """Audit a saved data set; with `picture`, also write the closest-call labels there (see `worst_labels_png`;
    `pnginfo`, PIL's PNG text chunks, is saved with it)."""
    manifest = read_manifest(path)
    splits = list(manifest.get("counts", {})) or ["train", "test"]
    rows_by_split = {s: load_questions(path, s).to_list() for s in splits}
    maps = load_maps(path)
    report = audit_rows(maps.remove_columns(["image"]).to_list(), rows_by_split)
    report.checks = [check(maps, [r for rows in rows_by_split.values() for r in rows], manifest) for check in CHECKS]
    if picture is not None:
        worst_labels_png(maps, report.worst, picture, pnginfo=pnginfo)
    return report


def format_audit(report: AuditReport) -> str:
    """The audit as a plain-text report (tables in Markdown)."""
    lines = ["| difficulty | size | maps | misplaced labels | unlabelled | questions naming one | min ΔE00 "
             "| line counts | labels over another line | over any line | over a mark | swapped neighbours "
             "| hairpin lines |", "|---" * 13 + "|"]
    for g in report.groups:
        counts = ",".join(str(k) for k in sorted(g.line_counts))
        lines.append(f"| {g.difficulty} | {g.size} | {g.maps} | {g.share('misplaced'):.2%} | "
                     f"{g.share('unlabelled'):.2%} | {g.naming_unreadable} / {g.questions} | {g.min_delta_e:.1f} | "
                     f"{counts} | {g.share('over_other_stroke'):.2%} | {g.share('over_stroke'):.2%} | "
                     f"{g.share('over_mark'):.2%} | {g.order_flips} / {g.order_pairs} | {g.hairpins} / {g.lines} |")
    lines += ["", f"counting1 choices-only accuracy ({report.counting1} questions, chance 25%): "
              + ", ".join(f"{k} {v:.1%}" for k, v in report.choices_only.items())]
    for typ, b in report.balance.items():
        shares = ", ".join(f"{k} {v:.0%}" for k, v in list(b["shares"].items())[:8])
        lines.append(f"{typ} ({b['n']}): {shares}; majority {b['majority']} {b['majority_share']:.0%}")
    lines.append(f"duplicate questions: {report.duplicates}; maps in two splits: {report.maps_in_two_splits}; "
                 f"networks in two splits: {report.networks_in_two_splits}")
    rc = report.recheck
    lines.append(f"keys and reference routes recomputed by networkx: {rc.checked.total()} questions, "
                 f"{rc.counts.total()} disagreement(s)")
    lines += ["", "blind baselines and balance (two folds by map; missed = over target by more than 2 SE):",
              *format_shortcuts(report.shortcuts), ""]
    fails = report.failures()
    lines.append("targets: all met" if not fails else "targets missed:\n  " + "\n  ".join(fails))
    return "\n".join(lines)
