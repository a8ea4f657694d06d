"""Loading the model prints none of the known-harmless warnings rmlite cannot act on, and the filters stay narrow:
another FutureWarning from transformers, or another bitsandbytes log line, still shows."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from rmlite.models.load import quiet_known_warnings

ROOT = Path(__file__).resolve().parent.parent
LOAD = """
import sys, warnings
warnings.simplefilter("default")
from rmlite.models.load import load_model
load_model(sys.argv[1], load_in_4bit=True, lora_rank=4)
print("loaded")
"""


@pytest.mark.regression
def test_a_4bit_load_prints_no_known_noise(tiny_model_dir):
    pytest.importorskip("bitsandbytes")
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", LOAD, str(tiny_model_dir)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0 and "loaded" in proc.stdout, proc.stderr[-2000:]
    assert "gemm_4bit_forward" not in proc.stderr, proc.stderr[-2000:]
    assert "is_gradient_checkpointing" not in proc.stderr, proc.stderr[-2000:]


def test_the_filters_are_narrow(caplog):
    quiet_known_warnings()
    quiet_known_warnings()  # idempotent: one logging filter, however often it is called
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    assert len(logger.filters) == 1
    with caplog.at_level(logging.WARNING, logger=logger.name):
        logger.warning("Failed to load CPU gemm_4bit_forward from kernels-community: %s.", "x")
        logger.warning("another bitsandbytes warning")
    assert [r.getMessage() for r in caplog.records] == ["another bitsandbytes warning"]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        quiet_known_warnings()
        warnings.warn_explicit("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning,
                               "modeling_utils.py", 1, module="transformers.modeling_utils")
        warnings.warn_explicit("`other` is deprecated", FutureWarning, "modeling_utils.py", 2,
                               module="transformers.modeling_utils")
        warnings.warn_explicit("`is_gradient_checkpointing` is deprecated", FutureWarning, "x.py", 3,
                               module="somebody.else")
    assert [str(w.message) for w in seen] == ["`other` is deprecated", "`is_gradient_checkpointing` is deprecated"]
