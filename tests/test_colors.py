"""CIEDE2000 against the published test pairs (Sharma, Wu and Dalal 2005), and the palette rule on generated maps."""

from __future__ import annotations

import itertools

import pytest

from rmlite.maps.colors import MIN_DELTA_E, ciede2000, delta_e, hex_to_lab, min_delta_e
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


def test_palette_pairs_are_all_far_apart():
    assert len({c for _, c in PALETTE}) == len(PALETTE) == 12
    for (n1, c1), (n2, c2) in itertools.combinations(PALETTE, 2):
        assert delta_e(c1, c2) >= MIN_DELTA_E, (n1, n2)


@pytest.mark.parametrize("size", [512, 768, 1024])
def test_generated_maps_follow_the_colour_rule(size):
    for seed in range(4):
        net = generate_network(GeneratorConfig("hard", size=size), seed)
        assert min_delta_e([ln.color for ln in net.lines]) >= MIN_DELTA_E
