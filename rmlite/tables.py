"""Tables for people: every table a command or a notebook prints fits 120 columns and 40 lines.

A 202-column table wraps into noise in a terminal, and a 72-line one is scrolled past, not read. `grid` draws a
table (plain or Markdown) and, when its columns do not fit, splits them into blocks that each repeat the first
(`keep`) columns, so every row still says what it is. `reflow` does that to the Markdown tables inside a text and
wraps its other long lines. `fit_lines` shows a table whole when it fits, otherwise its first lines and where the
whole of it was written; `for_console` is the three together, what commands and notebooks print.

>>> print(grid(["type", "n", "accuracy"], [["counting1", "28", "0.250"], ["torf1", "27", "1.000"]]))
type       n   accuracy
---------  --  --------
counting1  28  0.250
torf1      27  1.000
>>> wide = grid(["run"] + [f"column {i}" for i in range(16)], [["a"] + ["0.123"] * 16], markdown=True)
>>> [max(map(len, block.splitlines())) for block in wide.split(BLOCK)]
[117, 79]
>>> wide.split(BLOCK)[1].splitlines()[0]
'| run | column 10 | column 11 | column 12 | column 13 | column 14 | column 15 |'
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

MAX_COLUMNS, MAX_LINES = 120, 40
BLOCK, LINE = "\n\n", "\n"  # between a wide table's column blocks (and a text's tables), between lines


def _cut(cell: str, width: int) -> str:
    return cell if len(cell) <= width else cell[: width - 1] + "…"


def _draw(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> list[str]:
    if markdown:
        return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
                *("| " + " | ".join(r) + " |" for r in rows)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = [header, ["-" * w for w in widths], *rows]
    return ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]


def grid(header: Sequence[str], rows: Sequence[Sequence[object]], *, markdown: bool = False, keep: int = 1,
         width: int = MAX_COLUMNS) -> str:
    """`rows` under `header`, aligned (or as Markdown); columns that do not fit `width` go on into further blocks
    (a blank line between), each starting with the first `keep` columns again. A cell is cut to fit, never lost
    from a file: callers write the whole table where it matters (`fit_lines`)."""
    header = [str(h) for h in header]
    body = [[str(c) for c in r] for r in rows]
    key = list(range(min(keep, len(header))))
    room = max(8, (width - 4) // max(1, len(key) + 1))  # a cell never takes the whole line
    header = [_cut(h, room) for h in header]
    body = [[_cut(c, room) for c in r] for r in body]
    blocks, cols = [], key[:]
    for i in range(len(key), len(header)):
        trial = _draw([header[j] for j in cols + [i]], [[r[j] for j in cols + [i]] for r in body], markdown)
        if max(map(len, trial)) > width and len(cols) > len(key):
            blocks.append(cols)
            cols = key[:]
        cols.append(i)
    blocks.append(cols)
    return BLOCK.join("\n".join(_draw([header[j] for j in b], [[r[j] for j in b] for r in body], markdown))
                       for b in blocks)


def markdown_rows(lines: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a Markdown table's lines (its separator line dropped).

    >>> markdown_rows(["| a | b |", "|---|---|", "| 1 | x y |"])
    (['a', 'b'], [['1', 'x y']])
    """
    cells = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines]
    return cells[0], [r for r in cells[2:] if not all(set(c) <= set("-: ") for c in r)]


def reflow(text: str, width: int = MAX_COLUMNS, keep: int = 1) -> str:
    """`text` with each Markdown table wider than `width` redrawn in column blocks (`grid`) and each other line
    wider than `width` wrapped (its continuation indented)."""
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].lstrip().startswith("|"):
            j += 1
        if j - i >= 2:  # a Markdown table: header, separator, rows
            table = lines[i:j]
            fits = max(map(len, table)) <= width
            out += table if fits else grid(*markdown_rows(table), markdown=True, keep=keep, width=width).splitlines()
            i = j
            continue
        line = lines[i]
        out += textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) if len(line) > width \
            else [line]
        i += 1
    return "\n".join(out)


def fit_lines(text: str, path: str | Path, what: str = "lines") -> str:
    """`text` when it has at most MAX_LINES lines of at most MAX_COLUMNS; else the whole of it written to `path`
    and its first lines (each cut to MAX_COLUMNS) shown, then two lines: how much more, and the file."""
    lines = text.splitlines()
    if len(lines) <= MAX_LINES and all(len(line) <= MAX_COLUMNS for line in lines):
        return text
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    head = [_cut(line, MAX_COLUMNS) for line in lines[: MAX_LINES - 2]]
    width = max(map(len, lines))
    return "\n".join([*head, f"... {len(lines) - len(head)} more {what} ({len(lines)} in all, up to {width} "
                             "columns wide); the whole table:", str(path)])


def for_console(text: str, path: str | Path, *, keep: int = 1, write: bool = True) -> str:
    """What a command prints: `text` reflowed to MAX_COLUMNS, and each table in it (a run of lines between blank
    lines) longer than MAX_LINES cut to its head and a pointer to `path`, where the whole text goes (written only
    when something was cut; `write=False` when the caller writes the whole of it there itself).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "all.txt"
    >>> shown = for_console(BLOCK.join(["results:", LINE.join(f"row {i}" for i in range(50))]), path)
    >>> shown.splitlines()[0], len(shown.split(BLOCK)[1].splitlines()), shown.splitlines()[-2:] == [
    ...     "... 12 more rows; the whole table:", str(path)]
    ('results:', 40, True)
    >>> path.read_text().count("row")
    50
    """
    parts = reflow(text, keep=keep).split(BLOCK)
    if all(len(p.splitlines()) <= MAX_LINES for p in parts):
        return BLOCK.join(parts)
    path = Path(path)
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
    shown = []
    for p in parts:
        lines = p.splitlines()
        if len(lines) > MAX_LINES:
            lines = lines[: MAX_LINES - 2] + [f"... {len(lines) - MAX_LINES + 2} more rows; the whole table:",
                                              str(path)]
        shown.append("\n".join(lines))
    return BLOCK.join(shown)
