"""Training: TRL's GRPOTrainer with rmlite's reward and curriculum (the only package importing torch/trl at import).

Rooms: `grpo` (settings, the GRPO config, `train`), `curriculum_trainer` (the curriculum's TRL adapter: a callback,
a stage-following sampler, a GRPOTrainer subclass), `spread` (rmlite's zero-spread metrics), `heldout` (held-out
evaluation during training), `runlog` (metrics.jsonl, CSV and the plot), `console` (the progress bar instead of TRL's
metrics dicts; known-harmless warnings silenced), `runfolder` (refuse or clear an earlier run; README.md cards).
`import rmlite.train` imports transformers but not trl: trl comes with `curriculum_trainer`, when training starts, so
a notebook can still import unsloth first.
"""

from rmlite.train.grpo import GRPOSettings, TrainResult, cpu_tiny_settings, plot_metrics, read_metrics, train

__all__ = ["GRPOSettings", "TrainResult", "cpu_tiny_settings", "plot_metrics", "read_metrics", "train"]
