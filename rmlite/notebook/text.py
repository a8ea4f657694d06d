"""Text the notebooks print stays readable: at most 120 columns and 40 lines; a longer table goes to a file.

A 72-line table in a notebook cell is scrolled past, not read. `fit_text` returns the text whole when it fits and
otherwise its first lines (each cut to the width) followed by where the whole of it was written.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
>>> fit_text("a\\nb", path), path.exists()
('a\\nb', False)
>>> shown = fit_text("\\n".join(f"row {i}" for i in range(100)), path)
>>> len(shown.splitlines()), shown.splitlines()[-2], path.read_text().count("row")
(40, '... 62 more lines (100 in all, up to 6 columns wide); the whole table:', 100)
"""

from __future__ import annotations

import textwrap
from pathlib import Path

MAX_COLUMNS, MAX_LINES = 120, 40


def fits(text: str) -> bool:
    lines = text.splitlines()
    return len(lines) <= MAX_LINES and all(len(line) <= MAX_COLUMNS for line in lines)


def fit_text(text: str, path: str | Path) -> str:
    """`text` when it fits MAX_COLUMNS x MAX_LINES; else the whole of it written to `path` and its first lines
    (each cut to MAX_COLUMNS) shown, then two lines saying where the rest is."""
    if fits(text):
        return text
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    lines = text.splitlines()
    head = [line if len(line) <= MAX_COLUMNS else line[: MAX_COLUMNS - 3] + "..." for line in lines[: MAX_LINES - 2]]
    width = max(map(len, lines))
    return "\n".join([*head, f"... {len(lines) - len(head)} more lines ({len(lines)} in all, up to {width} columns "
                             "wide); the whole table:", str(path)])


def wrap(text: str) -> str:
    """Each line of `text` wrapped to MAX_COLUMNS (a question's one long sentence, for instance).

    >>> print(wrap("a " * 70 + "\\nend"))  # doctest: +ELLIPSIS
    a a a ... a
    a a a a a a a a a a
    end
    """
    return "\n".join(textwrap.fill(line, MAX_COLUMNS) if line else "" for line in text.splitlines())
