"""The released parser, point for point: how RewardMap's `reason_map.py` and ReasonMap-Plus read an answer.

`official_extract` is the ReasonMap-Plus answer extraction (letters, integers, yes/no) and `official_match` its
exact match with the key, by answer kind; `official_sections` reads route sections as the released planning
reward does. All are behaviour-compatible re-implementations, quirks included, and bounded in time on any input.
The `OFFICIAL` reward preset (`rmlite.reward.official`) and ReasonMap's evaluation (`rmlite.reward.metrics`) use
them; rmlite's own readers are `rmlite.reward.parse`.

>>> official_extract("I think the answer is B. Yes.")
'b'
"""

from __future__ import annotations

from rmlite.schema import ANSWER_KINDS

_OFFICIAL_PHRASES = ("the final answer is", "the answer is", "the correct answer is", "the answer should be")


def official_extract(response: str) -> str:
    """The released ReasonMap-Plus answer extraction (behaviour-compatible for letters, integers and yes/no).

    "answer is" fallbacks when there is no `oxed{`; else the last `\\boxed{`; then `find_math_answer`'s clean-up
    and `.rstrip('.').lstrip(':').strip()`. Its math-only rewrites (sqrt, frac, a/b) are left out: they can never
    turn a string into, or out of, a letter, an integer or yes/no.

    >>> official_extract("I think the answer is B. Yes."), official_extract(r"\\boxed{A} or \\boxed{ 4 }")
    ('b', '4')
    """
    s = response
    if "oxed{" not in s:
        for flag in _OFFICIAL_PHRASES:
            for f in (flag, flag.replace("the", "The")):
                had = f in s
                s = s.split(f)[-1].strip()
                if had:
                    s = s.split("\n")[0].split(". ")[0]
    elif s.count("oxed{") > 1:
        s = "\\boxed{" + s.split("oxed{")[-1]
    return _find_math_answer(s).rstrip(".").lstrip(":").strip()


def official_match(extracted: str, key: str, kind: str) -> bool:
    """The released exact match of an extracted answer with the key: a count as a number (its record's `count`), any
    other kind as text in any case (one letter, yes/no).

    >>> official_match("b", "B", "letter"), official_match("yes", "yes", "yes_no"), official_match("04", "4", "integer")
    (True, True, True)
    """
    if not ANSWER_KINDS[kind].count:
        return extracted.lower() == key.lower() and len(extracted) == len(key)
    try:
        return int(extracted) == int(key)
    except ValueError:
        return False


def _find_math_answer(s: str) -> str:
    s = s.lower().replace("{}", "")
    # `re.findall('oxed{(.*)}', s, re.S)[-1]` without its quadratic worst case: the greedy match runs from the
    # first "oxed{" that has a "}" anywhere after it to the last "}".
    first, last = s.find("oxed{"), s.rfind("}")
    ans = s[first + 5:last] if first >= 0 and last >= first + 5 else s
    close, open_ = ans.find("}"), ans.find("{")
    if close != -1 and (open_ == -1 or close < open_):
        ans = ans.split("}")[0]
    ans = ans.split("=")[-1].split("\\approx")[-1]
    for old, new in ((" ", ""), ("\\,", ""), ("∞", "\\infty"), ("+\\infty", "\\infty"), ("\\\\", "\\"), ("\n", ""),
                     ("\\text", ""), ("\\mbox", ""), ("bmatrix", "pmatrix"), ("\\left", ""), ("\\right", ""),
                     ("^{\\circ}", ""), ("^\\circ", ""), ("{m}^3", ""), ("m^3", ""), ("{units}", ""), ("units", ""),
                     ("{km}", ""), ("km", "")):
        if old in ans:  # `in` is much cheaper than a no-op replace on long junk
            ans = ans.replace(old, new)
    # _strip_string: a second clean-up pass. Dropping "\\!" can re-create "\\left" (`\\le\\!ft 4` → 4) or
    # "\\right", so the pass runs whole, in the released order.
    for old, new in (("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"), ("dfrac", "frac"), ("\\left", ""),
                     ("\\right", ""), ("^{\\circ}", ""), ("^\\circ", ""), ("\\$", ""), ("$", "")):
        if old in ans:
            ans = ans.replace(old, new)
    ans = ans.split("\\text{ ")[0].replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if ans.startswith("."):
        ans = "0" + ans
    if ans.count("=") == 1:
        ans = ans.split("=")[-1]
    if ans.count("\\approx") == 1:  # the second pass can re-create one (`\\app\\!rox 4` → 4), as released
        ans = ans.split("\\approx")[-1]
    ans = ans.replace(" ", "")
    return "\\frac{1}{2}" if ans == "0.5" else ans


