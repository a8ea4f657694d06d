"""`rmlite.schema.Sample` is the schema table `FIELDS` as a type, and its required keys are what `validate_sample`
refuses to go without: both are checked here against what the code does, so neither can drift from the other."""

import doctest
import json
import typing
from pathlib import Path

import pytest
from fixtures import typed_records
from fixtures.typed_records import mismatches

from rmlite.data import load_questions
from rmlite.schema import FIELDS, Sample, validate_sample

MINI = Path(__file__).resolve().parents[1] / "data" / "mini"


def type_differences(table: dict[str, type], typed: type) -> list[str]:
    """Where the table (field → class) and the TypedDict's annotations (`list[int]` counts as `list`) differ."""
    hints = {k: typing.get_origin(t) or t for k, t in typing.get_type_hints(typed).items()}
    out = [f"{k}: table only" for k in table if k not in hints] + [f"{k}: type only" for k in hints if k not in table]
    differ = [k for k in table if k in hints and table[k] != hints[k]]
    return out + [f"{k}: {table[k].__name__} vs {hints[k].__name__}" for k in differ]


def refused_when_missing(validate, sample: dict) -> set[str]:
    """The fields whose absence `validate` reports as a missing field (each field deleted from a valid sample)."""
    out = set()
    for key in FIELDS:
        try:
            validate({k: v for k, v in sample.items() if k != key})
        except ValueError as e:
            if f"missing field {key!r}" in str(e):
                out.add(key)
    return out


@pytest.fixture(scope="module")
def mini_rows() -> list[dict]:
    return load_questions(MINI, "train").to_list()


def test_sample_has_the_fields_and_types_of_the_schema_table():
    assert type_differences(FIELDS, Sample) == []
    assert list(typing.get_type_hints(Sample)) != []  # the comparison saw the annotations


def test_the_comparison_sees_a_field_added_to_one_side_only():
    assert type_differences({**FIELDS, "colour": str}, Sample) == ["colour: table only"]
    assert type_differences({k: v for k, v in FIELDS.items() if k != "seed"}, Sample) == ["seed: type only"]
    assert type_differences({**FIELDS, "seed": str}, Sample) == ["seed: str vs int"]


@pytest.mark.parametrize("qtype", ["counting1", "planning"])
def test_required_keys_are_what_validate_sample_refuses_to_miss(mini_rows, qtype):
    sample = next(r for r in mini_rows if r["type"] == qtype)
    validate_sample(sample)
    assert refused_when_missing(validate_sample, sample) == set(Sample.__required_keys__)
    assert Sample.__required_keys__ | Sample.__optional_keys__ == set(FIELDS)


def test_a_validator_that_requires_one_more_field_is_seen(mini_rows):
    sample = next(r for r in mini_rows if r["type"] == "torf1")

    def stricter(s):
        if "seed" not in s:
            raise ValueError("missing field 'seed'")
        validate_sample(s)

    assert refused_when_missing(stricter, sample) == set(Sample.__required_keys__) | {"seed"}


def test_every_shipped_sample_fits_the_type(mini_rows):
    assert len(mini_rows) > 100
    bad = {r["id"]: m for r in mini_rows if (m := mismatches(r, Sample))}
    assert bad == {}


def test_the_fit_check_fails_on_corrupted_samples(mini_rows):
    row = next(r for r in mini_rows if r["type"] == "counting1")
    assert mismatches({**row, "choices": [str(c) for c in row["choices"]]}, Sample)[0].startswith("choices[0]: ")
    assert mismatches({**row, "route_count": True}, Sample) == ["route_count: True is not int"]
    assert mismatches({**row, "colour": "red"}, Sample) == ["colour: a key Sample does not have"]
    assert mismatches({k: v for k, v in row.items() if k != "answer"}, Sample) == ["answer: missing"]
    assert mismatches({**row, "metro_data": json.loads(row["metro_data"])}, Sample)[0].startswith("metro_data: ")


def test_the_checkers_examples_hold():
    assert doctest.testmod(typed_records).failed == 0
