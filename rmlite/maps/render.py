"""Render a synthetic Network as a schematic metro map (PIL only), returning the image and its label boxes.

Track, station marks and badges are drawn at `SUPERSAMPLE`× and box-filtered down (anti-aliasing); text is
drawn afterwards at 1× with FreeType's own anti-aliasing, which is sharper than downsampled text. Shared
corridors become parallel offset strokes, transfers white pills/circles with a dark outline, ordinary
stations ticks, termini bars plus a line badge. Where each of these goes is decided first, by
`rmlite.maps.layout` (labels at the sizes `rmlite.maps.fonts` says stay legible); this module only draws that
plan. Real (ReasonMap) maps have no coordinates and are not rendered here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from rmlite.maps.fonts import MAP_SIZE, get_font
from rmlite.maps.labels import min_label_margin, misplaced_labels
from rmlite.maps.layout import CORNER_RADIUS, Layout, MapPlan, cached_plan, hex_rgb, round_corners
from rmlite.maps.network import Network, Section

SUPERSAMPLE = 2  # geometry is drawn at 2× and box-filtered down (LANCZOS at 2048² costs ~70 ms, reduce ~4 ms)
INK = (26, 26, 26)
BACKGROUND = (255, 255, 255)
GOLD = (255, 190, 0)


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
    overlaps: int = 0  # stations crowded out of every free spot (unlabelled; labels never overlap; 0 when generated)
    # Stations a reader cannot find by name: no label, a label not clearly nearer its own mark, or a label that had
    # to sit on track (it may hide a stroke or a link). Questions never name them
    # (`rmlite.data.questions.generate_questions(unreadable=...)`).
    unreadable: frozenset[str] = frozenset()


def render_map(network: Network, size: int = MAP_SIZE, *, legend: bool = False,
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
    plan = cached_plan(network, size, legend, max_pixels)
    img = _draw_geometry(network, plan, size, highlight_route)
    _draw_text(img, plan)
    lay = plan.layout
    return RenderResult(img, plan.label_boxes, dict(plan.station_xy), lay.scale, (lay.ox, lay.oy), plan.fpx,
                        [b for b, _, _ in plan.badges], plan.failed,
                        misplaced_labels(plan.label_boxes, plan.station_xy, min_label_margin(size))
                        | on_track_labels(plan))


def on_track_labels(plan: MapPlan) -> frozenset[str]:
    """Stations whose label had to sit on track (every free spot covered some): drawn with a halo, never asked about."""
    return frozenset(s for s, (_x, _y, _font, on_track) in plan.label_draw.items() if on_track)


def _draw_geometry(net: Network, plan: MapPlan, size: int, highlight_route) -> Image.Image:
    """Route halo, track, termini, station marks, badges and legend swatches at SUPERSAMPLE×, reduced to `size`."""
    ss = SUPERSAMPLE
    big = Image.new("RGB", (size * ss, size * ss), BACKGROUND)
    d = ImageDraw.Draw(big)
    if highlight_route:  # a glow under the track: the route stands out and its line colours stay visible
        _draw_route(big, plan.layout, net, highlight_route, plan.layout.lw, ss)
    for ln in reversed(net.lines):  # first lines on top, matching corridor slot order
        d.line([(x * ss, y * ss) for x, y in plan.line_pts[ln.name]], fill=hex_rgb(ln.color),
               width=round(plan.layout.lw * ss), joint="curve")
    _draw_termini(d, net, plan, ss)
    _draw_marks(d, net, plan, ss)
    _draw_swatches(d, plan, ss)
    return big.reduce(ss)


def _draw_termini(d: ImageDraw.ImageDraw, net: Network, plan: MapPlan, ss: int) -> None:
    """A bar across each line end (transfer termini get the white marker instead)."""
    lw, tick, transfers = plan.layout.lw, plan.tick, net.transfer_stations
    for ln in net.lines:
        col = hex_rgb(ln.color)
        for s in (ln.stations[0], ln.stations[-1]):
            if s in transfers:
                continue
            _, p, u = plan.marks[s]
            bx, by = -u[1] * tick * 1.3, u[0] * tick * 1.3
            d.line([((p[0] - bx) * ss, (p[1] - by) * ss), ((p[0] + bx) * ss, (p[1] + by) * ss)], fill=col,
                   width=round(lw * 0.75 * ss))


def _draw_marks(d: ImageDraw.ImageDraw, net: Network, plan: MapPlan, ss: int) -> None:
    """Ticks on ordinary stations (pointing at their label), outlined white pills on transfers."""
    lw, r_mark = plan.layout.lw, plan.r_mark
    for s, (kind, a, b) in plan.marks.items():
        if kind == "tick":
            _draw_tick(d, net, plan, s, a, b, ss)
        else:
            ow = max(1.5, lw * 0.3)
            _pill(d, a, b, (r_mark + ow) * ss, INK, ss)
            _pill(d, a, b, r_mark * ss, BACKGROUND, ss)


def _draw_tick(d: ImageDraw.ImageDraw, net: Network, plan: MapPlan, s: str, a: tuple, u: tuple, ss: int) -> None:
    """The tick of station `s` at `a` across its track (direction `u`), on its label's side; none on a terminus."""
    line = net.line_by_name[plan.st_pts[s][0][0]]
    if s in (line.stations[0], line.stations[-1]):
        return
    lw, tick = plan.layout.lw, plan.tick
    nx, ny = -u[1], u[0]
    lb = plan.label_boxes.get(s)
    if lb is not None and ((lb[0] + lb[2]) / 2 - a[0]) * nx + ((lb[1] + lb[3]) / 2 - a[1]) * ny < 0:
        nx, ny = -nx, -ny
    d.line([(a[0] * ss, a[1] * ss), ((a[0] + nx * (lw / 2 + tick)) * ss, (a[1] + ny * (lw / 2 + tick)) * ss)],
           fill=hex_rgb(line.color), width=round(lw * 0.75 * ss))


