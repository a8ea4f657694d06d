"""The notebooks' knob schema: every knob a notebook may set, what it must be, and one line when it is not.

A knobs cell is one `nb.knobs(...)` call, so a misspelt knob (`dat="shipped"`, `n_map=3`) used to become a knob
nobody reads, and the notebook silently ran with the defaults (200 maps generated instead of the shipped set).
`check` refuses it before anything runs, in one line that names the knob it probably meant. Your own knobs, for
cells you add, start with `my_` and are not checked.

>>> check({"data": "shipped", "n_maps": 3})
>>> for bad in ({"dat": "shipped"}, {"n_maps": 0}, {"data": "mini"}):
...     try:
...         check(bad)
...     except KnobError as e:
...         print(e)
unknown knob dat (did you mean data?); the knobs: rmlite.notebook.knobs.KNOBS; your own knobs start with my_
knob n_maps=0: must be an int >= 1
data must be one of 'generate', 'shipped', 'auto', got 'mini'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

OWN_PREFIX = "my_"  # knobs of your own cells: not checked


class KnobError(ValueError):
    """A bad knob: IPython shows its message alone (`_render_traceback_`), not a traceback into rmlite."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


Check = Callable[[Any], bool]


def _int(low: int) -> tuple[Check, str]:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low), f"an int >= {low}"


def _number(low: float, high: float) -> tuple[Check, str]:
    def ok(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high

    return ok, f"a number in [{low}, {high}]"


def _optional(spec: tuple[Check, str]) -> tuple[Check, str]:
    return (lambda v: v is None or spec[0](v)), f"None or {spec[1]}"


def _choice(*options: Any) -> tuple[Check, str]:
    return (lambda v: v in options), f"one of {', '.join(map(repr, options))}"


def _names() -> tuple[Check, str]:
    def ok(v: Any) -> bool:
        return isinstance(v, (tuple, list)) and all(isinstance(x, str) for x in v)

    return ok, "a tuple of names"


def _rates() -> tuple[Check, str]:
    def ok(v: Any) -> bool:
        return isinstance(v, (tuple, list)) and len(v) > 0 and all(_number(0, 1)[0](x) for x in v)

    return ok, "a non-empty tuple of numbers in [0, 1]"


_BOOL = ((lambda v: isinstance(v, bool)), "True or False")
_TEXT = ((lambda v: isinstance(v, str) and v != ""), "a non-empty string")
_ANY = ((lambda v: True), "anything")

# name -> (check, what it must be). Data: 01 sets them, 03-05 reuse 01's set; model and training: 03/04; 05; 02/06.
KNOBS: dict[str, tuple[Check, str]] = {
    "data": _choice("generate", "shipped", "auto"), "n_maps": _int(1), "image_size": _int(28),
    "real_maps": _names(), "seed": _int(0),
    "model": _optional(_TEXT), "fit": _BOOL, "load_in_4bit": _BOOL, "lora_rank": _int(1), "warm_steps": _int(0),
    "steps": _int(1), "num_generations": _optional(_int(2)), "max_completion_length": _optional(_int(1)),
    "learning_rate": _optional(_number(0, 1)), "reward": _ANY,  # a preset, a RewardConfig or "package.module:fn"
    "run_name": _TEXT, "from_run": _optional(_TEXT), "heldout": _int(0), "eval_every": _int(1), "pass_k": _int(1),
    "curriculum": _choice("adaptive", "schedule", "none"), "threshold": _number(0, 1), "window": _int(1),
    "max_stage_steps": _int(1),
    "runs": _names(), "eval_limit": _int(1), "max_new_tokens": _int(1),
    "lab_maps": _int(1), "group_size": _int(2), "error_rates": _rates(), "presets": _names(),
    "variants": ((lambda v: isinstance(v, Mapping)), "a dict {name: {'base': preset, field: value}}"),
    "max_questions": _int(1),
}


def check(values: Mapping[str, Any]) -> None:
    """Raise KnobError (one line) for an unknown knob or a value its schema refuses; the first problem only."""
    for name, value in values.items():
        if name.startswith(OWN_PREFIX):
            continue
        if name not in KNOBS:
            near = difflib.get_close_matches(name, KNOBS, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            raise KnobError(f"unknown knob {name}{hint}; the knobs: rmlite.notebook.knobs.KNOBS; "
                            f"your own knobs start with {OWN_PREFIX}")
        ok, wanted = KNOBS[name]
        if not ok(value):
            if wanted.startswith("one of "):  # the wording ensure_data and stage2_curriculum used before
                raise KnobError(f"{name} must be {wanted}, got {value!r}")
            raise KnobError(f"knob {name}={value!r}: must be {wanted}")
