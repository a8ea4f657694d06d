"""Argument types and default readers for the command line: a bad value is one line from argparse, exit 2.

Every default is read from its owner (a dataclass field or a function's keyword), so a changed default reaches
the command line and its `--help`.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
from collections.abc import Callable
from typing import Any


class UserError(Exception):
    """A mistake in how rmlite was called: reported as one line, exit status 2."""


# ----- where defaults come from ---------------------------------------------------------------------------------------
def field_default(cls: type, name: str) -> Any:
    """The default of dataclass field `name` (its factory called), read where the dataclass declares it.

    >>> from rmlite.data.build import DatasetConfig
    >>> field_default(DatasetConfig, "line_naming")
    'numbered'
    """
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    return f.default_factory() if f.default is dataclasses.MISSING else f.default


def param_default(fn: Callable, name: str) -> Any:
    """The default of parameter `name` in `fn`'s signature (for knobs a function owns, not a dataclass)."""
    return inspect.signature(fn).parameters[name].default


def as_csv(values: tuple) -> str:
    """How a list default is typed on the command line (for help texts): (0.2, 0.5) → "0.2,0.5"."""
    return ",".join(map(str, values))


# ----- argument types -------------------------------------------------------------------------------------------------
class CsvList:
    """An argparse type: "a,b" → ("a", "b"), every item one of `allowed` when given (the option's choices)."""

    def __init__(self, kind: str, allowed: tuple[str, ...] | None = None):
        self.kind, self.allowed = kind, allowed

    def __call__(self, text: str) -> tuple[str, ...]:
        items = tuple(x.strip() for x in text.split(",") if x.strip())
        if not items:
            raise argparse.ArgumentTypeError(f"empty {self.kind} list")
        bad = [x for x in items if self.allowed is not None and x not in self.allowed]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {self.kind} {bad}; choose from {', '.join(self.allowed)}")
        return items


def numbers(text: str) -> tuple[float, ...]:
    """"0.2,0.5" → (0.2, 0.5)."""
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def non_negative(text: str) -> int:
    """An integer ≥ 0 (a count that may be zero, e.g. `--maps 0` with real maps)."""
    v = _integer(text)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {v}")
    return v


def at_least_one(text: str) -> int:
    """An integer ≥ 1 (a count that must do something: --limit, --workers)."""
    v = _integer(text)
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected an integer of at least 1, got {v}")
    return v


def positive_number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text}")
    return v


class Parser(argparse.ArgumentParser):
    """One line for a usage mistake (no usage dump), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")
