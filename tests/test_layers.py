"""The house rules, read from the source with `ast`: imports point only downward, and no cycle comes back.

Layers, bottom up (a module may import its own layer and the ones below it, never one above):

    vocabulary  rmlite, rmlite.schema, rmlite.names, rmlite.stats, rmlite.tables
    world       rmlite.maps.*
    data        rmlite.data.*
    scoring     rmlite.reward.*
    analysis    rmlite.lab.*, rmlite.curriculum.*
    model       rmlite.models.*
    eval        rmlite.evaluate
    heavy       rmlite.train.*
    apps        rmlite.cli, rmlite.demo, rmlite.demo_quick, rmlite.doctor, rmlite.notebook.*, rmlite.__main__,
                rmlite.colab_install

Inside a function, an import of an rmlite module is allowed only where it defers torch / transformers / trl (the
heavy layer), with a comment on that line saying so. Sizes: no function over 60 lines; no module over 600, and one
over 400 says in its docstring why it is one cohesive thing. Tests are flat, and no test module imports another
(shared fixtures live in tests/fixtures/).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parent.parent / "rmlite"
LAYERS = [
    ("vocabulary", ("rmlite", "rmlite.schema", "rmlite.names", "rmlite.stats", "rmlite.tables")),
    ("world", ("rmlite.maps",)),
    ("data", ("rmlite.data",)),
    ("scoring", ("rmlite.reward",)),
    ("analysis", ("rmlite.lab", "rmlite.curriculum")),
    ("model", ("rmlite.models",)),
    ("eval", ("rmlite.evaluate",)),
    ("heavy", ("rmlite.train",)),
    ("apps", ("rmlite.cli", "rmlite.demo", "rmlite.demo_quick", "rmlite.doctor", "rmlite.notebook",
              "rmlite.__main__", "rmlite.colab_install")),
]
HEAVY_LAYER = "heavy"
MAX_FUNCTION_LINES = 60
SOFT_MODULE_LINES, MAX_MODULE_LINES = 400, 600
COHESIVE_MARK = "One module on purpose:"
TESTS = Path(__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """Index of the layer owning `module` (the longest matching prefix wins, so `rmlite` is only the package)."""
    best = None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or (p != "rmlite" and module.startswith(p + "."))) and (best is None or len(p) > best[1]):
                best = (i, len(p))
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py")
    return best[0]


def imports_of(path: Path) -> list[tuple[str, int, bool, str]]:
    """(imported rmlite module, line, inside a function, source line) for each rmlite import in `path`."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    inside: set[int] = set()
    for f in ast.walk(tree):
        if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inside.update(id(n) for n in ast.walk(f) if n is not f)
    out = []
    for n in ast.walk(tree):
        targets = []
        if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module and n.module.split(".")[0] == "rmlite":
            for a in n.names:  # `from rmlite.reward import parse` imports the module rmlite.reward.parse
                sub = f"{n.module}.{a.name}"
                targets.append(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists() else n.module)
        elif isinstance(n, ast.Import):
            targets = [a.name for a in n.names if a.name.split(".")[0] == "rmlite"]
        for t in dict.fromkeys(targets):
            out.append((t, n.lineno, id(n) in inside, lines[n.lineno - 1]))
    return out


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def import_graph() -> nx.DiGraph:
    g = nx.DiGraph()
    for mod, path in MODULES.items():
        g.add_node(mod)
        for target, _, in_function, _ in imports_of(path):
            if not in_function and target != mod:
                g.add_edge(mod, target)
    return g


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_downward(module):
    mine = layer_of(module)
    upward = [f"line {line}: {target} ({LAYERS[layer_of(target)][0]})"
              for target, line, _, _ in imports_of(MODULES[module]) if layer_of(target) > mine]
    assert not upward, f"{module} ({LAYERS[mine][0]}) imports upward: {upward}"


def test_no_import_cycle():
    g = import_graph()
    # A package's __init__ re-exports its rooms, and a room importing a sibling through the package is the
    # same edge drawn twice: only module-to-module edges between different files count.
    cycles = list(nx.simple_cycles(g))
    assert not cycles, f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_function_level_imports_only_defer_the_heavy_layer(module):
    bad = []
    for target, line, in_function, source in imports_of(MODULES[module]):
        if not in_function:
            continue
        if LAYERS[layer_of(target)][0] != HEAVY_LAYER:
            bad.append(f"line {line}: {target} is light; import it at the top of the module")
        elif "#" not in source:
            bad.append(f"line {line}: say why in a comment on the import (it defers torch / trl)")
    assert not bad, f"{module}: {bad}"


def test_every_module_has_a_layer_and_the_rules_can_fail():
    assert all(layer_of(m) >= 0 for m in MODULES)
    assert layer_of("rmlite.maps.render") < layer_of("rmlite.data.store") < layer_of("rmlite.reward.score")
    assert layer_of("rmlite") == 0 and layer_of("rmlite.train.grpo") == 7
    with pytest.raises(AssertionError, match="no layer"):
        layer_of("rmlite_other.x")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_size(module):
    text = MODULES[module].read_text(encoding="utf-8")
    n = len(text.splitlines())
    assert n <= MAX_MODULE_LINES, f"{module} has {n} lines (at most {MAX_MODULE_LINES}): split it"
    if n > SOFT_MODULE_LINES:
        doc = ast.get_docstring(ast.parse(text)) or ""
        assert COHESIVE_MARK in doc, (f"{module} has {n} lines: split it, or say in its docstring why it is one "
                                      f"cohesive thing ('{COHESIVE_MARK} ...')")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_function_size(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    sizes = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    long = [f"{name} ({lines} lines)" for name, lines in sizes if lines > MAX_FUNCTION_LINES]
    assert not long, f"{module}: functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_tests_are_flat_and_import_no_other_test_module():
    assert not [p for p in TESTS.rglob("test_*.py") if p.parent != TESTS], "test modules live directly in tests/"
    bad = []
    for path in sorted(TESTS.glob("test_*.py")):
        for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(n, (ast.Import, ast.ImportFrom)):  # (a `global` statement has names too: strings)
                continue
            names = [n.module or ""] if isinstance(n, ast.ImportFrom) else [a.name for a in n.names]
            if any(x.split(".")[0].startswith(("test_", "conftest")) for x in names):
                bad.append(f"{path.name}:{n.lineno}")
    assert not bad, f"test modules importing other test modules (move shared code to tests/fixtures/): {bad}"
