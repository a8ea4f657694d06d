"""The GPU-pin lane's set-up: it runs only where the GPU pins are installed (`make test-gpu-stack`), and every check
that imports unsloth runs in its own process (tests_gpu/lane.py), since unsloth's patches to TRL cannot be undone and
would change what tests/test_api_surface.py, run in the same session, reads."""

from __future__ import annotations

import importlib.util

import pytest

from tests_gpu.lane import lane_facts

if importlib.util.find_spec("unsloth") is None:
    raise pytest.UsageError("tests_gpu/ needs the GPU pins (unsloth, trl 1.15): run it with `make test-gpu-stack`")


@pytest.fixture(scope="session")
def unsloth_run(tmp_path_factory) -> dict:
    """The tiny model's curriculum GRPO run under unsloth's patched TRL (about a minute), reloaded frozen."""
    return lane_facts("run", tmp_path_factory.mktemp("unsloth-run"))
