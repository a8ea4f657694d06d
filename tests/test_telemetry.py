"""Training telemetry that says whether the model learns: rmlite's zero-spread metrics (checked against a
recomputation from completions.jsonl on a multi-prompt run), the held-out evaluation callback, pass@k before GRPO.
"""

import json
import math
import shutil
from collections import defaultdict

import pytest
from fixtures.models import tiny_model_cached

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig
from rmlite.data.store import load_split

pytest.importorskip("trl")


def mixed_reward(completion: str, sample: dict) -> float:
    """Constant on yes/no questions (those groups never spread), text-dependent elsewhere (most groups spread)."""
    if sample["type"] == "torf1":
        return 1.0
    return (len(set(completion)) % 3) / 2.0


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("telemetry") / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 2, "planning": 2})
    generate_dataset(out, DatasetConfig(n_maps=3, size=512, test_fraction=0.0, questions=q), progress=False,
                     workers=1)
    return out


def _model(tmp_path, four_bit=True):
    from rmlite.models.load import load_model

    src = tmp_path / "tiny"
    shutil.copytree(tiny_model_cached(), src)
    return load_model(str(src), load_in_4bit=four_bit, lora_rank=8)


def _recompute(rows):
    """Independent path: per logged step, group the rollouts by question id and test whether all totals are equal."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["step"], r["id"])].append((r["type"], r["reward"]["total"]))
    per_step = defaultdict(lambda: defaultdict(list))
    for (step, _), vals in groups.items():
        zero = len({v for _, v in vals}) == 1
        per_step[step]["total"].append(zero)
        per_step[step][vals[0][0]].append(zero)
    return {step: {k: sum(v) / len(v) for k, v in d.items()} for step, d in per_step.items()}


@pytest.mark.slow
def test_zero_spread_share_equals_recomputation_from_completions(data_dir, tmp_path):
    """4 prompts × 8 completions per step: rmlite's `zero_spread/*` equal the recomputation to the last digit, and
    TRL's `frac_reward_zero_std` (batch std under scale_rewards="batch") does not measure it."""
    from rmlite.schema import COMPLETIONS_FILE
    from rmlite.train.grpo import cpu_tiny_settings, read_metrics, train

    model, proc = _model(tmp_path)
    ds = load_split(data_dir, "train")
    settings = cpu_tiny_settings(str(tmp_path / "run"), max_steps=3, num_generations=8,
                                 per_device_train_batch_size=32, max_completion_length=6)
    res = train(model, proc, ds, reward=mixed_reward, curriculum="none", settings=settings)
    rows = [json.loads(x) for x in (res.output_dir / COMPLETIONS_FILE).read_text().splitlines()]
    assert len(rows) == 3 * 32 and {r["rank"] for r in rows} == {0}
    expected = _recompute(rows)
    metrics = read_metrics(res.output_dir)
    assert [m["step"] for m in metrics] == [1, 2, 3]
    mixed_steps = 0
    for m in metrics:
        exp = expected[m["step"] - 1]  # completions carry the step being trained (0-based), metrics the step done
        assert m["zero_spread/groups"] == 4
        assert m["zero_spread/total"] == exp["total"]
        assert m["zero_spread/rewards/mixed_reward"] == exp["total"]
        for t, share in exp.items():
            if t != "total":
                assert m[f"zero_spread/type/{t}"] == share, t
        if "torf1" in exp:
            assert m["zero_spread/type/torf1"] == 1.0
        mixed_steps += 0 < exp["total"] < 1
        # TRL's batch-std reading: 1 only when the whole batch has one reward, whatever the groups do
        batch = {r["reward"]["total"] for r in rows if r["step"] == m["step"] - 1}
        assert m["frac_reward_zero_std"] == float(len(batch) == 1)
        if 0 < exp["total"] < 1:
            assert m["frac_reward_zero_std"] == 0.0
    assert mixed_steps >= 1, "no step mixed zero-spread and spread groups: the check would be vacuous"
    assert (res.output_dir / "metrics.png").is_file()
    run = json.loads((res.output_dir / "run.json").read_text())
    assert run["num_processes"] == 1 and json.loads((res.output_dir / "curriculum.json").read_text())[
        "num_processes"] == 1


def test_spread_metrics_by_hand():
    from rmlite.stats import has_spread, zero_spread_share
    from rmlite.train.spread import spread_metrics

    assert not has_spread([2.0, 2.0, 2.0]) and has_spread([2.0, 2.0, 2.5])
    assert not has_spread([11.5, 11.5 + 1e-7])  # float32 sums of float64 rewards
    assert not has_spread([1.0, float("nan")]) and has_spread([0.0, float("nan"), 1.0])  # NaN: unscorable, left out
    assert math.isnan(zero_spread_share([]))
    m = spread_metrics({"a": [0, 0, 1, 1], "b": [0, 1, 0, 0]}, [0, 1, 1, 1], ["x", "x", "y", "y"], 2)
    assert m == {"zero_spread/groups": 2, "zero_spread/total": 0.5, "zero_spread/rewards/a": 1.0,
                 "zero_spread/rewards/b": 0.5, "zero_spread/type/x": 0.0, "zero_spread/type/y": 1.0}
    with pytest.raises(ValueError, match="groups of 3"):
        spread_metrics({}, [0, 1], ["x", "x"], 3)


