"""Reward-design lab: error operators (each checked by the reward's parser and by an independent reader written
here), policies, the sparse-vs-paper signal-density expectation, W under the three advantage scalings, probes,
logged completions and the command line."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import subprocess
import sys

import numpy as np
import pytest
from fixtures.oracle import read_route

from rmlite.cli import lab_main
from rmlite.data.answers import reference_completion
from rmlite.data.questions import generate_questions
from rmlite.lab.ladders import error_ladders
from rmlite.lab.measure import lab_logged, run_lab
from rmlite.lab.mistakes import OPERATORS, REFUSAL, apply_errors
from rmlite.lab.probes import hack_probes, probe_table
from rmlite.lab.rollouts import Policy, simulate
from rmlite.lab.stats import group_spearman, measure, rankdata, score_rollouts, spearman
from rmlite.maps.generate import GeneratorConfig, generate_network
from rmlite.reward import parse
from rmlite.reward.config import PAPER, SPARSE
from rmlite.reward.score import score


@pytest.fixture(scope="module")
def samples() -> list[dict]:
    out = []
    for i in range(12):
        net = generate_network(GeneratorConfig(difficulty=("easy", "middle", "hard")[i % 3], size=512), i)
        out += generate_questions(net, map_id=f"m{i}", seed=i)
    return out


@pytest.fixture(scope="module")
def planning(samples) -> list[dict]:
    return [s for s in samples if s["type"] == "planning"]


# ----- an independent reader of the reference format (no rmlite parsing: fixtures.oracle.read_route) ---------------
def read_boxed(text: str) -> str:
    assert text.startswith("\\boxed{") and text.endswith("}"), text
    return text[len("\\boxed{"):-1]


def valid_route(secs, md, s1, s2) -> bool:
    """ReasonMap's Algorithm 1 on exact names."""
    if secs[0][1] != s1 or secs[-1][2] != s2:
        return False
    for i, (ln, a, b) in enumerate(secs):
        if ln not in md or a not in md[ln] or b not in md[ln]:
            return False
        if i + 1 < len(secs) and b != secs[i + 1][1]:
            return False
    return True


def _reference_sections(s):
    return read_route(reference_completion(s))


def check_planning(name, s, text):
    md = json.loads(s["metro_data"])
    ref, got = _reference_sections(s), read_route(text)
    stations = {x for st in md.values() for x in st}
    if name == "wrong_line":
        diff = [(r, g) for r, g in zip(ref, got, strict=True) if r != g]
        assert len(diff) == 1 and diff[0][0][1:] == diff[0][1][1:]
        ln, a, b = diff[0][1]
        assert ln in md and not (a in md[ln] and b in md[ln])
    elif name == "neighbour_station":
        diff = [(r, g) for r, g in zip(ref, got, strict=True) if r != g]
        assert len(diff) == 1
        (ln, a, b), (_, a2, b2) = diff[0]
        old, new = (a, a2) if a != a2 else (b, b2)
        assert abs(md[ln].index(old) - md[ln].index(new)) == 1
        assert (got[0][1], got[-1][2]) != (s["station1"], s["station2"])
    elif name == "misread_station":
        names = {x for sec in got for x in sec[1:]} - {x for sec in ref for x in sec[1:]}
        assert len(names) == 1
        (new,) = names
        assert new not in stations
        old = next(x for sec in ref for x in sec[1:] if x not in {y for g in got for y in g[1:]})
        assert new != old and abs(len(new) - len(old)) <= 1  # one letter swapped, dropped or doubled
    elif name == "other_line_stop":
        bad = [(ln, b) for ln, _, b in got if b not in md[ln]]
        assert len(bad) == 1 and bad[0][1] in stations
    elif name == "missing_transfer":
        assert len(got) == len(ref) - 1 and any(b not in md[ln] for ln, _, b in got)
    elif name in ("extra_transfer", "detour"):
        assert len(got) == len(ref) + 1 and valid_route(got, md, s["station1"], s["station2"])  # valid, longer
        ref_stops = {x for sec in ref for x in sec[1:]}
        if name == "extra_transfer":  # the new change happens at a stop the reference rides through
            assert any(b not in ref_stops for _, _, b in got[:-1])
        else:  # ride past a stop on one line, then back on the same line to a stop in between
            pos = lambda ln, x: md[ln].index(x)  # noqa: E731
            assert any(g[0] == h[0] and min(pos(g[0], g[1]), pos(g[0], g[2])) < pos(h[0], h[2])
                       < max(pos(g[0], g[1]), pos(g[0], g[2])) for g, h in itertools.pairwise(got))
    elif name == "reversed_direction":
        assert got == [(ln, b, a) for ln, a, b in reversed(ref)]
    elif name == "hallucinated_section":
        assert len(got) == len(ref) + 1 and sum(ln not in md for ln, _, _ in got) == 1
    elif name == "repeated_section":
        assert len(got) == len(ref) + 1 and any(g == h for g, h in itertools.pairwise(got))
    if OPERATORS[name].fatal:
        assert not valid_route(got, md, s["station1"], s["station2"])


