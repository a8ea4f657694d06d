"""The forms of a route answer's values that rmlite reads, in one place: via counts, via lists, an echoed example.

ReasonMap's accuracy (`main.py`) ignores via stops and reads a via count as the first run of decimal digits
(`re.search(r"\\d+", …)`); a model that writes "6 stops", "None", "B → C", or that echoes the prompt's format
example before its answer, answers honestly. Every rmlite reader of these values uses this module: the lenient
parser (`rmlite.reward.parse.parse_route`; `paper`, `sparse` and `robust`), the strict format check
(`strict_route`), robust's via checks (`rmlite.reward.robust.via_ok`) and the evaluation (`rmlite.reward.metrics`).
`FORMS` is the table of accepted forms in docs/reward.md (a test keeps the two equal and checks every row).
Left out: the released reward's parser (`official`), which reproduces the release, quirks included.

Each function is total over any string and linear in time (no pattern here can backtrack on a long run).

>>> via_count("6 stops"), via_count("6¹"), via_count("None"), via_count("①")
(6, 6, 0, None)
>>> via_list("Tøyen → Ensjø -> Helsfyr"), via_list("none")
(['Tøyen', 'Ensjø', 'Helsfyr'], [])
"""

from __future__ import annotations

import re

VIA_CHARS = 64  # a via count is read from the first 64 characters of its value (the evaluation's bound)
# Decimal digits of any script: what ReasonMap's `\d+` reads and exactly what `int()` accepts (`str.isdecimal`).
# Superscripts, subscripts and circled numbers (`¹ ₃ ①`, `isdigit()` but not decimal) are not digits here.
_DIGITS = re.compile(r"\d+")
# A value that says "no stops" in words (read as 0 stops / an empty list); a short note in brackets may follow.
_NONE = re.compile(r"[^\w(]*(?:none|zero|nil|n/a|no(?:[ \t]+via)?(?:[ \t]+(?:stops?|stations?))?)[^\w(]*"
                   r"(?:\([^()\n]*\)[^\w(]*)?", re.IGNORECASE)
# What separates the names of a via list: commas (also full-width and ideographic) and arrows.
_VIA_SEP = re.compile(r"-->|->|—>|–>|=>|[,，、→⟶⇒➔➜]")  # `_arrows` knows these too
# The prompt's format example (rmlite.data.questions), one section of it with its via line; any case, but its
# stops are written xx or XX (what `drop_examples` looks for first).
_XX = r"(?-i:xx|XX)[ \t]+station"
_EXAMPLE = re.compile(
    rf"^[ \t]*route name:[ \t]*line x[ \t]*\n[ \t]*departure stop:[ \t]*{_XX}[ \t]*\n"
    rf"[ \t]*arrival stop:[ \t]*{_XX}[ \t]*"
    rf"(?:\n[ \t]*(?:number of via stops:[ \t]*x|via stops:[ \t]*{_XX}(?:[ \t]*,[ \t]*{_XX})*)[ \t]*)?$",
    re.IGNORECASE | re.MULTILINE)
_XX_CASES = ("xx", "XX")
EXAMPLE_VALUES = ("line x", "xx station", "xx station")  # route name, departure, arrival of the example, lowered


def via_count(value: str | None) -> int | None:
    """A written via count: the first run of decimal digits in its first `VIA_CHARS` characters, 0 for a "none"
    word, else None (unreadable: a wrong count). ReasonMap reads the same digits (and 0 for any value without one).

    >>> via_count("Number: 12, I think"), via_count("no via stops"), via_count("٦"), via_count("six")
    (12, 0, 6, None)
    """
    if value is None:
        return None
    if value.isdigit() and value.isascii() and len(value) <= VIA_CHARS:
        return int(value)  # the requested form (most counts): what the lines below read from it
    v = value.strip()[:VIA_CHARS]
    m = _DIGITS.search(v)
    if m is not None:
        return int(m.group())
    return 0 if _NONE.fullmatch(v) else None


def via_list(value: str | None) -> list[str]:
    """The names of a written via list, split on commas and arrows and stripped; [] for none or a "none" word.

    >>> via_list("A, B ，C、D"), via_list("A —> B => C"), via_list(" N/A ")
    (['A', 'B', 'C', 'D'], ['A', 'B', 'C'], [])
    """
    if not value:
        return []
    v = value.strip()
    if len(v) <= VIA_CHARS and _NONE.fullmatch(v):
        return []
    parts = _VIA_SEP.split(v) if _arrows(v) else v.split(",")  # commas alone (most lists): no pattern needed
    return [p for p in map(str.strip, parts) if p]


