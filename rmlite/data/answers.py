"""The answer formats the questions ask for, written out: `\\boxed{}` answers and ReasonMap route sections.

These writers produce the *reference* text (the gold answer a perfect model would give); the reward's
parser reads them back. Keeping both ends in the package is what lets tests round-trip them.

>>> from rmlite.maps.network import Section
>>> print(format_route([Section("Line 1", "A", "C", ("B",)), Section("Line 2", "C", "D")]))
Route Name: Line 1
Departure Stop: A
Arrival Stop: C
--
Route Name: Line 2
Departure Stop: C
Arrival Stop: D
>>> boxed("yes")
'\\\\boxed{yes}'
"""

from __future__ import annotations

from collections.abc import Iterable

from rmlite.maps.network import Section, routes_from_json
from rmlite.schema import Sample, answer_kind

SECTION_SEPARATOR = "\n--\n"


def boxed(answer: str) -> str:
    """Wrap an answer as the perception questions ask: `\\boxed{answer}`."""
    return "\\boxed{" + str(answer) + "}"


def format_section(s: Section, template: str = "short") -> str:
    """One section in ReasonMap's format; long templates add the via-stop count or list."""
    lines = [f"Route Name: {s.route_name}", f"Departure Stop: {s.departure_stop}", f"Arrival Stop: {s.arrival_stop}"]
    if template == "long1":
        lines.append(f"Number of Via Stops: {len(s.via_stops)}")
    elif template == "long2":
        lines.append(f"Via Stops: {', '.join(s.via_stops)}")
    elif template != "short":
        raise ValueError(f"unknown template {template!r}; expected short, long1 or long2")
    return "\n".join(lines)


def format_route(route: Iterable[Section], template: str = "short") -> str:
    """A whole route: sections joined by a `--` line, as ReasonMap's prompt shows."""
    return SECTION_SEPARATOR.join(format_section(s, template) for s in route)


def reference_completion(sample: Sample) -> str:
    """The text a perfect model would answer: the first reference route for a route question, else `\\boxed{key}`.

    Used for the supervised warm start, for tests, and as the "no error" rollout in the reward lab.
    """
    if answer_kind(sample["type"]) == "route":
        return format_route(routes_from_json(sample["routes"])[0], sample.get("template") or "short")
    return boxed(sample["answer"])
