"""Station-label placement for `rmlite.maps.layout`: greedy, against an obstacle raster, with no label over another.

Each label tries directions around its station (right first, as most printed maps do), at growing clearances and
shrinking font sizes down to the legible minimum; the cheapest free spot wins, where cost counts the track and
marks it would cover (a summed-area table of the obstacle raster) plus a preference for each direction. Stations
that only get an overlapping spot are retried first in a new round. Written by hand: map-label placement libraries
either need a GIS stack or do not guarantee zero label-label overlap.
"""

from __future__ import annotations

import math

import numpy as np

from rmlite.maps.fonts import get_font
from rmlite.maps.network import Network


class Placer:
    """Greedy label placement against an obstacle raster (summed-area table) and an exact occupancy mask."""

    def __init__(self, size: int, obstacles: np.ndarray, down: int):
        self.size, self.down = size, down
        sat = np.zeros((obstacles.shape[0] + 1, obstacles.shape[1] + 1), dtype=np.int64)
        sat[1:, 1:] = obstacles.astype(np.int64).cumsum(0).cumsum(1)
        self.sat = sat
        self.taken = np.zeros((size, size), dtype=bool)

    def cost(self, box: tuple[int, int, int, int]) -> int:
        d = self.down
        x0, y0, x1, y1 = box[0] // d, box[1] // d, -(-box[2] // d), -(-box[3] // d)
        s = self.sat
        return int(s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0])

    def costs(self, boxes: np.ndarray) -> np.ndarray:
        """Vectorised `cost` for an (n, 4) array of boxes."""
        d = self.down
        x0, y0 = boxes[:, 0] // d, boxes[:, 1] // d
        x1, y1 = -(-boxes[:, 2] // d), -(-boxes[:, 3] // d)
        s = self.sat
        return s[y1, x1] - s[y0, x1] - s[y1, x0] + s[y0, x0]

    def free(self, box: tuple[int, int, int, int]) -> bool:
        x0, y0, x1, y1 = box
        return 0 <= x0 and 0 <= y0 and x1 <= self.size and y1 <= self.size and not self.taken[y0:y1, x0:x1].any()

    def take(self, box: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = box
        self.taken[max(0, y0):y1, max(0, x0):x1] = True


# Candidate directions for a label, with a small preference (right first, as most printed maps do).
_LABEL_DIRS = (("E", 0.0), ("W", 0.6), ("NE", 1.0), ("SE", 1.0), ("N", 1.2), ("S", 1.2), ("NW", 1.4), ("SW", 1.4))
# Extra spots tried only when all of the above are taken: labels above/below but shifted sideways.
_MORE_DIRS = (("N>", 2.0), ("N<", 2.0), ("S>", 2.0), ("S<", 2.0))
_UNIT = {"E": (1, 0), "W": (-1, 0), "N": (0, -1), "S": (0, 1), "NE": (0.7071, -0.7071), "SE": (0.7071, 0.7071),
         "NW": (-0.7071, -0.7071), "SW": (-0.7071, 0.7071)}


def _label_box(d: str, cx: float, cy: float, r: float, w: float, h: float) -> tuple[float, float]:
    """Top-left corner of a w×h label placed in direction d at clearance r from (cx, cy)."""
    ux, uy = _UNIT[d[0]]
    ax = cx + ux * r
    ay = cy + uy * r
    x0 = ax if ux > 0.1 else (ax - w if ux < -0.1 else ax - w / 2)
    y0 = ay if uy > 0.1 else (ay - h if uy < -0.1 else ay - h / 2)
    if len(d) == 2 and d[1] in "<>":
        x0 = cx - w * 0.1 if d[1] == ">" else cx - w * 0.9
    return x0, y0


def place_labels(net: Network, placer: Placer, station_xy: dict, marks: dict, st_pts: dict, r_mark: float,
                  tick: float, fpx: int, fmin: int) -> tuple[dict, dict, int]:
    """Greedy placement: transfers first, then each line's stations in order (favouring the previous side).

    A label is only drawn where its own mark is the nearest one (`_nearer_other`); a station with no such free
    spot stays unlabelled (and gets no question). If some label finds no free spot, or stays unlabelled,
    placement restarts with those stations first (a few rounds, the best kept): the neighbour that took their
    room usually has other options.
    """
    order = sorted(net.transfer_stations, key=lambda s: (-len(net.station_lines[s]), net.stations.index(s)))
    seen = set(order)
    for ln in net.lines:
        for s in ln.stations:
            if s not in seen:
                seen.add(s)
                order.append(s)
    taken0 = placer.taken.copy()
    best = None
    for _round in range(6):
        boxes, draw_at, failed = _place_in_order(net, placer, order, station_xy, marks, st_pts, r_mark, tick, fpx,
                                                 fmin)
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


_PASSES = ((_LABEL_DIRS, (0.0, 0.45, 1.0, 1.8)), (_LABEL_DIRS + _MORE_DIRS, (0.0, 0.45, 1.0, 1.8, 2.6, 3.5)))
# Cost of a spot nearer another station's mark than its own: taken only when nothing else is free, and then the
# station counts as misplaced (`misplaced_labels`) and gets no question.
_AMBIGUOUS = 5000.0
# Placement rounds spent on unlabelled stations (each round is a full pass; overlaps get up to six).
_UNLABELLED_ROUNDS = 2
# Marks checked per candidate spot during placement: the station's own and its nearest others.
_NEAR_MARKS = 16


def _reading_margin(boxes: np.ndarray, xy: np.ndarray, own: int) -> np.ndarray:
    """For each (n, 4) box: how much nearer (px) its own mark is than the nearest other mark; ≤ 0 reads as another
    station's label. Distance is to the box's edge, ties broken by the distance to its centre, as a reader would."""
    b = boxes[:, None, :].astype(float)
    dx = np.maximum(np.maximum(b[..., 0] - xy[None, :, 0], 0.0), xy[None, :, 0] - b[..., 2])
    dy = np.maximum(np.maximum(b[..., 1] - xy[None, :, 1], 0.0), xy[None, :, 1] - b[..., 3])
    cx, cy = (b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2
    key = np.hypot(dx, dy) + 1e-3 * np.hypot(cx - xy[None, :, 0], cy - xy[None, :, 1])
    mine = key[:, own].copy()
    key[:, own] = np.inf
    return key.min(axis=1) - mine if xy.shape[0] > 1 else np.full(len(boxes), np.inf)


def _nearest_marks(station_xy: dict, k: int = _NEAR_MARKS) -> dict[str, np.ndarray]:
    """Station → the (k, 2) positions of its own mark (first) and its nearest other marks: the only ones a label
    placed around it can come near (the final check, `misplaced_labels`, still looks at every mark)."""
    xy = np.array(list(station_xy.values()), dtype=float).reshape(-1, 2)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    np.fill_diagonal(d, -1.0)  # own mark first
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return {s: xy[order[i]] for i, s in enumerate(station_xy)}


def _nearer_other(boxes: np.ndarray, xy: np.ndarray, own: int) -> np.ndarray:
    """True for each box that reads as another station's label (`_reading_margin` ≤ 0)."""
    return _reading_margin(boxes, xy, own) <= 0


def _place_in_order(net: Network, placer: Placer, order: list, station_xy: dict, marks: dict, st_pts: dict,
                    r_mark: float, tick: float, fpx: int, fmin: int) -> tuple[dict, dict, list]:
    """One greedy pass; returns (boxes, draw positions, stations that only got an overlapping spot)."""
    fonts = [get_font(f) for f in range(fpx, fmin - 1, -1)]
    near = _nearest_marks(station_xy)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    draw_at: dict[str, tuple] = {}
    last_side: dict[str, str] = {}
    failed = []
    for s in order:
        cx, cy = station_xy[s]
        kind, a, b = marks[s]
        base_r = (r_mark + math.dist(a, b) / 2 if kind == "pill" else tick + 2) + fpx * 0.3
        prev = last_side.get(st_pts[s][0][0])
        best = fallback = None
        for (dirs, radii), (fi, f) in ((pr, ff) for pr in _PASSES for ff in enumerate(fonts)):
            adv = f.getlength(s)
            asc, desc = f.getmetrics()
            bl, bt, br, bb = f.getbbox(s, anchor="ls")
            top, bottom = min(bt, -round(asc * 0.80)), max(bb, round(desc * 0.6))
            h, w, left = bottom - top, max(adv, br) - min(0, bl), min(0, bl)
            cands = []
            for ri, rmul in enumerate(radii):
                r = base_r + rmul * fpx
                for dname, pref in dirs:
                    x0, y0 = _label_box(dname, cx, cy, r, w, h)
                    box = (math.floor(x0) - 1, math.floor(y0) - 1, math.ceil(x0 + w) + 1, math.ceil(y0 + h) + 1)
                    if 0 <= box[0] and 0 <= box[1] and box[2] <= placer.size and box[3] <= placer.size:
                        pen = pref * 4 + ri * 10 + fi * 14 - (6.0 if dname == prev else 0.0)
                        cands.append((pen, box, dname, (x0 - left, y0 - top, f)))
            if not cands:
                continue
            arr = np.array([c[1] for c in cands])
            raw = placer.costs(arr)
            ambiguous = _nearer_other(arr, near[s], 0).astype(float)
            costs = raw * 6.0 + np.array([c[0] for c in cands]) + _AMBIGUOUS * ambiguous
            for k in np.argsort(costs, kind="stable"):  # cheapest first; the first free one wins
                if placer.free(cands[k][1]):
                    best = (float(costs[k]),) + cands[k][1:3] + (cands[k][3] + (bool(raw[k]),),)
                    break
            if fallback is None:
                k = int(np.argmin(costs))
                fallback = (float(costs[k]),) + cands[k][1:3] + (cands[k][3] + (True,),)
            if best is not None and (best[0] < 100 or fi == len(fonts) - 1):
                break
        if best is None:
            best = fallback
            failed.append(s)
        if best is None or best[0] >= _AMBIGUOUS:
            continue  # no label rather than one that reads as a neighbour's: the station gets no question
        _, box, dname, at = best
        gap = max(3, round(fpx * 0.4))  # keep neighbours apart, or two labels in a row read as one name
        placer.take((box[0] - gap, box[1] - 1, box[2] + gap, box[3] + 1))
        boxes[s] = box
        draw_at[s] = at
        for ln_name in net.station_lines[s]:
            last_side[ln_name] = dname
    return boxes, draw_at, failed


def label_margins(label_boxes: dict, station_xy: dict) -> dict[str, float]:
    """Labelled station → how much nearer (px) its label is to its own mark than to any other (≤ 0: misplaced)."""
    names = list(station_xy)
    xy = np.array([station_xy[n] for n in names], dtype=float).reshape(-1, 2)
    return {s: float(_reading_margin(np.array([label_boxes[s]]), xy, i)[0])
            for i, s in enumerate(names) if s in label_boxes}


def misplaced_labels(label_boxes: dict, station_xy: dict) -> frozenset[str]:
    """Stations whose label sits nearer another station's mark than its own, or that have no label at all.

    A reader matches a name to the nearest mark, so such a station cannot be read off the map.

    >>> sorted(misplaced_labels({"A": (10, 0, 30, 8), "B": (0, 10, 20, 18)}, {"A": (0, 4), "B": (30, 20)}))
    ['B']
    """
    margins = label_margins(label_boxes, station_xy)
    return frozenset(s for s in station_xy if margins.get(s, -1.0) <= 0)
