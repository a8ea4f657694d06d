"""Render a synthetic Network as a schematic metro map (PIL only), returning the image and its label boxes.

Track, station marks and badges are drawn at `SUPERSAMPLE`× and box-filtered down (anti-aliasing); text is
drawn afterwards at 1× with FreeType's own anti-aliasing, which is sharper than downsampled text. Shared
corridors become parallel offset strokes, transfers white pills/circles with a dark outline, ordinary
stations ticks, termini bars plus a line badge. Labels are placed by `rmlite.maps.labels` at the sizes
`rmlite.maps.fonts` says stay legible. Real (ReasonMap) maps have no coordinates and are not rendered here.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from rmlite.maps.fonts import get_font, legible_font_px, min_font_px
from rmlite.maps.labels import Placer, place_labels
from rmlite.maps.network import Network, Section

SUPERSAMPLE = 2  # geometry is drawn at 2× and box-filtered down (LANCZOS at 2048² costs ~70 ms, reduce ~4 ms)
INK = (26, 26, 26)
BACKGROUND = (255, 255, 255)
GOLD = (255, 190, 0)
_DIRS8 = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))


@dataclass
class RenderResult:
    """A rendered map and where things landed (pixels at the output size)."""

    image: Image.Image
    label_boxes: dict[str, tuple[int, int, int, int]]
    station_xy: dict[str, tuple[float, float]]
    scale: float  # pixels per grid unit
    origin: tuple[float, float]  # pixel position of grid (0, 0)
    font_px: int
    badge_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    overlaps: int = 0  # label-label overlaps left by the last-resort fallback (0 for generated maps)


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


class _Layout:
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


def _round_corners(pts: list, radius: float) -> list:
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


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return (int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16))


def _plan(net: Network, size: int, legend: bool, max_pixels: int | None) -> _Plan:
    """Decide where everything goes (pixels at the output size) before any drawing."""
    fpx = legible_font_px(size, max_pixels)
    fmin = min_font_px(size, max_pixels)
    legend_h = 0.0
    legend_items = []
    if legend:
        lf = get_font(fmin)
        legend_items = [(ln, lf.getlength(ln.name)) for ln in net.lines]
        legend_h = _legend_rows(legend_items, size, fmin) * fmin * 1.7 + fmin
    lay = _Layout(net, size, legend_h, fpx)
    lw = lay.lw
    short = net.meta.get("short_names", {}) if net.meta else {}

    # ---- geometry in pixels --------------------------------------------------------------------------
    line_pts: dict[str, list] = {}
    node_pt: dict[str, list] = {}
    for ln in net.lines:
        pts, npts = lay.offset_path(ln.name)
        line_pts[ln.name] = _round_corners(pts, lay.scale * 0.45)
        node_pt[ln.name] = npts
    st_pts: dict[str, list] = {}  # station -> [(line, point, direction)]
    transfers = net.transfer_stations
    for ln in net.lines:
        path, npts = lay.paths[ln.name], node_pt[ln.name]
        index = {p: i for i, p in enumerate(path)}
        for s in ln.stations:
            i = index[tuple(int(v) for v in net.positions[s])]
            j0, j1 = max(0, i - 1), min(len(path) - 1, i + 1)
            a, b = npts[j0], npts[j1]
            n = math.dist(a, b) or 1.0
            st_pts.setdefault(s, []).append((ln.name, npts[i], ((b[0] - a[0]) / n, (b[1] - a[1]) / n), i))
    r_mark = lw * 0.95  # transfer marker radius
    tick = lw * 1.05
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

    # ---- obstacle raster for label placement (half resolution) ------------------------------------------
    down = 2
    obs = Image.new("L", (size // down + 1, size // down + 1), 0)
    od = ImageDraw.Draw(obs)
    for pts in line_pts.values():
        od.line([(x / down, y / down) for x, y in pts], fill=1, width=max(1, round((lw + 4) / down)))
    for kind, a, b in marks.values():
        if kind == "pill":
            rr = (r_mark + lw * 0.6) / down
            od.line([(a[0] / down, a[1] / down), (b[0] / down, b[1] / down)], fill=20, width=max(1, round(2 * rr)))
            for p in (a, b):
                od.ellipse([p[0] / down - rr, p[1] / down - rr, p[0] / down + rr, p[1] / down + rr], fill=20)
        else:
            rr = (tick + lw * 0.8) / down
            od.ellipse([a[0] / down - rr, a[1] / down - rr, a[0] / down + rr, a[1] / down + rr], fill=20)
    placer = Placer(size, np.asarray(obs), down)

    # ---- badges at termini -----------------------------------------------------------------------------
    bfont = get_font(max(fmin, round(fpx * 0.9)), bold=True)
    badges = []
    for ln in net.lines:
        text = short.get(ln.name) or ln.name.replace("Line", "").strip() or ln.name
        tw = bfont.getlength(text)
        bw, bh = tw + fpx * 0.9, fpx * 1.45
        pts = line_pts[ln.name]
        for end, prev in ((pts[0], pts[1]), (pts[-1], pts[-2])):
            n = math.dist(end, prev) or 1.0
            ux, uy = (end[0] - prev[0]) / n, (end[1] - prev[1]) / n
            best = None
            for dist in (1.0, 1.6, 2.4):
                for side in (0, 1, -1, 2, -2):
                    cx = end[0] + ux * (r_mark + bh * 0.5 + fpx * 0.35) * dist + (-uy) * side * (bw + 4)
                    cy = end[1] + uy * (r_mark + bh * 0.5 + fpx * 0.35) * dist + ux * side * (bh + 4)
                    box = (math.floor(cx - bw / 2), math.floor(cy - bh / 2), math.ceil(cx + bw / 2),
                           math.ceil(cy + bh / 2))
                    if placer.free(box):
                        c = placer.cost(box)
                        if best is None or c < best[0]:
                            best = (c, box)
                if best is not None and best[0] == 0:
                    break
            if best is not None:
                placer.take((best[1][0] - 2, best[1][1] - 2, best[1][2] + 2, best[1][3] + 2))
                badges.append((best[1], _hex(ln.color), text))
    legend_boxes = []
    if legend:
        legend_boxes = _legend_layout(legend_items, size, fmin)
        for box, *_ in legend_boxes:
            placer.take(box)

    # ---- labels ------------------------------------------------------------------------------------------
    label_boxes, label_draw, failed = place_labels(net, placer, station_xy, marks, st_pts, r_mark, tick, fpx, fmin)

    return _Plan(lay, fpx, fmin, line_pts, marks, st_pts, station_xy, badges, bfont, legend_boxes, label_boxes,
                 label_draw, failed, r_mark, tick)


@dataclass
class _Plan:
    """Everything decided before drawing: pixel geometry, marks, badges, legend and label positions."""

    lay: _Layout
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


# The generator checks that labels fit (via `labels_fit`) and the renderer then reuses that plan: keyed by the
# network object's id, guarded by a weak reference so a recycled id never matches a dead network.
_PLAN_CACHE: dict[int, tuple[weakref.ref, tuple, _Plan]] = {}


def _cached_plan(net: Network, size: int, legend: bool, max_pixels: int | None) -> _Plan:
    key = (size, legend, max_pixels)
    hit = _PLAN_CACHE.get(id(net))
    if hit is not None and hit[0]() is net and hit[1] == key:
        return hit[2]
    plan = _plan(net, size, legend, max_pixels)
    if len(_PLAN_CACHE) >= 8:
        _PLAN_CACHE.pop(next(iter(_PLAN_CACHE)))
    _PLAN_CACHE[id(net)] = (weakref.ref(net), key, plan)
    return plan


def labels_fit(network: Network, size: int, max_pixels: int | None = None) -> bool:
    """True when every station label finds a spot overlapping no other label or badge (used by the generator)."""
    return _cached_plan(network, size, False, max_pixels).failed == 0


def render_map(network: Network, size: int = 1024, *, legend: bool = False,
               highlight_route: list[Section] | tuple[Section, ...] | None = None,
               max_pixels: int | None = None) -> RenderResult:
    """Draw a generated network as a schematic map.

    Args:
        network: a Network with positions and geometry (from rmlite.maps.generate).
        size: output width = height in pixels (512, 768, 1024 are the supported presets).
        legend: add a strip with each line's colour and name at the bottom.
        highlight_route: sections of a route to draw as a translucent gold halo (for `rmlite show`).
        max_pixels: the training resize budget; fonts grow so the cap height stays >= MIN_CAP_PX after it.
    Returns:
        RenderResult with the RGB image, label boxes and station centres (pixels).

    >>> from rmlite.maps.generate import GeneratorConfig, generate_network
    >>> res = render_map(generate_network(GeneratorConfig("easy", size=512), seed=1), 512)
    >>> res.image.size, res.overlaps
    ((512, 512), 0)
    """
    net = network
    plan = _cached_plan(net, size, legend, max_pixels)
    lay, fpx, fmin, line_pts, marks, st_pts = plan.lay, plan.fpx, plan.fmin, plan.line_pts, plan.marks, plan.st_pts
    label_boxes, label_draw, badges = plan.label_boxes, plan.label_draw, plan.badges
    legend_boxes, bfont = plan.legend_boxes, plan.bfont
    r_mark, tick, lw, ss = plan.r_mark, plan.tick, lay.lw, SUPERSAMPLE
    transfers = net.transfer_stations

    # ---- draw geometry at SUPERSAMPLE× ---------------------------------------------------------------------
    big = Image.new("RGB", (size * ss, size * ss), BACKGROUND)
    d = ImageDraw.Draw(big)
    if highlight_route:  # a glow under the track: the route stands out and its line colours stay visible
        _draw_route(big, lay, net, highlight_route, lw, ss)
    for ln in reversed(net.lines):  # first lines on top, matching corridor slot order
        d.line([(x * ss, y * ss) for x, y in line_pts[ln.name]], fill=_hex(ln.color), width=round(lw * ss),
               joint="curve")
    for ln in net.lines:  # termini: a bar across the line end (transfer termini get the white marker instead)
        col = _hex(ln.color)
        for s in (ln.stations[0], ln.stations[-1]):
            if s in transfers:
                continue
            _, p, u = marks[s]
            bx, by = -u[1] * tick * 1.3, u[0] * tick * 1.3
            d.line([((p[0] - bx) * ss, (p[1] - by) * ss), ((p[0] + bx) * ss, (p[1] + by) * ss)], fill=col,
                   width=round(lw * 0.75 * ss))
    for s, (kind, a, b) in marks.items():
        if kind == "tick":
            if s in (net.line_by_name[st_pts[s][0][0]].stations[0], net.line_by_name[st_pts[s][0][0]].stations[-1]):
                continue
            nx, ny = -b[1], b[0]
            lb = label_boxes.get(s)
            if lb is not None and ((lb[0] + lb[2]) / 2 - a[0]) * nx + ((lb[1] + lb[3]) / 2 - a[1]) * ny < 0:
                nx, ny = -nx, -ny
            col = _hex(net.line_by_name[st_pts[s][0][0]].color)
            d.line([(a[0] * ss, a[1] * ss), ((a[0] + nx * (lw / 2 + tick)) * ss, (a[1] + ny * (lw / 2 + tick)) * ss)],
                   fill=col, width=round(lw * 0.75 * ss))
        else:
            ow = max(1.5, lw * 0.3)
            _pill(d, a, b, (r_mark + ow) * ss, INK, ss)
            _pill(d, a, b, r_mark * ss, BACKGROUND, ss)
    for box, col, _ in badges:
        d.rounded_rectangle([box[0] * ss, box[1] * ss, box[2] * ss, box[3] * ss], radius=fpx * 0.3 * ss, fill=col)
    for box, col, _ in legend_boxes:
        if col is not None:
            d.rounded_rectangle([box[0] * ss, box[1] * ss, box[0] * ss + fmin * 1.6 * ss, box[3] * ss],
                                radius=fmin * 0.25 * ss, fill=col)
    img = big.reduce(ss)

    # ---- text at 1× ----------------------------------------------------------------------------------------
    td = ImageDraw.Draw(img)
    for s, (x, y, f, on_track) in label_draw.items():
        # A label that had to sit on track gets a thin white halo so it stays readable.
        td.text((x, y), s, font=f, fill=INK, anchor="ls", stroke_width=2 if on_track else 0, stroke_fill=BACKGROUND)
    for box, _col, text in badges:
        td.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, font=bfont, fill=(255, 255, 255), anchor="mm")
    lf = get_font(fmin)
    for box, col, text in legend_boxes:
        if col is not None:
            td.text((box[0] + fmin * 2.0, (box[1] + box[3]) / 2), text, font=lf, fill=INK, anchor="lm")
    return RenderResult(img, label_boxes, dict(plan.station_xy), lay.scale, (lay.ox, lay.oy), fpx,
                        [b for b, _, _ in badges], plan.failed)


def _pill(d: ImageDraw.ImageDraw, a: tuple, b: tuple, r: float, fill: tuple, ss: int) -> None:
    """A stadium (capsule) from a to b with radius r (r already in supersampled px)."""
    ax, ay, bx, by = a[0] * ss, a[1] * ss, b[0] * ss, b[1] * ss
    if math.dist((ax, ay), (bx, by)) > 0.5:
        d.line([(ax, ay), (bx, by)], fill=fill, width=round(2 * r))
    for x, y in ((ax, ay), (bx, by)):
        d.ellipse([x - r, y - r, x + r, y + r], fill=fill)


def _draw_route(big: Image.Image, lay: _Layout, net: Network, route, lw: float, ss: int) -> None:
    """The gold route as a wide translucent halo, drawn before the track so the lines stay on top."""
    mask = Image.new("L", big.size, 0)
    md = ImageDraw.Draw(mask)
    for sec in route:
        if sec.route_name not in lay.paths:
            raise ValueError(f"route uses unknown line {sec.route_name!r}")
        path = lay.paths[sec.route_name]
        idx = {p: i for i, p in enumerate(path)}
        i = idx[tuple(int(v) for v in net.positions[sec.departure_stop])]
        j = idx[tuple(int(v) for v in net.positions[sec.arrival_stop])]
        pts, _ = lay.offset_path(sec.route_name, min(i, j), max(i, j))
        pts = _round_corners(pts, lay.scale * 0.45)
        md.line([(x * ss, y * ss) for x, y in pts], fill=200, width=round(lw * 3.6 * ss), joint="curve")
        for x, y in (pts[0], pts[-1]):
            r = lw * 2.2 * ss
            md.ellipse([x * ss - r, y * ss - r, x * ss + r, y * ss + r], fill=200)
    big.paste(GOLD, mask=mask)


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
        out.append(((round(x), round(y), round(x + f * 2.0 + w), round(y + f * 1.3)), _hex(ln.color), ln.name))
        x += need
    return out
