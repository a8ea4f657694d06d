"""The audit's picture: the station labels nearest to reading as another station's, one crop each, titled, with a
legend for its marks (`rmlite audit` writes it beside its report). Drawn with matplotlib so the picture test can
read its title, legend and text from the figure before it is saved.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from rmlite.data.store import map_row
from rmlite.maps.labels import min_label_margin
from rmlite.maps.layout import cached_plan
from rmlite.maps.network import Network


def worst_labels_png(maps, worst: list[tuple[float, str, str]], out: str | os.PathLike, *,
                     pnginfo: Any = None) -> Path:
    """`worst_labels_figure` saved as a PNG (`pnginfo`, PIL's PNG text chunks, saved with it)."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    fig = worst_labels_figure(maps, worst)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(buf) as im:
        im.save(out, pnginfo=pnginfo)
    return out


def worst_labels_figure(maps, worst: list[tuple[float, str, str]]):
    """The labels nearest to reading as another station's, one crop each (up to 4 a row) with a title that says
    what they are, each crop's station, map and margin against the target, and a legend: the label's box (red),
    its own station's mark (blue) and the nearest other mark (orange)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    cols = min(4, max(1, len(worst)))
    rows = max(1, math.ceil(len(worst) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.4 * rows + 0.8), squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (margin, map_id, station) in zip(axes.flat, worst, strict=False):
        _label_tile(ax, map_row(maps, map_id), station, margin)
    if not worst:
        axes[0, 0].text(0.5, 0.5, "no synthetic maps: no labels to show", ha="center", va="center")
    fig.suptitle(f"The {len(worst)} station labels nearest to reading as another station's (margin: px nearer "
                 "their own mark than any other)", fontsize=10)
    marks = [Rectangle((0, 0), 1, 1, fill=False, edgecolor="red", label="the label"),
             Line2D([], [], ls="none", marker="o", mfc="none", mec="blue", label="its own station's mark"),
             Line2D([], [], ls="none", marker="o", mfc="none", mec="darkorange", label="the nearest other mark")]
    fig.legend(handles=marks, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def _label_tile(ax, rec: dict, station: str, margin: float) -> None:
    """One crop around `station`'s label on its map, with its label box, its mark and the nearest other mark."""
    from matplotlib.patches import Rectangle
    from PIL import Image

    net = Network.from_dict(json.loads(rec["network"]))
    plan = cached_plan(net, int(rec["width"]), False, None)
    img = rec["image"].convert("RGB")
    box, (x, y) = plan.label_boxes[station], plan.station_xy[station]
    others = [(s, xy) for s, xy in plan.station_xy.items() if s != station]
    gap = [math.hypot(max(box[0] - ox, 0, ox - box[2]), max(box[1] - oy, 0, oy - box[3])) for _, (ox, oy) in others]
    near = others[int(np.argmin(gap))][1] if others else None
    xs = [box[0], box[2], x] + ([near[0]] if near else [])
    ys = [box[1], box[3], y] + ([near[1]] if near else [])
    side = round(max(max(xs) - min(xs), max(ys) - min(ys)) + 6 * plan.fpx)  # square crops: tiles of one shape
    left, top = round((min(xs) + max(xs) - side) / 2), round((min(ys) + max(ys) - side) / 2)
    tile = Image.new("RGB", (side, side), "white")  # white beyond the map's edge
    inside = (max(0, left), max(0, top), min(img.width, left + side), min(img.height, top + side))
    tile.paste(img.crop(inside), (inside[0] - left, inside[1] - top))
    ax.imshow(tile)
    ax.add_patch(Rectangle((box[0] - left, box[1] - top), box[2] - box[0], box[3] - box[1], fill=False,
                           edgecolor="red", lw=1.2))
    ax.plot([x - left], [y - top], ls="none", marker="o", ms=9, mfc="none", mec="blue", mew=1.2)
    if near:
        ax.plot([near[0] - left], [near[1] - top], ls="none", marker="o", ms=9, mfc="none", mec="darkorange", mew=1.2)
    need = min_label_margin(int(rec["width"]))
    ax.set_title(f"{station} ({rec['map_id']})\nmargin {margin:+.1f} px, needs ≥ {need:g}", fontsize=8)
