"""Evaluation scoring and baselines against hand computations (no model needed)."""

import math
from collections import defaultdict

import pytest

from rmlite.data.answers import boxed, reference_completion
from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_questions
from rmlite.evaluate import (
    CHANCE_MAX_COUNT,
    accuracy_figure,
    chance_answers,
    chance_report,
    majority_answers,
    markdown_table,
    score_answers,
    type_table,
    write_reports,
)
from rmlite.reward import metrics
from rmlite.schema import CHOICE_LETTERS, answer_kind


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("ev") / "data"
    q = QuestionConfig(per_map={"torf1": 4, "counting2": 2, "counting1": 2, "counting3": 1, "planning": 2})
    generate_dataset(out, DatasetConfig(n_maps=0, real_maps=("oslo",), questions=q), progress=False, workers=1)
    return [dict(r) for r in load_questions(out, "train")]


def test_oracle_and_hand_computed_accuracy(samples, tmp_path):
    oracle = score_answers(samples, [reference_completion(s) for s in samples], name="oracle")
    assert oracle.summary["accuracy"] == 1.0
    # Wrong on exactly the torf1 questions: accuracy = 1 - n_torf1 / n; weights are equal (one map, all Plus
    # weights equal; planning weights differ only by question level), so check the by-type numbers by hand.
    flipped = [boxed("no" if s["answer"] == "yes" else "yes") if s["type"] == "torf1" else reference_completion(s)
               for s in samples]
    rep = score_answers(samples, flipped, name="flipped")
    n_torf = sum(s["type"] == "torf1" for s in samples)
    assert rep.summary["accuracy"] == pytest.approx(1 - n_torf / len(samples))
    assert rep.summary["by_type"]["torf1"]["accuracy"] == 0.0
    assert rep.summary["by_type"]["counting2"]["accuracy"] == 1.0
    out = write_reports([oracle, rep], tmp_path / "r")
    assert (out / "report.md").read_text().count("|") > 10 and (out / "accuracy.png").is_file()
    assert "oracle" in markdown_table([oracle, rep])


def test_baselines_are_well_formed(samples):
    ch = score_answers(samples, chance_answers(samples, seed=1), name="chance")
    mj = score_answers(samples, majority_answers(samples), name="majority")
    assert 0.0 <= ch.summary["accuracy"] < 1.0
    # the majority answer of torf1 is right on exactly the majority share of torf1 questions
    torf = [s["answer"] for s in samples if s["type"] == "torf1"]
    share = max(torf.count("yes"), torf.count("no")) / len(torf)
    assert mj.summary["by_type"]["torf1"]["accuracy"] == pytest.approx(share)
    assert ch.summary["by_type"]["planning"]["accuracy"] == 0.0


def test_length_mismatch_is_an_error(samples):
    with pytest.raises(ValueError):
        score_answers(samples, [])


def test_released_benchmarks_evaluate_through_the_loaders(tmp_path):
    """ReasonMap (validation) and ReasonMap-Plus (test) rows, via the loaders, score in the paper's terms."""
    from fixtures.released import save_released

    from rmlite.data.released import load_released

    rm_dir, plus_dir = save_released(tmp_path)
    for folder, split in ((rm_dir, "validation"), (plus_dir, "test")):
        rows = load_released(str(folder), split)
        samples = [{k: v for k, v in r.items() if k != "image"} for r in rows]
        oracle = score_answers(samples, [reference_completion(s) for s in samples], name="oracle")
        assert oracle.summary["accuracy"] == 1.0
        empty = score_answers(samples, ["" for _ in samples], name="empty")
        assert empty.summary["accuracy"] == 0.0 and "weighted_accuracy" in empty.summary


def test_evaluate_runs_a_model_on_released_rows(tmp_path):
    pytest.importorskip("trl")
    from fixtures.models import tiny_model_cached
    from fixtures.released import save_released

    from rmlite.data.released import load_released
    from rmlite.evaluate import evaluate
    from rmlite.models.load import load_model

    _, plus_dir = save_released(tmp_path)
    rows = load_released(str(plus_dir), "test")
    model, proc = load_model(str(tiny_model_cached()), load_in_4bit=False, lora_rank=0, dtype="float32")
    reports = evaluate(model, proc, rows, name="tiny", max_new_tokens=8, out=tmp_path / "rep", progress=False)
    assert set(reports) == {"tiny", "tiny (image masked)", "chance", "majority"}
    samples = [{k: v for k, v in r.items() if k != "image"} for r in rows]
    assert reports["chance"].summary == chance_report(samples).summary  # the expectation, not one draw
    assert reports["tiny"].summary["n"] == len(rows)
    assert (tmp_path / "rep" / "report.md").is_file()


def _every_guess(sample) -> list[str]:
    """Every answer the uniform guesser can give, written out (the independent path: each is judged by ReasonMap's
    metric, so a key the metric reads differently from `chance_probability` would show)."""
    kind = answer_kind(sample["type"])
    if kind == "letter":
        return [boxed(c) for c in CHOICE_LETTERS]
    if kind == "yes_no":
        return [boxed("yes"), boxed("no")]
    if kind == "integer":
        return [boxed(str(i)) for i in range(1, CHANCE_MAX_COUNT + 1)]
    return [""]


