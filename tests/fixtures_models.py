"""Session fixtures for tests that need a model: the tiny Qwen2.5-VL, built offline (no weights committed).

Use from conftest (`from fixtures_models import tiny_model_dir, toy_data, warm_model_dir, warm_start_stats`)
or call the cached builders (`tiny_model_cached()`, ...) from a module's own fixtures. Builds are cached per
process, so they happen once however many fixtures use them. They run with HF_HUB_OFFLINE=1: nothing downloads.

* `toy_data`: `(samples, images)` from `rmlite.models.tiny.toy_dataset` (PIL maps, rmlite questions).
* `tiny_model_dir`: a freshly built random tiny model folder (about 1 M params, about 5 s). Read-only: copy
  it before training or saving into it.
* `warm_model_dir`: a copy warm-started for 60 steps on `toy_data` (about 15-30 s on 2 cores); read-only.
* `warm_start_stats`: that run's `WarmStartStats`.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import pytest

WARM_STEPS = 60


@contextmanager
def _offline():
    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@lru_cache(maxsize=1)
def _root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="rmlite-models-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


@lru_cache(maxsize=1)
def toy_data_cached():
    from rmlite.models.tiny import toy_dataset

    return toy_dataset(24, seed=0)


@lru_cache(maxsize=1)
def tiny_model_cached() -> Path:
    from rmlite.models.tiny import build_tiny_vlm

    with _offline():
        return build_tiny_vlm(_root() / "tiny", seed=0)


@lru_cache(maxsize=1)
def warm_model_cached():
    from rmlite.models.warmstart import warm_start

    dst = _root() / "warm"
    shutil.copytree(tiny_model_cached(), dst)
    samples, images = toy_data_cached()
    with _offline():
        stats = warm_start(dst, None, samples, images, steps=WARM_STEPS, batch_size=16, seed=0, progress=False,
                           heldout=48)
    return dst, stats


@pytest.fixture(scope="session")
def toy_data():
    return toy_data_cached()


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    return tiny_model_cached()


@pytest.fixture(scope="session")
def warm_model_dir() -> Path:
    return warm_model_cached()[0]


@pytest.fixture(scope="session")
def warm_start_stats():
    return warm_model_cached()[1]
