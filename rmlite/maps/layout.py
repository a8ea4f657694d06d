"""Where everything on a rendered map goes, decided before any drawing: the plan `rmlite.maps.render` draws.

Grid → pixel geometry (`Layout`: shared corridors become parallel offset strokes), station marks (pills for
transfers, ticks elsewhere), line badges at the termini, the legend's boxes and the station labels (placed by
`rmlite.maps.labels` against an obstacle raster of everything above). The generator asks `labels_fit` before it
accepts a network, and the renderer reuses that plan from a small cache. Left out: pixels (see `render`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rmlite.maps.fonts import get_font, legible_font_px, min_font_px
from rmlite.maps.labels import MARK_WEIGHT, LabelStyle, Placer, place_labels
from rmlite.maps.network import Network

CORNER_RADIUS = 0.45  # rounded bends, in grid units
BADGE_DISTANCES = (1.0, 1.6, 2.4)  # how far past a terminus a badge may sit (in badge clearances)
BADGE_SIDES = (0, 1, -1, 2, -2)  # sideways shifts tried at each distance, straight ahead first


def _expand(poly: list) -> list[tuple[int, int]]:
    """Polyline of octilinear grid segments → every unit node along it."""
    out = [(round(poly[0][0]), round(poly[0][1]))]
    for a, b in zip(poly, poly[1:], strict=False):
        dx, dy = round(b[0] - a[0]), round(b[1] - a[1])
        n = max(abs(dx), abs(dy))
        if n == 0:
            continue
        if dx not in (0, n, -n) or dy not in (0, n, -n):
            raise ValueError(f"segment {a}->{b} is not octilinear")
        sx, sy = dx // n, dy // n
        x, y = out[-1]
        out.extend((x + sx * i, y + sy * i) for i in range(1, n + 1))
    return out


class Layout:
    """Pixel geometry of a network: per-line unit paths, per-edge offsets for shared corridors."""

    def __init__(self, net: Network, size: int, top_reserve: float, font_px: int):
        if net.positions is None or net.geometry is None:
            raise ValueError("this network has no layout (a real map?); only generated networks can be rendered")
        self.net = net
        self.paths = {ln.name: _expand(net.geometry[ln.name]) for ln in net.lines}
        xs = [p[0] for path in self.paths.values() for p in path]
        ys = [p[1] for path in self.paths.values() for p in path]
        margin = 2.6 * font_px
        w, h = max(max(xs) - min(xs), 1), max(max(ys) - min(ys), 1)
        avail_h = size - 2 * margin - top_reserve
        self.scale = min((size - 2 * margin) / w, avail_h / h, 4.0 * font_px)
        self.ox = (size - w * self.scale) / 2 - min(xs) * self.scale
        self.oy = margin + (avail_h - h * self.scale) / 2 - min(ys) * self.scale
        self.lw = max(3.0, round(font_px * 0.42))
        self.spacing = self.lw * 1.2
        # edge -> line indices in drawing order; reference traversal direction = that of the first line on it.
        self.order = {ln.name: i for i, ln in enumerate(net.lines)}
        edge_lines: dict[frozenset, list[int]] = {}
        edge_ref: dict[frozenset, tuple] = {}
        for ln in net.lines:
            path = self.paths[ln.name]
            for a, b in zip(path, path[1:], strict=False):
                e = frozenset((a, b))
                if e not in edge_ref:
                    edge_ref[e] = (a, b)
                edge_lines.setdefault(e, []).append(self.order[ln.name])
        self.edge_lines, self.edge_ref = edge_lines, edge_ref

    def px(self, p: tuple[float, float]) -> tuple[float, float]:
        return (self.ox + p[0] * self.scale, self.oy + p[1] * self.scale)

    def edge_offset(self, a: tuple, b: tuple, line_idx: int) -> tuple[float, float]:
        """Offset (px) of one line on a unit edge: slots across the corridor, in the reference direction's frame."""
        e = frozenset((a, b))
        lines = self.edge_lines[e]
        if len(lines) == 1:
            return (0.0, 0.0)
        ra, rb = self.edge_ref[e]
        dx, dy = rb[0] - ra[0], rb[1] - ra[1]
        n = math.hypot(dx, dy)
        nx, ny = -dy / n, dx / n
        slot = (lines.index(line_idx) - (len(lines) - 1) / 2) * self.spacing
        return (nx * slot, ny * slot)

    def offset_path(self, name: str, i0: int = 0, i1: int | None = None) -> tuple[list, list]:
        """Pixel polyline of a line's unit nodes i0..i1 with corridor offsets; also the pixel point at each node."""
        path = self.paths[name][i0: None if i1 is None else i1 + 1]
        li = self.order[name]
        pts = [self.px(p) for p in path]
        offs = [self.edge_offset(a, b, li) for a, b in zip(path, path[1:], strict=False)]
        dirs = []
        for a, b in zip(pts, pts[1:], strict=False):
            dx, dy = b[0] - a[0], b[1] - a[1]
            n = math.hypot(dx, dy)
            dirs.append((dx / n, dy / n))
        node_pts = [(pts[0][0] + offs[0][0], pts[0][1] + offs[0][1])]
        out = [node_pts[0]]
        for i in range(1, len(pts) - 1):
            (o1, o2), (u1, u2), p = (offs[i - 1], offs[i]), (dirs[i - 1], dirs[i]), pts[i]
            if abs(u1[0] * u2[1] - u1[1] * u2[0]) < 1e-9:  # straight on (floats: compare by cross product)
                if math.dist(o1, o2) < 1e-9:
                    node_pts.append((p[0] + o1[0], p[1] + o1[1]))
                    continue
                h = math.hypot(o2[0] - o1[0], o2[1] - o1[1]) / 2  # 45° jog between corridor slots
                out.append((p[0] - u1[0] * h + o1[0], p[1] - u1[1] * h + o1[1]))
                out.append((p[0] + u2[0] * h + o2[0], p[1] + u2[1] * h + o2[1]))
                node_pts.append((p[0] + (o1[0] + o2[0]) / 2, p[1] + (o1[1] + o2[1]) / 2))
                continue
            cr = u1[0] * u2[1] - u1[1] * u2[0]
            wx, wy = o2[0] - o1[0], o2[1] - o1[1]
            t = (wx * u2[1] - wy * u2[0]) / cr
            q = (p[0] + o1[0] + t * u1[0], p[1] + o1[1] + t * u1[1])
            out.append(q)
            node_pts.append(q)
        last = (pts[-1][0] + offs[-1][0], pts[-1][1] + offs[-1][1])
        out.append(last)
        node_pts.append(last)
        return out, node_pts


