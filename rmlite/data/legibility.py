"""What a reader of a rendered map cannot see: labels over track or station marks, swapped labels, hairpin lines.

Used by `rmlite.data.audit`. Each check redraws what it needs from the map's plan and network with its own
geometry (capsules sampled every pixel, unit steps of the grid polylines), not the label placer's obstacle raster
or the generator's walker, so a fault in either shows up here.

>>> from rmlite.maps.generate import GeneratorConfig, generate_network
>>> from rmlite.maps.layout import cached_plan
>>> net = generate_network(GeneratorConfig("easy", size=512), seed=1)
>>> plan = cached_plan(net, 512, False, None)
>>> label_cover(plan, net)[2], order_flips(plan, net)[1], hairpin_lines(net)
(set(), 0, 0)
"""

from __future__ import annotations

import math

import numpy as np

from rmlite.maps.generate import HAIRPIN_HOPS, HAIRPIN_TURN
from rmlite.maps.network import Network


def _capsules(plan, net: Network) -> tuple[np.ndarray, np.ndarray, list]:
    """Points sampled ≤ 1 px apart along every drawn stroke and station mark: (xy, radius, owner per point).

    Owner is ("line", name) for track, ("mark", station) for ticks, terminus bars and transfer pills, each drawn
    here from the plan's geometry the way the map shows it (a tick points at its station's label)."""
    lw, tick = plan.layout.lw, plan.tick
    segs: list[tuple[tuple, tuple, float, tuple]] = []
    for name, pts in plan.line_pts.items():
        segs += [(a, b, lw / 2, ("line", name)) for a, b in zip(pts, pts[1:], strict=False)]
    ends = {s for ln in net.lines for s in (ln.stations[0], ln.stations[-1])}
    for s, (kind, a, b) in plan.marks.items():
        if kind == "pill":
            segs.append((a, b, plan.r_mark + max(1.5, lw * 0.3), ("mark", s)))
            continue
        nx, ny = -b[1], b[0]
        r = lw * 0.375  # ticks and bars are flat-ended strokes 0.75 lw wide: end the capsule's spine r short
        if s in ends:  # terminus bar across the track
            h = tick * 1.3 - r
            segs.append(((a[0] - nx * h, a[1] - ny * h), (a[0] + nx * h, a[1] + ny * h), r, ("mark", s)))
            continue
        box = plan.label_boxes.get(s)
        if box is not None and ((box[0] + box[2]) / 2 - a[0]) * nx + ((box[1] + box[3]) / 2 - a[1]) * ny < 0:
            nx, ny = -nx, -ny
        h = lw / 2 + tick - r
        segs.append((a, (a[0] + nx * h, a[1] + ny * h), r, ("mark", s)))
    xy, rad, owner = [], [], []
    for a, b, r, who in segs:
        n = max(1, math.ceil(math.dist(a, b)))
        t = np.linspace(0.0, 1.0, n + 1)
        xy.append(np.stack([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t], axis=1))
        rad.append(np.full(n + 1, r))
        owner += [who] * (n + 1)
    return np.concatenate(xy), np.concatenate(rad), owner


def label_cover(plan, net: Network) -> tuple[set[str], set[str], set[str]]:
    """Labelled stations whose label box overlaps (another line's stroke, any stroke, any station mark).

    Each box is tested only against the sampled points that can reach it (within the largest radius of its sides):
    the same test as against every point, at a small fraction of the cost."""
    xy, rad, owner = _capsules(plan, net)
    other, stroke, mark = set(), set(), set()
    reach = float(rad.max()) if len(rad) else 0.0
    for s, (x0, y0, x1, y1) in plan.label_boxes.items():
        near = np.nonzero((xy[:, 0] > x0 - reach) & (xy[:, 0] < x1 + reach)
                          & (xy[:, 1] > y0 - reach) & (xy[:, 1] < y1 + reach))[0]
        if not len(near):
            continue
        p = xy[near]
        dx = np.maximum(np.maximum(x0 - p[:, 0], 0.0), p[:, 0] - x1)
        dy = np.maximum(np.maximum(y0 - p[:, 1], 0.0), p[:, 1] - y1)
        for j in near[np.hypot(dx, dy) < rad[near]]:
            kind, who = owner[j]
            if kind == "mark":
                mark.add(s)
            else:
                stroke.add(s)
                if who not in net.station_lines[s]:
                    other.add(s)
    return other, stroke, mark


def _unit_path(poly: list) -> tuple[list[tuple[int, int]], list[int]]:
    """Grid polyline → (every unit node along it, octant of each unit step: 0 = east, counting 45° turns)."""
    nodes, octs = [(round(poly[0][0]), round(poly[0][1]))], []
    for a, b in zip(poly, poly[1:], strict=False):
        dx, dy = round(b[0] - a[0]), round(b[1] - a[1])
        n = max(abs(dx), abs(dy))
        for _ in range(n):
            x, y = nodes[-1]
            nodes.append((x + dx // n, y + dy // n))
            octs.append(round(math.degrees(math.atan2(dy, dx)) / 45) % 8)
    return nodes, octs


def _station_steps(net: Network, line) -> tuple[list[int], list[int]]:
    """A line's unit-step octants and the node index of each of its stations, in line order."""
    nodes, octs = _unit_path(net.geometry[line.name])
    at = {p: i for i, p in enumerate(nodes)}
    return octs, [at[tuple(int(v) for v in net.positions[s])] for s in line.stations]


def hairpin_lines(net: Network) -> int:
    """Lines that turn back by HAIRPIN_TURN octants or more within HAIRPIN_HOPS hops (a tangle, not a bend)."""
    count = 0
    for ln in net.lines:
        octs, idx = _station_steps(net, ln)
        for k in range(max(1, len(idx) - HAIRPIN_HOPS)):
            lo, hi = sorted((idx[k], idx[min(k + HAIRPIN_HOPS, len(idx) - 1)]))
            window = set(octs[lo:hi])
            if any(min((a - b) % 8, (b - a) % 8) >= HAIRPIN_TURN for a in window for b in window):
                count += 1
                break
    return count


def order_flips(plan, net: Network) -> tuple[int, int]:
    """(pairs, flips): consecutive labelled stations joined by a straight run, and how many of those pairs have
    labels in the opposite order to their marks along the run (a reader walking the line reads them swapped)."""
    pairs = flips = 0
    for ln in net.lines:
        octs, idx = _station_steps(net, ln)
        for k, (s, t) in enumerate(zip(ln.stations, ln.stations[1:], strict=False)):
            lo, hi = sorted((idx[k], idx[k + 1]))
            if s not in plan.label_boxes or t not in plan.label_boxes or len(set(octs[lo:hi])) != 1:
                continue  # unlabelled, or a bend between them: no straight run to keep order along
            (ax, ay), (bx, by) = plan.station_xy[s], plan.station_xy[t]
            bs, bt = plan.label_boxes[s], plan.label_boxes[t]
            along = ((bt[0] + bt[2]) - (bs[0] + bs[2])) * (bx - ax) + ((bt[1] + bt[3]) - (bs[1] + bs[3])) * (by - ay)
            pairs += 1
            flips += along <= 0
    return pairs, flips
