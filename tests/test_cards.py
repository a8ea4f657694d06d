"""Sample cards: every text line fits the card, measured in pixels, with the long station names of real ReasonMap
maps (the issue saw the header line cut at the right edge)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import ImageFont

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.cards import MARGIN, sample_card, wrap_pixels
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_maps, load_questions, map_row
from rmlite.maps.fonts import font_path

ROOT = Path(__file__).resolve().parent.parent


def real_station_names() -> list[str]:
    names = set()
    for f in (ROOT / "data" / "reasonmap" / "stations").glob("*/*.json"):
        for stations in json.loads(f.read_text(encoding="utf-8")).values():
            names.update(stations)
    return sorted(names, key=len, reverse=True)


@pytest.fixture(scope="module")
def real_samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("cards") / "data"
    q = QuestionConfig(per_map={"planning": 2, "torf1": 1})
    generate_dataset(out, DatasetConfig(n_maps=0, real_maps=("miami", "geneva"), questions=q), progress=False,
                     workers=1)
    return [dict(r) for r in load_questions(out, "test")], load_maps(out)


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("max_px", [120, 300, 616])
def test_wrapped_lines_fit_and_lose_nothing(bold, max_px):
    font = ImageFont.truetype(font_path(bold=bold), 18)
    names = real_station_names()
    assert len(names[0]) >= 40  # e.g. "Historic Overtown/Lyric Theatre Station (Transfer Station)"
    text = " · ".join(names[:12]) + " " + "Ellingsrudåsen" * 6  # one word wider than any line
    lines = wrap_pixels(text, font, max_px)
    assert all(font.getlength(ln) <= max_px for ln in lines), [ln for ln in lines if font.getlength(ln) > max_px]
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # every character kept, in order


def _ink_right_of_text(card, panel_top: int) -> int:
    """Dark pixels in the right margin of the text panel: text cut at the edge leaves ink there."""
    a = np.asarray(card.convert("L"))[panel_top:, card.width - MARGIN + 2:]
    return int((a < 160).sum())


@pytest.mark.parametrize("width", [400, 512, 640])
def test_card_text_never_reaches_the_right_edge(real_samples, width):
    samples, maps = real_samples
    longest = real_station_names()[0]
    for s in samples:
        row = map_row(maps, s["map_id"])
        for sample in (s, {**s, "source": f"reasonmap:{longest}"}):  # a header far wider than the card
            card = sample_card(sample, row, width=width, completion=f"Route Name: {longest} " * 2,
                               breakdown=f"paper reward 3.50: wrong line at {longest}")
            scale = width / row["image"].width
            panel_top = round(row["image"].height * scale)
            assert _ink_right_of_text(card, panel_top) == 0, (s["id"], width)


def test_the_margin_check_sees_a_cut_header(real_samples):
    """Red team: the measurement above does see text drawn past the edge (a header written without wrapping)."""
    from PIL import ImageDraw

    samples, maps = real_samples
    s = samples[0]
    row = map_row(maps, s["map_id"])
    card = sample_card(s, row, width=400)
    panel_top = round(row["image"].height * 400 / row["image"].width)
    ImageDraw.Draw(card).text((MARGIN, panel_top + 8), f"{s['id']} · {real_station_names()[0]}" * 2, fill=(20, 20, 20),
                              font=ImageFont.truetype(font_path(bold=True), 18))
    assert _ink_right_of_text(card, panel_top) > 0
