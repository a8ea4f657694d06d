"""Station-label placement for `rmlite.maps.layout`: greedy, against an obstacle raster, with no label over another.

Each label tries spots around its station (right first, as most printed maps do) at growing clearances and
shrinking font sizes down to the legible minimum, all scored at once. Costs are tiered so that a reader never
loses what a label would hide: a spot over a station mark (tick, terminus bar, transfer pill), one that reads as
another station's label, or one that swaps the order of two neighbours along a straight run is never taken (the
station stays unlabelled and gets no question); a spot over track is taken only when every free spot covers
some, and then the one covering least; among clean spots, small preferences (direction, clearance, font size,
the side the line's previous label took) decide. Stations that found no free spot, or none at all, go first in a
new round. Written by hand: map-label placement libraries either need a GIS stack or do not guarantee zero
label-label overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from rmlite.maps.fonts import get_font
from rmlite.maps.network import Network

MARK_WEIGHT = 1 << 20  # obstacle raster value of a station-mark pixel; track pixels are 1 (see `Placer.split`)


class Placer:
    """Greedy placement state: an obstacle raster as a summed-area table and an exact occupancy mask.

    The raster holds track pixels as 1 and station-mark pixels as MARK_WEIGHT, so one box sum tells both counts.
    """

    def __init__(self, size: int, obstacles: np.ndarray, down: int = 1):
        self.size, self.down = size, down
        sat = np.zeros((obstacles.shape[0] + 1, obstacles.shape[1] + 1), dtype=np.int64)
        np.cumsum(obstacles, axis=1, dtype=np.int64, out=sat[1:, 1:])
        for y in range(2, sat.shape[0]):  # row by row: numpy's cumsum down axis 0 is ~5x slower here
            sat[y] += sat[y - 1]
        self.sat = sat
        self.taken = np.zeros((size, size), dtype=bool)

    def cost(self, box: tuple[int, int, int, int]) -> int:
        return int(self.costs(np.array([box]))[0])

    def costs(self, boxes: np.ndarray) -> np.ndarray:
        """Obstacle sum under each box of an (n, 4) array (boxes reaching past the raster are clipped)."""
        d, lim = self.down, self.sat.shape[1] - 1
        b = np.minimum(np.maximum(np.concatenate([boxes[:, :2] // d, -(-boxes[:, 2:] // d)], axis=1), 0), lim)
        x0, y0, x1, y1 = b.T
        s = self.sat
        return s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]

    @staticmethod
    def split(costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raster sums → (track pixels, mark pixels)."""
        return costs % MARK_WEIGHT, costs // MARK_WEIGHT

    def free(self, box: tuple[int, int, int, int]) -> bool:
        x0, y0, x1, y1 = box
        return 0 <= x0 and 0 <= y0 and x1 <= self.size and y1 <= self.size and not self.taken[y0:y1, x0:x1].any()

    def take(self, box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        self.taken[max(0, y0):y1, max(0, x0):x1] = True


@dataclass(frozen=True)
class LabelStyle:
    """The sizes placement needs from the plan: label font range (px), mark radius and tick length (px)."""

    fpx: int
    fmin: int
    r_mark: float
    tick: float


# Candidate directions (name, unit vector, preference, box anchor as a fraction of its width and height), right
# first as most printed maps do; the last four sit above or below but shifted sideways.
_DIRS = (("E", (1, 0), 0.0, (0, -.5)), ("W", (-1, 0), 0.6, (-1, -.5)), ("NE", (.7071, -.7071), 1.0, (0, -1)),
         ("SE", (.7071, .7071), 1.0, (0, 0)), ("N", (0, -1), 1.2, (-.5, -1)), ("S", (0, 1), 1.2, (-.5, 0)),
         ("NW", (-.7071, -.7071), 1.4, (-1, -1)), ("SW", (-.7071, .7071), 1.4, (-1, 0)),
         ("N>", (0, -1), 2.0, (-.1, -1)), ("N<", (0, -1), 2.0, (-.9, -1)), ("S>", (0, 1), 2.0, (-.1, 0)),
         ("S<", (0, 1), 2.0, (-.9, 0)))  # fmt: skip
_RADII = (0.0, 0.45, 1.0, 1.8, 2.6, 3.5)  # extra clearance, in font sizes
_DIR_UNIT = np.array([d[1] for d in _DIRS], dtype=float)
_DIR_PREF = np.array([d[2] for d in _DIRS], dtype=float)
_DIR_ANCHOR = np.array([d[3] for d in _DIRS], dtype=float)
_DIR_NAMES = np.array([d[0] for d in _DIRS])
# Cost tiers. Clean spots cost < _COVER; a spot over track costs _COVER plus its track pixels; a spot over a
# station mark, one nearer another station's mark than its own, or one that swaps neighbours' order costs inf.
_COVER = 1000.0
_FONT_STEP = 14.0  # cost of each font size below the largest
# Placement rounds spent on unlabelled stations (each round is a full pass; overlaps get up to six).
_UNLABELLED_ROUNDS = 2
_AMBIGUITY_BATCH = 6  # free spots checked for ambiguity at once (`_first_readable`)


# A reader compares distances by their ratio, not their difference (Weber's law): a label 29 px from its own mark
# and 34 px from another ("Prélieu", issue 23: beside a six-line interchange, read as 6 or 2 lines) is nearer by
# 4 px, more than 3 px at 768, yet reads as either. So the margin also grows with the label's distance to its own
# mark: the other mark must be farther by this share of it too (a label 10 px from its tick: 1.5 px more; Prélieu's
# other mark would have to be 36.8 px away). 0.25 rejected it too but left 8 % of hard 512 px maps' stations
# unlabelled (5.9 % before); 0.15 costs about 1 point (docs/data.md).
READING_SHARE = 0.15


def min_label_margin(size: int) -> float:
    """How much nearer (px) a label must be to its own mark than to any other mark to read as its own.

    A label only just nearer its own mark (0.0–0.6 px, as issue 23 found) sits midway between two marks: a
    reader cannot rank distances that close, so such a label names neither station. The margin is one 256th of
    the image side (2 px at 512, 3 at 768, 4 at 1024): the same share of the picture at every preset, so it
    survives the training resize alike, and about half a line stroke, the smallest gap an eye ranks at once.
    Only station marks count, not other lines' strokes (those are `rmlite.data.legibility.label_cover`'s).

    >>> min_label_margin(512), min_label_margin(1024)
    (2.0, 4.0)
    """
    return size / 256


@lru_cache(maxsize=8192)
def _text_box(text: str, px: int) -> tuple[float, float, float, float]:
    """(width, height, left bearing, top) of `text` drawn at `px` with anchor "ls", with room for accents."""
    f = get_font(px)
    asc, desc = f.getmetrics()
    bl, bt, br, bb = f.getbbox(text, anchor="ls")
    top, bottom = min(bt, -round(asc * 0.80)), max(bb, round(desc * 0.6))
    return max(f.getlength(text), br) - min(0, bl), bottom - top, min(0, bl), top


def place_labels(net: Network, placer: Placer, station_xy: dict, marks: dict, st_pts: dict, paths: dict,
                 style: LabelStyle) -> tuple[dict, dict, int]:
    """Greedy placement: transfers first, then each line's stations in order (favouring the previous side).

    A label is only drawn where its own mark is the nearest one (`_nearer_other`), it covers no station mark and
    it keeps its straight-run neighbours' order; a station with no such free spot stays unlabelled (and gets no
    question). If some label finds no free spot, or stays unlabelled, placement restarts with those stations
    first (a few rounds, the best kept): the neighbour that took their room usually has other options.
    """
    order = sorted(net.transfer_stations, key=lambda s: (-len(net.station_lines[s]), net.stations.index(s)))
    seen = set(order)
    for ln in net.lines:
        for s in ln.stations:
            if s not in seen:
                seen.add(s)
                order.append(s)
    taken0 = placer.taken.copy()
    ctx = _Context(net, placer, station_xy, marks, st_pts, _run_neighbours(net, st_pts, paths, station_xy),
                   _marks_own_first(station_xy), style)
    best = None
    for _round in range(6):
        boxes, draw_at, failed = _place_in_order(ctx, order)
        unlabelled = [s for s in order if s not in boxes and s not in failed]
        score = (len(failed), len(unlabelled))
        if best is None or score < best[0]:
            best = (score, boxes, draw_at, failed, placer.taken.copy())
        if not failed and (not unlabelled or _round >= _UNLABELLED_ROUNDS - 1):
            break
        order = failed + unlabelled + [s for s in order if s not in failed and s not in unlabelled]
        placer.taken = taken0.copy()
    _, boxes, draw_at, failed, placer.taken = best
    return boxes, draw_at, len(failed)


@dataclass
class _Context:
    """What one placement pass reads (fixed for the map)."""

    net: Network
    placer: Placer
    station_xy: dict
    marks: dict
    st_pts: dict
    neighbours: dict  # station → [(neighbour, unit vector from the neighbour's mark to this one)]
    marks_xy: dict  # station → positions of every station mark, its own first
    style: LabelStyle
    spots: dict = field(default_factory=dict)  # station → its candidate spots (`_spot_geometry`), made on demand


def _run_neighbours(net: Network, st_pts: dict, paths: dict, station_xy: dict) -> dict[str, list]:
    """Station → the line neighbours it shares a straight run with, each with the unit vector neighbour → station.

    Their labels must keep that order along the run (a reader walking the line reads labels in tick order).
    """
    out: dict[str, list] = {s: [] for s in station_xy}
    index = {(ln, s): i for s, items in st_pts.items() for ln, _, _, i in items}
    for ln in net.lines:
        path = paths[ln.name]
        for s, t in zip(ln.stations, ln.stations[1:], strict=False):
            i, j = sorted((index[(ln.name, s)], index[(ln.name, t)]))
            steps = {(b[0] - a[0], b[1] - a[1]) for a, b in zip(path[i:j], path[i + 1:j + 1], strict=False)}
            (ax, ay), (bx, by) = station_xy[s], station_xy[t]
            n = math.hypot(bx - ax, by - ay)
            if len(steps) != 1 or n == 0:
                continue
            u = ((bx - ax) / n, (by - ay) / n)
            out[t].append((s, u))
            out[s].append((t, (-u[0], -u[1])))
    return out


def _reading_margin(boxes: np.ndarray, xy: np.ndarray, own: int | np.ndarray) -> np.ndarray:
    """For each (n, 4) box: how much nearer (px) its own mark (row `own` of xy: one index, or one per box) is than
    the nearest other mark, less `READING_SHARE` of its distance to its own mark; ≤ 0 reads as another station's
    label. Distance is to the box's edge, ties broken by the distance to its centre, as a reader would."""
    b = boxes[:, None, :].astype(float)
    dx = np.maximum(np.maximum(b[..., 0] - xy[None, :, 0], 0.0), xy[None, :, 0] - b[..., 2])
    dy = np.maximum(np.maximum(b[..., 1] - xy[None, :, 1], 0.0), xy[None, :, 1] - b[..., 3])
    cx, cy = (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2
    key = np.hypot(dx, dy) + 1e-3 * np.hypot(cx - xy[None, :, 0], cy - xy[None, :, 1])
    rows = np.arange(len(boxes))
    mine = key[rows, own].copy()
    key[rows, own] = np.inf
    return key.min(axis=1) - mine * (1 + READING_SHARE) if xy.shape[0] > 1 else np.full(len(boxes), np.inf)


def _marks_own_first(station_xy: dict) -> dict[str, np.ndarray]:
    """Station → the (n, 2) positions of every mark, its own first: what `_nearer_other` compares a spot against
    (all of them, as `misplaced_labels` does, so a label the placer takes never reads as another station's)."""
    xy = np.array(list(station_xy.values()), dtype=float).reshape(-1, 2)
    return {s: np.concatenate([xy[i:i + 1], xy[:i], xy[i + 1:]]) for i, s in enumerate(station_xy)}


def _nearer_other(boxes: np.ndarray, xy: np.ndarray, own: int, margin: float) -> np.ndarray:
    """True for each box that does not read as its own station's label (`_reading_margin` < `margin`)."""
    return _reading_margin(boxes, xy, own) < margin


def _candidates(ctx: _Context, s: str, fi: int, prev: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The spots tried for station s in its fi-th font size (largest first): (penalties, int boxes (n, 4), text
    origins (n, 2)), clearance by clearance, direction by direction (index k → `_DIRS[k % len(_DIRS)]`).

    The geometry is worked out once per station, font and map (`_Context.spots`); only the penalty for leaving
    the side the line's previous label took changes between calls."""
    if (s, fi) not in ctx.spots:
        ctx.spots[(s, fi)] = _spot_geometry(ctx, s, fi)
    pens, boxes, origins = ctx.spots[(s, fi)]
    if prev is not None:
        pens = pens - np.where(_DIR_NAMES[np.arange(len(pens)) % len(_DIRS)] == prev, 6.0, 0.0)
    return pens, boxes, origins


def _spot_geometry(ctx: _Context, s: str, fi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_candidates` before the previous-side penalty."""
    st = ctx.style
    cx, cy = ctx.station_xy[s]
    kind, a, b = ctx.marks[s]
    base_r = (st.r_mark + math.dist(a, b) / 2 if kind == "pill" else st.tick + 2) + st.fpx * 0.3
    radii = (base_r + np.array(_RADII) * st.fpx)[:, None]
    w, h, left, top = _text_box(s, st.fpx - fi)
    x0 = (cx + radii * _DIR_UNIT[:, 0] + _DIR_ANCHOR[:, 0] * w).ravel()
    y0 = (cy + radii * _DIR_UNIT[:, 1] + _DIR_ANCHOR[:, 1] * h).ravel()
    boxes = np.stack([np.floor(x0) - 1, np.floor(y0) - 1, np.ceil(x0 + w) + 1, np.ceil(y0 + h) + 1], -1)
    pens = (np.arange(len(_RADII))[:, None] * 10.0 + _DIR_PREF[None, :] * 4).ravel() + fi * _FONT_STEP
    return pens, boxes.astype(np.int64), np.stack([x0 - left, y0 - top], -1)


def _spot_costs(ctx: _Context, s: str, pens: np.ndarray, boxes: np.ndarray, labelled: dict) -> np.ndarray:
    """Tiered cost of each candidate box (see the module docstring); inf: never to be taken. Whether a spot reads
    as another station's label is checked later, only for the cheapest free spots (`_first_readable`)."""
    track, mark = Placer.split(ctx.placer.costs(boxes))
    size = ctx.placer.size
    never = (boxes[:, 0] < 0) | (boxes[:, 1] < 0) | (boxes[:, 2] > size) | (boxes[:, 3] > size) | (mark > 0)
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    for nb, (ux, uy) in ctx.neighbours[s]:
        nbox = labelled.get(nb)
        if nbox is not None:  # this label must come after the neighbour's along the run
            never |= (cx - (nbox[0] + nbox[2]) / 2) * ux + (cy - (nbox[1] + nbox[3]) / 2) * uy <= 0
    return np.where(never, np.inf, pens + np.where(track > 0, _COVER + track, 0.0))


def _first_readable(ctx: _Context, s: str, costs: np.ndarray, cand: np.ndarray, spots: list) -> int | None:
    """Index of the cheapest finite-cost spot that is free and reads as s's own label, else None.

    Free spots are collected in cost order and checked for ambiguity a few at a time (the check is the costly
    part, and the first few free spots nearly always pass)."""
    ranked = np.argsort(costs, kind="stable")
    batch: list[int] = []
    for k in ranked[np.isfinite(costs[ranked])].tolist():
        if ctx.placer.free(spots[k]):
            batch.append(k)
        if len(batch) == _AMBIGUITY_BATCH:
            hit = _readable_in(ctx, s, cand, batch)
            if hit is not None:
                return hit
            batch = []
    return _readable_in(ctx, s, cand, batch) if batch else None


def _readable_in(ctx: _Context, s: str, cand: np.ndarray, batch: list[int]) -> int | None:
    """The first spot of `batch` (candidate indices) that does not read as another station's label."""
    ok = np.flatnonzero(~_nearer_other(cand[batch], ctx.marks_xy[s], 0, min_label_margin(ctx.placer.size)))
    return batch[int(ok[0])] if len(ok) else None


def _best_spot(ctx: _Context, s: str, prev: str | None, labelled: dict) -> tuple | None:
    """(font index, candidate index, cost) of the cheapest free, readable spot over every font size, or None.

    Fonts are tried largest first and a smaller one only while it could still win: its spots cost at least
    fi·_FONT_STEP − 6 (the previous-side bonus), so measuring its text is skipped once a cheaper spot is found.
    Ties go to the larger font, as one sorted list of every spot would give."""
    best = None
    for fi in range(ctx.style.fpx - ctx.style.fmin + 1):
        if best is not None and best[2] <= fi * _FONT_STEP - 6:
            break
        pens, cand, _ = _candidates(ctx, s, fi, prev)
        costs = _spot_costs(ctx, s, pens, cand, labelled)
        k = _first_readable(ctx, s, costs, cand, cand.tolist())
        if k is not None and (best is None or costs[k] < best[2]):
            best = (fi, k, float(costs[k]))
    return best


def _place_in_order(ctx: _Context, order: list) -> tuple[dict, dict, list]:
    """One greedy pass; returns (boxes, draw positions, stations that found no free spot at all)."""
    placer, gap = ctx.placer, max(3, round(ctx.style.fpx * 0.4))  # gap: two labels in a row must not read as one
    boxes: dict[str, tuple[int, int, int, int]] = {}
    draw_at: dict[str, tuple] = {}
    last_side: dict[str, str] = {}
    failed = []
    for s in order:
        best = _best_spot(ctx, s, last_side.get(ctx.st_pts[s][0][0]), boxes)
        if best is None:
            fonts = range(ctx.style.fpx - ctx.style.fmin + 1)
            if not any(placer.free(b) for fi in fonts for b in _candidates(ctx, s, fi, None)[1].tolist()):
                failed.append(s)  # crowded out by other labels: a new round, or the generator redraws the map
            continue  # no label rather than one that hides a mark or reads wrong: the station gets no question
        fi, k, cost = best
        _, cand, origins = _candidates(ctx, s, fi, None)
        box = tuple(cand[k].tolist())
        placer.take((box[0] - gap, box[1] - 1, box[2] + gap, box[3] + 1))
        boxes[s] = box
        draw_at[s] = (float(origins[k, 0]), float(origins[k, 1]), get_font(ctx.style.fpx - fi), cost >= _COVER)
        for ln_name in ctx.net.station_lines[s]:
            last_side[ln_name] = _DIRS[k % len(_DIRS)][0]
    return boxes, draw_at, failed


def label_margins(label_boxes: dict, station_xy: dict) -> dict[str, float]:
    """Labelled station → how much nearer (px) its label is to its own mark than to any other (≤ 0: misplaced)."""
    names = list(station_xy)
    xy = np.array([station_xy[n] for n in names], dtype=float).reshape(-1, 2)
    own = [i for i, s in enumerate(names) if s in label_boxes]
    if not own:
        return {}
    margins = _reading_margin(np.array([label_boxes[names[i]] for i in own]), xy, np.array(own))
    return {names[i]: float(m) for i, m in zip(own, margins, strict=True)}


def misplaced_labels(label_boxes: dict, station_xy: dict, margin: float) -> frozenset[str]:
    """Stations whose label is not nearer its own mark than any other by `margin` px (`min_label_margin`), or
    that have no label at all.

    A reader matches a name to the clearly nearest mark, so such a station cannot be read off the map. Below, A's
    label is 4 px from its own mark and 7 px from B's: nearer by 3 px, 2.4 px once `READING_SHARE` of its 4 px is
    taken off; at 4.5 px from B's it reads as either.

    >>> boxes, xy = {"A": (10, 0, 30, 8), "B": (0, 10, 20, 18)}, {"A": (0, 4), "B": (40, 30)}
    >>> sorted(misplaced_labels(boxes, xy, 0.0))  # B has no label
    ['B']
    >>> a_only = {"A": (10, 0, 30, 8)}
    >>> [sorted(misplaced_labels(a_only, {"A": (6, 4), "B": (37, 4)}, m)) for m in (0.0, 1.5, 2.5)]
    [['B'], ['B'], ['A', 'B']]
    >>> sorted(misplaced_labels(a_only, {"A": (6, 4), "B": (34.5, 4)}, 0.0))
    ['A', 'B']
    """
    margins = label_margins(label_boxes, station_xy)
    return frozenset(s for s in station_xy if margins.get(s, -math.inf) < max(margin, 1e-9))