def _draw_swatches(d: ImageDraw.ImageDraw, plan: MapPlan, ss: int) -> None:
    """The badges' rounded boxes and the legend's colour swatches (their text comes later, at 1×)."""
    fpx, fmin = plan.fpx, plan.fmin
    for box, col, _ in plan.badges:
        d.rounded_rectangle([box[0] * ss, box[1] * ss, box[2] * ss, box[3] * ss], radius=fpx * 0.3 * ss, fill=col)
    for box, col, _ in plan.legend_boxes:
        if col is not None:
            d.rounded_rectangle([box[0] * ss, box[1] * ss, box[0] * ss + fmin * 1.6 * ss, box[3] * ss],
                                radius=fmin * 0.25 * ss, fill=col)


def _draw_text(img: Image.Image, plan: MapPlan) -> None:
    """Station labels, badge texts and legend names at 1×, where the plan put them."""
    td = ImageDraw.Draw(img)
    for s, (x, y, f, on_track) in plan.label_draw.items():
        # A label that had to sit on track gets a thin white halo so it stays readable.
        td.text((x, y), s, font=f, fill=INK, anchor="ls", stroke_width=2 if on_track else 0, stroke_fill=BACKGROUND)
    for box, _col, text in plan.badges:
        td.text(((box[0] + box[2]) / 2, (box[1] + box[3]) / 2), text, font=plan.bfont, fill=(255, 255, 255),
                anchor="mm")
    fmin = plan.fmin
    lf = get_font(fmin)
    for box, col, text in plan.legend_boxes:
        if col is not None:
            td.text((box[0] + fmin * 2.0, (box[1] + box[3]) / 2), text, font=lf, fill=INK, anchor="lm")


def _pill(d: ImageDraw.ImageDraw, a: tuple, b: tuple, r: float, fill: tuple, ss: int) -> None:
    """A stadium (capsule) from a to b with radius r (r already in supersampled px)."""
    ax, ay, bx, by = a[0] * ss, a[1] * ss, b[0] * ss, b[1] * ss
    if math.dist((ax, ay), (bx, by)) > 0.5:
        d.line([(ax, ay), (bx, by)], fill=fill, width=round(2 * r))
    for x, y in ((ax, ay), (bx, by)):
        d.ellipse([x - r, y - r, x + r, y + r], fill=fill)


def _draw_route(big: Image.Image, lay: Layout, net: Network, route, lw: float, ss: int) -> None:
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
        pts = round_corners(pts, lay.scale * CORNER_RADIUS)
        md.line([(x * ss, y * ss) for x, y in pts], fill=200, width=round(lw * 3.6 * ss), joint="curve")
        for x, y in (pts[0], pts[-1]):
            r = lw * 2.2 * ss
            md.ellipse([x * ss - r, y * ss - r, x * ss + r, y * ss + r], fill=200)
    big.paste(GOLD, mask=mask)
