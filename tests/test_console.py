"""The training console and the run folder on a real run: one bar instead of TRL's metrics dicts, one line per stage
switch, no known-harmless warning, the full metrics still in the files, README.md cards instead of TRL's, the curves'
stage boundary where the stage began, and `overwrite` that leaves no old checkpoint behind.

One short training (the tiny VLM, two curriculum stages, a held-out set) is shared by the module's tests: the
session's `tiny_grpo_run` (tests/fixtures/grpo_run.py), which tests/test_grpo.py and tests/test_telemetry.py share.
"""

import json
import re
import shutil
import warnings

import pytest
from fixtures.grpo_run import load_tiny, train_captured

pytest.importorskip("trl")
pytestmark = pytest.mark.slow  # every test here reads the shared GRPO run (a training run)

TRL_KEYS = ("loss", "grad_norm", "learning_rate", "reward", "reward_std", "frac_reward_zero_std",
            "completions/mean_length", "rewards/format_reward/mean", "rewards/accuracy/mean", "entropy", "step_time")


@pytest.fixture(scope="module")
def run(tiny_grpo_run):
    """The session's shared GRPO run (tests/fixtures/grpo_run.py)."""
    return tiny_grpo_run


def _bar_lines(text: str) -> list[str]:
    return [x.strip() for x in re.split(r"[\r\n]", text) if x.strip()]


def is_metrics_dict(line: str) -> bool:
    """A line that prints a metrics dict the way transformers' printers do ("{'loss': ...")."""
    return re.search(r"\{\s*['\"](loss|reward|train_runtime)['\"]\s*:", line) is not None


def test_console_shows_one_bar_and_no_metrics_dict(run):
    lines = _bar_lines(run.out) + _bar_lines(run.err)
    assert lines, "nothing printed: the bar is missing"
    dicts = [x for x in lines if is_metrics_dict(x) or "{'loss':" in x or '{"loss"' in x]
    assert not dicts, dicts[:2]
    assert is_metrics_dict("{'loss': '0', 'grad_norm': '0'}") and is_metrics_dict('{"reward": 1}')


def test_bar_postfix_carries_the_last_steps_numbers(run):
    rows = run.res.metrics
    last = rows[-1]
    heldout = [r["heldout/accuracy"] for r in rows if "heldout/accuracy" in r][-1]
    final = [x for x in _bar_lines(run.err) if "s/step" in x][-1]
    steps = run.settings.max_steps
    assert f"{steps}/{steps}" in final
    for part in ("stage 2/2 planning", f"reward {last['reward']:.3f}", f"acc {last['rewards/accuracy/mean']:.2f}",
                 f"zero-spread {last['zero_spread/total']:.2f}", f"held-out {heldout:.2f}"):
        assert part in final, (part, final)
    assert re.search(r"\d+\.\d s/step", final), final


def test_stage_switch_prints_one_line_at_the_step_the_stage_began(run):
    rows = run.res.metrics
    first_planning = min(r["step"] for r in rows if r["curriculum/stage"] == 1)
    assert first_planning == run.n_perception + 1  # the schedule: perception for n_perception steps
    switch_lines = [x for x in run.out.splitlines() if x.startswith("stage ")]
    assert switch_lines == [f"stage 2/2 planning from step {first_planning}"]
    assert run.res.stage_starts == [(first_planning, 1)]
    t, = run.res.transitions
    assert t.step + 1 + 1 == first_planning  # decided by the old stage's last batch (0-based global_step), 1 step/batch


def test_known_warnings_do_not_leak_and_others_still_show(run):
    from rmlite.train.console import KNOWN_WARNINGS, quiet_known_warnings

    leaked = [w for w in run.warnings for msg, cat, _ in KNOWN_WARNINGS
              if issubclass(w.category, cat) and re.search(msg, str(w.message))]
    assert not leaked, [str(w.message) for w in leaked]
    assert not [w for w in run.warnings if "gradient_checkpointing" in str(w.message)]  # the config's one: at source
    # the filter is narrow: the same words from another module, or another FutureWarning, still show
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_known_warnings():
            warnings.warn("`is_gradient_checkpointing` is deprecated", FutureWarning, stacklevel=1)
            warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)
    assert len(caught) == 2
    # and it does silence the real one, raised by transformers itself (5.24 and later; 5.17, the pinned version,
    # has no such deprecation and must raise nothing either way)
    import transformers
    from packaging.version import Version

    deprecated = Version(transformers.__version__) >= Version("5.24")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_known_warnings():
            _ = run.model.base_model.model.is_gradient_checkpointing
        _ = run.model.base_model.model.is_gradient_checkpointing
    assert len(caught) == int(deprecated), [str(w.message) for w in caught]
    assert all(str(w.message).startswith("`is_gradient_checkpointing` is deprecated") for w in caught)


def test_metrics_files_keep_every_trl_key(run):
    rows = [json.loads(x) for x in (run.res.output_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, run.settings.max_steps + 1))
    for key in TRL_KEYS:
        assert all(key in r for r in rows), key
    assert all("zero_spread/total" in r and "curriculum/stage" in r for r in rows)
    assert (run.res.output_dir / "metrics.csv").is_file() and (run.res.output_dir / "metrics.png").is_file()


