"""The audit's colour check, read off the stored pictures: are any two line colours on one map too alike, for normal
vision or as seen with protanopia or deuteranopia?

The generator picks colours by `rmlite.maps.colors`' rule; this module shares no code with it. It finds the line
colours in each stored PNG (a colour that fills a solid 3 x 3 block of pixels in at least `MIN_PIXELS` places:
strokes and badges do, anti-aliased edges and text do not; near-black ink and near-white paper are left out), and
measures CIEDE2000 (Sharma, Wu and Dalal 2005) between every pair with its own vectorised formula, after the
Machado, Oliveira and Fernandes (2009) simulation for the two colour-vision deficiencies. A map whose picture
shows a number of colours other than its stored line count is named too (two lines drawn in one colour). Left out:
real maps (their colours are the city's).

>>> round(float(ciede2000_np(np.array([50.0, 2.6772, -79.7751]), np.array([50.0, 0.0, -82.7485]))), 4)
2.0425
>>> [round(float(v), 1) for v in srgb_to_lab(np.array([[255, 0, 0]]))[0]]
[53.2, 80.1, 67.2]
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

# Targets (stated here, not read from the generator): CIEDE2000 between any two line colours on one map.
MIN_NORMAL = 12.0  # normal vision: closer reads as one stroke where two lines run side by side
MIN_CVD = 8.0  # as seen with protanopia or deuteranopia
MIN_PIXELS = 20  # solid 3 x 3 blocks a colour needs to count as a line's (a stroke or a badge)
INK_PAPER_L = (12.0, 95.0)  # L* below: text ink; above: paper and halos (no line colour is that dark or light)

# Machado et al. 2009, Table (severity 1.0), on linear RGB; typed from the paper for this check.
_SIM = {"protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                                [-0.003882, -0.048116, 1.051998]]),
        "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                                  [-0.011820, 0.042940, 0.968881]])}
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: np.ndarray, vision: str | None = None) -> np.ndarray:
    """(n, 3) sRGB bytes → (n, 3) CIELAB (D65), as seen with `vision` ("protanopia", "deuteranopia") if given."""
    c = np.asarray(rgb, dtype=float) / 255.0
    lin = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    if vision is not None:
        lin = np.clip(lin @ _SIM[vision].T, 0.0, 1.0)
    t = (lin @ _RGB_TO_XYZ.T) / _D65
    eps, kappa = (6 / 29) ** 3, (29 / 3) ** 3
    f = np.where(t > eps, np.cbrt(t), (kappa * t + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def ciede2000_np(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 between matching rows of two (..., 3) CIELAB arrays (kL = kC = kH = 1)."""
    l1, a1, b1 = np.moveaxis(np.asarray(lab1, float), -1, 0)
    l2, a2, b2 = np.moveaxis(np.asarray(lab2, float), -1, 0)
    c7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0 ** 7)))
    a1, a2 = a1 * (1 + g), a2 * (1 + g)
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    h1 = np.where((a1 == 0) & (b1 == 0), 0.0, np.arctan2(b1, a1) % (2 * np.pi))
    h2 = np.where((a2 == 0) & (b2 == 0), 0.0, np.arctan2(b2, a2) % (2 * np.pi))
    grey = c1 * c2 == 0
    dh = h2 - h1
    dh = np.where(grey, 0.0, dh - 2 * np.pi * np.sign(dh) * (np.abs(dh) > np.pi))
    d_big_h = 2 * np.sqrt(c1 * c2) * np.sin(dh / 2)
    hsum = h1 + h2
    h_mean = np.where(grey, hsum, np.where(np.abs(h1 - h2) <= np.pi, hsum / 2,
                                           np.where(hsum < 2 * np.pi, hsum / 2 + np.pi, hsum / 2 - np.pi)))
    l_mean, c_mean = (l1 + l2) / 2, (c1 + c2) / 2
    t = (1 - 0.17 * np.cos(h_mean - np.pi / 6) + 0.24 * np.cos(2 * h_mean) + 0.32 * np.cos(3 * h_mean + np.pi / 30)
         - 0.20 * np.cos(4 * h_mean - 63 * np.pi / 180))
    s_l = 1 + 0.015 * (l_mean - 50) ** 2 / np.sqrt(20 + (l_mean - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_mean, 1 + 0.015 * c_mean * t
    cm7 = c_mean ** 7
    r_t = -2 * np.sqrt(cm7 / (cm7 + 25.0 ** 7)) * np.sin(np.pi / 3 * np.exp(-((np.degrees(h_mean) - 275) / 25) ** 2))
    x, y, z = (l2 - l1) / s_l, (c2 - c1) / s_c, d_big_h / s_h
    return np.sqrt(x * x + y * y + z * z + r_t * y * z)


def picture_colours(image) -> np.ndarray:
    """(n, 3) sRGB bytes of the line colours drawn in a picture (see the module docstring), most pixels first."""
    px = np.asarray(image.convert("RGB"), dtype=np.int32)
    code = (px[..., 0] << 16) | (px[..., 1] << 8) | px[..., 2]
    core = code[1:-1, 1:-1]
    solid = np.ones(core.shape, dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            solid &= code[dy:dy + core.shape[0], dx:dx + core.shape[1]] == core
    values, counts = np.unique(core[solid], return_counts=True)
    keep = values[counts >= MIN_PIXELS][np.argsort(-counts[counts >= MIN_PIXELS], kind="stable")]
    rgb = np.stack([(keep >> 16) & 255, (keep >> 8) & 255, keep & 255], axis=1)
    lightness = srgb_to_lab(rgb)[:, 0] if len(rgb) else np.zeros(0)
    return rgb[(lightness > INK_PAPER_L[0]) & (lightness < INK_PAPER_L[1])]


def closest_pairs(rgb: np.ndarray) -> dict[str, float]:
    """Vision → the smallest CIEDE2000 between two of the colours (inf for fewer than two)."""
    i, j = np.triu_indices(len(rgb), k=1)
    out = {}
    for vision in (None, "protanopia", "deuteranopia"):
        lab = srgb_to_lab(rgb, vision) if len(rgb) else np.zeros((0, 3))
        out[vision or "normal"] = float(ciede2000_np(lab[i], lab[j]).min()) if len(i) else math.inf
    return out


@dataclass
class ColourCheck:
    """Per (difficulty, size): maps checked and the smallest distances found; the maps that miss, named."""

    closest: dict = field(default_factory=dict)  # (difficulty, size) → {vision: min ΔE00}
    maps: int = 0
    missed: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        return self.missed

    def lines(self) -> list[str]:
        return [f"line colours read off {self.maps} pictures (min CIEDE2000 normal / protanopia / deuteranopia): "
                + "; ".join(f"{d}/{s} " + " / ".join(f"{v:.1f}" for v in c.values())
                            for (d, s), c in sorted(self.closest.items()))]


def check_colours(maps) -> ColourCheck:
    """Check every synthetic map of a maps table (rows with `image`, `network`, `source`, `difficulty_city`,
    `width`, `map_id`) against `MIN_NORMAL` and `MIN_CVD`."""
    out = ColourCheck()
    for rec in maps:
        if rec["source"] != "synthetic":
            continue
        rgb = picture_colours(rec["image"])
        best = closest_pairs(rgb)
        out.maps += 1
        key = (rec["difficulty_city"], int(rec["width"]))
        group = out.closest.setdefault(key, dict.fromkeys(best, math.inf))
        for k, v in best.items():
            group[k] = min(group[k], v)
        lines = len(json.loads(rec["network"])["lines"])
        names = ", ".join("#{:02X}{:02X}{:02X}".format(*(int(v) for v in c)) for c in rgb)
        if len(rgb) != lines:
            out.missed.append(f"{rec['map_id']}: picture shows {len(rgb)} line colour(s) for {lines} lines ({names})")
        for vision, v in best.items():
            target = MIN_NORMAL if vision == "normal" else MIN_CVD
            if v < target:
                out.missed.append(f"{rec['map_id']}: two line colours {v:.1f} CIEDE2000 apart for {vision} vision "
                                  f"(< {target:g}; picture's colours {names})")
    return out
