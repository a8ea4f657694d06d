"""Station and line names: only ReasonMap's four tags are stripped, bracketed words stay part of a name (rmlite's
normaliser), the released normaliser drops every bracket as released, and separate digit groups never join."""

import re

import pytest

from rmlite.names import TAGS, drop_brackets, normalize_line, normalize_station, rewardmap_clean, strip_tags


@pytest.mark.parametrize("tag", TAGS)
def test_strip_tags_strips_the_four_tags_only(tag):
    assert strip_tags(f"Rive Station {tag}") == "Rive Station"
    assert strip_tags(f"Cathedral Pkwy (110 St){tag}") == "Cathedral Pkwy (110 St)"
    assert normalize_station(f"Tøyen {tag}") == normalize_station("Tøyen")


def test_bracketed_words_are_part_of_the_name():
    assert strip_tags("Cathedral Pkwy (110 St)") != strip_tags("Cathedral Pkwy")
    assert normalize_station("Cathedral Pkwy (110 St)") != normalize_station("Cathedral Pkwy")
    assert normalize_station("Fairmoor (Heath)") != normalize_station("Fairmoor")
    assert strip_tags("  A   B  (Transfer Station)  ") == "A B"


def test_the_released_normaliser_drops_every_bracket():
    assert rewardmap_clean("Fairmoor (Heath)") == rewardmap_clean("Fairmoor")
    assert rewardmap_clean("Cathedral Pkwy (110 St)") == "cathedralpkwy"


@pytest.mark.parametrize("s", ["a (b) c", "a (b (c) d) e", "(", ")", "a (b", "x（y）z", "a (b）c", "((()))", "",
                               "x(" * 50, "a)b(c)d(e"])
def test_drop_brackets_is_the_regex(s):
    assert drop_brackets(s) == re.sub(r"[\(\（][^\)\）]*[\)\）]", "", s)


@pytest.mark.parametrize("name", ["Line 1/2", "Line 1-2", "Line 1 2", "1/2", "Line 1 / 2", "Route 1,2"])
def test_separate_digit_groups_never_join(name):
    assert normalize_line(name) != normalize_line("Line 12")
    assert normalize_line(name) == normalize_line("Line 1/2")


@pytest.mark.parametrize(("a", "b"), [("Line 3", "3"), ("Route 3", "line 3"), ("Red Line", "red"),
                                      ("Metrorail Green Line", "metrorail green"), ("M1", "m1")])
def test_line_spellings_that_match(a, b):
    assert normalize_line(a) == normalize_line(b)