def test_run_folder_has_rmlite_cards_and_no_trl_card(run):
    out = run.res.output_dir
    card = (out / "README.md").read_text()
    assert "fine-tuned version" not in card and "TRL" not in card.split("## Files")[0]
    rows = run.res.metrics
    counts = json.loads((run.data / "manifest.json").read_text())["counts"]["train"]
    for part in (f"`{run.data}`", f"{counts['questions']} questions on {counts['maps']} maps",
                 f"; {len(run.ds)} questions given to this run", "reward: `paper`",
                 "correct_points 10.0", "Curriculum `coarse` (schedule)", "1. perception: from step 1",
                 f"2. planning: from step {run.n_perception + 1}",
                 f"steps: {run.settings.max_steps} of {run.settings.max_steps}",
                 f"sampled reward at the last step: {rows[-1]['reward']:.3f}", "rmlite 0.1.0",
                 f"--adapter {out / 'adapter'}", f"--model {run.root / 'tiny'}"):
        assert part in card, part
    steps = sorted(run.held.reports)
    before, after = run.held.reports[steps[0]], run.held.reports[steps[-1]]
    assert f"at step {steps[0]} and step {steps[-1]}" in card
    acc = lambda rep: sum(r["correct"] for r in rep.records) / len(rep.records)  # noqa: E731 (independent path)
    assert re.search(rf"\| all \| {len(before.records)} \| {acc(before):.3f} ± [\d.]+ \| {acc(after):.3f} ± ", card)
    adapter_card = (out / "adapter" / "README.md").read_text()
    assert "../README.md" in adapter_card and "Model Card" not in adapter_card
    for ckpt in out.glob("checkpoint-*"):
        assert "Model Card" not in (ckpt / "README.md").read_text()


def test_metrics_plot_marks_stage_where_it_began_and_draws_single_points(run):
    import matplotlib.pyplot as plt

    from rmlite.train.runlog import metrics_figure

    rows = run.res.metrics
    first_planning = run.res.stage_starts[0][0]
    fig = metrics_figure(rows, ("perception", "planning"))
    for ax in fig.axes:
        vlines = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_linestyle() == "--"
                  and len(ln.get_xdata()) == 2 and ln.get_xdata()[0] == ln.get_xdata()[1]]
        assert vlines == [first_planning], (ax.get_title(), vlines)
    reward_ax, spread_ax, sampled_ax, held_ax = fig.axes
    assert sampled_ax.get_ylim() == (-0.02, 1.02) and spread_ax.get_ylim() == (-0.02, 1.02)
    assert not [t for t in reward_ax.get_legend_handles_labels()[1] if "accuracy" in t]
    held_types = {k.removeprefix("heldout/accuracy/") for r in rows for k in r if k.startswith("heldout/accuracy/")}
    held_labels = set(held_ax.get_legend_handles_labels()[1])
    stage_label = f"planning from step {first_planning}"
    assert held_types and held_labels == {"all", "chance", "majority", *held_types, stage_label}
    assert "held-out" in held_ax.get_title() and len(held_ax.containers) == 1 + len(held_types)  # error bars
    plt.close(fig)
    # the switcher's transition (its deciding global_step, one generation batch, 1-based steps) is the same step
    per_batch = run.res.trainer.curriculum_callback.steps_per_batch
    assert [t.step + per_batch + 1 for t in run.res.transitions] == [first_planning]
    # a series logged at one step only is still drawn (a marker)
    one = [{"step": 1, "reward": 1.0, "accuracy/torf1": 1.0}, {"step": 2, "reward": 2.0},
           {"step": 3, "reward": 0.5, "accuracy/planning": 0.0}]
    fig = metrics_figure(one)
    sampled = fig.axes[2]
    points = [(list(ln.get_xdata()), ln.get_marker()) for ln in sampled.get_lines()]
    assert ([1], "o") in points and ([3], "o") in points
    assert sampled.get_legend_handles_labels()[1] == ["planning", "torf1"]  # one legend entry per series
    plt.close(fig)


def test_existing_run_is_refused_then_overwritten_without_leftovers(run, tmp_path):
    from rmlite.schema import run_contents
    from rmlite.train.grpo import cpu_tiny_settings, train

    out = tmp_path / "run"
    shutil.copytree(run.res.output_dir, out)
    (out / "notes.txt").write_text("mine")
    old = sorted(p.name for p in out.iterdir())
    listed = run_contents(out)
    assert {"adapter", "metrics.jsonl", "completions.jsonl", "run.json", "checkpoint-2"} <= set(listed)
    checkpoints = sorted((p.name for p in out.glob("checkpoint-*")), key=lambda n: int(n.split("-")[1]))
    assert checkpoints[:2] == ["checkpoint-2", "checkpoint-4"]
    settings = cpu_tiny_settings(str(out), max_steps=1, save_steps=1, max_completion_length=4)
    model, proc = load_tiny(tmp_path)  # not the shared run's model: test_telemetry reads its final weights
    with pytest.raises(FileExistsError, match=r"already holds a run .*--resume.*--overwrite") as e:
        train(model, proc, run.ds, settings=settings, progress=False)
    assert str(out) in str(e.value) and "\n" not in str(e.value)
    assert sorted(p.name for p in out.iterdir()) == old  # nothing touched
    with pytest.raises(ValueError, match="exclude each other"):
        train(model, proc, run.ds, settings=settings, resume=True, overwrite=True, progress=False)
    res, printed, err, _ = train_captured(model, proc, run.ds, reward="paper", curriculum="coarse",
                                          settings=settings, overwrite=True, progress=False)
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    assert [r["step"] for r in res.metrics] == [1]
    assert not (out / "heldout.jsonl").exists()  # the old run's evaluations went with it
    assert printed.splitlines()[0] == f"overwrite: removed {', '.join(listed)} from {out}"
    assert (out / "notes.txt").read_text() == "mine"  # not a run entry: kept
    assert not _bar_lines(err) or not [x for x in _bar_lines(err) if "s/step" in x]  # progress=False: no bar
