"""The audit's checks in their own modules (`rmlite.data.audit.CHECKS`): line colours read off the stored pictures
(`rmlite.data.color_check`) and the planning mix per map difficulty (`rmlite.data.mix_check`).

The colour check's CIEDE2000 is held to Sharma, Wu and Dalal's published pairs and its colour-vision simulation to
colorspacious' values (computed outside this project); both are shown to fail a set whose picture draws two lines
in nearly one colour, or whose easy maps ask only direct routes, through `rmlite audit` itself.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from rmlite.data.audit import audit_dataset
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.color_check import MIN_CVD, ciede2000_np, picture_colours, srgb_to_lab
from rmlite.data.mix_check import MIN_MAPS
from rmlite.data.store import load_maps, load_questions, read_manifest, save_dataset

# (Lab 1, Lab 2, ΔE00), Table 1 of Sharma, Wu and Dalal (2005), the pairs that exercise the formula's corners.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425), ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792), ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030), ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]
# CIELAB as seen with protanopia / deuteranopia: colorspacious 1.1.2 (Machado et al. 2009, severity 100).
MACHADO = [("#009E73", "protanopia", (60.37, -2.22, 18.71)), ("#F08070", "deuteranopia", (69.10, -3.88, 32.17)),
           ("#CC3311", "protanopia", (36.99, -3.58, 42.68)), ("#0072B2", "deuteranopia", (43.79, 9.49, -44.08))]


def test_ciede2000_matches_the_published_pairs_both_ways():
    a, b, want = (np.array(x) for x in zip(*SHARMA, strict=True))
    assert ciede2000_np(a, b) == pytest.approx(want, abs=1e-4)
    assert ciede2000_np(b, a) == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize(("color", "vision", "lab"), MACHADO)
def test_colour_vision_simulation_matches_colorspacious(color, vision, lab):
    rgb = np.array([[int(color[i:i + 2], 16) for i in (1, 3, 5)]])
    assert srgb_to_lab(rgb, vision)[0] == pytest.approx(lab, abs=0.03)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    return generate_dataset(root / "ds", DatasetConfig(n_maps=6, seed=5, size=512), workers=1, progress=False)


def _resave(src, dst, *, image=None, rows=None):
    """A copy of the set at `src` with one map's picture changed by `image(rec) -> PIL image` or new rows."""
    maps = []
    for rec in load_maps(src):
        img = image(rec) if image is not None else rec["image"]
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        maps.append({**rec, "image": {"bytes": buf.getvalue(), "path": None}})
    splits = {s: load_questions(src, s).to_list() for s in ("train", "test")}
    save_dataset(dst, maps, rows(splits) if rows else splits, read_manifest(src))
    return dst


def test_the_pictures_show_each_map_s_line_colours(fresh):
    for rec in load_maps(fresh):
        want = sorted(ln["color"].upper() for ln in json.loads(rec["network"])["lines"])
        assert sorted("#{:02X}{:02X}{:02X}".format(*map(int, c)) for c in picture_colours(rec["image"])) == want


def test_audit_fails_a_picture_with_two_nearly_identical_line_colours(fresh, tmp_path):
    clean = audit_dataset(fresh)
    assert not [f for f in clean.failures() if "CIEDE2000" in f or "line colour" in f]
    victim = next(r["map_id"] for r in load_maps(fresh) if len(json.loads(r["network"])["lines"]) >= 3)

    def near_twin(rec):  # the second line's colour becomes the first's, one step of red away
        img = rec["image"].convert("RGB")
        if rec["map_id"] != victim:
            return img
        c1, c2 = (ln["color"] for ln in json.loads(rec["network"])["lines"][:2])
        px = np.array(img)
        rgb1, rgb2 = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in (c1, c2))
        px[(px == rgb2).all(axis=2)] = np.minimum(rgb1 + [3, 0, 0], 255)
        return Image.fromarray(px)

    bad = audit_dataset(_resave(fresh, tmp_path / "bad", image=near_twin))
    named = [f for f in bad.failures() if f.startswith(victim) and "CIEDE2000" in f]
    assert named and "normal vision" in named[0], bad.failures()
    assert bad.checks[0].closest and min(c["normal"] for c in bad.checks[0].closest.values()) < 2
    assert min(c["protanopia"] for c in clean.checks[0].closest.values()) >= MIN_CVD


def test_audit_fails_easy_maps_that_ask_only_direct_routes(fresh, tmp_path):
    # MIN_MAPS easy maps (copies of the set's first, under new ids), every planning question of them direct
    maps = [dict(r) for r in load_maps(fresh)]
    easy = next(r for r in maps if r["difficulty_city"] == "easy")
    splits = {s: load_questions(fresh, s).to_list() for s in ("train", "test")}
    rows = [r for rs in splits.values() for r in rs if r["map_id"] == easy["map_id"] and r["type"] == "planning"]
    twins, extra = [], []
    for i in range(MIN_MAPS):
        twins.append({**easy, "map_id": f"twin-{i}"})
        extra += [{**r, "map_id": f"twin-{i}", "id": f"twin-{i}-{r['id']}"} for r in rows]

    def save(name, transfers):
        out = []
        for rec in maps + twins:
            buf = io.BytesIO()
            rec["image"].save(buf, format="PNG")
            out.append({**rec, "image": {"bytes": buf.getvalue(), "path": None}})
        train = splits["train"] + [{**r, "question_transfer_count": transfers(r)} for r in extra]
        save_dataset(tmp_path / name, out, {"train": train, "test": splits["test"]}, read_manifest(fresh))
        return audit_dataset(tmp_path / name)

    as_asked = save("as_asked", lambda r: [0, 0, 0, 0, 1, 1, 1, 2][int(r["id"].rsplit("-", 1)[1])])
    assert not [f for f in as_asked.failures() if f.startswith("easy/512: planning mix")], as_asked.failures()
    bad = save("direct", lambda r: 0)
    named = [f for f in bad.failures() if f.startswith("easy/512: planning mix ")]
    assert named and float(named[0].split()[3].rstrip("%")) > 90, bad.failures()
