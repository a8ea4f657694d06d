"""Where rmlite's evaluation departs from the released one, as switches: `ReleaseCompat`, one boolean per deviation.

All off (`DEFAULT`) is rmlite's corrected evaluation; all on (`RELEASE`, `rmlite eval --compat release`) reproduces
the judgement of ReasonMap's released `main.py` item by item on rmlite's samples, bugs included (where the release
crashes, the item scores 0). Each switch's docstring names the release's behaviour and rmlite's fix, and
`deviation_table` writes docs/reward.md's deviation list from them, so the list cannot drift from the code. Also
here: the release's own readings that only the switches use (its line-name rewrite, reference suffixes, map script).

>>> [name for name, _, _ in switch_docs()][:2]
['clean_answer_twice', 'beijing_line_aliases']
>>> RELEASE.clean_answer_twice, DEFAULT.clean_answer_twice
(True, False)
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from functools import cache
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class ReleaseCompat:
    """One switch per way rmlite's evaluation departs from the release (False: rmlite's, True: the release's)."""

    clean_answer_twice: bool = False
    """The release cleans the answer's stops twice before every check (`METRO CENTER STATION` reads
    `centerstation`). rmlite: stops are cleaned once where they meet the map and the references."""
    beijing_line_aliases: bool = False
    """The release reads a line name holding 八通 as Line 1 and one holding 大兴 as Line 4 (Beijing's branches).
    rmlite: a line is named as the map names it."""
    reads_echoed_example: bool = False
    """The release reads an echoed copy of the prompt's format example (`Route Name: Line x` …) as the route's
    first section, so a right route after it is wrong. rmlite: the example is dropped first (`forms.drop_examples`)."""
    whole_answer: bool = False
    """The release reads the whole answer, however long. rmlite: reads its last 65,536 characters (a bound for
    time)."""
    via_count_whole_value: bool = False
    """The release reads a via count as the first run of digits anywhere in the rest of its section. rmlite: reads
    it in the value's first 64 characters, as every rmlite reader does (`forms.via_count`)."""
    via_list_commas_only: bool = False
    """The release splits a via-stop list on commas only and keeps the spaces around each name. rmlite: commas and
    arrows separate names, each name stripped, a "none" word is no stops (`forms.via_list`)."""
    via_stops_uncleaned_list: bool = False
    """The release compares via stops uncleaned and counts a stop written twice twice. rmlite: via stops are
    cleaned and compared as sets (a repeat earns nothing)."""
    reference_stop_suffix: bool = False
    """The release writes " Station" (站 on a Chinese map, via stops included) after a reference stop that lacks it.
    rmlite: references are the map's own names, compared as they are."""
    arrival_from_departure: bool = False
    """The release takes a reference section's arrival from its departure when the departure ends in "Station"
    (any template) or, on a Chinese map, in 站 (short answers). rmlite: the arrival is the reference's arrival."""
    line_name_self_rewrite: bool = False
    """The release compares a non-Chinese answer's line name with a rewrite of itself (`Line 1` with `Line Li`: no
    point) and reads a Chinese reference's as `Line N`. rmlite: compares the answer's and the reference's names as
    `normalize_line` keys."""
    long2_crash: bool = False
    """The release crashes (a list it never set) on a long2 answer on a non-Chinese map with both endpoints right
    whose via list holds 站 or whose line name has no Latin letter or digit; the item scores 0. rmlite: scores it."""

    @classmethod
    def release(cls) -> ReleaseCompat:
        """Every switch on: the release's judgement."""
        return cls(**{f.name: True for f in dataclasses.fields(cls)})


DEFAULT = ReleaseCompat()
RELEASE = ReleaseCompat.release()
COMPAT_MODES = {"default": DEFAULT, "release": RELEASE}  # `rmlite eval --compat`


class ReleaseCrash(Exception):
    """Where the released evaluation raises (`long2_crash`): the item scores 0."""


@cache
def switch_docs() -> tuple[tuple[str, str, str], ...]:
    """(switch, the release's behaviour, rmlite's) for every switch, from the attribute docstrings in order."""
    tree = ast.parse(inspect.getsource(ReleaseCompat))
    body = tree.body[0].body
    out = []
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            release, sep, ours = " ".join(nxt.value.value.split()).partition(" rmlite: ")
            if not (sep and release and ours):
                raise ValueError(f"ReleaseCompat.{node.target.id}: its docstring names the release's behaviour, "
                                 "then ' rmlite: ' and rmlite's")
            out.append((node.target.id, release, ours))
    return tuple(out)


TABLE_START = "<!-- deviation table: written by rmlite.reward.compat.write_deviation_table; do not edit by hand -->"
TABLE_END = "<!-- end of the deviation table -->"


