"""Text the notebooks print stays readable: at most 120 columns and 40 lines; a longer table goes to a file.

The rule and its helpers are `rmlite.tables` (the commands print through it too); these are the notebooks' names.
`fit_text` returns the text whole when it fits and otherwise its first lines (each cut to the width) followed by
where the whole of it was written.

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

from rmlite.tables import MAX_COLUMNS, MAX_LINES, fit_lines

__all__ = ["MAX_COLUMNS", "MAX_LINES", "fit_text", "wrap"]
fit_text = fit_lines


def wrap(text: str) -> str:
    """Each line of `text` wrapped to MAX_COLUMNS (a question's one long sentence, for instance).

    >>> print(wrap("a " * 70 + "\\nend"))  # doctest: +ELLIPSIS
    a a a ... a
    a a a a a a a a a a
    end
    """
    return "\n".join(textwrap.fill(line, MAX_COLUMNS) if line else "" for line in text.splitlines())
