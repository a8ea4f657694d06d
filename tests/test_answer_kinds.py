"""An answer kind is one `AnswerKind` record in `rmlite.schema.ANSWER_KINDS` plus its reader in
`rmlite.reward.score.READERS`: register a new one at run time and every part reads it, or fails in one line naming
what is missing.

The new kind here, "compass" (a direction on the map: N, E, S or W), exists nowhere in the package; monkeypatch
registers it (with a question type that asks for it) for one test and restores the registries afterwards. Each
check reads an outcome (a score, a chance, a probe, an error) and compares it with a value written out here, never
with the record's own fields, so a part that still keeps a table keyed by kind name fails (KeyError) or answers
wrong.
"""

from __future__ import annotations

import re

import pytest
from fixtures.reward import blank_sample

from rmlite import schema
from rmlite.data.answers import boxed, reference_completion
from rmlite.data.released import released_answer
from rmlite.data.shortcuts import shortcut_table
from rmlite.evaluate import chance_answers, chance_probability, majority_answers
from rmlite.lab.mistakes import OPERATORS, apply_errors
from rmlite.lab.probes import probe_answers
from rmlite.reward import metrics, parse
from rmlite.reward.config import PRESETS
from rmlite.reward.official_parse import official_match
from rmlite.reward.score import READERS, score
from rmlite.schema import ANSWER_KINDS, AnswerKind

COMPASS = AnswerKind("compass", word="compass point", key="[NESW]", key_doc="one of N, E, S, W",
                     token="(?i:[nesw])", normalize=str.upper,
                     released=(("0", "N"), ("1", "E"), ("2", "S"), ("3", "W")),
                     released_doc="a compass point (0-3 or N, E, S, W)", guesses=("N", "E", "S", "W"),
                     every_option="N, E, S, W", options=("N", "E", "S", "W"))
WORDS = {"north": "N", "east": "E", "south": "S", "west": "W"}


def read_compass(answer: str | None) -> str | None:
    """The reward layer's reader for the new kind: one letter or word (a test stands in for rmlite's code)."""
    word = (answer or "").strip().lower()
    return WORDS.get(word) or (word.upper() if word in ("n", "e", "s", "w") else None)


def compass_sample(answer: str = "E", k: int = 0) -> dict:
    s = blank_sample("oslo", "direction", k, "middle")
    s.update(question="In which direction from the centre is Sognsvann drawn? Answer N, E, S or W in \\boxed{}.",
             answer=answer)
    return s


@pytest.fixture
def compass(monkeypatch):
    """The record, its reader and a type that asks for it, registered for one test."""
    monkeypatch.setitem(ANSWER_KINDS, "compass", COMPASS)
    monkeypatch.setitem(READERS, "compass", read_compass)
    monkeypatch.setitem(schema.ANSWER_KIND, "direction", "compass")
    return compass_sample()


def test_every_record_is_complete():
    for name, kind in ANSWER_KINDS.items():
        assert kind.name == name
        if kind.route:
            continue
        assert name in READERS, f"{name}: no reader"
        assert kind.word and kind.key_doc and kind.released_doc and kind.every_option, name
        assert kind.guesses and all(kind.canonical(g) == g for g in kind.guesses), name  # each guess is a key
        assert all(kind.token_re.fullmatch(o) for o in kind.options), name  # every key earns format credit
        assert all(kind.canonical(v) for _, v in kind.released), name
    assert [n for n, k in ANSWER_KINDS.items() if k.route] == ["route"]


@pytest.mark.parametrize(("changes", "missing"), [({"token": ""}, "token"), ({"word": "", "guesses": ()},
                                                                             "word, guesses")])
def test_an_incomplete_record_fails_in_one_line_naming_what_is_missing(changes, missing):
    fields = {f: getattr(COMPASS, f) for f in COMPASS.__dataclass_fields__}
    with pytest.raises(ValueError, match=f"^answer kind 'compass' misses {missing}$"):
        AnswerKind(**{**fields, **changes})


