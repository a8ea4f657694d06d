"""rmlite: reproduce RewardMap (dense, difficulty-aware rewards + a perception→planning curriculum) on one GPU.

`import rmlite` stays light: data and reward code import no torch, transformers or trl, and `datasets`
only where it is used. Heavy parts (models, training) are imported from their modules on demand.
"""

__version__ = "0.1.0"
