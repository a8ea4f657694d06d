"""The notebooks' Colab install must never replace Colab's own torch.

unsloth (the GPU backend) accepts only some torch versions. When Colab's torch is outside that range, pip silently
uninstalls it and downloads another multi-GB build, and the running kernel then holds the old one until a restart.
So the install cell calls `keep_torch()` first: it stops the cell with one line when Colab's torch cannot stay, and
otherwise writes a constraints file that pins torch (and torchvision / torchaudio) to exactly what is installed, so
pip fails loudly instead of swapping them.

Standard library only: the install cell imports this right after cloning, before anything else is installed.

>>> torch_problem("2.9.0+cu126"), torch_problem("2.15.0+cu128")[:38]
(None, 'Colab has torch 2.15.0+cu128; unsloth ')
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

UNSLOTH_VERSION = "2026.10.9"  # as pinned in requirements/gpu.txt (tests check the two agree)
UNSLOTH_TORCH = ("2.4", "2.15")  # unsloth 2026.10.9's Requires-Dist: torch>=2.4.0,<2.15.0 (the GPU lane checks it)
KEPT = ("torch", "torchvision", "torchaudio")  # Colab's builds, matched to each other and to its CUDA
KEEP_FILE = "/tmp/rmlite-keep-colab-torch.txt"


class InstallStopped(Exception):
    """Shown by IPython as its message alone (`_render_traceback_`), not as a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


def _minor(version: str) -> tuple[int, int]:
    """(2, 15) from "2.15.0+cu128": unsloth's bounds are whole minor releases.

    >>> _minor("2.15.0+cu128"), _minor("2.4")
    ((2, 15), (2, 4))
    """
    found = re.match(r"(\d+)\.(\d+)", version)
    if not found:
        raise ValueError(f"not a version: {version!r}")
    return int(found.group(1)), int(found.group(2))


def torch_problem(version: str | None, allowed: tuple[str, str] = UNSLOTH_TORCH) -> str | None:
    """None when unsloth accepts this torch (or none is installed); else the one line that says what to do."""
    if version is None:
        return None
    if _minor(allowed[0]) <= _minor(version) < _minor(allowed[1]):
        return None
    return (f"Colab has torch {version}; unsloth {UNSLOTH_VERSION} needs torch >= {allowed[0]} and < {allowed[1]}, "
            "so installing would replace Colab's torch (several GB, then a restart). Nothing was installed: pick an "
            "older runtime (Runtime > Change runtime type > Runtime version) and run this cell again.")


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def keep_torch(path: str | Path | None = None) -> Path:
    """Stop (`InstallStopped`, one line) when Colab's torch is outside unsloth's range; else write pip constraints
    pinning the installed torch, torchvision and torchaudio, and return their path."""
    problem = torch_problem(installed("torch"))
    if problem:
        raise InstallStopped(problem)
    lines = [f"{name}=={version}" for name in KEPT if (version := installed(name))]
    path = Path(path or KEEP_FILE)
    path.write_text("".join(line + "\n" for line in lines))
    return path
