"""The training console: one progress bar with the few numbers that say how a run goes, instead of TRL's dicts.

transformers adds a `ProgressCallback` (or `PrinterCallback` under `disable_tqdm`, `NotebookProgressCallback` in a
notebook) that writes every logged metrics dict (about 1,100 characters per GRPO step) to the console. `install`
removes it and, unless `progress=False`, adds `TrainingConsole`: one tqdm bar (`tqdm.auto`, a widget in notebooks)
whose postfix reads, for the last logged step,

    stage 2/2 planning | reward 0.412 | acc 0.25 | zero-spread 0.50 | held-out 0.31 | 4.1 s/step

(`acc`: sampled accuracy on that step's rollouts, which come from the current stage's types; `zero-spread`: rmlite's
share of GRPO groups without reward spread, `rmlite.train.spread`; `held-out`: the last held-out evaluation), and
one line per stage switch ("stage 2/2 planning from step 9": the first logged step trained on the new stage). The
full metrics still go to the run files (`RunLogger`). Main process only.

`quiet_known_warnings` silences, while training runs, the warnings rmlite knows to be harmless and cannot act on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import PrinterCallback, ProgressCallback

from rmlite.curriculum.stages import STAGE_METRIC

REWARD = "reward"  # TRL: the mean total reward of the step's completions
ACCURACY = "rewards/accuracy/mean"  # rmlite's weight-0 `accuracy` reward: sampled correctness on the step's rollouts
ZERO_SPREAD = "zero_spread/total"  # rmlite's, not TRL's frac_reward_zero_std (see rmlite.train.spread)
HELDOUT = "heldout/accuracy"
PRINTERS = ("ProgressCallback", "PrinterCallback", "NotebookProgressCallback")  # transformers' metrics printers

# Known-harmless warnings raised while GRPO trains, each (message regex, category, module regex). The module is the
# one that calls warnings.warn (its stack level applied), so a like-worded warning from elsewhere still shows.
KNOWN_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # transformers 5.24+ renamed gradient checkpointing to activation checkpointing (5.17, the pin, did not); trl
    # and peft call `model.is_gradient_checkpointing` / `gradient_checkpointing_enable()` / `_disable()` around each
    # generation.
    (r"`(is_)?gradient_checkpointing(_enable|_disable)?` is deprecated", FutureWarning,
     r"transformers\.modeling_utils"),
)


@contextmanager
def quiet_known_warnings() -> Iterator[None]:
    """Inside: `KNOWN_WARNINGS` ignored (every other warning as before); outside: the filters as they were."""
    with warnings.catch_warnings():
        for message, category, module in KNOWN_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category, module=module)
        yield


def _fmt(value: Any, spec: str) -> str | None:
    return None if not isinstance(value, (int, float)) else format(value, spec)


def postfix(logs: dict, stage: str | None, heldout: float | None, seconds_per_step: float | None) -> str:
    """The bar's postfix for one logged step (a part is left out when its number is missing).

    >>> postfix({"reward": 0.4125, "rewards/accuracy/mean": 0.25, "zero_spread/total": 0.5}, "stage 1/2 torf", 0.3125,
    ...         4.08)
    'stage 1/2 torf | reward 0.412 | acc 0.25 | zero-spread 0.50 | held-out 0.31 | 4.1 s/step'
    """
    parts = [stage,
             *(f"{name} {text}" for name, text in (
                 ("reward", _fmt(logs.get(REWARD), ".3f")), ("acc", _fmt(logs.get(ACCURACY), ".2f")),
                 ("zero-spread", _fmt(logs.get(ZERO_SPREAD), ".2f")), ("held-out", _fmt(heldout, ".2f")))
               if text is not None)]
    if seconds_per_step is not None:
        parts.append(f"{seconds_per_step:.1f} s/step")
    return " | ".join(p for p in parts if p)


class TrainingConsole(TrainerCallback):
    """One tqdm bar over the optimizer steps, its postfix the last logged step's numbers (see the module doc).

    Args:
        stage_names: the curriculum's stage names, for "stage k/n name" (empty: no stage shown).
        file: where the bar and the stage lines go (None: tqdm's default, stderr; the stage lines: stdout).
    """

    def __init__(self, stage_names: Sequence[str] = (), file: Any = None):
        self.stage_names = tuple(stage_names)
        self.file = file
        self.bar: Any = None
        self.stage: int | None = None
        self.heldout: float | None = None
        self.last_postfix = ""
        self.lines: list[str] = []  # the stage lines printed, for the caller and tests
        self._clock: tuple[float, int] | None = None  # (time, step) at the first step end seen

    def stage_label(self, stage: int | None) -> str | None:
        if stage is None or len(self.stage_names) < 2:
            return None
        return f"stage {stage + 1}/{len(self.stage_names)} {self.stage_names[stage]}"

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if not state.is_world_process_zero:
            return
        from tqdm.auto import tqdm

        self.bar = tqdm(total=state.max_steps, initial=state.global_step, unit="step", dynamic_ncols=True,
                        file=self.file)
        self._clock = (time.monotonic(), state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def seconds_per_step(self, step: int) -> float | None:
        """Wall-clock seconds per optimizer step since training (or the resume) began, held-out evaluations too."""
        if self._clock is None or step <= self._clock[1]:
            return None
        return (time.monotonic() - self._clock[0]) / (step - self._clock[1])

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kw: Any) -> None:
        if self.bar is None or not logs or REWARD not in logs:
            return  # the end-of-training summary (train_runtime, ...) has no reward: nothing to show
        if HELDOUT in logs:
            self.heldout = float(logs[HELDOUT])
        stage = logs.get(STAGE_METRIC)
        if stage is not None and stage != self.stage:
            line = f"{self.stage_label(int(stage))} from step {state.global_step}"
            if self.stage is not None and self.stage_label(int(stage)):
                self.lines.append(line)
                self.bar.write(line)
            self.stage = int(stage)
        self.last_postfix = postfix(logs, self.stage_label(self.stage), self.heldout,
                                    self.seconds_per_step(state.global_step))
        self.bar.set_postfix_str(self.last_postfix, refresh=True)

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def install(trainer: Any, stage_names: Sequence[str] = (), *, progress: bool = True) -> TrainingConsole | None:
    """Remove transformers' metrics printers from `trainer`; add a `TrainingConsole` unless `progress` is False."""
    for cb in list(trainer.callback_handler.callbacks):
        if isinstance(cb, (ProgressCallback, PrinterCallback)) or type(cb).__name__ in PRINTERS:
            trainer.remove_callback(cb)
    if not progress:
        return None
    console = TrainingConsole(stage_names)
    trainer.add_callback(console)
    return console
