"""The notebook knob schema (`rmlite.notebook.knobs`): a misspelt or impossible knob stops the knobs cell in one
line, before anything runs; every knob the notebooks set or the helpers read is in the schema, and nothing else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import rmlite.notebook as nb
from rmlite.notebook.knobs import KNOBS, KnobError, check

nbformat = pytest.importorskip("nbformat", reason="the `notebooks` extra (nbformat, nbclient) is not installed")

ROOT = Path(__file__).resolve().parent.parent
PATHS = [ROOT / "notebooks" / name for name in nb.NOTEBOOKS]


def knobs_call(path: Path) -> ast.Call:
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    return next(n for n in ast.walk(ast.parse(cell.source))
                if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "knobs")


def set_knobs(path: Path) -> dict[str, ast.expr]:
    """{knob: value expression} a notebook's knobs cell sets, its smoke overrides included (as `name@smoke`)."""
    out = {}
    for kw in knobs_call(path).keywords:
        if kw.arg == "smoke":
            assert isinstance(kw.value, ast.Call), path.name  # smoke=dict(...)
            out.update({f"{k.arg}@smoke": k.value for k in kw.value.keywords})
        else:
            out[kw.arg] = kw.value
    return out


def test_the_issue_example_is_one_line_naming_the_knob_meant(monkeypatch, tmp_path):
    """`nb.knobs(dat="shipped", n_map=3)` used to generate 200 maps silently; now it stops before any data."""
    monkeypatch.setenv(nb.OUT_ENV, str(tmp_path / "out"))
    with pytest.raises(KnobError) as e:
        nb.knobs(dat="shipped", n_map=3)
    line, = e.value._render_traceback_()  # what IPython shows: this line and no traceback
    assert "\n" not in line and "unknown knob dat" in line and "did you mean data?" in line
    assert not (tmp_path / "out").exists()
    with pytest.raises(KnobError, match="unknown knob n_map .did you mean n_maps"):
        nb.knobs(data="shipped", n_map=3)
    assert nb.knobs(data="shipped", n_maps=3, my_colour="red").my_colour == "red"  # your own knobs: my_*


@pytest.mark.parametrize("knob, value", [
    ("n_maps", 0), ("n_maps", 2.5), ("n_maps", True), ("data", "mini"), ("error_rates", (0.2, 1.5)),
    ("error_rates", ()), ("group_size", 1), ("threshold", 2), ("fit", "yes"), ("runs", "stage1"),
    ("num_generations", 1), ("curriculum", "fine"), ("learning_rate", -1e-5), ("model", ""), ("variants", ["x"]),
])
def test_impossible_values_are_refused(knob, value):
    with pytest.raises(KnobError) as e:
        nb.knobs(**{knob: value})
    assert knob in str(e.value) and repr(value) in str(e.value) and "\n" not in str(e.value)


def test_a_bad_smoke_override_is_refused(monkeypatch):
    monkeypatch.delenv(nb.SMOKE_ENV, raising=False)  # checked even when smoke mode is off
    with pytest.raises(KnobError, match="steps=0"):
        nb.knobs(steps=10, smoke=dict(steps=0))
    with pytest.raises(KnobError, match="do not exist"):
        nb.knobs(steps=10, smoke=dict(step=2))


def schema_problems(path: Path) -> list[str]:
    """Each knob of a notebook's knobs cell that the schema does not know, or whose literal value it refuses."""
    problems = []
    for key, expr in set_knobs(path).items():
        name = key.split("@")[0]
        if name not in KNOBS:
            problems.append(f"{path.name}: knob {name} is not in rmlite.notebook.knobs.KNOBS")
            continue
        try:
            value = ast.literal_eval(expr)
        except ValueError:
            continue  # a name such as DEFAULT_MODEL
        try:
            check({name: value})
        except KnobError as e:
            problems.append(f"{path.name}: {e}")
    return problems


def test_every_notebook_knob_is_in_the_schema_and_its_literal_values_pass():
    assert [p for path in PATHS for p in schema_problems(path)] == []
    used = {key.split("@")[0] for path in PATHS for key in set_knobs(path)}
    assert used == set(KNOBS), f"schema entries no notebook sets: {set(KNOBS) - used}"


def test_the_notebook_check_catches_a_typo_and_a_bad_value(tmp_path):
    book = nbformat.read(PATHS[1], as_version=4)  # 01: data, n_maps, ...
    cell = next(c for c in book.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace("data=", "dat=", 1).replace("n_maps=4", "n_maps=0", 1)
    nbformat.write(book, tmp_path / PATHS[1].name)
    problems = schema_problems(tmp_path / PATHS[1].name)
    assert len(problems) == 2 and "knob dat is not in" in problems[0] and "n_maps=0" in problems[1], problems


def test_every_knob_the_helpers_read_is_in_the_schema():
    """Read from the helpers' source text (not through the schema): `k.<name>`, `getattr(k, "<name>"...)` and
    `setting(k, "<name>")`, the ways rmlite.notebook reads a knob."""
    read = set()
    for path in (ROOT / "rmlite" / "notebook").glob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r"\bk\.([a-z_]+)\b", text))
        read |= set(re.findall(r"getattr\(k, \"([a-z_]+)\"", text))
        read |= set(re.findall(r"setting\(k, \"([a-z_]+)\"\)", text))
    assert read, "the regexes found no knob reads: the helpers changed how they read knobs"
    assert read - {"smoke"} <= set(KNOBS), f"knobs read by the helpers but not in the schema: {read - set(KNOBS)}"


def test_in_a_kernel_the_error_is_one_line(tmp_path):
    """What a user sees: a knobs cell with a typo, run by a real kernel, shows one line and no traceback."""
    NotebookClient = pytest.importorskip("nbclient").NotebookClient
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import rmlite.notebook as nb\nK = nb.knobs(dat='shipped', n_map=3)")])
    NotebookClient(book, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error, = [o for o in book.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "KnobError" and len(error.traceback) == 1, error.traceback
    assert "unknown knob dat (did you mean data?)" in error.traceback[0]
