"""Training: TRL's GRPOTrainer with rmlite's reward and curriculum (the only package importing torch/trl at import).

Rooms: `settings` (GRPOSettings, a card's settings and load options; light: no torch), `grpo` (the GRPO config,
`train`), `memory` (the analytic memory estimate of a run; light), `curriculum_trainer` (the curriculum's TRL
adapter: a callback, a stage-following sampler, a GRPOTrainer subclass), `spread` (rmlite's zero-spread metrics),
`heldout` (held-out evaluation during training), `runlog` (metrics.jsonl, CSV and the plot), `console` (the progress
bar instead of TRL's metrics dicts; known-harmless warnings silenced), `runfolder` (refuse or clear an earlier run;
README.md cards).

Lazy (PEP 562): `import rmlite.train.settings` imports no transformers, so the CLI, the doctor and a notebook can read
a run's settings before unsloth is imported. `from rmlite.train import train` imports `grpo` (and transformers) then.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {"GRPOSettings": "settings", "card_settings": "settings", "card_load_options": "settings",
         "cpu_tiny_settings": "settings", "TrainResult": "grpo", "plot_metrics": "grpo", "read_metrics": "grpo",
         "train": "grpo"}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'rmlite.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rmlite.train.{_HOME[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