def round_corners(pts: list, radius: float) -> list:
    """Replace each bend by a short quadratic curve, like the rounded corners of printed maps."""
    if len(pts) < 3:
        return pts
    out = [pts[0]]
    for a, p, b in zip(pts, pts[1:], pts[2:], strict=False):
        la, lb = math.dist(a, p), math.dist(p, b)
        r = min(radius, la * 0.5, lb * 0.5)
        if r < 0.5 or la == 0 or lb == 0:
            out.append(p)
            continue
        s = (p[0] + (a[0] - p[0]) * r / la, p[1] + (a[1] - p[1]) * r / la)
        e = (p[0] + (b[0] - p[0]) * r / lb, p[1] + (b[1] - p[1]) * r / lb)
        for k in range(6):
            t = k / 5
            out.append(((1 - t) ** 2 * s[0] + 2 * t * (1 - t) * p[0] + t * t * e[0],
                        (1 - t) ** 2 * s[1] + 2 * t * (1 - t) * p[1] + t * t * e[1]))
    out.append(pts[-1])
    return out


def hex_rgb(c: str) -> tuple[int, int, int]:
    """`"#0072B2"` → `(0, 114, 178)`."""
    c = c.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


@dataclass
class MapPlan:
    """Everything decided before drawing: pixel geometry, marks, badges, legend and label positions."""

    layout: Layout
    fpx: int
    fmin: int
    line_pts: dict
    marks: dict
    st_pts: dict
    station_xy: dict
    badges: list
    bfont: ImageFont.FreeTypeFont
    legend_boxes: list
    label_boxes: dict
    label_draw: dict
    failed: int
    r_mark: float
    tick: float


def plan_map(net: Network, size: int, legend: bool, max_pixels: int | None) -> MapPlan:
    """Decide where everything goes (pixels at the output size): geometry and marks first, then badges, the legend
    and last the labels, each placed around what is already there."""
    fpx = legible_font_px(size, max_pixels)
    fmin = min_font_px(size, max_pixels)
    legend_items = _legend_items(net, fmin) if legend else []
    legend_h = _legend_rows(legend_items, size, fmin) * fmin * 1.7 + fmin if legend else 0.0
    lay = Layout(net, size, legend_h, fpx)
    line_pts, node_pt = _line_geometry(net, lay)
    st_pts = _station_points(net, lay, node_pt)
    r_mark = lay.lw * 0.95  # transfer marker radius
    tick = lay.lw * 1.05
    station_xy, marks = _station_marks(st_pts, net.transfer_stations)
    placer = Placer(size, _obstacle_raster(size, line_pts, marks, lay.lw, r_mark, tick))
    bfont = get_font(max(fmin, round(fpx * 0.9)), bold=True)
    badges = _place_badges(net, placer, line_pts, bfont, fpx, r_mark)
    legend_boxes = _legend_layout(legend_items, size, fmin) if legend else []
    for box, *_ in legend_boxes:
        placer.take(box)
    label_boxes, label_draw, failed = place_labels(net, placer, station_xy, marks, st_pts, lay.paths,
                                                   LabelStyle(fpx, fmin, r_mark, tick))
    return MapPlan(lay, fpx, fmin, line_pts, marks, st_pts, station_xy, badges, bfont, legend_boxes, label_boxes,
                   label_draw, failed, r_mark, tick)


