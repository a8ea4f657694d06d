"""rmlite.reward: presets, hand-worked values, tables of completions, robustness and bounded time."""

import dataclasses
import json
import math
import statistics
import time

import pytest
from fixtures import score_corpus
from fixtures.reward import perception_sample, planning_sample, reference

from rmlite.reward.config import OFFICIAL, PAPER, PRESETS, SPARSE, RewardBreakdown, RewardConfig, get_config
from rmlite.reward.functions import as_total, load_reward
from rmlite.reward.index import index_samples
from rmlite.reward.rules import PaperRules, RobustRules
from rmlite.reward.score import score

# Oslo is a "middle" map in ReasonMap: W = 1.2, plus 0.5 for a question with a transfer.
DIRECT = planning_sample("oslo", "Majorstuen Station", "Besserud Station")  # Line 1, no transfer
ONE = planning_sample("oslo", "Lillevann Station", "Åsjordet Station")  # Line 1 → Majorstuen → Line 3
TWO = planning_sample("toy", "Alna", "Jar", difficulty="easy")  # Line 1 → Dal → Line 2 → Grorud → Line 3


def sec(line, dep, arr):
    return f"Route Name: {line}\nDeparture Stop: {dep}\nArrival Stop: {arr}"


def route(*sections):
    return "\n--\n".join(sec(*s) for s in sections)


def test_samples_are_what_the_tests_assume():
    assert DIRECT["question_transfer_count"] == 0 and ONE["question_transfer_count"] == 1
    assert TWO["question_transfer_count"] == 2
    assert reference(DIRECT) == sec("Line 1", "Majorstuen Station", "Besserud Station")
    assert reference(ONE) == route(("Line 1", "Lillevann Station", "Majorstuen Station"),
                                   ("Line 3", "Majorstuen Station", "Åsjordet Station"))