def official_sections(text: str, any_case_keys: bool, max_sections: int = 256) -> list[tuple[str, str, str]] | None:
    """Sections as the released planning reward reads them: `(route name, departure, arrival)` raw strings.

    Splits on "--"; a section counts if it holds `Route Name:`, `Departure Stop:` and `Arrival Stop:` (exact case
    for correctness, any case for the detail reward, as released). The route name and departure are the rest of
    their line and need a newline after them (else "Wrong"); the arrival is *everything* after the last
    `Arrival Stop:`, so trailing prose becomes part of the stop name. Returns None (unparseable) when more
    than `max_sections` sections count (parts between "--" that hold all three keys; repeated keys inside one part
    are one section, as released): a bounded amount of work after parsing, which itself is linear in the text.

    >>> official_sections("Route Name: 1\\nDeparture Stop: A\\nArrival Stop: B\\nThanks!", False)
    [('1', 'A', 'B\\nThanks!')]
    """
    keys = _ANY_CASE_KEYS if any_case_keys else _EXACT_KEYS
    hay = text.lower() if any_case_keys else text
    if len(hay) != len(text):  # a few Unicode letters change length when lowered: split the slow, sure way
        parts = [p for p in text.split("--") if _has_keys(p.lower(), keys)]
        return None if len(parts) > max_sections else [_official_section(p) for p in parts]
    counts = [hay.count(k) for k in keys]
    # Only parts holding the rarest key can count; find them without splitting the whole text (which allocates
    # one string per "--": slow on junk). A part may differ from str.split's by one leading "-", which no key
    # lookup sees and the released clean_string removes.
    rare = keys[counts.index(min(counts))]
    out, seen, i = [], -1, hay.find(rare)
    while i >= 0:
        j = hay.rfind("--", 0, i)
        start = j + 2 if j >= 0 else 0
        end = hay.find("--", i)
        end = len(hay) if end < 0 else end
        if start != seen and _has_keys(hay[start:end], keys):
            if len(out) == max_sections:
                return None
            out.append(_official_section(text[start:end]))
        seen = start
        i = hay.find(rare, end)
    return out


_EXACT_KEYS = ("Route Name:", "Departure Stop:", "Arrival Stop:")
_ANY_CASE_KEYS = ("route name:", "departure stop:", "arrival stop:")


def _official_section(p: str) -> tuple[str, str, str]:
    return _line_after(p, "Route Name: ", True), _line_after(p, "Departure Stop: ", False), \
        p.split("Arrival Stop:")[-1].strip()


def _has_keys(s: str, keys: tuple[str, str, str]) -> bool:
    return keys[0] in s and keys[1] in s and keys[2] in s  # not `all(...)`: a generator costs more than the tests


def _line_after(section: str, key: str, strip: bool) -> str:
    """`re.search(key + "(.*?)\\n")` without a regex: the rest of the key's line, or "Wrong" if no newline follows."""
    i = section.find(key)
    if i < 0:
        return "Wrong"
    j = section.find("\n", i + len(key))
    if j < 0:
        return "Wrong"
    v = section[i + len(key):j]
    return v.strip() if strip else v
