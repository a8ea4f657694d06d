"""The README's commands as a newcomer types them: the quick start is run, every other rmlite command is parsed.

The quick start runs in an empty folder, in order, through bash, with the environment `make` made on PATH (what
`source .venv/bin/activate` does). `make demo` and `make test` are read from the Makefile rather than re-run: the
test checks that their recipes are the commands this test runs or is run by (pytest). `make demo` (`python -m
rmlite demo`) is run as `python -m rmlite demo --quick`: the same steps at the same default arguments with the
shipped warm start instead of 300 training steps, which is all the later commands need (`runs/demo/model`).
tests/test_demo.py runs the whole demo (shrunk, warm start trained) and checks that the shipped warm start is the
one the defaults train, so the full demo is not run twice (108 s of the suite).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmlite.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ACTIVATE = "source .venv/bin/activate"
DEMO = "python -m rmlite demo"  # what `make demo` runs


def bash_blocks(markdown: str) -> list[list[str]]:
    """The commands of each ```bash block: comments dropped, backslash continuations joined."""
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        text = re.sub(r"\\\n\s*", " ", body)
        lines = [re.sub(r"\s+#.*$", "", line).strip() for line in text.splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def section(markdown: str, title: str) -> str:
    """The text of the `## title...` section, up to the next `## `."""
    m = re.search(rf"(?ms)^## {re.escape(title)}.*?(?=^## |\Z)", markdown)
    assert m, f"README has no section starting {title!r}"
    return m.group(0)


def quick_start() -> list[str]:
    return [c for block in bash_blocks(section((ROOT / "README.md").read_text(), "Quick start")) for c in block]


def make_recipe(target: str) -> str:
    m = re.search(rf"(?m)^{target}:.*\n((?:\t.*\n)+)", (ROOT / "Makefile").read_text())
    assert m, f"Makefile has no {target} target"
    return m.group(1)


def test_quick_start_is_what_a_newcomer_needs():
    cmds = quick_start()
    assert cmds[0] == "make demo" and cmds[-1] == "make test", cmds
    assert ACTIVATE in cmds, "the quick start must say how to use the environment make created"
    for verb in ("generate", "show", "audit", "lab", "train", "eval"):
        assert any(c.startswith(f"rmlite {verb} ") for c in cmds), f"quick start lacks `rmlite {verb}`"
    assert DEMO.removeprefix("python ") in make_recipe("demo")
    assert "-m pytest" in make_recipe("test")


def _env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(bin_dir.parent),
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0", MPLBACKEND="Agg")
    return env


@pytest.mark.slow
@pytest.mark.timeout(2400)  # seven commands: over the 900 s default at load 12 on 2 cores (2026-12-08)
def test_quick_start_runs_as_typed(tmp_path):
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "rmlite").exists():
        pytest.skip(f"no `rmlite` script beside {sys.executable}: rmlite is not installed in this environment")
    env, timings = _env(bin_dir), []
    for cmd in quick_start():
        if cmd in ("make test", ACTIVATE):
            continue  # this test runs inside `make test`, in the environment that `activate` would select
        run = f"{DEMO} --quick" if cmd == "make demo" else cmd
        t0 = time.perf_counter()
        proc = subprocess.run(["bash", "-c", run], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=900)
        timings.append(f"{time.perf_counter() - t0:6.1f} s  {cmd}")
        print(timings[-1], flush=True)  # shown with the failure when a later command fails or times out
        out = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        assert proc.returncode == 0, f"`{cmd}` failed ({proc.returncode}):\n{out}"
        assert "Traceback" not in proc.stderr, f"`{cmd}` printed a traceback:\n{proc.stderr[-3000:]}"
        if cmd == "make demo":  # a stale shipped warm start would train 300 steps here (test_demo names it)
            assert "reusing the shipped warm start" in proc.stdout, out
    for made in ("runs/demo/REPORT.md", "data/my-maps/manifest.json", "runs/show/my-maps-train-3.png",
                 "runs/my-lab/lab.txt", "runs/my-train/adapter", "runs/my-train/README.md", "runs/my-eval"):
        assert (tmp_path / made).exists(), f"the quick start should have written {made}"


def _rmlite_argv(cmd: str) -> list[str] | None:
    """The arguments after `rmlite` / `python -m rmlite` (None for other commands)."""
    words = shlex.split(cmd)
    for prefix in (["rmlite"], ["python", "-m", "rmlite"], [".venv/bin/rmlite"]):
        if words[: len(prefix)] == prefix:
            return words[len(prefix):]
    return None


def documented_commands() -> list[tuple[str, str]]:
    return [(doc.name, c) for doc in DOCS for block in bash_blocks(doc.read_text()) for c in block
            if _rmlite_argv(c) is not None]


def test_docs_show_rmlite_commands():
    assert len(documented_commands()) >= 12


@pytest.mark.parametrize(("doc", "cmd"), documented_commands())
def test_every_documented_command_parses(doc, cmd):
    """Every rmlite command in the README and docs/ is accepted by the parser as typed (GPU ones included)."""
    argv = _rmlite_argv(cmd)
    try:
        build_parser().parse_args(argv)
    except SystemExit as e:
        pytest.fail(f"{doc}: `{cmd}` is rejected by the parser (exit {e.code})")


def test_python_without_the_environment_gets_one_line():
    """`python -m rmlite` from the repository folder with a Python that lacks the dependencies (as after `make demo`
    without activating): one line that says how to use the environment, not a ModuleNotFoundError traceback."""
    proc = subprocess.run([sys.executable, "-S", "-m", "rmlite", "generate", "--out", "x"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "source .venv/bin/activate" in proc.stderr
