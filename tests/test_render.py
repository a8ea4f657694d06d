"""Renderer tests: determinism, label placement, legibility rule, glyph coverage, route highlight, gallery."""

from __future__ import annotations

import glob
import itertools
import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmlite.data.legibility import label_cover, order_flips
from rmlite.maps.fonts import (
    CAP_RATIO,
    MIN_CAP_PX,
    font_path,
    get_font,
    legible_font_px,
    legible_station_cap,
    min_font_px,
)
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.maps.layout import cached_plan
from rmlite.maps.namer import StationNamer
from rmlite.maps.network import Network
from rmlite.maps.render import on_track_labels, render_map
from rmlite.names import strip_tags

ROOT = Path(__file__).resolve().parent.parent
STATION_JSON = sorted({Path(p).name: p for p in glob.glob(str(ROOT / "data/reasonmap/stations/*/*.json"))
                       + glob.glob("/work/shared/reasonmap/stations/*/*.json")}.values())


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def check_render(net, size, res) -> None:
    assert res.image.size == (size, size) and res.image.mode == "RGB"
    assert set(res.label_boxes) <= set(net.stations) == set(res.station_xy)
    # A station without a label is unreadable, and so is one whose label sits nearer another station's mark or had
    # to sit on track: the independent checks below recompute the distances from the boxes and marks, and what
    # each label covers from the map's geometry (`rmlite.data.legibility`, not the placer's raster).
    unlabelled = set(net.stations) - set(res.label_boxes)
    assert unlabelled <= res.unreadable
    assert res.unreadable - unlabelled == on_track_labels(cached_plan(net, size, False, None)), \
        "every drawn label is its own mark's; only labels on track are unreadable besides the unlabelled"
    over_other, over_any, _ = label_cover(cached_plan(net, size, False, None), net)
    assert over_other <= res.unreadable, "a label over another line's stroke: no question may name its station"
    for s, (x0, y0, x1, y1) in res.label_boxes.items():
        def dist(p, box=(x0, y0, x1, y1)):
            return float(np.hypot(max(box[0] - p[0], 0, p[0] - box[2]), max(box[1] - p[1], 0, p[1] - box[3])))
        own = dist(res.station_xy[s])
        assert all(dist(p) >= own for o, p in res.station_xy.items() if o != s), s
    # Issue 23's reading rule (labels.READING_SHARE) leaves more stations unreadable, never asked about: measured on
    # 48 generated maps 8.4 % -> 10.5 % on average, worst map 30 % (hypothesis seed 49319, hard, 768 px, 30 % with
    # the old rule too). The per-map bound is a third; the average is bounded in test_unreadable_share_on_average.
    assert len(res.unreadable) <= len(net.stations) / 3
    assert res.overlaps == 0
    boxes = list(res.label_boxes.values())
    for x0, y0, x1, y1 in boxes:
        assert 0 <= x0 < x1 <= size and 0 <= y0 < y1 <= size
    for a, b in itertools.combinations(boxes + res.badge_boxes, 2):
        assert not _overlap(a, b), (a, b)
    for x, y in res.station_xy.values():
        assert 0 <= x < size and 0 <= y < size
    # Independent geometry (rmlite.data.legibility): no label hides a mark, neighbours keep their order.
    plan = cached_plan(net, size, False, None)
    assert label_cover(plan, net)[2] == set(), "a label covers a station mark"
    assert order_flips(plan, net)[1] == 0, "two neighbours' labels read in swapped order"


@given(seed=st.integers(0, 10**9), difficulty=st.sampled_from(["easy", "middle", "hard"]),
       size=st.sampled_from([512, 768, 1024]))
@settings(max_examples=12, deadline=None)
def test_labels_inside_and_never_overlapping(seed, difficulty, size):
    net = generate_network(GeneratorConfig(difficulty=difficulty, size=size), seed)
    check_render(net, size, render_map(net, size))


@pytest.mark.parametrize("size", [512, 768, 1024])
@pytest.mark.parametrize("difficulty", ["easy", "middle", "hard"])
def test_fixed_seeds_render_cleanly(size, difficulty):
    for seed in range(3):
        net = generate_network(GeneratorConfig(difficulty=difficulty, size=size), seed)
        check_render(net, size, render_map(net, size))


def test_unreadable_share_on_average():
    """Most stations stay readable: the average unreadable share over fixed seeds is at most 15 %.

    Measured 13.1 % at 768 px; 17.7 % with READING_SHARE 0.6.
    """
    shares = []
    for difficulty in ("easy", "middle", "hard"):
        for seed in range(3, 7):
            net = generate_network(GeneratorConfig(difficulty=difficulty, size=768), seed)
            shares.append(len(render_map(net, 768).unreadable) / len(net.stations))
    assert sum(shares) / len(shares) <= 0.15, shares


