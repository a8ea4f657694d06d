"""A picture of one sample for a person to check: the map (gold route drawn on synthetic maps), question and answer."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping

from rmlite.network import Network, routes_from_json


def answer_card(sample: Mapping, map_row: Mapping, record: Mapping, *, width: int = 768):
    """The card of a sample with a model's answer and its reward, from an evaluation record
    (`rmlite.evaluate` records carry `answer`, `reward` and `reason`)."""
    return sample_card(sample, map_row, width=width, completion=record["answer"] or "(empty)",
                       breakdown=f"paper reward {record['reward']:.2f}: {record['reason']}")


def sample_card(sample: Mapping, map_row: Mapping, *, width: int = 1024, completion: str | None = None,
                breakdown: str | None = None):
    """Compose map + text into one RGB image.

    Args:
        sample: a question row (rmlite schema).
        map_row: the row of the maps table for `sample["map_id"]` (image, network JSON, source).
        completion, breakdown: optional model answer and its reward breakdown, shown under the key.
    """
    from PIL import Image, ImageDraw, ImageFont

    from rmlite.render import font_path, render_map

    net = Network.from_dict(json.loads(map_row["network"]))
    drawn = sample["type"] == "planning" and net.positions is not None
    if drawn:
        route = routes_from_json(sample["routes"])[0]
        size = int(map_row.get("width") or width)
        img = render_map(net, size=size, highlight_route=list(route)).image
    else:
        img = map_row["image"]
        img = img.convert("RGB") if hasattr(img, "convert") else img
    scale = width / img.width
    img = img.resize((width, max(1, round(img.height * scale))))
    font = ImageFont.truetype(font_path(), 18)
    bold = ImageFont.truetype(font_path(bold=True), 18)
    chars = max(40, int(width / 10.5))
    blocks = [("Question", sample["question"]), ("Answer key", sample["answer"])]
    if sample["type"] == "planning":
        n = len(json.loads(sample["routes"]))
        note = "gold route drawn on the map" if drawn else "real map: route shown as text only"
        blocks.append(("Reference routes", f"{n} equally good route(s); {note}"))
    if completion is not None:
        blocks.append(("Model answer", completion))
    if breakdown is not None:
        blocks.append(("Reward", breakdown))
    meta = (f"{sample['id']} · type {sample['type']} · map {sample['difficulty_city']} · "
            f"question {sample['difficulty_question']} · {sample.get('source', '')}")
    lines: list[tuple[str, object]] = [(meta, bold)]
    for title, text in blocks:
        lines.append((title + ":", bold))
        for para in str(text).splitlines() or [""]:
            for ln in textwrap.wrap(para, chars) or [""]:
                lines.append((ln, font))
    panel_h = 16 + 24 * len(lines)
    card = Image.new("RGB", (width, img.height + panel_h), "white")
    card.paste(img, (0, 0))
    d = ImageDraw.Draw(card)
    y = img.height + 8
    for text, f in lines:
        d.text((12, y), text, fill=(20, 20, 20), font=f)
        y += 24
    return card
