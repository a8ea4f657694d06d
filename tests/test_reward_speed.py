"""The reward's fast paths (issue 22.7) read exactly what the general code reads: each is compared with the general
path on text drawn near the format (hypothesis) and on the bench's completions. The general paths are the code as it
was before the fast paths (`clean_value`'s loop, `strict_route`'s line loop, the via separators' pattern)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmlite.reward import forms, parse
from rmlite.reward.score import score

ROOT = Path(__file__).resolve().parents[1]


def general_clean_value(v: str) -> str:
    for _ in range(2):
        v = v.strip().strip("*_`\"'“”").strip().rstrip(".;,")
    return v.strip()


def general_via_list(value: str | None) -> list[str]:
    if not value:
        return []
    v = value.strip()
    if len(v) <= forms.VIA_CHARS and forms._NONE.fullmatch(v):
        return []
    return [p for p in (x.strip() for x in re.split(r"-->|->|—>|–>|=>|[,，、→⟶⇒➔➜]", v)) if p]


def general_via_count(value: str | None) -> int | None:
    if value is None:
        return None
    v = value.strip()[:forms.VIA_CHARS]
    m = re.search(r"\d+", v)
    return int(m.group()) if m else (0 if forms._NONE.fullmatch(v) else None)


def general_strict_route(answer: str, template: str, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as m:
        m.setattr(parse, "_clean_route", lambda *a: None)  # the line loop alone
        return parse.strict_route(answer, template, 4)


# Pieces of answers: keys right and wrong, names clean and not, separators, blank lines, stray whitespace.
PIECES = ["Route Name: ", "Departure Stop: ", "Arrival Stop: ", "Number of Via Stops: ", "Via Stops: ", "Via Stops:",
          "route name: ", "\n", "\n--\n", "\n---\n", "--", " ", "\t", "\r", "\u00a0", "Line 1", "Tøyen", "A", "B.",
          "**B**", "'C'", "“D”", "xx Station", "XX station", "Line x", "6", "6¹", "٦", "B, C", "B → C", "None",
          "Ens-jø", "a;", "_x_", "`y`", ""]
near_format = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


def well_formed(n: int, template: str, names: list[str]) -> str:
    out = []
    for i in range(n):
        a, b, c = names[(3 * i) % len(names)], names[(3 * i + 1) % len(names)], names[(3 * i + 2) % len(names)]
        text = f"Route Name: {a}\nDeparture Stop: {b}\nArrival Stop: {c}"
        if template == "long1":
            text += "\nNumber of Via Stops: 3"
        elif template == "long2":
            text += f"\nVia Stops: {a}, {c}"
        out.append(text)
    return "\n--\n".join(out)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=" \t\r\u00a0*_`\"'“”.;,AbøZ-", max_size=12))
def test_clean_value_fast_path(v):
    assert parse.clean_value(v) == general_clean_value(v)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["B", "Tøyen", " ", ",", "，", "、", "->", "-->", "—>", "–>", "=>", "→", "⟶", "⇒",
                                 "➔", "➜", ">", "-", "None", "6", "٦", "¹", "①"]), max_size=12).map("".join))
def test_via_readers_fast_paths(v):
    assert forms.via_list(v) == general_via_list(v)
    assert forms.via_count(v) == general_via_count(v)


@settings(max_examples=400, deadline=None)
@given(near_format, st.sampled_from(["short", "long1", "long2"]))
def test_strict_route_fast_path_reads_what_the_loop_reads(text, template):
    with pytest.MonkeyPatch.context() as mp:
        assert parse.strict_route(text, template, 4) == general_strict_route(text, template, mp)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.sampled_from(["short", "long1", "long2"]),
       st.lists(st.sampled_from(["Line 1", "Tøyen", "A", "B.", "**B**", "xx Station", "XX station", "Line x", "a--b",
                                 " C", "D ", "E\r"]), min_size=1, max_size=6),
       st.sampled_from(["", "\n", "\n\n  \n", "  "]), st.sampled_from(["", "\n", " \n ", "\n--"]))
def test_strict_route_fast_path_on_well_formed_answers(n, template, names, head, tail):
    text = head + well_formed(n, template, names) + tail
    with pytest.MonkeyPatch.context() as mp:
        assert parse.strict_route(text, template, 4) == general_strict_route(text, template, mp)


def test_the_fast_path_takes_the_common_form_and_the_check_fails_on_a_wrong_reader(monkeypatch):
    answer = well_formed(2, "long2", ["Line 1", "Tøyen", "Ensjø"])
    assert parse._clean_route(answer, "long2", 256) is not None  # the fast path reads it
    assert parse.strict_route(answer, "long2") == general_strict_route(answer, "long2", monkeypatch)
    monkeypatch.setattr(parse, "_clean_route", lambda a, t, m: (parse.ParsedSection("Line 1", "Tøyen", "Ensjø"),))
    assert parse.strict_route(answer, "long2") != general_strict_route(answer, "long2", monkeypatch)


def test_bench_completions_score_the_same_with_and_without_the_strict_fast_path(monkeypatch):
    spec = importlib.util.spec_from_file_location("bench_reward", ROOT / "bench" / "bench_reward.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = [s for s in bench.samples() if s["type"] == "planning"][::6]
    pairs = [(c, s) for k, s in enumerate(data) for c in bench.planning_completions(s, k)]
    fast = [score(c, s, p) for c, s in pairs for p in ("paper", "robust")]
    monkeypatch.setattr(parse, "_clean_route", lambda *a: None)
    assert fast == [score(c, s, p) for c, s in pairs for p in ("paper", "robust")]
