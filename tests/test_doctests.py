"""Run the doctests of every rmlite module in the normal suite.

pyproject does not collect `--doctest-modules` globally (that would import the training modules on a core-only
install), so the examples are executed here: every module is found by walking the package, the training package
only when the `train` extra is installed.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import rmlite

HEAVY = ("rmlite.train",)  # imports torch / transformers / trl at import time
MODULES = sorted(m.name for m in pkgutil.walk_packages(rmlite.__path__, "rmlite.") if m.name != "rmlite.__main__")
# Modules whose docstrings are their worked examples: each must keep at least one.
EXAMPLES = ["rmlite.names", "rmlite.maps.network", "rmlite.maps.fonts", "rmlite.maps.generate", "rmlite.maps.namer",
            "rmlite.schema", "rmlite.data.answers", "rmlite.data.questions", "rmlite.reward.score",
            "rmlite.reward.parse", "rmlite.reward.official_parse", "rmlite.reward.metrics", "rmlite.reward.engines",
            "rmlite.lab.advantages", "rmlite.lab.mistakes", "rmlite.lab.rollouts", "rmlite.lab.stats",
            "rmlite.lab.measure", "rmlite.curriculum", "rmlite.models.gpu"]


def _run(name: str) -> doctest.TestResults:
    if name.startswith(HEAVY):
        pytest.importorskip("trl", reason="the `train` extra is not installed")
    module = importlib.import_module(name)
    return doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    result = _run(name)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
    if name in EXAMPLES:
        assert result.attempted > 0, f"{name} lost its worked examples"


def test_the_example_list_names_real_modules():
    assert set(EXAMPLES) <= set(MODULES)
