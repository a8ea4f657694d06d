"""Consistency checks for the build/environment layer (pyproject.toml, environment.yml, requirements/*.txt)
and a guard that `import rmlite` stays light (no torch / transformers / trl / datasets at import time)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "trl", "datasets")
# environment.yml installs these on top of the pyproject names (pyproject never lists torch: Colab brings its own).
ENV_ONLY = {"torch", "torchvision"}
# The `gpu` extra (unsloth) cannot be resolved with the CPU pins (unsloth caps trl<=1.15, the CPU set uses trl 1.16)
# and is CUDA-only, so environment.yml (a CPU env) leaves it out on purpose.
ENV_EXCLUDED_EXTRAS = {"gpu"}


def norm(name: str) -> str:
    """Normalise a requirement string to a bare package name: 'Foo_Bar[x]>=1; extra' -> 'foo-bar'."""
    name = re.split(r"[\s\[<>=!~;@]", name.strip(), maxsplit=1)[0]
    return name.lower().replace("_", "-").replace(".", "-")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pyproject_names(skip_extras=()) -> set[str]:
    proj = pyproject()["project"]
    names = {norm(r) for r in proj["dependencies"]}
    for extra, reqs in proj["optional-dependencies"].items():
        if extra not in skip_extras:
            names |= {norm(r) for r in reqs}
    return names


def environment_pip_lines() -> list[str]:
    """The entries of the `- pip:` list in environment.yml (a deliberately simple line parser: no PyYAML needed)."""
    lines, in_pip = [], False
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if re.match(r"^\s*-\s*pip:\s*$", line):
            in_pip = True
            continue
        if in_pip:
            m = re.match(r"^\s+-\s+(.+)$", line)
            if not m or len(raw) - len(raw.lstrip()) <= 2:
                break
            lines.append(m.group(1).strip())
    return lines


def read_pins(path: Path) -> dict[str, str]:
    """name -> specifier for every requirement line of a constraints file."""
    pins = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        pins[norm(line)] = line[len(re.split(r"[\s\[<>=!~;@]", line, maxsplit=1)[0]) :].strip()
    return pins


def major(spec: str) -> int:
    return int(re.match(r"==\s*(\d+)", spec).group(1))


# ---- (a) environment.yml mirrors pyproject -----------------------------------------------------------------------
def test_environment_yml_matches_pyproject():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^name:\s*rmlite\s*$", text, re.M)
    assert re.search(r"^\s*-\s*python\s*=\s*3\.11", text, re.M)
    entries = environment_pip_lines()
    assert "-e ." in entries
    env_names = {norm(e) for e in entries if not e.startswith("-")}
    expected = pyproject_names(skip_extras=ENV_EXCLUDED_EXTRAS)
    assert env_names - ENV_ONLY == expected, (
        f"only in environment.yml: {sorted(env_names - ENV_ONLY - expected)}; "
        f"only in pyproject: {sorted(expected - env_names)}"
    )
    # and environment.yml uses the CPU pins
    cpu = read_pins(ROOT / "requirements" / "cpu.txt")
    for e in entries:
        if "==" in e:
            assert cpu.get(norm(e)) == "==" + e.split("==", 1)[1].strip(), f"{e} differs from requirements/cpu.txt"


def test_pyproject_basics():
    proj = pyproject()["project"]
    core = {norm(r) for r in proj["dependencies"]}
    assert core == {"pillow", "numpy", "networkx", "datasets", "tqdm", "matplotlib"}
    assert any(r.replace(" ", "") == "datasets<5" for r in proj["dependencies"])
    assert "torch" not in pyproject_names() and "torchvision" not in pyproject_names()
    assert set(proj["optional-dependencies"]) >= {"train", "gpu", "notebooks", "dev"}
    assert proj["scripts"]["rmlite"] == "rmlite.cli:main"


# ---- (b) both constraint sets pin the train extra ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["cpu.txt", "gpu.txt"])
def test_constraints_pin_train_extra(name):
    pins = read_pins(ROOT / "requirements" / name)
    train = {norm(r) for r in pyproject()["project"]["optional-dependencies"]["train"]}
    for pkg in sorted(train | {"datasets"}):
        assert pkg in pins and pins[pkg].startswith("=="), f"{name}: {pkg} is not pinned with =="
    assert major(pins["datasets"]) < 5, f"{name}: datasets must stay <5 (unsloth requires it)"


def test_cpu_constraints_cover_pyproject_and_torch():
    pins = read_pins(ROOT / "requirements" / "cpu.txt")
    for pkg in sorted(pyproject_names(skip_extras=ENV_EXCLUDED_EXTRAS)):
        assert pins.get(pkg, "").startswith("=="), f"cpu.txt: {pkg} is not pinned with =="
    assert pins["torch"] == "==2.14.1" and pins["torchvision"] == "==0.29.1"
    assert pins["trl"] == "==1.16.0"


def test_gpu_constraints():
    pins = read_pins(ROOT / "requirements" / "gpu.txt")
    assert "torch" not in pins and "torchvision" not in pins, "gpu.txt must not pin torch (Colab brings its own)"
    assert pins["unsloth"] == "==2026.10.9" and pins["unsloth-zoo"] == "==2026.10.9"
    assert pins["trl"] == "==1.15.0"  # unsloth 2026.10.9: trl<=1.15.0
    assert pins["transformers"] == "==5.17.0"  # unsloth 2026.10.9: transformers<=5.17.0


@pytest.mark.skipif(os.environ.get("CI") != "true", reason="installed-vs-pinned drift is checked in CI only")
def test_installed_versions_match_cpu_pins():
    """In CI the env is built from requirements/cpu.txt; a mismatch means the Makefile or the pins drifted."""
    from importlib import metadata

    pins = read_pins(ROOT / "requirements" / "cpu.txt")
    checked = []
    for pkg in sorted(pyproject_names(skip_extras=ENV_EXCLUDED_EXTRAS) | ENV_ONLY):
        try:
            have = metadata.version(pkg).split("+")[0]
        except metadata.PackageNotFoundError:
            continue
        assert "==" + have == pins[pkg], f"{pkg}: installed {have}, cpu.txt says {pins[pkg]}"
        checked.append(pkg)
    print("installed == pinned:", ", ".join(checked))


# ---- (c) importing rmlite stays light ------------------------------------------------------------------------------
_PROBE = r"""
import importlib, importlib.util, json, sys, time
out = {}
heavy_mods = sys.argv[1].split(",")
for mod in sys.argv[2:]:
    if mod != "rmlite" and importlib.util.find_spec(mod) is None:
        out[mod] = None
        continue
    t = time.perf_counter()
    importlib.import_module(mod)
    out[mod] = {"seconds": time.perf_counter() - t, "heavy": sorted(m for m in heavy_mods if m in sys.modules)}
print(json.dumps(out))
"""


# Every package below the training layer imports without torch, transformers, trl or `datasets` (verl / EasyR1
# workers import the reward alone; `datasets` costs a second and is imported where a data set is read). Each is
# probed in a fresh interpreter, so one package cannot hide another's heavy import.
LIGHT_PACKAGES = ("rmlite", "rmlite.schema", "rmlite.maps", "rmlite.data", "rmlite.reward", "rmlite.lab",
                  "rmlite.curriculum", "rmlite.models", "rmlite.evaluate", "rmlite.notebook", "rmlite.cli")


@pytest.mark.parametrize("package", LIGHT_PACKAGES)
def test_import_is_light(package):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-c", _PROBE, ",".join(HEAVY), package], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.strip().splitlines()[-1])[package]
    print(f"import {package}: {info['seconds']:.3f} s (wall, fresh interpreter)")
    assert info["heavy"] == [], f"`import {package}` pulled in {info['heavy']}; keep these imports lazy"