def test_a_type_of_an_unregistered_kind_fails_in_one_line(monkeypatch):
    monkeypatch.setitem(schema.ANSWER_KIND, "direction", "compass")
    with pytest.raises(ValueError, match="question type 'direction' has answer kind 'compass'; expected one of"):
        schema.validate_sample(compass_sample())


def test_a_kind_without_a_reader_fails_in_one_line_naming_the_table(monkeypatch):
    monkeypatch.setitem(ANSWER_KINDS, "compass", COMPASS)
    monkeypatch.setitem(schema.ANSWER_KIND, "direction", "compass")
    with pytest.raises(ValueError, match=re.escape("answer kind 'compass' has no reader: add one to "
                                                   "rmlite.reward.score.READERS")):
        score("\\boxed{E}", compass_sample())


def test_the_schema_checks_its_key(compass):
    schema.validate_sample(compass)
    with pytest.raises(ValueError, match="direction answer must be one of N, E, S, W, got 'X'"):
        schema.validate_sample(compass_sample("X"))


@pytest.mark.parametrize("config", list(PRESETS.values()), ids=list(PRESETS))
def test_every_preset_scores_it(compass, config):
    right, lenient, wrong = (score(t, compass, config) for t in ("\\boxed{E}", "The answer is e", "\\boxed{W}"))
    assert right.correct and lenient.correct and not wrong.correct, (right.reason, lenient.reason, wrong.reason)
    assert right.total > wrong.total
    if config.parser != "official":
        assert right.format > lenient.format  # the strict format reads the kind's token
        assert score("\\boxed{east}", compass, config).correct  # its own reader, not another kind's
        assert score("\\boxed{Q}", compass, config).reason == "cannot read 'Q' as a compass point"


def test_the_parsers_and_metrics_read_it(compass):
    assert parse.strict_boxed("\\boxed{s}", "compass") == "s" and parse.strict_boxed("\\boxed{2}", "compass") is None
    assert official_match("e", "E", "compass") and not official_match("ee", "E", "compass")
    assert [metrics.judge(t, compass)["correct"] for t in ("\\boxed{E}", "\\boxed{N}")] == [1, 0]


def test_the_released_loader_reads_it(compass):
    assert [released_answer(v, "compass") for v in (2, "w", " N ")] == ["S", "W", "N"]
    with pytest.raises(ValueError, match=r"^answer 7 is not a compass point \(0-3 or N, E, S, W\)$"):
        released_answer(7, "compass")


def test_the_evaluation_baselines_read_it(compass):
    samples = [compass_sample(a, k) for k, a in enumerate("NNEW")]
    assert {a for a in chance_answers(samples * 20, seed=0)} == {boxed(c) for c in "NESW"}
    assert [chance_probability(s) for s in (compass, compass_sample("e"), compass_sample("X"))] == [0.25, 0.25, 0.0]
    assert majority_answers(samples) == [boxed("N")] * 4


def test_the_lab_reads_it(compass):
    assert reference_completion(compass) == boxed("E")
    assert probe_answers(compass)["every_option"] == boxed("N, E, S, W")
    assert probe_answers(compass)["every_box"] == " ".join(boxed(c) for c in "NESW")
    fits = sorted(n for n, op in OPERATORS.items() if "compass" in op.kinds)
    assert fits == ["broken_format", "empty", "loose_format", "refusal", "wrong_letter"]
    assert {apply_errors(compass, ["wrong_letter"], seed) for seed in range(20)} == {boxed(c) for c in "NSW"}
    assert apply_errors(compass, ["off_by_one"]) is None and apply_errors(compass, ["flipped_yes_no"]) is None
    assert not score(apply_errors(compass, ["broken_format"]), compass).correct


def test_the_shortcut_table_reads_it(compass):
    rows = [{**compass_sample(a, k), "map_id": f"m{k}"} for k, a in enumerate("NNNE" * 5)]
    balance = next(s for s in shortcut_table(rows, {}) if s.what.startswith("balance"))
    assert (balance.what, balance.score, balance.null) == ("balance: majority compass", 0.75, 0.25)