def _line_geometry(net: Network, lay: Layout) -> tuple[dict, dict]:
    """Per line: its drawn polyline (offset, corners rounded) and the pixel point of each of its grid nodes."""
    line_pts: dict[str, list] = {}
    node_pt: dict[str, list] = {}
    for ln in net.lines:
        pts, npts = lay.offset_path(ln.name)
        line_pts[ln.name] = round_corners(pts, lay.scale * CORNER_RADIUS)
        node_pt[ln.name] = npts
    return line_pts, node_pt


def _station_points(net: Network, lay: Layout, node_pt: dict) -> dict[str, list]:
    """station → [(line, pixel point, unit direction of the track there, node index)], one item per line."""
    st_pts: dict[str, list] = {}
    for ln in net.lines:
        path, npts = lay.paths[ln.name], node_pt[ln.name]
        index = {p: i for i, p in enumerate(path)}
        for s in ln.stations:
            i = index[tuple(int(v) for v in net.positions[s])]
            j0, j1 = max(0, i - 1), min(len(path) - 1, i + 1)
            a, b = npts[j0], npts[j1]
            n = math.dist(a, b) or 1.0
            st_pts.setdefault(s, []).append((ln.name, npts[i], ((b[0] - a[0]) / n, (b[1] - a[1]) / n), i))
    return st_pts


def _station_marks(st_pts: dict, transfers) -> tuple[dict, dict]:
    """(station centre, mark) per station: a pill spanning a transfer's parallel tracks, else a tick on its line."""
    station_xy: dict[str, tuple[float, float]] = {}
    marks: dict[str, tuple] = {}
    for s, items in st_pts.items():
        pts = [it[1] for it in items]
        if s in transfers:
            a, b = max(((p, q) for p in pts for q in pts), key=lambda pq: math.dist(*pq))
            marks[s] = ("pill", a, b)
            station_xy[s] = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        else:
            station_xy[s] = pts[0]
            marks[s] = ("tick", pts[0], items[0][2])
    return station_xy, marks


def _obstacle_raster(size: int, line_pts: dict, marks: dict, lw: float, r_mark: float, tick: float) -> np.ndarray:
    """What a label should not cover, at full resolution: track pixels 1, station-mark pixels MARK_WEIGHT.

    Track is drawn 2 px wider than on the map; marks a little larger than the renderer draws them (a tick as a
    disc reaching its far corners, on both sides of the track), so a box that misses them here misses them on
    the map. One 32-bit image: a mark drawn over track replaces it (such a spot is never taken anyway)."""
    obs = Image.new("I", (size + 1, size + 1), 0)
    od = ImageDraw.Draw(obs)
    for pts in line_pts.values():
        od.line(pts, fill=1, width=round(lw) + 2)
    r_tick = math.hypot(lw / 2 + tick, lw * 0.375) + 1.0
    r_pill = r_mark + max(1.5, lw * 0.3) + 1.0
    for kind, a, b in marks.values():
        if kind == "pill":
            od.line([a, b], fill=MARK_WEIGHT, width=round(2 * r_pill))
            for p in (a, b):
                od.ellipse([p[0] - r_pill, p[1] - r_pill, p[0] + r_pill, p[1] + r_pill], fill=MARK_WEIGHT)
        else:
            od.ellipse([a[0] - r_tick, a[1] - r_tick, a[0] + r_tick, a[1] + r_tick], fill=MARK_WEIGHT)
    return np.asarray(obs)


def _place_badges(net: Network, placer: Placer, line_pts: dict, bfont: ImageFont.FreeTypeFont, fpx: int,
                  r_mark: float) -> list:
    """(box, colour, text) of each line's badge at both termini; an end with no free spot gets none."""
    short = net.meta.get("short_names", {}) if net.meta else {}
    badges = []
    for ln in net.lines:
        text = short.get(ln.name) or ln.name.replace("Line", "").strip() or ln.name
        bw, bh = bfont.getlength(text) + fpx * 0.9, fpx * 1.45
        pts = line_pts[ln.name]
        for end, prev in ((pts[0], pts[1]), (pts[-1], pts[-2])):
            box = _badge_spot(placer, end, prev, bw, bh, fpx, r_mark)
            if box is not None:
                placer.take((box[0] - 2, box[1] - 2, box[2] + 2, box[3] + 2))
                badges.append((box, hex_rgb(ln.color), text))
    return badges