def check_perception(name, s, text):
    key = s["answer"]
    if name == "off_by_one":
        v = read_boxed(text)
        if s["type"] == "counting1":
            ch = s["choices"]
            assert abs(ch["ABCD".index(v)] - ch["ABCD".index(key)]) == 1
        else:
            assert abs(int(v) - int(key)) == 1
    elif name == "wrong_letter":
        assert read_boxed(text) in "ABCD" and read_boxed(text) != key
    elif name == "flipped_yes_no":
        assert {read_boxed(text), key} == {"yes", "no"}


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_operator_produces_the_error_it_names(name, samples):
    op, n = OPERATORS[name], 0
    for i, s in enumerate(samples):
        if not op.applies_to(s):
            continue
        text = apply_errors(s, [name], seed=i)
        if text is None:  # does not apply to this question (e.g. a missing transfer on a direct route)
            continue
        n += 1
        b = score(text, s, PAPER)
        # The reward's own parse sees the error: correctness lost exactly for fatal operators.
        assert b.correct is not op.fatal, (name, text, b.reason)
        if name == "broken_format":
            assert "\\boxed" not in text and "Route Name" not in text and b.parsed is None
        elif name == "loose_format":
            assert b.format == 0.0 and text != reference_completion(s)
        elif name == "empty":
            assert text == "" and b.parsed is None
        elif name == "refusal":
            assert text == REFUSAL and b.parsed is None
        elif s["type"] == "planning":
            lenient = [(x.route_name, x.departure, x.arrival) for x in parse.parse_route(text)]
            assert lenient == read_route(text)  # the reward reads the same sections as the independent reader
            check_planning(name, s, text)
        else:
            assert b.parsed == read_boxed(text)
            check_perception(name, s, text)
    assert n >= 5, f"{name} applied to only {n} questions"


def test_no_error_is_the_reference(samples):
    for s in samples:
        ref = reference_completion(s)
        assert apply_errors(s, []) == ref and apply_errors(s, ["none"]) == ref
        assert score(ref, s, PAPER).correct
    r = simulate(samples, Policy(0.0), group_size=4)
    assert r.texts == [reference_completion(s) for s in samples for _ in range(4)] and not any(r.n_errors)


def test_operators_compose(planning):
    s = next(p for p in planning if p["question_transfer_count"] >= 2)
    text = apply_errors(s, ["missing_transfer", "misread_station"], seed=1)
    assert len(read_route(text)) == len(_reference_sections(s)) - 1 and not score(text, s, PAPER).correct