def deviation_table() -> str:
    """The Markdown table of `ReleaseCompat`'s switches: switch | the release | rmlite (default)."""
    rows = ["| switch | the release (`--compat release`) | rmlite (default) |", "|---|---|---|"]
    rows += [f"| `{name}` | {release} | {ours[:1].upper() + ours[1:]} |" for name, release, ours in switch_docs()]
    return "\n".join(rows)


def write_deviation_table(path: str | Path) -> bool:
    """Rewrite the table between `TABLE_START` and `TABLE_END` in `path`; True when it changed."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    head, sep, rest = text.partition(TABLE_START + "\n")
    _, sep2, tail = rest.partition("\n" + TABLE_END)
    if not (sep and sep2):
        raise ValueError(f"{p}: the deviation table's markers are missing")
    new = head + sep + deviation_table() + sep2 + tail
    p.write_text(new, encoding="utf-8")
    return new != text


# ----- the release's own readings (used only where a switch is on) ------------------------------------------------
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_BRANCHES = (("八通", "Line 1"), ("大兴", "Line 4"))
_METRO_LINE = re.compile(r"Metro\s+([A-Z0-9]{1,2})[-\s]?Line", re.IGNORECASE)
_METRO = re.compile(r"Metro\s+([A-Z0-9]{1,2})", re.IGNORECASE)
_LINEA = re.compile(r"Linea\s+([A-Z0-9]{1,2})", re.IGNORECASE)
_ALNUM = re.compile(r"([A-Z0-9]{1,2})", re.IGNORECASE)
_DIGIT_RUN = re.compile(r"\d+")
_PARENS_LAZY = re.compile(r"\(.*?\)")


def is_chinese_map(metro: dict[str, list[str]]) -> bool:
    """The release's `country == "china"`, read from the map: a station name holds a Han character.

    >>> is_chinese_map({"Line 1": ["西直门站", "积水潭站"]}), is_chinese_map({"1": ["Tøyen Station"]})
    (True, False)
    """
    return any(_HAN.search(s) for stations in metro.values() for s in stations)


def branch_alias(name: str) -> str:
    """`beijing_line_aliases`: 八通 → Line 1, 大兴 → Line 4 (the later wins, as released).

    >>> branch_alias("八通线"), branch_alias("Line 2")
    ('Line 1', 'Line 2')
    """
    for needle, line in _BRANCHES:
        if needle in name:
            name = line
    return name


def self_rewrite(name: str) -> str:
    """The name the release compares a non-Chinese answer's line name with: a rewrite of that same name.

    Its first matching pattern gives "Line " + one or two letters or digits; a name with no Latin letter or digit
    stays as it is (its later, city-specific rules need a letter, so they never apply; its Rome rule, B1 → B, is
    left out: rmlite's samples name no city).

    >>> self_rewrite("Line 1"), self_rewrite("Metro B Line"), self_rewrite("1"), self_rewrite("Линия")
    ('Line Li', 'Line B', 'Line 1', 'Линия')
    """
    for pattern in (_METRO_LINE, _METRO, _LINEA, _ALNUM):
        m = pattern.search(name)
        if m:
            return "Line " + m.group(1)
    return name


def chinese_reference_line(name: str) -> str:
    """A Chinese reference line name as the release rewrites it: `Line N` from its first number, else without
    brackets and 地铁.

    >>> chinese_reference_line("地铁5号线(后关--虎滩新区)"), chinese_reference_line("地铁昌平线(昌平西山口--蓟门桥)")
    ('Line 5', '昌平线')
    """
    m = _DIGIT_RUN.search(name)
    return f"Line {int(m.group())}" if m else _PARENS_LAZY.sub("", name).replace("地铁", "")


def reference_stops(ref: dict, chinese: bool, template: str, compat: ReleaseCompat) -> tuple[str, str, list[str]]:
    """(departure, arrival, via stops) of a reference section as the switches read them.

    >>> r = {"departure_stop": "A Station", "arrival_stop": "B", "via_stops": ["C"]}
    >>> reference_stops(r, False, "short", RELEASE), reference_stops(r, False, "short", DEFAULT)
    (('A Station', 'A Station', ['C']), ('A Station', 'B', ['C']))
    """
    dep, arr, via = ref["departure_stop"], ref["arrival_stop"], list(ref.get("via_stops") or [])
    suffix = "站" if chinese else " Station"
    tag = suffix.strip()

    def add(stop: str) -> str:
        return stop if not compat.reference_stop_suffix or stop.endswith(tag) else stop + suffix

    if compat.arrival_from_departure and (template == "short" or not chinese):
        # the release tests the departure, then appends the suffix to the arrival without testing it
        arr = dep if dep.endswith(tag) else arr + suffix if compat.reference_stop_suffix else arr
    else:
        arr = add(arr)
    return add(dep), arr, [add(v) for v in via] if chinese else via