def test_same_seed_same_pixels_and_seeds_differ():
    cfg = GeneratorConfig(difficulty="hard", size=768)
    a = np.asarray(render_map(generate_network(cfg, 11), 768).image)
    b = np.asarray(render_map(generate_network(cfg, 11), 768).image)  # fresh network: no cached plan shared
    c = np.asarray(render_map(generate_network(cfg, 12), 768).image)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_image_has_line_colours_and_antialiasing():
    net = generate_network(GeneratorConfig(difficulty="middle", size=768), 3)
    px = np.asarray(render_map(net, 768).image).reshape(-1, 3)
    colours = {tuple(int(net.lines[0].color[i:i + 2], 16) for i in (1, 3, 5))}
    assert any((px == np.array(c)).all(1).sum() > 500 for c in colours)
    assert len(np.unique(px, axis=0)) > 100  # anti-aliased edges, not a handful of flat colours


@pytest.mark.parametrize("size", [512, 768, 1024])
def test_legibility_rule(size):
    f = legible_font_px(size)
    assert f * CAP_RATIO >= MIN_CAP_PX and min_font_px(size) * CAP_RATIO >= MIN_CAP_PX
    # With a training budget smaller than the image, fonts grow so the cap height survives the resize.
    budget = 448 * 448
    scale = 448 / size if size > 448 else 1.0
    assert min_font_px(size, budget) * CAP_RATIO * scale >= MIN_CAP_PX - 1e-9
    assert legible_station_cap(size, budget) <= legible_station_cap(size)
    cap_px = get_font(f).getbbox("H")
    assert cap_px[3] - cap_px[1] >= MIN_CAP_PX


def test_station_cap_grows_with_size():
    assert legible_station_cap(512) < legible_station_cap(768) < legible_station_cap(1024)


def test_legend_and_named_lines():
    net = generate_network(GeneratorConfig(difficulty="middle", size=1024, line_naming="named"), 4)
    res = render_map(net, 1024, legend=True)
    assert res.image.size == (1024, 1024)
    boxes = list(res.label_boxes.values())
    assert all(not _overlap(a, b) for a, b in itertools.combinations(boxes, 2))


def test_highlight_route_draws_gold():
    net = generate_network(GeneratorConfig(difficulty="middle", size=768), 5)
    a, b = net.lines[0].stations[0], net.lines[-1].stations[-1]
    route = net.routes(a, b)[0]
    plain = np.asarray(render_map(net, 768).image).astype(int)
    gold = np.asarray(render_map(net, 768, highlight_route=list(route)).image).astype(int)
    changed = np.abs(plain - gold).sum(-1) > 30
    assert changed.sum() > 1000
    assert np.array_equal(plain, np.asarray(render_map(net, 768).image).astype(int))  # highlight left no trace


def test_real_maps_are_refused():
    net = Network.from_metro_data({"Line 1": ["A", "B"], "Line 2": ["B", "C"]})
    with pytest.raises(ValueError, match="no layout"):
        render_map(net, 512)


def test_render_does_not_import_training_stack():
    import subprocess  # a fresh interpreter: other tests in this process may have imported torch

    code = ("import sys, rmlite.maps.generate, rmlite.maps.render; "
            "bad = [m for m in ('torch', 'transformers', 'trl', 'datasets', 'matplotlib') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ---- glyph coverage ------------------------------------------------------------------------------------------
def _missing_chars(text: str) -> set[str]:
    """Characters the bundled font draws as its notdef box (compared with a codepoint no font has)."""
    out = set()
    for bold in (False, True):
        f = get_font(20, bold=bold)
        notdef = f.getmask("\U0010fffd")
        sig = (notdef.size, bytes(notdef))
        for ch in set(text) - {" "}:
            m = f.getmask(ch)
            if (m.size, bytes(m)) == sig:
                out.add(ch)
    return out


def test_font_is_bundled_with_licence():
    assert font_path().is_file() and font_path(bold=True).is_file()
    assert (font_path().parent / "LICENSE-DejaVu.txt").is_file()
    assert _missing_chars("中") == {"中"}  # the check itself can see a missing glyph


def test_generated_names_have_glyphs():
    namer = StationNamer(random.Random(0))
    names = [namer.next() for _ in range(3000)]
    nets = [generate_network(GeneratorConfig(difficulty="hard"), s) for s in range(5)]
    text = "".join(names) + "".join(s for n in nets for s in n.stations)
    text += "".join(ln.name for n in nets for ln in n.lines)
    assert _missing_chars(text) == set()


@pytest.mark.skipif(not STATION_JSON, reason="no ReasonMap station files found")
def test_real_station_names_have_glyphs():
    # Chinese cities are skipped: DejaVu Sans has no CJK glyphs (documented in rmlite.maps.render).
    text = []
    for p in STATION_JSON:
        if "/china/" in p.replace("\\", "/"):
            continue
        for line, stations in json.loads(Path(p).read_text(encoding="utf-8")).items():
            text.append(line)
            text.extend(strip_tags(s) for s in stations)
    assert _missing_chars("".join(text)) == set()
