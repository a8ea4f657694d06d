"""One owner per default (issue 21): a map's image side and a run's map count are each written once, as a named
constant or one settings field, and read everywhere else.

The image sides live in `rmlite.maps.fonts` (`SIZES`, `MAP_SIZE`, `TRAIN_SIZE`, `QUICK_SIZE`: the lowest layer that
needs them). A scan of the package's source (Python's own `ast`, not rmlite code) lists every literal default of a
parameter, field, keyword or settings entry named like a size or a map count: an image side written as a number
outside its owner fails, and so does a map count outside the settings that own one. Then each reader is checked to
hold its owner's value, and notebook 01's knob cell (the user's view of the notebook defaults) to show them.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import pytest

from rmlite.data.build import MINI_CONFIG, SIZES, DatasetConfig
from rmlite.maps import fonts
from rmlite.maps.generate import GeneratorConfig
from rmlite.maps.render import render_map
from rmlite.models import gpu
from rmlite.notebook import env, playground

ROOT = Path(__file__).resolve().parents[1]
SIZE_NAMES = {"size", "image_size"}
COUNT_NAMES = {"n_maps"}
# Sides that are no map size rmlite generates at: the small GPU tier's and the tiny CPU model's resize, the tiny
# model's toy pictures. Each is written once, where it is chosen.
OTHER_SIDES = {("rmlite/models/gpu.py", "image_size", 448), ("rmlite/models/gpu.py", "image_size", 112),
               ("rmlite/models/tiny.py", "size", 224)}
# The settings that own a map count, each its own choice: what `rmlite generate` makes, the shipped set, the demo,
# the notebooks (full, smoke) and the tiny model's toy set.
COUNT_OWNERS = {("rmlite/data/build.py", "n_maps", 20), ("rmlite/data/build.py", "n_maps", 24),
                ("rmlite/demo.py", "n_maps", 12), ("rmlite/notebook/env.py", "n_maps", (200, 4)),
                ("rmlite/models/tiny.py", "n_maps", 8)}


def literal_defaults(source: str) -> list[tuple[str, object]]:
    """(name, value) of every literal default named in SIZE_NAMES | COUNT_NAMES: a parameter's default, a field's
    value, a keyword argument, a dict entry (an int, or a tuple of ints)."""
    names, out = SIZE_NAMES | COUNT_NAMES, []

    def literal(node: ast.AST) -> object:
        try:
            value = ast.literal_eval(node)
        except ValueError:
            return None
        ok = isinstance(value, int) or (isinstance(value, tuple) and all(isinstance(v, int) for v in value))
        return value if ok and not isinstance(value, bool) else None

    for node in ast.walk(ast.parse(source)):
        pairs: list[tuple[str, ast.AST]] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.posonlyargs + a.args
            pairs += [(p.arg, d) for p, d in zip(pos[len(pos) - len(a.defaults):], a.defaults, strict=True)]
            pairs += [(p.arg, d) for p, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            pairs.append((node.target.id, node.value))
        elif isinstance(node, ast.keyword) and node.arg:
            pairs.append((node.arg, node.value))
        elif isinstance(node, ast.Dict):
            pairs += [(k.value, v) for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        out += [(name, value) for name, v in pairs if name in names and (value := literal(v)) is not None]
    return out


def package_defaults() -> set[tuple[str, str, object]]:
    return {(str(p.relative_to(ROOT)), name, value) for p in sorted((ROOT / "rmlite").rglob("*.py"))
            for name, value in literal_defaults(p.read_text(encoding="utf-8"))}


def test_the_scan_finds_a_restated_default():
    source = ("from dataclasses import dataclass\n@dataclass\nclass S:\n    n_maps: int = 12\n    size: int = 512\n"
              "def f(x, size=768, *, image_size=(512, 512)): ...\nD = {'n_maps': (200, 4), 'seed': 0}\n"
              "C = dict(size=1024, quick=True, image_size=SIDE)\n")
    assert sorted(literal_defaults(source), key=str) == sorted(
        [("n_maps", 12), ("size", 512), ("size", 768), ("image_size", (512, 512)), ("n_maps", (200, 4)),
         ("size", 1024)], key=str)


def test_image_sides_and_map_counts_have_one_owner_each():
    found = package_defaults()
    sides = {d for d in found if d[1] in SIZE_NAMES} - OTHER_SIDES
    assert not sides, f"image sides written as numbers outside rmlite.maps.fonts (use its constants): {sorted(sides)}"
    counts = {d for d in found if d[1] in COUNT_NAMES}
    assert counts == COUNT_OWNERS, f"map counts outside their owners: {sorted(counts - COUNT_OWNERS)}"


def test_every_reader_holds_its_owners_value():
    assert fonts.SIZES == SIZES and {fonts.MAP_SIZE, fonts.TRAIN_SIZE, fonts.QUICK_SIZE} <= set(SIZES)
    assert GeneratorConfig().size == DatasetConfig().size == fonts.MAP_SIZE
    assert inspect.signature(render_map).parameters["size"].default == fonts.MAP_SIZE
    assert MINI_CONFIG.size == env.DEFAULTS["image_size"][0] == env.DEFAULTS["image_size"][1] == fonts.QUICK_SIZE
    assert inspect.signature(playground.gallery).parameters["size"].default == fonts.QUICK_SIZE
    assert gpu.DEFAULT_MAX_PIXELS == fonts.TRAIN_SIZE ** 2
    assert {gpu.gpu_preset("card", m)["image_size"] for m in (16, 24, 48, 80)} == {fonts.TRAIN_SIZE}


def test_the_demo_reads_the_quick_size():
    from rmlite.demo import DemoSettings

    assert DemoSettings().size == fonts.QUICK_SIZE


def test_notebook_01_shows_the_notebook_defaults():
    book = json.loads((ROOT / "notebooks" / "01_maps_and_questions.ipynb").read_text(encoding="utf-8"))
    cell = next("".join(c["source"]) for c in book["cells"] if "nb.knobs(" in "".join(c["source"]))
    shown = {k: int(v) for k, v in re.findall(r"^\s+(n_maps|image_size)=(\d+),", cell, re.MULTILINE)}
    assert shown == {"n_maps": env.DEFAULTS["n_maps"][0], "image_size": env.DEFAULTS["image_size"][0]}


@pytest.mark.parametrize("bad", ["    size: int = 768\n", "def gallery(size=512): ...\n"])
def test_a_restated_side_is_reported(bad):
    assert literal_defaults("from dataclasses import dataclass\n@dataclass\nclass C:\n    x: int = 0\n" + bad)
