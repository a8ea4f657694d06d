"""Fonts for the maps: the bundled DejaVu faces and the sizes that stay legible after the training resize.

Legibility rule: station labels use a font whose cap height is >= MIN_CAP_PX (10 px) *after* the image is
resized to the training `max_pixels`; the station count per map is capped so those labels fit
(`legible_station_cap`: 30% of the drawable area over a typical label's area, 7·F²). DejaVu has no CJK glyphs,
so Chinese names are unsupported.

>>> legible_font_px(512), legible_station_cap(512), legible_station_cap(1024)
(14, 42, 149)
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

# Image sides, one owner each (tests/test_defaults.py): the ones the fonts, station caps and golden tests are tuned
# for, and which of them each kind of run uses unless told.
SIZES = (512, 768, 1024)
MAP_SIZE = 1024  # a map's side: GeneratorConfig, render_map, DatasetConfig (`rmlite generate --size`)
TRAIN_SIZE = 768  # the side a training image keeps (`DEFAULT_MAX_PIXELS` = 768², 729 visual tokens): GPU presets
QUICK_SIZE = 512  # quick runs (324 visual tokens, the fastest to train): the demo, the notebooks, the shipped data/mini
MIN_CAP_PX = 10  # smallest legible cap height (px) after the training resize
CAP_RATIO = 0.73  # DejaVu Sans cap height / font size
FONT_DIR = Path(__file__).parent / "fonts"


def font_path(*, bold: bool = False) -> Path:
    """The bundled DejaVu Sans (Latin Extended, Greek, Cyrillic; no CJK). Licence: fonts/LICENSE-DejaVu.txt."""
    return FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")


@lru_cache(maxsize=64)
def get_font(px: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(bold=bold)), px)


def legible_font_px(size: int, max_pixels: int | None = None) -> int:
    """Label font size (px at `size`) whose cap height stays >= MIN_CAP_PX once resized to `max_pixels`.

    >>> legible_font_px(1024), legible_font_px(1024, max_pixels=512 * 512)
    (16, 28)
    """
    eff = size if max_pixels is None else min(size, math.isqrt(max_pixels))
    need = math.ceil(MIN_CAP_PX / CAP_RATIO * size / eff)
    return max(need, round(size / 64))


def min_font_px(size: int, max_pixels: int | None = None) -> int:
    """The smallest font a crowded label may shrink to (still >= MIN_CAP_PX cap height after the resize)."""
    eff = size if max_pixels is None else min(size, math.isqrt(max_pixels))
    return math.ceil(MIN_CAP_PX / CAP_RATIO * size / eff)


def legible_station_cap(size: int, max_pixels: int | None = None) -> int:
    """Most stations a `size` px map may hold: labels may fill ~30% of the drawable area, a label is ~7·F².

    >>> legible_station_cap(768)
    106
    """
    f = legible_font_px(size, max_pixels)
    usable = size - 5 * f
    return int(0.30 * usable * usable / (7 * f * f))
