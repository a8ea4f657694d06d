"""The Makefile runs under GNU make 3.81 (macOS's make) as it does under 4.x.

3.81 ignores `.ONESHELL` and runs each recipe line in its own shell, so a recipe spread over several lines breaks
there ("syntax error: unexpected end of file") while 4.x runs it fine. Two checks: no feature newer than 3.81 is
used, and every target's recipe lines are parsed by bash one logical line at a time, as 3.81 runs them. The second
check runs make with a SHELL that only parses (bash -n) and records each command, so nothing is installed.
Checked by hand on 2026-12-07 with GNU make 3.81 built from its 3.81 tag: `make-3.81 setup` failed before the
recipes moved to scripts/setup_env.sh, and ran after.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
# Features that GNU make 3.81 lacks (added in 3.82 or 4.x), as they appear in a Makefile.
NEWER_THAN_381 = {
    ".ONESHELL": r"^\.ONESHELL\s*:", ".SHELLFLAGS": r"\.SHELLFLAGS", ".RECIPEPREFIX": r"\.RECIPEPREFIX",
    "::= assignment": r"^\S+\s*::=", "!= assignment": r"^\S+\s*!=", "$(file ...)": r"\$\(file ",
    "undefine": r"^\s*undefine\b", "grouped targets &:": r"&:", "$(let ...)": r"\$\(let ",
    "$(intcmp ...)": r"\$\(intcmp ", ".EXTRA_PREREQS": r"\.EXTRA_PREREQS", "private": r"^\s*private\s",
    "$(guile ...)": r"\$\(guile ", "load": r"^-?load\s",
}
CHECKER = """#!/bin/bash
# Called by make as: checker -c '<one recipe line>'. Parses it with bash -n and logs it; runs nothing.
printf '%s\\n\\0' "$2" >> "$RMLITE_MAKE_LOG"
exec bash -n -c "$2"
"""


def _features(text: str) -> list[str]:
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [name for name, pattern in NEWER_THAN_381.items() if re.search(pattern, code, re.MULTILINE)]


def test_the_feature_scan_catches_what_381_lacks():
    assert _features(".ONESHELL:\nall:\n\ttrue\n") == [".ONESHELL"]
    assert _features("X != ls\nY ::= 1\n") == ["::= assignment", "!= assignment"]
    assert _features("# .ONESHELL: in a comment is fine\n") == []


def test_makefile_uses_nothing_newer_than_make_381():
    assert _features(MAKEFILE.read_text()) == []


def _targets() -> list[str]:
    phony = re.search(r"^\.PHONY:(.*)$", MAKEFILE.read_text(), re.MULTILINE)
    return [t for t in phony.group(1).split() if t != "clean"]


def _run_lines(make: str, target: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, list[str]]:
    checker, log = tmp_path / "checker.sh", tmp_path / f"{target}.log"
    checker.write_text(CHECKER)
    checker.chmod(0o755)
    env = {**os.environ, "RMLITE_MAKE_LOG": str(log), "MAKEFLAGS": ""}
    env.pop("VIRTUAL_ENV", None)
    done = subprocess.run([make, "-B", f"SHELL={checker}", target], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    lines = [c for c in log.read_text().split("\n\0") if c] if log.exists() else []
    return done, lines


@pytest.mark.parametrize("make", [m for m in ("make", "make-3.81") if shutil.which(m)])
def test_every_recipe_line_is_a_complete_shell_command(make, tmp_path):
    for target in _targets():
        done, lines = _run_lines(make, target, tmp_path)
        assert done.returncode == 0, f"make {target}: a recipe line is not a whole command\n{done.stderr}"
        assert lines, f"make {target} ran no recipe line"


def test_the_line_check_fails_on_a_multi_line_recipe(tmp_path):
    """The check is not vacuous: a recipe that needs .ONESHELL (an if spread over lines) fails it."""
    broken = tmp_path / "Makefile"
    broken.write_text("all:\n\tif true; then\n\t  echo yes\n\tfi\n")
    checker = tmp_path / "checker.sh"
    checker.write_text(CHECKER)
    checker.chmod(0o755)
    env = {**os.environ, "RMLITE_MAKE_LOG": str(tmp_path / "log")}
    done = subprocess.run(["make", "-f", str(broken), f"SHELL={checker}"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "unexpected end of file" in done.stderr
