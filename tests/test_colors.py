"""CIEDE2000 against the published test pairs (Sharma, Wu and Dalal 2005), the colour-vision simulation against
an independent implementation of Machado et al. 2009, and the palette rules on generated maps."""

from __future__ import annotations

import itertools

import pytest

from rmlite.maps.colors import (
    MIN_CVD_DELTA_E,
    MIN_DELTA_E,
    ciede2000,
    cvd_delta_e,
    delta_e,
    hex_to_lab,
    min_cvd_delta_e,
    min_delta_e,
)
from rmlite.maps.generate import PALETTE, GeneratorConfig, generate_network

# (Lab 1, Lab 2, ΔE00) from Table 1 of Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula" (2005).
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_published_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)
    assert ciede2000(lab2, lab1) == pytest.approx(expected, abs=1e-4), "symmetric"


def test_srgb_to_lab_reference_points():
    assert hex_to_lab("#FFFFFF") == pytest.approx((100.0, 0.0, 0.0), abs=0.01)
    assert hex_to_lab("#000000") == pytest.approx((0.0, 0.0, 0.0), abs=0.01)
    assert hex_to_lab("#FF0000") == pytest.approx((53.24, 80.09, 67.20), abs=0.05)  # the usual sRGB red


def test_regression_the_old_near_identical_pairs_are_caught():
    # Orange/Gold, Purple/Maroon and Green/Teal of the old palette read as one stroke side by side.
    assert delta_e("#E69F00", "#DDAA33") == pytest.approx(5.3, abs=0.1)
    assert delta_e("#AA3377", "#882255") == pytest.approx(8.9, abs=0.1)
    assert delta_e("#009E73", "#44AA99") == pytest.approx(9.6, abs=0.1)
    assert min_delta_e(["#E69F00", "#DDAA33", "#0072B2"]) < MIN_DELTA_E
    assert min_delta_e(["#0072B2", "#0072b2"]) == 0.0, "the same colour twice"


# CIELAB of colours as seen with protanopia / deuteranopia: colorspacious 1.1.2 (Machado et al. 2009, severity 100,
# "sRGB1+CVD" → sRGB1 clipped → "CIELab"), computed once outside this project.
MACHADO_REFERENCE = [
    ("#009E73", "protanopia", (60.37, -2.22, 18.71)), ("#009E73", "deuteranopia", (55.84, -1.28, 9.21)),
    ("#F08070", "protanopia", (60.34, -2.35, 20.00)), ("#F08070", "deuteranopia", (69.10, -3.88, 32.17)),
    ("#CC3311", "protanopia", (36.99, -3.58, 42.68)), ("#0072B2", "deuteranopia", (43.79, 9.49, -44.08)),
]


@pytest.mark.parametrize(("color", "cvd", "lab"), MACHADO_REFERENCE)
def test_cvd_simulation_matches_an_independent_implementation(color, cvd, lab):
    assert hex_to_lab(color, cvd) == pytest.approx(lab, abs=0.03)


def test_regression_green_and_coral_collapse_under_protanopia():
    # issue 23: the old palette's Green and Coral are 0.7 apart as a protanope sees them (far apart otherwise)
    assert delta_e("#009E73", "#F08070") > 40
    assert cvd_delta_e("#009E73", "#F08070") == pytest.approx(0.7, abs=0.1)
    assert min_cvd_delta_e(["#0072B2", "#009E73", "#F08070"]) < MIN_CVD_DELTA_E


def test_palette_pairs_are_all_far_apart():
    assert len({c for _, c in PALETTE}) == len(PALETTE) == 12
    for (n1, c1), (n2, c2) in itertools.combinations(PALETTE, 2):
        assert delta_e(c1, c2) >= MIN_DELTA_E, (n1, n2)
        assert cvd_delta_e(c1, c2) >= MIN_CVD_DELTA_E, (n1, n2)


@pytest.mark.parametrize("size", [512, 768, 1024])
def test_generated_maps_follow_the_colour_rule(size):
    for seed in range(4):
        net = generate_network(GeneratorConfig("hard", size=size), seed)
        assert min_delta_e([ln.color for ln in net.lines]) >= MIN_DELTA_E
        assert min_cvd_delta_e([ln.color for ln in net.lines]) >= MIN_CVD_DELTA_E
