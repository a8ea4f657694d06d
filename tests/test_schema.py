"""rmlite.schema: the registry of question types (ANSWER_KIND) and what it derives, and sample validation by kind."""

from __future__ import annotations

import pytest
from fixtures.reward import perception_sample, planning_sample

from rmlite.schema import (
    ANSWER_KIND,
    ANSWER_KINDS,
    DIFFICULTIES,
    DIFFICULTY_LEVEL,
    FIELDS,
    NAMED_FIELDS,
    PERCEPTION_TYPES,
    QUESTION_TYPES,
    SCORED_FIELDS,
    answer_kind,
    validate_sample,
    validate_samples,
)

PLAN = planning_sample("oslo", "Vestli Station", "Blindern Station")
SAMPLES = {t: perception_sample("oslo", t) for t in PERCEPTION_TYPES} | {"planning": PLAN}


def test_the_registry_and_what_derives_from_it():
    assert QUESTION_TYPES == ("counting1", "counting2", "counting3", "torf1", "torf2", "planning")
    assert set(ANSWER_KIND) == set(QUESTION_TYPES) and set(ANSWER_KIND.values()) == set(ANSWER_KINDS)
    assert PERCEPTION_TYPES == tuple(t for t in QUESTION_TYPES if ANSWER_KIND[t] != "route")
    assert [answer_kind(t) for t in QUESTION_TYPES] == ["letter", "integer", "integer", "yes_no", "yes_no", "route"]


def test_named_and_scored_fields_are_schema_fields():
    assert set(NAMED_FIELDS) <= set(ANSWER_KIND)
    assert all(set(f) <= {"station1", "station2", "line"} for f in NAMED_FIELDS.values())
    assert set(SCORED_FIELDS) <= set(FIELDS) and len(set(SCORED_FIELDS)) == len(SCORED_FIELDS)
    assert [DIFFICULTY_LEVEL[d] for d in DIFFICULTIES] == [0, 1, 2]


def test_answer_kind_fails_loudly(monkeypatch):
    with pytest.raises(ValueError, match="unknown question type 'tarot'"):
        answer_kind("tarot")
    monkeypatch.setitem(ANSWER_KIND, "tarot", "card")
    with pytest.raises(ValueError, match="answer kind 'card'"):
        answer_kind("tarot")


def test_a_type_registered_at_run_time_is_read_at_call_time(monkeypatch):
    s = {**SAMPLES["counting2"], "type": "counting4", "id": "x-counting4-0"}
    with pytest.raises(ValueError, match="unknown type"):
        validate_sample(s)
    monkeypatch.setitem(ANSWER_KIND, "counting4", "integer")
    validate_sample(s)  # no named fields registered: its station is not checked
    assert answer_kind("counting4") == "integer"


@pytest.mark.parametrize("qtype, changes, match", [
    ("counting1", {"answer": "E"}, "answer must be one of A-D"),
    ("counting1", {"choices": [1, 2, 3]}, "needs four choices"),
    ("counting2", {"answer": "four"}, "non-negative integer"),
    ("counting3", {"answer": "-1"}, "non-negative integer"),
    ("torf1", {"answer": "maybe"}, "'yes' or 'no'"),
    ("torf2", {"line": "Line 99"}, "torf2 line 'Line 99' is not a line"),
    ("counting2", {"station1": "Atlantis"}, "station1 'Atlantis' is not a station"),
    ("torf1", {"station2": ""}, "station2 '' is not a station"),
    ("planning", {"routes": "[]"}, "a planning sample needs at least one reference route"),
    ("planning", {"routes": "{oops"}, "routes is not valid JSON"),
    ("planning", {"question_transfer_count": "1"}, "question_transfer_count"),
    ("planning", {"type": ["planning"]}, "unknown type"),
    ("counting3", {"difficulty_city": "medium"}, "difficulty_city"),
])
def test_validation_by_kind_and_named_fields(qtype, changes, match):
    validate_sample(SAMPLES[qtype])
    with pytest.raises(ValueError, match=match):
        validate_sample({**SAMPLES[qtype], **changes})


def test_counting3_names_no_stop():
    validate_sample({**SAMPLES["counting3"], "station1": "Atlantis"})  # not a named field of counting3: unchecked
    assert validate_samples(SAMPLES.values()) == len(SAMPLES)