def _arrows(v: str) -> bool:
    """Whether `v` has a `_VIA_SEP` separator other than the ASCII comma (each arrow of two or three characters ends
    in `>`); a few substring tests, much faster than the pattern over a long list."""
    return ">" in v or "，" in v or "、" in v or "→" in v or "⟶" in v or "⇒" in v or "➔" in v or "➜" in v


def is_example(route_name: str, departure: str, arrival: str) -> bool:
    """Whether a section is the prompt's format example (`Line x`, `xx Station`, `xx Station`; any case, its stops
    written xx or XX): not an answer. (The strict format's check; `drop_examples` removes the example from text.)

    >>> is_example("Line x", "xx Station", "XX station"), is_example("Line 1", "xx Station", "xx Station")
    (True, False)
    """
    # Lengths first (most sections fail there; no lowering turns another length into these ASCII values).
    return len(departure) == 10 == len(arrival) and len(route_name) == 6 and departure[:2] in _XX_CASES \
        and arrival[:2] in _XX_CASES and (route_name.lower(), departure.lower(), arrival.lower()) == EXAMPLE_VALUES


def drop_examples(text: str) -> str:
    """`text` without the prompt's format-example sections (an echoed prompt, in any case with its stops written xx
    or XX), so the answer after them is read.

    >>> drop_examples("Format:\\nRoute Name: Line x\\nDeparture Stop: xx Station\\nArrival Stop: xx Station\\n--\\nok")
    'Format:\\n\\n--\\nok'
    """
    if "xx" not in text and "XX" not in text:
        return text  # the common case, at the cost of two substring searches (an example is written xx or XX)
    return _EXAMPLE.sub("", text)


# ----- the table of accepted forms (docs/reward.md) -----------------------------------------------------------------
_ANSWER = "Route Name: 1\nDeparture Stop: A\nArrival Stop: D"
_ECHO = ("How do I get from A to D? The format should be strictly followed:\nRoute Name: Line x\n"
         "Departure Stop: xx Station\nArrival Stop: xx Station\n--\nRoute Name: Line x\nDeparture Stop: xx Station\n"
         "Arrival Stop: xx Station\n\n")
# (where, written, read as, note): `via_count`, `via_list` or the lenient parser (`rmlite.reward.parse.parse_route`)
# reads the second column as the third, for every row (tests/test_forms.py checks it).
FORMS: tuple[tuple[str, str, object, str], ...] = (
    ("Number of Via Stops", "6", 6, "the requested form (the only one that earns the format point)"),
    ("Number of Via Stops", "6 stops", 6, "the first run of decimal digits, as ReasonMap's `\\d+`"),
    ("Number of Via Stops", "6 (B, C, …)", 6, "a list after the count is not read"),
    ("Number of Via Stops", "6¹", 6, "`¹ ² ₃ ①` are not decimal digits: skipped, never an error (`①` alone is "
                                     "no count)"),
    ("Number of Via Stops", "٦", 6, "decimal digits of any script"),
    ("Number of Via Stops", "None", 0, "also `none`, `zero`, `nil`, `N/A`, `no stops`"),
    ("Number of Via Stops", "no via stops", 0, ""),
    ("Via Stops", "B, C", ("B", "C"), "the requested form"),
    ("Via Stops", "B → C", ("B", "C"), "arrows `→ -> --> —> –> => ⟶ ⇒ ➔ ➜` separate names as commas do"),
    ("Via Stops", "B -> C", ("B", "C"), ""),
    ("Via Stops", "B —> C", ("B", "C"), ""),
    ("Via Stops", "B，C、D", ("B", "C", "D"), "full-width and ideographic commas"),
    ("Via Stops", "None", (), "also `none`, `N/A`, `no via stops`"),
    ("Via Stops", "", (), "the requested form on a ride without via stops"),
    ("Via Stops", "A, B, C, D", ("A", "B", "C", "D"), "`robust` on a ride from A to D: the section's own stops "
                                                      "are not via stops, so this is B, C"),
    ("answer", _ECHO + _ANSWER, (("1", "A", "D"),), "the question and its format example echoed before the "
                                                    "answer (any key case, with or without its via line): skipped"),
)



def forms_table() -> str:
    """`FORMS` as the markdown table of docs/reward.md (newlines written ⏎)."""
    rows = ["| where | written | read as | note |", "|---|---|---|---|"]
    for where, written, value, note in FORMS:
        if where == "answer":
            shown = "`" + written.replace("\n", " ⏎ ") + "`"
            read_as = " \\| ".join(f"{r}: {a} → {b}" for r, a, b in value)
        else:
            shown = f"`{where}: {written}`" if written else f"`{where}:`"
            read_as = (", ".join(value) or "no stops") if isinstance(value, tuple) else str(value)
        rows.append(f"| {where} | {shown} | {read_as} | {note} |")
    return "\n".join(rows)