def test_chance_is_the_expected_accuracy_per_type(samples):
    """Per type, the chance report's accuracy is the mean over questions of the share of the guesser's possible
    answers that the metric judges right, and its SE is that of a guesser's accuracy: sqrt(sum p(1 - p)) / n."""
    p_by_type = defaultdict(list)
    for s in samples:
        guesses = _every_guess(s)
        p_by_type[s["type"]].append(sum(metrics.judge(g, s)["correct"] for g in guesses) / len(guesses))
    table = type_table(chance_report(samples))
    assert set(table) == {*p_by_type, "all"}
    for t, ps in p_by_type.items():
        assert table[t]["n"] == len(ps)
        assert table[t]["accuracy"] == pytest.approx(sum(ps) / len(ps), abs=1e-12), t
        assert table[t]["se"] == pytest.approx(math.sqrt(sum(p * (1 - p) for p in ps)) / len(ps), abs=1e-12), t
    assert table["torf1"]["accuracy"] == 0.5 and table["planning"]["accuracy"] == 0.0
    assert 0 < table["counting3"]["accuracy"] <= 1 / CHANCE_MAX_COUNT  # the random draw read 0.0 here


def test_chance_report_is_not_one_draw(samples):
    """Red team: a single draw of guesses (what the report used to show) depends on its seed; the expectation does
    not, and the draws average to it."""
    counting = [s for s in samples if answer_kind(s["type"]) == "integer"]
    draws = [score_answers(counting, chance_answers(counting, seed=k)).summary["accuracy"] for k in range(400)]
    expected = chance_report(counting).summary["accuracy"]
    assert min(draws) == 0.0 < expected  # one unlucky draw reads 0.0 on these few count questions
    se = type_table(chance_report(counting))["all"]["se"]
    assert abs(sum(draws) / len(draws) - expected) < 4 * se / math.sqrt(len(draws))
    assert chance_report(counting).summary == chance_report(list(counting)).summary


def test_accuracy_figure_shows_models_baselines_and_n(samples):
    oracle = score_answers(samples, [reference_completion(s) for s in samples], name="base")
    empty = score_answers(samples, ["" for _ in samples], name="stage2")
    masked = score_answers(samples, ["" for _ in samples], name="stage2 (image masked)")
    fig = accuracy_figure([oracle, empty, masked, chance_report(samples),
                           score_answers(samples, majority_answers(samples), name="majority")])
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.0, 1.0)
    bars = [c for c in ax.containers if c.__class__.__name__ == "BarContainer"]
    types = sorted({s["type"] for s in samples})
    assert len(bars) == 3 and all(len(b) == len(types) + 1 for b in bars)  # one bar per model and type (+ all)
    assert [b.get_label() for b in bars] == ["base", "stage2", "stage2 (image masked)"]
    assert bars[2][0].get_hatch() == "//" and bars[0][0].get_hatch() is None
    assert len([c for c in ax.containers if c.__class__.__name__ == "ErrorbarContainer"]) == 3  # ± SE on each
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    n = {t: sum(s["type"] == t for s in samples) for t in types}
    assert ticks == [f"{t}\nn={n[t]}" for t in types] + [f"all\nn={len(samples)}"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "chance" in legend and "majority" in legend
    torf = types.index("torf1")
    chance_line = next(c for c in ax.collections if c.get_label() == "chance")
    assert chance_line.get_segments()[torf][0][1] == pytest.approx(0.5)  # the baseline drawn at its expectation


def test_compat_release_judges_the_same_answers_as_the_release(samples, monkeypatch):
    """`evaluate(compat="release")` adds the model's answers judged as ReasonMap's release judges them, beside
    rmlite's; each record equals the independent re-implementation of the release (tests/fixtures/released_eval)."""
    from fixtures.released_eval import released_judgement

    import rmlite.evaluate as ev

    echo = "Route Name: Line x\nDeparture Stop: xx Station\nArrival Stop: xx Station\n--\n"
    answers = [(echo if s["type"] == "planning" else "") + reference_completion(s) for s in samples]
    monkeypatch.setattr(ev, "answers_for", lambda *a, **k: answers)
    ours = ev.evaluate(None, None, samples, name="m", image_masked=False)["m"]
    theirs = ev.evaluate(None, None, samples, name="m", image_masked=False, compat="release")
    assert set(theirs) == {"m", "m (release)", "chance", "majority"}
    assert ours.summary == theirs["m"].summary and ours.summary["accuracy"] == 1.0  # the echo is dropped
    for rec, s, a in zip(theirs["m (release)"].records, samples, answers, strict=True):
        want = released_judgement(a, s)
        assert {k: rec[k] for k in want} == pytest.approx(want)
    assert theirs["m (release)"].summary["by_type"]["planning"]["accuracy"] == 0.0  # the release reads the echo
    assert set(ev.evaluate(None, None, samples, name="m", image_masked=False, compat="default")) == \
        {"m", "chance", "majority"}
    with pytest.raises(ValueError, match="compat must be one of default, release"):
        ev.evaluate(None, None, samples, compat="relase")


def test_eval_command_takes_compat():
    from rmlite.cli import build_parser

    parse = build_parser().parse_args
    base = ["eval", "--data", "d", "--model", "m", "--out", "o"]
    assert parse(base).compat == "default" and parse([*base, "--compat", "release"]).compat == "release"
    with pytest.raises(SystemExit) as e:
        parse([*base, "--compat", "relase"])
    assert e.value.code == 2
