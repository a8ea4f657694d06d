"""Colour distance for line palettes: sRGB → CIELAB (D65) and CIEDE2000 (Sharma, Wu and Dalal, 2005), also as
seen with protanopia or deuteranopia (Machado, Oliveira and Fernandes, 2009).

Two lines whose colours sit closer than `MIN_DELTA_E` read as one stroke where they run side by side, so the
generator never draws such a pair on one map; nor a pair closer than `MIN_CVD_DELTA_E` under either colour-vision
simulation (`cvd_delta_e`). Written here because no colour library is installed; the published test pairs and
the simulation's reference values are checked in `tests/test_colors.py`.

>>> round(ciede2000((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485)), 4)
2.0425
>>> round(delta_e("#FFFFFF", "#000000"), 1)
100.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

MIN_DELTA_E = 12.0  # the smallest CIEDE2000 distance between two lines drawn on one map
MIN_CVD_DELTA_E = 8.0  # the smallest distance between two lines of one map under protanopia or deuteranopia

# Machado et al. 2009, "A physiologically-based model for simulation of color vision deficiency" (IEEE TVCG 15(6)),
# severity 1.0 matrices from the authors' table, applied to linear RGB.
MACHADO_2009 = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
}

_WHITE = (0.95047, 1.0, 1.08883)  # D65 reference white (XYZ, Y = 1)


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def hex_to_lab(color: str, cvd: str | None = None) -> tuple[float, float, float]:
    """`"#0072B2"` → CIELAB (L*, a*, b*) under D65; as seen with `cvd` ("protanopia", "deuteranopia") if given."""
    c = color.lstrip("#")
    r, g, b = (_linear(int(c[i:i + 2], 16) / 255) for i in (0, 2, 4))
    if cvd is not None:
        r, g, b = (min(1.0, max(0.0, m[0] * r + m[1] * g + m[2] * b)) for m in MACHADO_2009[cvd])
    xyz = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b, 0.2126729 * r + 0.7151522 * g + 0.0721750 * b,
           0.0193339 * r + 0.1191920 * g + 0.9503041 * b)
    f = [t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in (v / w for v, w in
                                                                                     zip(xyz, _WHITE, strict=True))]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def _hue(b: float, a: float) -> float:
    return 0.0 if a == 0 and b == 0 else math.degrees(math.atan2(b, a)) % 360


def ciede2000(lab1: Sequence[float], lab2: Sequence[float]) -> float:
    """CIEDE2000 colour difference of two CIELAB colours (kL = kC = kH = 1)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p, h2p = _hue(b1, a1p), _hue(b2, a2p)
    dlp, dcp = l2 - l1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else h2p - h1p - 360 * ((h2p - h1p) > 180) + 360 * ((h2p - h1p) < -180)
    dhp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(hbp - 30)) + 0.24 * math.cos(math.radians(2 * hbp))
         + 0.32 * math.cos(math.radians(3 * hbp + 6)) - 0.20 * math.cos(math.radians(4 * hbp - 63)))
    d_theta = 30 * math.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbp ** 7 / (cbp ** 7 + 25 ** 7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (dhp / sh) ** 2 + rt * (dcp / sc) * (dhp / sh))


@lru_cache(maxsize=4096)
def delta_e(c1: str, c2: str) -> float:
    """CIEDE2000 distance of two hex colours."""
    return ciede2000(hex_to_lab(c1), hex_to_lab(c2))


@lru_cache(maxsize=4096)
def cvd_delta_e(c1: str, c2: str) -> float:
    """The smaller CIEDE2000 distance of two hex colours as seen with protanopia and with deuteranopia.

    >>> round(cvd_delta_e("#CC3311", "#009E73"), 1) < round(delta_e("#CC3311", "#009E73"), 1)
    True
    """
    return min(ciede2000(hex_to_lab(c1, k), hex_to_lab(c2, k)) for k in MACHADO_2009)


def min_cvd_delta_e(colors: Sequence[str]) -> float:
    """The smallest pairwise `cvd_delta_e` in a set of hex colours (inf for fewer than two)."""
    cs = list(dict.fromkeys(c.upper() for c in colors))
    return min((cvd_delta_e(a, b) for i, a in enumerate(cs) for b in cs[i + 1:]), default=math.inf)


def min_delta_e(colors: Sequence[str]) -> float:
    """The smallest pairwise CIEDE2000 distance in a set of hex colours (inf for fewer than two)."""
    cs = list(dict.fromkeys(c.upper() for c in colors))
    if len(cs) < len(colors):
        return 0.0
    return min((delta_e(a, b) for i, a in enumerate(cs) for b in cs[i + 1:]), default=math.inf)