def test_simulation_is_deterministic_and_its_correctness_matches_the_reward(samples):
    a = simulate(samples, Policy(0.5), 8, seed=3)
    b = simulate(samples, Policy(0.5), 8, seed=3)
    c = simulate(samples, Policy(0.5), 8, seed=4)
    assert a.texts == b.texts and a.ops == b.ops and a.texts != c.texts
    for k, t in enumerate(a.texts):
        s = a.samples[k // 8]
        assert score(t, s, PAPER).correct == a.correct[k], (a.ops[k], t)
    assert set(n for ops in a.ops for n in ops) >= {"wrong_line", "flipped_yes_no", "off_by_one"}
    # Questions that differ in difficulty for the model (small concentration): more all-same groups.
    mixed = simulate(samples, Policy(0.3, concentration=0.3), 8, seed=3)
    assert mixed.texts == simulate(samples, Policy(0.3, concentration=0.3), 8, seed=3).texts
    same = simulate(samples, Policy(0.3), 8, seed=3)
    share = [np.mean(np.array(x.correct).reshape(-1, 8).all(1) | ~np.array(x.correct).reshape(-1, 8).any(1))
             for x in (mixed, same)]
    assert share[0] > share[1]


def test_policy_validates():
    with pytest.raises(ValueError, match="error_rate"):
        Policy(1.5)
    with pytest.raises(ValueError, match="unknown operators"):
        Policy(0.5, {"teleport": 1.0})


def _planning_rows(res, reward, rate):
    return next(r for r in res.rows if (r["reward"], r["error_rate"], r["type"], r["difficulty"])
                == (reward, rate, "planning", "all"))


def test_sparse_reward_starves_weak_policies_and_paper_does_not(planning):
    res = run_lab(planning, ("sparse", "paper"), (0.05, 0.1, 0.5, 0.8), group_size=8)
    for e in (0.5, 0.8):
        sparse, paper = _planning_rows(res, "sparse", e), _planning_rows(res, "paper", e)
        assert sparse["frac_reward_zero_std"] > 0.5  # most groups give no gradient
        assert paper["frac_reward_zero_std"] < sparse["frac_reward_zero_std"] / 3
        assert sparse["zero_std_all_wrong"] == 1.0
    for e, least in ((0.05, 1.0), (0.1, 0.8)):  # a strong policy: the zero-spread groups are the all-correct ones
        for name in ("sparse", "paper"):  # (at 0.1 a long route can fail in all 8 rollouts now and then)
            row = _planning_rows(res, name, e)
            assert row["frac_reward_zero_std"] > 0 and row["zero_std_all_correct"] >= least
    assert _planning_rows(res, "paper", 0.5)["spearman"] < -0.3  # more errors, less reward


def test_difficulty_weight_cancels_under_group_scaling_only(samples):
    no_w = dataclasses.replace(PAPER, name="paper_no_w", gamma=(1.0, 1.0, 1.0), beta=(0.0, 0.0))
    res = run_lab(samples, (PAPER, no_w), (0.5,), group_size=8)
    from rmlite.lab.advantages import grpo_advantages

    w, plain = res.rewards[("paper", 0.5)], res.rewards[("paper_no_w", 0.5)]
    assert not np.allclose(w, plain)
    assert np.allclose(grpo_advantages(w, 8, "group"), grpo_advantages(plain, 8, "group"), atol=2e-3)
    for scale in ("batch", "none"):
        assert not np.allclose(grpo_advantages(w, 8, scale), grpo_advantages(plain, 8, scale), atol=1e-2)
    weight = np.repeat([PAPER.weight(s["difficulty_city"], s["type"], s["question_transfer_count"])
                        for s in res.rollouts[0.5].samples], 8)
    assert np.allclose(grpo_advantages(w, 8, "none"), weight * grpo_advantages(plain, 8, "none"))


def test_user_reward_callable_and_probes(samples):
    def length_reward(completion, sample):
        return float(len(completion) > 0)

    res = run_lab(samples[:60], (length_reward, "paper"), (0.5,), group_size=4, probes=True)
    assert {r["reward"] for r in res.rows} == {"length_reward", "paper"}
    probes = {(p["reward"], p["kind"], p["probe"]): p for p in hack_probes(samples, ("paper", length_reward))}
    # The paper reward pays no useless planning probe as much as the reference (it judges detours, zero-length
    # sections and longer routes correct: those are its own rules); the length reward pays padding in full.
    assert all(p["beats_reference"] == 0 for (r, k, _), p in probes.items()
               if (r, k) == ("paper", "planning") and p["rule"] in ("useless", "keeps_detail"))
    assert probes[("paper", "planning", "detour")]["correct"] == 1.0
    assert probes[("length_reward", "planning", "padding")]["beats_reference"] == 1.0
    assert probes[("paper", "planning", "every_line")]["correct"] == 0.0


def test_robust_fails_no_probe_and_paper_fails_the_issue_ones(samples):
    # Every planning question, direct ones included: there the stay-put, prompt-copy and invented-line answers are
    # a misread line (one edit, issue 22) and are not probed (`MISREAD_ON_DIRECT`, tested below).
    rows = hack_probes(samples, ("paper", "robust"), per_type=40)
    table = {r["probe"]: r for r in probe_table(rows)}
    assert {p: r["robust"] for p, r in table.items() if r["robust"] == "FAIL"} == {}
    for probe in ("stay_put", "prompt_copy", "invented_last_line", "detour", "zero_length", "useless_vs_near_miss"):
        assert table[probe]["paper"] == "FAIL", probe
    robust = {r["probe"]: r for r in rows if r["reward"] == "robust" and r["kind"] == "planning"}
    assert robust["useless_vs_near_miss"]["above_near_miss"] == 0.0
    assert robust["stay_put"]["positive_advantage"] == 0.0


def test_longer_route_and_via_count_probes(samples):
    long1 = [dict(s, template="long1") for s in samples if s["type"] == "planning"][:30]
    rows = {(r["reward"], r["probe"]): r for r in hack_probes(long1, ("paper", "robust"), per_type=30)
            if r["kind"] == "planning"}
    assert rows[("paper", "wrong_via_count")]["correct"] == 1.0  # the paper never reads the via stops
    assert rows[("robust", "wrong_via_count")]["correct"] == 0.0
    assert not rows[("robust", "wrong_via_count")]["fails"]


def test_error_ladders_are_monotone_under_sparse_and_nearly_under_robust(samples):
    rows = {r["reward"]: r for r in error_ladders(samples, ("sparse", "paper", "robust"), ladders=4)}
    assert rows["sparse"]["reversed"] == 0.0 and rows["sparse"]["steps"] > 200
    assert rows["robust"]["reversed"] <= 0.02
    assert rows["robust"]["spearman_within"] < rows["paper"]["spearman_within"] < -0.5


def test_rank_statistics_match_brute_force():
    rng = random.Random(0)
    for _ in range(50):
        x = [rng.choice([0, 1, 2, 2.5]) for _ in range(rng.randint(2, 9))]
        brute = [sum(y < v for y in x) + (sum(y == v for y in x) + 1) / 2 for v in x]
        assert rankdata(x).tolist() == brute
    a, b = np.array([[1.0, 2, 3, 3], [1, 1, 1, 1]]), np.array([[3.0, 2, 1, 0], [0, 1, 2, 3]])
    rho = group_spearman(a, b)
    assert rho[0] == pytest.approx(spearman(a[0], b[0])) and rho[0] < -0.9 and np.isnan(rho[1])


def test_logged_completions_give_the_same_metrics(samples, tmp_path):
    sim = simulate(samples[:40], Policy(0.5), 4, seed=1)
    path = tmp_path / "completions.jsonl"
    rows = [{"step": 7, "stage": 0, "id": sim.samples[k // 4]["id"], "type": sim.samples[k // 4]["type"],
             "completion": t, "reward": {"total": 0.0}} for k, t in enumerate(sim.texts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from rmlite.lab.measure import read_completions

    by_id = {s["id"]: s for s in samples}
    res = lab_logged(read_completions(path), by_id, ("sparse",))
    direct = measure(sim, score_rollouts(sim, "sparse"), "sparse", "logged")
    key = ("frac_reward_zero_std", "reward_mean", "reward_std", "accuracy")
    assert [[r[k] for k in key] for r in res.rows] == [[r[k] for k in key] for r in direct]
    with pytest.raises(ValueError, match="not in the data set"):
        lab_logged(rows, {}, ("sparse",))


def test_command_line_writes_tables_and_plot(tmp_path, capsys):
    from rmlite.data.build import DatasetConfig, generate_dataset

    data = generate_dataset(tmp_path / "data", DatasetConfig(n_maps=3, size=512), workers=1)
    out = tmp_path / "lab"
    assert lab_main(["--data", str(data), "--rewards", "sparse,paper", "--group-size", "4", "--error-rates",
                     "0.2,0.8", "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == {"lab.jsonl", "lab.txt", "probes.jsonl", "signal_density.png",
                                            ".rmlite-output.json"}  # the marker: lab wrote this folder
    assert "frac_reward_zero_std" in capsys.readouterr().out
    rows = [json.loads(x) for x in (out / "lab.jsonl").read_text().splitlines()]
    assert {r["error_rate"] for r in rows} == {0.2, 0.8}


@pytest.mark.parametrize("module", ["rmlite.lab.mistakes", "rmlite.lab.measure"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_import_is_light():
    code = ("import sys, rmlite.lab; heavy = [m for m in ('torch', 'transformers', 'trl', 'datasets') "
            "if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sparse_preset_is_format_plus_correctness(samples):
    s = samples[0]
    assert score(reference_completion(s), s, SPARSE).total == SPARSE.format_points + SPARSE.correct_points


# ----- the lab's headline, console and figure -----------------------------------------------------------------------
def _rows(table):
    """Lab rows from {(reward, rate, type): (zero-spread share, groups)}."""
    return [{"reward": r, "error_rate": e, "type": t, "difficulty": "all", "groups": n, "frac_reward_zero_std": p}
            for (r, e, t), (p, n) in table.items()]


def test_headline_names_the_fewest_zero_spread_reward_per_error_rate():
    from rmlite.lab.report import headline, zero_spread

    rows = _rows({("sparse", 0.2, "planning"): (0.30, 100), ("paper", 0.2, "planning"): (0.05, 100),
                  ("robust", 0.2, "planning"): (0.08, 100), ("sparse", 0.8, "planning"): (0.70, 100),
                  ("paper", 0.8, "planning"): (0.10, 100), ("robust", 0.8, "planning"): (0.01, 100),
                  ("sparse", 0.2, "torf1"): (0.0, 50)})
    se = {p: (p * (1 - p) / 99) ** 0.5 for p in (0.05, 0.08, 0.30, 0.01, 0.10, 0.70)}  # 0/1 flags, n - 1
    assert zero_spread(rows)["paper"] == [(0.2, 0.05, round(se[0.05], 6), 100), (0.8, 0.10, round(se[0.10], 6), 100)]
    text = headline(rows)
    at02, at08 = text.split("At error rate 0.2, ")[1].split("At error rate 0.8, ")
    # 0.2: paper fewest; robust is within 2 SE of it (0.03 < 2 * hypot(0.0218, 0.0271)); sparse is not
    assert at02.startswith(f"fewest: paper 0.050 ± {se[0.05]:.3f} (100 groups); within 2 SE: robust 0.080")
    assert "then sparse 0.300" in at02
    assert at08.startswith("fewest: robust 0.010") and "within 2 SE" not in at08 and "then paper 0.100" in at08
    assert "torf1" not in text  # the headline is about planning groups


def test_console_tables_fit_a_terminal(samples):
    from rmlite.lab.report import console_summary

    res = run_lab(samples, ("sparse", "paper", "official", "robust"), error_rates=(0.2, 0.8), group_size=4)
    for qtype in (None, "planning"):
        text = console_summary(res, qtype)
        assert text.startswith("Headline:") and max(map(len, text.splitlines())) <= 120
    assert "counting1" not in console_summary(res, "planning").split("\n\n", 1)[1]


def test_signal_density_figure_headline_first_every_reward_visible(samples):
    from rmlite.lab.report import signal_density_figure

    rewards = ("sparse", "paper", "official", "robust")
    res = run_lab(samples, rewards, error_rates=(0.2, 0.5, 0.8), group_size=4)
    fig = signal_density_figure(res.rows)
    top, *small = fig.axes
    area = lambda ax: ax.get_position().width * ax.get_position().height  # noqa: E731
    assert all(area(top) > 4 * area(ax) for ax in small), "the headline panel is first and large"
    n_plan = next(r["groups"] for r in res.rows if r["type"] == "planning" and r["difficulty"] == "all")
    assert "planning" in top.get_title(loc="left") and f"n = {n_plan}" in top.get_title(loc="left")
    assert all("(n = " in ax.get_title(loc="left") for ax in small)
    assert [c.get_label() for c in top.containers] == list(rewards)  # one errorbar series (± SE) per reward
    drawn = [c.lines[0] for c in top.containers]
    assert len({ln.get_marker() for ln in drawn}) == 4 and len({ln.get_linestyle() for ln in drawn}) == 4
    xs = [tuple(ln.get_xdata()) for ln in drawn]
    assert len(set(xs)) == 4, "dodged: no two rewards share x positions (sparse cannot hide under paper)"
    assert len(fig.legends) == 1 and [t.get_text() for t in fig.legends[0].get_texts()] == list(rewards)
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_lab_reads_the_group_size_of_a_run(tmp_path, capsys):
    """`rmlite lab --completions RUN` measures a normal run: the group size comes from the run's run.json (training
    used groups of 4 while the simulated default is 8, and only groups of exactly that size are measured)."""
    from rmlite.cli.args import UserError
    from rmlite.cli.lab_command import logged_group_size
    from rmlite.data.build import MINI_DIR
    from rmlite.data.store import load_questions

    mini = load_questions(MINI_DIR, "train").to_list()[:10]
    sim = simulate(mini, Policy(0.5), 4, seed=2)
    run = tmp_path / "run"
    run.mkdir()
    rows = [{"step": 1 + k // 8, "stage": 0, "rank": 0, "id": sim.samples[k // 4]["id"], "type": "x",
             "completion": t, "reward": {"total": 0.0}} for k, t in enumerate(sim.texts)]
    (run / "completions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert logged_group_size(run / "completions.jsonl", None) is None  # no run.json: the most common size
    (run / "run.json").write_text(json.dumps({"reward": "paper", "settings": {"num_generations": 4}}))
    assert logged_group_size(run / "completions.jsonl", None) == 4 and logged_group_size(run, 6) == 6
    assert lab_main(["--data", str(MINI_DIR), "--completions", str(run), "--rewards", "sparse", "--no-plots",
                     "--out", str(tmp_path / "lab")]) == 0
    measured = [json.loads(x) for x in (tmp_path / "lab" / "lab.jsonl").read_text().splitlines()]
    assert measured and {r["error_rate"] for r in measured} == {"logged"}
    headline, = [r for r in measured if r["type"] == "all" and r["difficulty"] == "all"]
    assert headline["groups"] == 10 and "(no rows)" not in capsys.readouterr().out  # every group of 4 measured
    (run / "run.json").write_text(json.dumps({"reward": "paper"}))
    with pytest.raises(UserError, match="num_generations"):
        logged_group_size(run / "completions.jsonl", None)


def test_misread_line_answers_are_probes_only_where_a_transfer_is_needed(samples):
    from rmlite.lab.probes import MISREAD_ON_DIRECT, probe_answers

    planning = [s for s in samples if s["type"] == "planning"]
    direct = next(s for s in planning if not s["question_transfer_count"])
    transfer = next(s for s in planning if s["question_transfer_count"])
    assert not set(MISREAD_ON_DIRECT) & set(probe_answers(direct))
    assert set(MISREAD_ON_DIRECT) <= set(probe_answers(transfer))
