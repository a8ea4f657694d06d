"""Run the doctests of the light modules (no torch / transformers / trl) in the normal suite.

pyproject does not collect `--doctest-modules` globally (that would import the training modules), so the
examples in these docstrings are executed here.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

LIGHT = ["rmlite.names", "rmlite.network", "rmlite.schema", "rmlite.formats", "rmlite.questions", "rmlite.data",
         "rmlite.reward", "rmlite.parse", "rmlite.metrics", "rmlite.adapters", "rmlite.advantages", "rmlite.curriculum",
         "rmlite.lab", "rmlite.errors", "rmlite.generate", "rmlite.render", "rmlite.stationnames", "rmlite.models"]


@pytest.mark.parametrize("name", LIGHT)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0, f"{name} has no doctest examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"


@pytest.mark.parametrize("name", ["rmlite.train"])
def test_doctests_of_training_modules(name):
    pytest.importorskip("trl", reason="the `train` extra is not installed")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted > 0 and result.failed == 0, f"{result.failed} of {result.attempted} failed in {name}"
