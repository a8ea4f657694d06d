"""The stops between two stations on one line: the one rule every layer uses (network, questions, reward, lab).

A line is its list of stations in riding order, as in ReasonMap's metro data. A loop is written closed: more than
three entries and the first station repeated at the end; it can be ridden either way round, and a ride takes the
shorter way (on a tie, the way the list runs). A station an open line visits twice, or a loop's ring visits twice,
makes a ride ambiguous: no answer rather than a guess. Pure functions of plain sequences, so the reward can use them
on its normalised names and the lab on the map's own.

>>> ring = ["A", "B", "C", "D", "E", "F", "A"]
>>> between(ring, "B", "F"), ways(ring, "B", "F")
(('A',), (('A',), ('C', 'D', 'E')))
>>> between(["A", "B", "C", "D"], "D", "A"), ways(["A", "B", "C", "D"], "A", "C")
(('C', 'B'), (('B',), None))
>>> between(ring, "B", "B"), between(ring, "B", "Z"), between(["A", "B", "A", "C"], "A", "C")
(None, None, None)
"""

from __future__ import annotations

from collections.abc import Sequence


def is_loop(stations: Sequence[str]) -> bool:
    """A closed loop: more than three entries, the first station repeated at the end.

    >>> is_loop("ABCA"), is_loop("ABA"), is_loop("ABCD")
    (True, False, False)
    """
    return len(stations) > 3 and stations[0] == stations[-1]


def ring(stations: Sequence[str]) -> Sequence[str]:
    """The stations once each in riding order: a loop without its closing repeat, an open line as it is."""
    return stations[:-1] if is_loop(stations) else stations


def ways(stations: Sequence[str], a: str, b: str) -> tuple[tuple[str, ...], tuple[str, ...] | None] | None:
    """(the stops strictly between a and b the shorter way, those the other way round a loop or None on an open
    line), each in riding order from a; None when a == b or either is not on the line exactly once.

    >>> ways(["A", "B", "C", "D", "A"], "A", "C")  # a tie: the way the list runs first
    (('B',), ('D',))
    """
    loop = is_loop(stations)
    st = stations[:-1] if loop else stations
    if a == b or st.count(a) != 1 or st.count(b) != 1:
        return None
    i, j = st.index(a), st.index(b)
    if not loop:
        return (tuple(st[i + 1:j]) if i < j else tuple(st[j + 1:i][::-1])), None
    fwd = st[i + 1:j] if i < j else st[i + 1:] + st[:j]  # the way the list runs, through the closing link if need be
    bwd = st[j + 1:i][::-1] if j < i else st[:i][::-1] + st[j + 1:][::-1]
    return (tuple(fwd), tuple(bwd)) if len(fwd) <= len(bwd) else (tuple(bwd), tuple(fwd))


def between(stations: Sequence[str], a: str, b: str) -> tuple[str, ...] | None:
    """The stops strictly between a and b, the shorter way round a loop; None as for `ways`."""
    w = ways(stations, a, b)
    return None if w is None else w[0]
