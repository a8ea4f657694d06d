"""The Colab install guard (`rmlite.colab_install`): Colab's torch is kept or the install stops in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rmlite import colab_install as ci

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("version, ok", [
    ("2.4.0", True), ("2.9.0+cu126", True), ("2.14.1+cu130", True), ("2.14.99", True),
    ("2.3.1+cu121", False), ("2.15.0", False), ("2.15.0.dev20261101+cu128", False), ("3.0.0", False),
    (None, True),  # no torch: unsloth brings its own, nothing to replace
])
def test_torch_range(version, ok):
    problem = ci.torch_problem(version)
    assert (problem is None) is ok
    if problem:
        assert version in problem and "\n" not in problem and "Runtime version" in problem


def test_range_and_version_match_the_gpu_pins():
    """The guard's unsloth is the one requirements/gpu.txt installs (the GPU lane checks the torch bounds against
    that unsloth's own metadata)."""
    pins = dict(re.findall(r"^([\w.-]+)==(\S+)", (ROOT / "requirements" / "gpu.txt").read_text(), re.M))
    assert pins["unsloth"] == ci.UNSLOTH_VERSION
    assert "torch" not in pins  # Colab's torch is never pinned by us


def test_keep_torch_pins_exactly_what_is_installed(tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "installed", {"torch": "2.8.0+cu126", "torchaudio": "2.8.0+cu126"}.get)
    path = ci.keep_torch(tmp_path / "keep.txt")
    assert path.read_text() == "torch==2.8.0+cu126\ntorchaudio==2.8.0+cu126\n"


def test_keep_torch_stops_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(ci, "installed", {"torch": "2.16.0+cu130"}.get)
    with pytest.raises(ci.InstallStopped, match="torch 2.16.0"):
        ci.keep_torch(tmp_path / "keep.txt")
    assert not (tmp_path / "keep.txt").exists()


def test_bad_version_text_is_refused():
    with pytest.raises(ValueError, match="not a version"):
        ci.torch_problem("latest")