@pytest.mark.slow
def test_heldout_callback_logs_per_type_with_baselines(tiny_grpo_run):
    """On the session's shared run (tests/fixtures/grpo_run.py): held-out evaluations every 4 steps. (An end off
    the grid, evaluated too: test_resume_records, every 3 steps of 5.)"""
    from rmlite.evaluate import score_answers, type_table
    from rmlite.models.inference import answers_for
    from rmlite.schema import HELDOUT_FILE
    from rmlite.train.grpo import read_metrics

    run = tiny_grpo_run
    cb, res, steps = run.held, run.res, run.settings.max_steps
    assert cb.every == 4 and steps > 4  # at least one evaluation between the start and the end
    want = sorted({0, *range(4, steps + 1, 4), steps})  # the start, every 4 steps, the end
    assert sorted(cb.reports) == want
    lines = [json.loads(x) for x in (res.output_dir / HELDOUT_FILE).read_text().splitlines()]
    assert [x["step"] for x in lines] == want
    # independent path: the final model's greedy answers, scored again, give the last row
    again = type_table(score_answers(cb.samples, answers_for(run.model, run.proc, cb.rows,
                                                             max_new_tokens=cb.max_new_tokens, progress=False)))
    assert lines[-1]["by_type"] == json.loads(json.dumps(again))
    metrics = read_metrics(res.output_dir)
    logged = [m for m in metrics if "heldout/accuracy" in m]
    assert [m["heldout/step"] for m in logged] == want  # step 0's evaluation lands in step 1's row
    types = {s["type"] for s in cb.samples}
    assert all({f"heldout/accuracy/{t}" for t in types} | {f"heldout/format_errors/{t}" for t in types}
               | {"heldout/chance", "heldout/majority", "heldout/accuracy_se"} <= set(m) for m in logged)
    d, se, n = cb.change()
    assert n == len(cb.samples) and -1 <= d <= 1 and se >= 0


def test_format_errors_apart_from_wrong_answers():
    from rmlite.data.store import load_questions
    from rmlite.evaluate import change_table, paired_change, score_answers, type_table

    q = [dict(r) for r in load_questions("data/mini", "train")]
    yn = [s for s in q if s["type"] == "torf1"][:4]
    wrong = {"yes": r"\boxed{no}", "no": r"\boxed{yes}"}
    before = score_answers(yn, [r"\boxed{2}"] * 4, name="before")  # the format swap: a count for a yes/no
    after = score_answers(yn, [rf"\boxed{{{s['answer']}}}" for s in yn[:2]] + [wrong[s["answer"]] for s in yn[2:]],
                          name="after")
    tb, ta = type_table(before)["torf1"], type_table(after)["torf1"]
    assert (tb["accuracy"], tb["format_errors"], tb["wrong"]) == (0.0, 1.0, 0.0)
    assert (ta["accuracy"], ta["format_errors"], ta["wrong"]) == (0.5, 0.0, 0.5)
    d, se, n = paired_change(before, after)
    assert (d, n) == (0.5, 4) and se == pytest.approx(math.sqrt(1 / 3 / 4))  # diffs 1,1,0,0: sd² = 1/3
    table = change_table(before, after)
    assert "+0.500 ± 0.289" in table and "1.00 → 0.00" in table


@pytest.mark.slow
def test_pass_at_k_warns_when_sampling_is_guessing(warm_model_dir, toy_data, capsys):
    from rmlite.evaluate import pass_at_k
    from rmlite.models.load import load_model
    from rmlite.models.passk import NOTHING_TO_LEARN, TypePassAtK

    samples, images = toy_data
    model, proc = load_model(str(warm_model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    rows = [{**s, "image": images[s["map_id"]]} for s in samples[:12]]
    rep = pass_at_k(model, proc, rows, k=4)
    assert set(rep.by_type) == {s["type"] for s in samples[:12]}
    for t, p in rep.by_type.items():
        assert 0 <= p.greedy <= 1 and 0 <= p.pass_k <= 1 and p.n == sum(s["type"] == t for s in samples[:12])
        keys = [s["answer"] for s in samples[:12] if s["type"] == t]
        kind_route = t == "planning"
        expected = 0.0 if kind_route else sum(1 - (1 - keys.count(a) / len(keys)) ** 4 for a in keys) / len(keys)
        assert p.chance_k == pytest.approx(expected)
    printed = [x for x in capsys.readouterr().out.splitlines() if NOTHING_TO_LEARN in x]
    assert len(printed) == len(rep.warnings())
    # the rule itself: a yes/no type with pass@8 1.0 on 20 questions is guessing (1 - 0.5^8 = 0.996) ...
    assert TypePassAtK("torf1", 20, 0.5, 0.1, 1.0, 0.0, 0.996).at_chance
    # ... a route never is guessed right: 0 is at chance, 0.3 is not; a letter type at 0.9 vs 0.68 is above chance
    assert TypePassAtK("planning", 20, 0.0, 0.0, 0.0, 0.0, 0.0).at_chance
    assert not TypePassAtK("planning", 20, 0.1, 0.07, 0.3, 0.1, 0.0).at_chance
    assert not TypePassAtK("counting1", 40, 0.5, 0.1, 0.9, 0.05, 1 - 0.75 ** 4).at_chance