# ----- configuration ------------------------------------------------------------------------------------------------
def test_presets():
    assert set(PRESETS) == {"paper", "official", "sparse", "robust"}
    assert PAPER.alpha == 0.5 and PAPER.gamma == (1.0, 1.2, 1.5) and PAPER.beta == (0.0, 0.5)
    assert (PAPER.format_points, PAPER.correct_points, PAPER.detail_min, PAPER.detail_max) == (1, 10, 0, 10)
    assert OFFICIAL.format_points == 0 and OFFICIAL.parser == "official" and OFFICIAL.detail_min is None
    assert not SPARSE.dense and SPARSE.gamma == (1, 1, 1) and SPARSE.beta == (0, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.alpha = 1.0
    assert hash(PAPER) == hash(get_config("paper")) and get_config("paper", alpha=1.0).alpha == 1.0


@pytest.mark.parametrize("kw", [
    {"alpha": -1}, {"alpha": float("nan")}, {"gamma": (1.0, 1.2)}, {"gamma": (1.0, 0.0, 1.5)}, {"beta": (0.0, -0.5)},
    {"parser": "regex"}, {"rules": PaperRules}, {"detail_min": 5.0, "detail_max": 1.0},
    {"correct_points": 0}, {"max_sections": 0},
])
def test_config_validation(kw):
    with pytest.raises(ValueError):
        RewardConfig(**kw)
    with pytest.raises(ValueError):
        PaperRules(transfer_penalty=True)


def test_a_knob_a_rule_set_does_not_read_cannot_be_set():
    """Issue 22: under `robust` eight paper / released knobs were silently ignored (a wrong route with the
    released endpoint rule, line points and penalties scored 7.032 like plain robust). Now they are no field."""
    for kw in ({"endpoint_rule": "both"}, {"line_points": 3.0}, {"penalty_off_by_one": True},
               {"transfer_penalty": 50.0}, {"direct_line_points": 40.0}):
        with pytest.raises(TypeError):
            get_config("robust", **kw)
        with pytest.raises(TypeError):
            RobustRules(**kw)
    with pytest.raises(TypeError):
        PaperRules(line_points=3.0)
    with pytest.raises(ValueError, match="lenient"):
        RewardConfig(parser="official", rules=RobustRules())


def test_get_config_errors():
    with pytest.raises(ValueError, match="unknown reward preset"):
        get_config("dense")


@pytest.mark.parametrize("cfg, diff, qtype, q, w", [
    (PAPER, "easy", "planning", 0, 1.0), (PAPER, "middle", "planning", 0, 1.2), (PAPER, "hard", "planning", 2, 2.0),
    (PAPER, "middle", "planning", 1, 1.7), (PAPER, "hard", "counting1", 0, 1.5), (OFFICIAL, "middle", "torf2", 0, 1.2),
    (SPARSE, "hard", "planning", 3, 1.0),
])
def test_weight(cfg, diff, qtype, q, w):
    assert cfg.weight(diff, qtype, q) == pytest.approx(w)


# ----- official: the released behaviour, hand-worked ---------------------------------------------------------------
def test_official_hand_worked_oslo():
    b = score(reference(DIRECT), DIRECT, OFFICIAL)  # 2 (endpoints) − 5 (off-by-one) + 4 (direct line) = 1
    assert (b.detail, b.correct, b.weight) == (1.0, True, 1.2) and b.total == pytest.approx(12.6)
    b = score(reference(ONE), ONE, OFFICIAL)  # 2 + (3 + 1) + (−5 + 3) = 4
    assert (b.detail, b.correct, b.weight) == (4.0, True, 1.7) and b.total == pytest.approx(20.4)
    b = score(sec("Line 2", "Majorstuen Station", "Besserud Station"), DIRECT, OFFICIAL)  # Besserud is not on Line 2
    assert (b.detail, b.correct) == (-3.0, False) and b.total == pytest.approx(-1.8)


def test_official_two_transfers_and_extra_sections():
    b = score(reference(TWO), TWO, OFFICIAL)  # 2 + (3+1) + (3+1) + (−5+3) = 8
    assert (b.detail, b.correct) == (8.0, True) and b.total == pytest.approx(1.5 * (10 + 4))
    # Detail can go below zero and has no floor: a correct direct route padded with a loop.
    padded = route(("Line 1", "Majorstuen Station", "Holmenkollen Station"),
                   ("Line 1", "Holmenkollen Station", "Majorstuen Station"),
                   ("Line 1", "Majorstuen Station", "Besserud Station"))
    b = score(padded, DIRECT, OFFICIAL)
    assert b.correct and b.detail == 2 - 15 + 12


@pytest.mark.parametrize("completion, correct, why", [
    (reference(DIRECT) + "\nHave a nice trip!", False, "trailing prose becomes part of the arrival stop"),
    (reference(DIRECT).replace("Route Name", "route name"), False, "correctness needs the exact-case key"),
    (reference(DIRECT).replace(" Station", ""), True, "its clean_string drops the word Station"),
    (reference(DIRECT).replace("Majorstuen", "MAJOR-STUEN"), True, "case, hyphens and spaces are ignored"),
    (reference(DIRECT).replace("Line 1", "line 1"), False, "route names are matched exactly"),
    (reference(DIRECT).replace("Besserud", "Besserud,*'"), True, "commas, stars and quotes are dropped"),
    (reference(DIRECT).replace("Besserud", "Besserud."), False, "other punctuation is kept"),
])
def test_official_parser_quirks(completion, correct, why):
    assert score(completion, DIRECT, OFFICIAL).correct is correct, why


def test_official_perception():
    s = perception_sample("oslo", "torf1")
    assert score(r"\boxed{" + s["answer"].upper() + "}", s, OFFICIAL).total == pytest.approx(12.0)
    assert score(f"The answer is {s['answer']}. Because", s, OFFICIAL).correct
    assert not score(r"\boxed{\text{" + s["answer"] + "}}", s, OFFICIAL).correct  # released quirk: "{yes}"
    assert score(r"\boxed{" + s["answer"] + "}", s, OFFICIAL).format == 0  # no format term


# ----- paper and sparse: tables of completions -----------------------------------------------------------------------
R1 = reference(DIRECT)
R2 = reference(ONE)
THINK = "<think>Majorstuen is on every line; Besserud only on Line 1.</think>\n"


@pytest.mark.parametrize("completion, fmt, correct, detail, why", [
    (R1, 1, True, 6, "reference: +2 endpoints, +4 direct line"),
    (THINK + R1, 1, True, 6, "one closed thinking block is allowed"),
    (R1.replace("Route Name:", "**Route Name:**"), 0, True, 6, "markdown: lenient correctness, no format credit"),
    (R1.replace("Line 1", "line 1"), 1, True, 6, "line names are matched leniently"),
    (R1.replace("Line 1", "1"), 1, True, 6, "'1' names Line 1 on this map"),
    (R1.replace("Line 1", "Route 1"), 1, True, 6, "so does 'Route 1'"),
    (R1.replace("Majorstuen", "MAJORSTUEN").replace("Besserud", "Besserüd"), 1, True, 6, "case and accents"),
    (R1.replace("Majorstuen Station", "majorstuen"), 1, True, 6, "stations normalised (case, 'Station')"),
    (R1 + "\n\nThe trip takes 15 minutes.", 0, True, 6, "trailing prose: correct, but not the format"),
    (R1.replace("Line 1", "Line 2"), 1, False, 2, "wrong line: only the endpoint credit"),
    (R1.replace("Line 1", "Line 9"), 1, False, 2, "unknown line"),
    (R1.replace("Besserud", "Holmenkollen"), 1, False, 6, "wrong arrival: departure right, direct line right"),
    (sec("Line 1", "Besserud Station", "Majorstuen Station"), 1, False, 4, "reversed: no endpoint right"),
    (route(("Line 1", "Majorstuen Station", "Holmenkollen Station"), ("Line 1", "Holmenkollen Station",
                                                                       "Besserud Station")),
     1, True, 2, "valid but split: 2 + 4 + 1 − 5"),
    (R2, 1, True, 3, "(other sample) reference with a transfer: 2 + 1"),
    ("", 0, False, 0, "empty"),
    ("Take Line 1 from Majorstuen to Besserud.", 0, False, 0, "prose only"),
])
def test_paper_planning_table(completion, fmt, correct, detail, why):
    sample = ONE if completion == R2 else DIRECT
    b = score(completion, sample, PAPER)
    assert (b.format, b.correct, b.detail) == (fmt, correct, detail), why
    assert b.correctness == (10 if correct else 0)
    w = 1.7 if sample is ONE else 1.2
    assert b.total == pytest.approx(w * (fmt + (10 if correct else 0) + 0.5 * detail))


def test_paper_breakdown_explains():
    b = score(R1.replace("Line 1", "Line 9"), DIRECT, PAPER)
    assert "unknown line" in b.reason and "Line 9" in b.reason and b.parsed.startswith("Line 9")
    b = score("Sorry, I cannot read the map.", DIRECT, PAPER)
    assert b.error == "no route sections found" and b.parsed is None


def test_paper_padding_and_two_transfers():
    ref = score(reference(TWO), TWO, PAPER)
    assert ref.detail == 2 + 1 + 1 and ref.correct  # endpoints + two consistent transfers
    loop = reference(TWO) + "\n--\n" + sec("Line 3", "Jar", "Ila") + "\n--\n" + sec("Line 3", "Ila", "Jar")
    b = score(loop, TWO, PAPER)
    assert b.correct and b.detail < ref.detail and b.total < ref.total


@pytest.mark.parametrize("qtype", ["counting1", "counting2", "counting3", "torf1", "torf2"])
def test_perception_table(qtype):
    s = perception_sample("geneva", qtype, difficulty="hard")
    key = s["answer"]
    wrong = {"yes": "no", "no": "yes"}.get(key) or ("A" if key == "B" else "B" if key.isalpha() else str(int(key) + 1))
    rows = [  # completion, format, correct
        (rf"\boxed{{{key}}}", 1, True),
        (rf"<think>count them</think>\boxed{{{key}}}", 1, True),
        (rf"So the answer is \boxed{{{key}}}.", 0, True),  # prose: lenient correctness only
        (f"The answer is {key}.", 0, True),
        (rf"\boxed{{{wrong}}}", 1, False),
        (rf"\boxed{{{key}}} \boxed{{{wrong}}}", 0, False),  # the last box wins
        ("I don't know", 0, False),
        ("", 0, False),
    ]
    for completion, fmt, correct in rows:
        b = score(completion, s, PAPER)
        assert (b.format, b.correct) == (fmt, correct), completion
        assert b.detail == 0 and b.weight == 1.5
        assert b.total == pytest.approx(1.5 * (fmt + 10 * correct))
        sb = score(completion, s, SPARSE)
        assert sb.total == pytest.approx(fmt + 10 * correct) and sb.weight == 1.0


def test_perception_lenient_forms():
    s = perception_sample("oslo", "counting1")
    letter = s["answer"]
    for text in (rf"\boxed{{({letter})}}", rf"\boxed{{{letter.lower()}}}", f"Answer: ({letter})",
                 rf"\boxed{{\text{{{letter}}}}}", rf"$\boxed{{{letter}) {s['choices']['ABCD'.index(letter)]}}}$"):
        assert score(text, s, PAPER).correct, text


def test_sparse_has_no_detail():
    b = score(R1.replace("Line 1", "Line 2"), DIRECT, SPARSE)
    assert (b.detail, b.weight, b.total) == (0.0, 1.0, 1.0)
    assert score(R1, DIRECT, SPARSE).total == 11.0


def test_components_sum_to_total():
    for cfg in PRESETS.values():
        for c in (R1, R1.replace("Line 1", "Line 2"), "", THINK + R1):
            b = score(c, DIRECT, cfg)
            assert sum(b.components().values()) == b.total
            assert isinstance(b, RewardBreakdown)


# ----- robustness ---------------------------------------------------------------------------------------------------
JUNK = ["", " ", "\x00" * 50, "\ud800", "🚇" * 300, "Route Name:", "--" * 40, "\\boxed{" * 30, "}" * 40,
        "Route Name: Line 1\nDeparture Stop:\nArrival Stop:", "<think>", "</think>", "Arrival Stop: (" * 30,
        bytes(range(256)).decode("latin-1"), "الخط 1\nمحطة", "Route Name: " + "x" * 5000 + "\nDeparture Stop: a\n"
        "Arrival Stop: b"]


@pytest.mark.parametrize("cfg", list(PRESETS.values()), ids=list(PRESETS))
def test_model_output_never_raises(cfg):
    samples = [DIRECT, ONE] + [perception_sample("miami", t) for t in ("counting1", "counting2", "torf1")]
    for s in samples:
        for c in JUNK + [None, 42, b"bytes", ["list"]]:
            b = score(c, s, cfg)
            assert math.isfinite(b.total)
            if not isinstance(c, str):
                assert b.error and b.total == 0


def _worst_ms(text, sample, cfg, runs=3):
    times = []
    for _ in range(runs):
        t0 = time.process_time()  # CPU time: other processes' load does not count
        score(text, sample, cfg)
        times.append(time.process_time() - t0)
    return 1000 * statistics.median(times)


@pytest.mark.parametrize("unit", ["(", "{", "-", "\n", "*", "Route Name: (\n", "\\boxed{", "answer is ", "OXED{",
                                  "Route Name:--", "route name: a\ndeparture stop: b\narrival stop: c--", "<think>",
                                  "Route Name: Line 1\nDeparture Stop: (\nArrival Stop: ((\n--\n"])
def test_one_megabyte_scores_fast(unit):
    text = unit * (1_000_000 // len(unit))
    for cfg in PRESETS.values():
        for s in (DIRECT, perception_sample("oslo", "counting2")):
            assert _worst_ms(text, s, cfg) < 50, (unit, cfg.name, s["type"])


# ----- samples ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, match", [
    ("type", "routing", "unknown type"),
    ("metro_data", "{not json", "not valid JSON"),
    ("station2", "Atlantis Station", "not a station"),
    ("difficulty_city", "medium", "difficulty_city"),
    ("routes", "[]", "at least one reference route"),
    ("question_transfer_count", -1, "question_transfer_count"),
    ("template", "long3", "template"),
])
def test_malformed_sample_raises(field, value, match):
    bad = {**DIRECT, field: value, "id": f"bad-{field}"}
    with pytest.raises(ValueError, match=match):
        score(R1, bad)


