"""A picture of one sample for a person to check: the map (gold route drawn on synthetic maps), question and answer."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from PIL import Image, ImageDraw

from rmlite.maps.fonts import TRAIN_SIZE, font_path, get_font
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.network import Network, routes_from_json
from rmlite.maps.real import find_city
from rmlite.maps.render import BACKGROUND, render_map
from rmlite.schema import Sample, answer_kind

MARGIN = 12  # px of white on each side of the card's text


def wrap_pixels(text: str, font, max_px: float) -> list[str]:
    """`text` as lines no wider than `max_px` in `font` (measured, not counted: station names and the `·` separators
    vary in width): greedy by word; a word wider than a line is split where it must be.

    >>> from PIL import ImageFont
    >>> f = ImageFont.truetype(font_path(), 18)
    >>> all(f.getlength(ln) <= 200 for ln in wrap_pixels("Storo · Grorud · Ellingsrudåsen " * 4, f, 200))
    True
    """
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if font.getlength(trial) <= max_px:
            line = trial
            continue
        if line:
            lines.append(line)
        while font.getlength(word) > max_px:  # one word wider than the line: cut it
            cut = 1
            while font.getlength(word[:cut + 1]) <= max_px:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
        line = word
    return [*lines, line]


def answer_card(sample: Sample, map_row: Mapping, record: Mapping, *, width: int = 768):
    """The card of a sample with a model's answer and its reward, from an evaluation record
    (`rmlite.evaluate` records carry `answer`, `reward` and `reason`)."""
    return sample_card(sample, map_row, width=width, completion=record["answer"] or "(empty)",
                       breakdown=f"paper reward {record['reward']:.2f}: {record['reason']}")


def sample_card(sample: Sample, map_row: Mapping, *, width: int = 1024, completion: str | None = None,
                breakdown: str | None = None):
    """Compose map + text into one RGB image.

    Args:
        sample: a question row (rmlite schema).
        map_row: the row of the maps table for `sample["map_id"]` (image, network JSON, source).
        completion, breakdown: optional model answer and its reward breakdown, shown under the key.
    """
    from PIL import Image, ImageDraw, ImageFont

    net = Network.from_dict(json.loads(map_row["network"]))
    route_question = answer_kind(sample["type"]) == "route"
    drawn = route_question and net.positions is not None
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
    blocks = [("Question", sample["question"]), ("Answer key", sample["answer"])]
    if route_question:
        n = len(json.loads(sample["routes"]))
        note = "gold route drawn on the map" if drawn else "real map: route shown as text only"
        blocks.append(("Reference routes", f"{n} equally good route(s); {note}"))
    if completion is not None:
        blocks.append(("Model answer", completion))
    if breakdown is not None:
        blocks.append(("Reward", breakdown))
    meta = (f"{sample['id']} · type {sample['type']} · map {sample['difficulty_city']} · "
            f"question {sample['difficulty_question']} · {sample.get('source', '')}")
    room = width - 2 * MARGIN
    lines: list[tuple[str, object]] = [(ln, bold) for ln in wrap_pixels(meta, bold, room)]
    for title, text in blocks:
        lines.append((title + ":", bold))
        for para in str(text).splitlines() or [""]:
            lines += [(ln, font) for ln in wrap_pixels(para, font, room)]
    panel_h = 16 + 24 * len(lines)
    card = Image.new("RGB", (width, img.height + panel_h), "white")
    card.paste(img, (0, 0))
    d = ImageDraw.Draw(card)
    y = img.height + 8
    for text, f in lines:
        d.text((MARGIN, y), text, fill=(20, 20, 20), font=f)
        y += 24
    return card


def gallery(path: str | Path, seed: int = 3, size: int = TRAIN_SIZE, real_map: str | Path | None = None,
            real_maps: tuple[str | Path, ...] = ()) -> Image.Image:
    """Easy / middle / hard maps at `size` beside real ReasonMap maps, as one captioned PNG.

    `real_map` / `real_maps`: image paths or city names of the shipped ReasonMap maps ("oslo", "geneva", "miami").
    """
    panels = []
    for diff in ("easy", "middle", "hard"):
        net = generate_network(GeneratorConfig(difficulty=diff, size=size), seed)
        panels.append((f"synthetic {diff}: {len(net.lines)} lines, {len(net.transfer_stations)} transfers",
                       render_map(net, size).image))
    for ref in ([real_map] if real_map is not None else []) + list(real_maps):
        img_path = Path(ref) if Path(ref).is_file() else find_city(str(ref))[1]
        if img_path is None:
            raise FileNotFoundError(f"no map image for {ref!r}")
        im = Image.open(img_path).convert("RGB")
        im.thumbnail((size, size), Image.LANCZOS)
        canvas = Image.new("RGB", (size, size), BACKGROUND)
        canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
        panels.append((f"real: {img_path.stem} (ReasonMap)", canvas))
    cap = 36
    cols = 2
    rows = math.ceil(len(panels) / cols)
    out = Image.new("RGB", (cols * size + (cols + 1) * 8, rows * (size + cap) + (rows + 1) * 8), (200, 200, 200))
    d = ImageDraw.Draw(out)
    for k, (title, im) in enumerate(panels):
        x, y = 8 + (k % cols) * (size + 8), 8 + (k // cols) * (size + cap + 8)
        d.rectangle([x, y, x + size, y + cap], fill=(40, 40, 40))
        d.text((x + 10, y + cap / 2), title, font=get_font(20, bold=True), fill=(255, 255, 255), anchor="lm")
        out.paste(im, (x, y + cap))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    out.save(path)
    return out
