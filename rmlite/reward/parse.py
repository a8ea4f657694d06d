"""Reading model output: lenient answer extraction and the strict format check.

Two readers live here, because two questions are asked of one completion (the released parser, a third, is
`rmlite.reward.official_parse`):

* *strict* (`strict_answer`, `strict_boxed`, `strict_route`): is it exactly the requested format, optionally after
  one closed `<think>…</think>` block? This earns format credit, so training never rewards decorations that
  ReasonMap's strict evaluator rejects.
* *lenient* (`extract_answer`, `parse_choice`, `parse_int`, `parse_yes_no`, `parse_route`): what did the model mean?
  Last `\\boxed{}` (nested braces), "the answer is …" fallbacks, any key case, markdown bold and bullets, `--` or
  `---` separators, thinking text before and prose after the answer, an echoed prompt before it. Used for
  correctness and detail; the values' accepted forms (via counts, via lists, the prompt's example) are
  `rmlite.reward.forms`, shared with the evaluation.

Every function is total over any string and runs in bounded time: only the last `window` characters of the answer
are read leniently, and no pattern here can backtrack catastrophically (each is linear in its input).
Nothing here knows about maps or question types (only answer kinds); resolving names to stations and lines is
the reward's job.

>>> parse_route("**Route Name:** Line 1\\n**Departure Stop:** A\\n**Arrival Stop:** B\\nEnjoy the ride!")
(ParsedSection(route_name='Line 1', departure='A', arrival='B', num_via=None, via=None),)
>>> parse_choice(extract_answer("<think>hmm</think>The answer is (C).")), parse_int(extract_answer("\\\\boxed{4}"))
('C', 4)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rmlite.reward.forms import drop_examples, is_example
from rmlite.schema import ANSWER_KINDS

# Lenient parsing reads only the end of the answer: real route answers are < 2 KB, and the answer comes last.
WINDOW = 8192
# More prose lines than this between two key lines starts a new block (a draft in the reasoning, then the answer).
PROSE_GAP = 2
# A \boxed{} whose closing brace is further than this is not an answer; at most this many \boxed{} are tried.
MAX_BOXED_CHARS = 512
MAX_BOXED_TRIES = 8
THINK_CLOSE = ("</think>", "◁/think▷")


class ParsedSection(NamedTuple):
    """One route section as written by the model (raw strings; None when the key is absent)."""

    route_name: str
    departure: str
    arrival: str
    num_via: str | None = None
    via: str | None = None


# ----- the answer part ---------------------------------------------------------------------------------------------
def answer_region(text: str) -> str:
    """The text after the last closed thinking block (all of it when there is none).

    >>> answer_region("<think>A? no, B.</think> B")
    ' B'
    """
    cut = 0
    for tag in THINK_CLOSE:
        at = text.rfind(tag)
        if at >= 0:
            cut = max(cut, at + len(tag))
    return text[cut:]


def strict_answer(text: str) -> str | None:
    """The answer part when `text` is `[<think>…</think>]answer` with at most one, leading, closed thinking block.

    Returns None when thinking text is malformed (text before `<think>`, an unclosed or a second block).

    >>> strict_answer("<think>x</think>\\n\\\\boxed{A}"), strict_answer("pre <think>x</think>A"), strict_answer("A")
    ('\\n\\\\boxed{A}', None, 'A')
    """
    close = text.find("</think>")
    if close < 0:
        return None if "<think>" in text else text
    head = text[:close]
    if not head.lstrip().startswith("<think>") or head.count("<think>") != 1:
        return None
    rest = text[close + len("</think>"):]
    return None if "<think>" in rest or "</think>" in rest else rest


# ----- \boxed{} and "the answer is" ----------------------------------------------------------------------------------
_BRACE = re.compile(r"[{}]")


def find_boxed(text: str) -> str | None:
    """Content of the last closed `\\boxed{…}` (nested braces kept), or None.

    >>> find_boxed(r"\\boxed{A} then \\boxed{\\text{B}}"), find_boxed(r"\\boxed{oops")
    ('\\\\text{B}', None)
    """
    end = len(text)
    for _ in range(MAX_BOXED_TRIES):
        i = text.rfind("boxed{", 0, end)
        if i < 0:
            return None
        start = i + len("boxed{")
        depth = 1
        for m in _BRACE.finditer(text, start, min(len(text), start + MAX_BOXED_CHARS)):
            depth += 1 if m.group() == "{" else -1
            if depth == 0:
                return text[start:m.start()]
        end = i
    return None


_PHRASE = re.compile(r"(?:final answer|correct answer|answer)[ \t]*(?:is|should be|:)[ \t:]*", re.IGNORECASE)
_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}")


def _clean_candidate(s: str) -> str:
    s = _WRAPPERS.sub(r"\1", s)
    return s.replace("$", "").replace("**", "").replace("`", "").strip().rstrip(".。!").strip()


def extract_answer(text: str, window: int = WINDOW) -> str | None:
    """The short answer a model gave: last `\\boxed{}`, else the last "the answer is …", else a short final line.

    >>> extract_answer("So yes.\\nThe correct answer is B. Because..."), extract_answer("No")
    ('B', 'No')
    """
    region = answer_region(text)[-window:]
    boxed = find_boxed(region)
    if boxed is not None:
        return _clean_candidate(boxed)
    last = None
    for last in _PHRASE.finditer(region):  # noqa: B007 - we want the last match
        pass
    if last is not None:
        rest = region[last.end():].split("\n", 1)[0].split(". ", 1)[0]
        return _clean_candidate(rest) or None
    tail = region.strip()
    if 0 < len(tail) <= 40 and "\n" not in tail:
        return _clean_candidate(tail)
    return None


_LETTER = re.compile(r"\s*(?:(?:option|choice)\s*)?[(\[]?([A-Da-d])(?:[)\].:,]|\s|$)", re.IGNORECASE)
_LETTER_TOKENS = re.compile(r"\b[A-D]\b")
_NUMBER = re.compile(r"\d+(?:\.0+)?")
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]+")  # a word, not a LaTeX command name
YES_WORDS = frozenset({"yes", "true", "correct", "right", "y"})
NO_WORDS = frozenset({"no", "false", "incorrect", "wrong", "n"})


def parse_choice(answer: str | None) -> str | None:
    """An option letter A–D, with or without parentheses; None if absent or ambiguous ("A or B").

    >>> parse_choice("(b)"), parse_choice("C) 7 stops"), parse_choice("A or B")
    ('B', 'C', None)
    """
    if not answer:
        return None
    m = _LETTER.match(answer[:64])
    if not m:
        return None
    letter = m.group(1).upper()
    others = set(_LETTER_TOKENS.findall(answer[:64]))
    return letter if others <= {letter} else None


def parse_int(answer: str | None) -> int | None:
    """The one integer in an answer ("4", "4 lines", "4.0"); None if absent or several differ.

    >>> parse_int("4 lines"), parse_int("3 or 4"), parse_int("four")
    (4, None, None)
    """
    if not answer:
        return None
    nums = {int(n.split(".")[0]) for n in _NUMBER.findall(answer[:64])}
    return nums.pop() if len(nums) == 1 else None


def parse_yes_no(answer: str | None) -> str | None:
    """'yes' or 'no' from the first word (yes/true/correct or no/false/incorrect), else None.

    >>> parse_yes_no("Yes, both are on Line 2"), parse_yes_no("\\\\text{False}"), parse_yes_no("maybe")
    ('yes', 'no', None)
    """
    if not answer:
        return None
    m = _WORD.search(answer[:64])
    word = m.group().lower() if m else ""
    return "yes" if word in YES_WORDS else "no" if word in NO_WORDS else None


# ----- route sections ------------------------------------------------------------------------------------------------
_KEY = re.compile(
    r"^[ \t>*_#•+\-]*(?:\d{1,3}[.)][ \t>*_#•+\-]*)?"
    r"(route(?:[ \t]+name)?|line(?:[ \t]+name)?|departure(?:[ \t]+(?:stop|station))?"
    r"|arrival(?:[ \t]+(?:stop|station))?|number[ \t]+of[ \t]+via[ \t]+stops?|via[ \t]+stops?)"
    r"[ \t*_]*[:：][ \t*_]*([^\n]*)",
    re.IGNORECASE | re.MULTILINE,
)
_PROSE_LINE = re.compile(r"^[ \t>*_#\-=•]*[^\s>*_#\-=•]", re.MULTILINE)
_QUOTES = "*_`\"'“”"  # what `clean_value` strips from both ends (with whitespace)
_TRAILING = _QUOTES + ".;,"  # and from the end
_FIELD = {"r": 0, "l": 0, "d": 1, "a": 2, "n": 3, "v": 4}


def clean_value(v: str) -> str:
    """A field value without markdown, quotes or trailing punctuation.

    >>> clean_value(" **Tøyen Station**. ")
    'Tøyen Station'
    """
    if v and v[0] not in _QUOTES and v[-1] not in _TRAILING and not v[0].isspace() and not v[-1].isspace():
        return v  # already clean (most values): nothing below would change it
    for _ in range(2):  # "**Tøyen**." and "Tøyen.**" alike
        v = v.strip().strip(_QUOTES).strip().rstrip(".;,")
    return v.strip()


def _field(key: str) -> int:
    k = key.lower()
    return 4 if k.startswith("via") else _FIELD[k[0]]


def parse_route(text: str, window: int = WINDOW) -> tuple[ParsedSection, ...]:
    """Route sections from messy output: any key case, bold, bullets, separators, drafts before, prose after.

    Key lines are read from the last block (a run of key lines with at most `PROSE_GAP` prose lines between them);
    a new section starts when a key repeats. Sections missing a route name, departure or arrival are dropped,
    as ReasonMap drops them, and so is the prompt's format example (an echoed prompt: `rmlite.reward.forms`).

    >>> text = ("Route Name: 9\\nDeparture Stop: A\\nArrival Stop: B\\nno wait\\nhmm\\nthink again\\n\\n"
    ...         "route name: 2\\ndeparture stop: A\\narrival: B\\n---\\nRoute: 3\\nDeparture: B\\nArrival: C")
    >>> [s.route_name for s in parse_route(text)]  # the draft before three prose lines is dropped
    ['2', '3']
    """
    region = drop_examples(answer_region(text)[-window:])
    blocks: list[list[tuple[int, str]]] = [[]]
    prev_end = 0
    for m in _KEY.finditer(region):
        if blocks[-1] and _prose_lines(region, prev_end, m.start()) > PROSE_GAP:
            blocks.append([])
        blocks[-1].append((_field(m.group(1)), m.group(2)))
        prev_end = m.end()
    for block in reversed(blocks):
        sections = _assemble(block)
        if sections:
            return sections
    return ()


def _prose_lines(text: str, start: int, end: int) -> int:
    n = 0
    for _ in _PROSE_LINE.finditer(text, start, end):
        n += 1
        if n > PROSE_GAP:
            break
    return n


def _assemble(block: list[tuple[int, str]]) -> tuple[ParsedSection, ...]:
    out: list[ParsedSection] = []
    cur: list[str | None] = [None] * 5
    for field, value in block + [(-1, "")]:
        if field < 0 or cur[field] is not None:
            if cur[0] is not None and cur[1] is not None and cur[2] is not None:
                out.append(ParsedSection(*(clean_value(v) if v is not None else None for v in cur)))
            cur = [None] * 5
        if field >= 0:
            cur[field] = value
    return tuple(out)


_STRICT_KEYS = ("Route Name: ", "Departure Stop: ", "Arrival Stop: ")
_EXTRA_KEY = {"short": None, "long1": "Number of Via Stops: ", "long2": "Via Stops: "}
_SEPARATORS = frozenset({"--", "---"})
_ASCII_DIGITS = re.compile(r"[0-9]+")


def strict_route(answer: str, template: str = "short", max_sections: int = 256) -> tuple[ParsedSection, ...] | None:
    """Sections if `answer` is exactly ReasonMap's format for `template`, else None.

    Exactly: key lines in order with the exact case and one space after the colon (`Number of Via Stops: n`
    with n in ASCII digits, or `Via Stops: a, b`, added for the long templates), non-empty values, sections
    separated by a `--` (or `---`) line; blank lines are allowed, nothing else is, and no section is the prompt's
    format example (`rmlite.reward.forms.is_example`).

    >>> strict_route("Route Name: 1\\nDeparture Stop: A\\nArrival Stop: B\\n--\\nRoute Name: 2\\n"
    ...              "Departure Stop: B\\nArrival Stop: C")[1]
    ParsedSection(route_name='2', departure='B', arrival='C', num_via=None, via=None)
    >>> strict_route("route name: 1\\nDeparture Stop: A\\nArrival Stop: B") is None
    True
    """
    fast = _clean_route(answer, template, max_sections)
    if fast is not None:
        return fast
    extra = _EXTRA_KEY.get(template)
    keys = _STRICT_KEYS + ((extra,) if extra else ())
    lines = [ln.rstrip() for ln in answer.split("\n") if ln.strip()]
    if not lines:
        return None
    out: list[ParsedSection] = []
    i, n, k = 0, len(lines), len(keys)
    while i < n:
        if out and lines[i] not in _SEPARATORS:
            return None
        i += 1 if out else 0
        if i + k > n or len(out) >= max_sections:
            return None
        vals = []
        for key, line in zip(keys, lines[i:i + k], strict=False):
            if not line.startswith(key) and line != key.rstrip():
                return None
            v = line[len(key):].strip()
            if (not v and key != "Via Stops: ") or "--" in v:
                return None
            vals.append(v)
        if extra == "Number of Via Stops: " and not _ASCII_DIGITS.fullmatch(vals[3]):
            return None  # ASCII digits only: `isdigit()` also passes "6¹", "①" and "₃"
        names = clean_value(vals[0]), clean_value(vals[1]), clean_value(vals[2])
        if len(names[1]) == 10 and is_example(*names):  # its departure is "xx Station" (a call saved per section)
            return None
        out.append(ParsedSection(*names,
                                 vals[3] if extra == "Number of Via Stops: " else None,
                                 vals[3] if extra == "Via Stops: " else None))
        i += k
    return tuple(out)


# The common case of `strict_route`, read with one pattern: blank lines before, whitespace after, nothing else
# between the lines, and every name already clean (`clean_value` would not change it). What it accepts
# `strict_route`'s loop reads the same way; what it does not, the loop reads. `_SECTION_OF` then reads the values.
_NAME = r"(?:[^\s*_`\"'“”.;,]|[^\s*_`\"'“”][^\n]*[^\s*_`\"'“”.;,])"
_EXTRA = {"short": "", "long1": r"\nNumber of Via Stops: ([0-9]+)", "long2": r"\nVia Stops:(?: ([^\n]*))?"}
_CLEAN_ROUTE = {
    t: re.compile(rf"(?:[^\S\n]*\n)*(Route Name: {_NAME}\nDeparture Stop: {_NAME}\nArrival Stop: {_NAME}{extra}"
                  rf"(?:\n---?\nRoute Name: {_NAME}\nDeparture Stop: {_NAME}\nArrival Stop: {_NAME}{extra})*)\s*")
    for t, extra in _EXTRA.items()}
_SECTION_OF = {t: re.compile(rf"Route Name: ([^\n]*)\nDeparture Stop: ([^\n]*)\nArrival Stop: ([^\n]*){extra}")
               for t, extra in _EXTRA.items()}


def _clean_route(answer: str, template: str, max_sections: int) -> tuple[ParsedSection, ...] | None:
    """`strict_route` of an answer in the common clean form, or None (then the general loop decides)."""
    pattern = _CLEAN_ROUTE.get(template)
    m = pattern.fullmatch(answer) if pattern is not None else None
    if m is None:
        return None
    core = m.group(1)
    found = _SECTION_OF[template].findall(core)
    if len(found) > max_sections or core.count("--") != len(found) - 1:  # a "--" inside a value: the loop says
        return None
    if ("xx" in core or "XX" in core) and any(is_example(*f[:3]) for f in found):  # its stops are xx or XX
        return None
    if template == "short":
        return tuple([ParsedSection(name, dep, arr) for name, dep, arr in found])
    if template == "long1":
        return tuple([ParsedSection(name, dep, arr, via) for name, dep, arr, via in found])
    return tuple([ParsedSection(name, dep, arr, None, via.strip()) for name, dep, arr, via in found])


_STRICT_BOXED = re.compile(r"\s*\\boxed\{([^{}\n]{1,64})\}\s*")


def strict_boxed(answer: str, kind: str) -> str | None:
    """The boxed token if `answer` is exactly `\\boxed{X}` with X a bare answer of `kind` (its record's `token`).

    >>> strict_boxed(" \\\\boxed{B} ", "letter"), strict_boxed("\\\\boxed{(B)}", "letter")
    ('B', None)
    """
    m = _STRICT_BOXED.fullmatch(answer)
    if m is None:
        return None
    token = m.group(1).strip()
    return token if ANSWER_KINDS[kind].token_re.fullmatch(token) else None
