"""Shared test set-up: hypothesis profiles and the real-map fixture paths.

Profiles: `dev` (default, 50 examples) and `ci` (selected by `make test` when CI=true: fewer examples and no
deadline, so property tests that render full-size maps stay inside CI's time budget on 2 cores).
"""

import os
from pathlib import Path

import pytest
from fixtures.grpo_run import tiny_grpo_run  # noqa: F401 (a fixture)
from fixtures.models import tiny_model_dir, toy_data, warm_model_dir, warm_start_stats  # noqa: F401 (fixtures)
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

ROOT = Path(__file__).resolve().parent.parent
REASONMAP = ROOT / "data" / "reasonmap"


@pytest.fixture(scope="session")
def reasonmap_dir() -> Path:
    return REASONMAP