def _badge_spot(placer: Placer, end: tuple, prev: tuple, bw: float, bh: float, fpx: int,
                r_mark: float) -> tuple[int, int, int, int] | None:
    """The cheapest free bw×bh box past a line end (coming from `prev`), nearest distances first; None if none."""
    n = math.dist(end, prev) or 1.0
    ux, uy = (end[0] - prev[0]) / n, (end[1] - prev[1]) / n
    best = None
    for dist in BADGE_DISTANCES:
        for side in BADGE_SIDES:
            cx = end[0] + ux * (r_mark + bh * 0.5 + fpx * 0.35) * dist + (-uy) * side * (bw + 4)
            cy = end[1] + uy * (r_mark + bh * 0.5 + fpx * 0.35) * dist + ux * side * (bh + 4)
            box = (math.floor(cx - bw / 2), math.floor(cy - bh / 2), math.ceil(cx + bw / 2), math.ceil(cy + bh / 2))
            if placer.free(box):
                c = placer.cost(box)
                if best is None or c < best[0]:
                    best = (c, box)
        if best is not None and best[0] == 0:
            break
    return None if best is None else best[1]


def _legend_items(net: Network, f: int) -> list:
    """(line, width of its name in the legend font) for each line."""
    lf = get_font(f)
    return [(ln, lf.getlength(ln.name)) for ln in net.lines]


def _legend_rows(items: list, size: int, f: int) -> int:
    rows, x = 1, f
    for _, w in items:
        need = f * 2.0 + w + f * 1.2
        if x + need > size - f:
            rows, x = rows + 1, f
        x += need
    return rows


def _legend_layout(items: list, size: int, f: int) -> list:
    """Boxes of legend entries (swatch + name), wrapped in rows along the bottom edge."""
    rows = _legend_rows(items, size, f)
    y = size - f * 0.6 - rows * f * 1.7
    out, x = [], float(f)
    for ln, w in items:
        need = f * 2.0 + w + f * 1.2
        if x + need > size - f:
            x, y = float(f), y + f * 1.7
        out.append(((round(x), round(y), round(x + f * 2.0 + w), round(y + f * 1.3)), hex_rgb(ln.color), ln.name))
        x += need
    return out


# The generator checks that labels fit (via `labels_fit`) and the renderer then reuses that plan. The plans are held by
# the network object itself (no id that a collected network could pass on to a new one), keyed by what a plan reads
# of it (`_plan_key`): a network changed in place gets a new plan, and a new object always plans afresh.
PLANS_PER_NETWORK = 4
_PLANS = "_rmlite_plans"  # the attribute of a network that holds its plans


def _plan_key(net: Network) -> tuple:
    """What `plan_map` reads of `net` (lines, positions, geometry, badge names), as a hashable value.

    >>> from rmlite.maps.network import Line
    >>> a = Network((Line("L", ("A", "B")),), positions={"A": (0, 0), "B": (1, 0)}, geometry={"L": [(0, 0), (1, 0)]})
    >>> b = Network((Line("L", ("A", "B")),), positions={"A": (0, 0), "B": (1, 0)}, geometry={"L": [[0, 0], [1, 0]]})
    >>> _plan_key(a) == _plan_key(b), _plan_key(a) == _plan_key(Network(a.lines, positions=a.positions))
    (True, False)
    """
    pos = None if net.positions is None else tuple((k, tuple(v)) for k, v in net.positions.items())
    geo = None if net.geometry is None else tuple((k, tuple(map(tuple, v))) for k, v in net.geometry.items())
    short = net.meta.get("short_names") if net.meta else None
    return net.lines, pos, geo, tuple(short.items()) if short else None


def cached_plan(net: Network, size: int, legend: bool, max_pixels: int | None) -> MapPlan:
    """`plan_map`, reusing the last plans made for this network object, unchanged, and the same arguments."""
    key = (_plan_key(net), size, legend, max_pixels)
    plans = net.__dict__.setdefault(_PLANS, {})
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= PLANS_PER_NETWORK:
            plans.pop(next(iter(plans)))
        plan = plans[key] = plan_map(net, size, legend, max_pixels)
    return plan


def labels_fit(network: Network, size: int, max_pixels: int | None = None) -> bool:
    """True when every station label finds a spot overlapping no other label or badge (used by the generator)."""
    return cached_plan(network, size, False, max_pixels).failed == 0