def test_index_samples():
    assert index_samples([DIRECT, ONE, perception_sample("oslo", "torf2")]) == 3
    with pytest.raises(ValueError, match="missing field"):
        index_samples([DIRECT, {"id": "x"}])
    with pytest.raises(ValueError, match="mapping"):
        score(R1, "not a sample")


def test_metro_data_as_dict_is_accepted():
    s = {**DIRECT, "metro_data": json.loads(DIRECT["metro_data"])}
    assert score(R1, s).total == score(R1, DIRECT).total


# ----- user rewards -------------------------------------------------------------------------------------------------
def test_load_reward(tmp_path, monkeypatch):
    (tmp_path / "my_rewards.py").write_text("def shortest(completion, sample):\n    return -len(completion)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fn = load_reward("my_rewards:shortest")
    assert as_total(fn("abc", DIRECT)) == -3.0
    assert as_total(load_reward("paper")(R1, DIRECT)) == score(R1, DIRECT).total
    assert load_reward(OFFICIAL)(R1, DIRECT).total == pytest.approx(12.6) == score(R1, DIRECT, "official").total
    assert load_reward(len) is len
    for bad in ("dense", "my_rewards:nothing", "no_such_module_xyz:f", 3):
        with pytest.raises(ValueError):
            load_reward(bad)
    with pytest.raises(TypeError):
        as_total("1.0")


def test_scores_match_the_stored_corpus():
    """Over 2,000 completions (3,057 when written, 2,175 of them planning) scored under every preset equal the
    scores stored when the corpus was written (tests/fixtures/score_corpus.py): a speed-up must change no score."""
    samples, pairs, stored = score_corpus.load()
    assert len(pairs) >= 2000 and set(stored) == set(PRESETS)
    for preset, rows in stored.items():
        now = score_corpus.rescore(samples, pairs, preset)
        bad = [(pairs[i][1][:80], a, b) for i, (a, b) in enumerate(zip(rows, now, strict=True))
               if any(abs(x - y) > 1e-12 for x, y in zip(a, b, strict=True))]
        assert not bad, (preset, len(bad), bad[:3])


def test_paper_deliberate_deviations():
    """The three deviations of `paper` from the paper's text (RewardConfig's docstring, †1–†3), one case each."""
    lower = R1.replace("Route Name:", "route name:").replace("Departure Stop:", "departure stop:") \
        .replace("Arrival Stop:", "arrival stop:")
    b = score(lower, DIRECT, PAPER)  # †1: lenient parsing, strict format (the paper: 0)
    assert (b.format, b.correct, b.detail) == (0, True, 6) and b.total == pytest.approx(15.6)
    assert score(R2, ONE, PAPER).detail == 3  # †2: +4 only when q = 0 (the text's reading gives 7)
    hops = route(("Line 1", "Majorstuen Station", "Holmenkollen Station"),
                 ("Line 1", "Holmenkollen Station", "Besserud Station"),
                 ("Line 1", "Besserud Station", "Holmenkollen Station"),
                 ("Line 1", "Holmenkollen Station", "Besserud Station"))
    assert score(hops, DIRECT, PAPER).detail == 0  # †3: floored at 0
    assert score(hops, DIRECT, get_config(PAPER, detail_min=None)).detail == 2 + 4 + 3 - 15
