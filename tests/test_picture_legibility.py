"""Every picture the README and docs show is legible: each is drawn here from small real inputs and read back from
matplotlib's own objects before it is saved (issue 25 part 6).

The checks share no code with the plotting: text against legend boxes in display pixels (after a draw), each axes'
y limits where it plots shares, every error bar's ends in data units, and the zeros found by counting the records
here, then looked for among the drawn markers and texts at each bar's x. `PICTURES` names every PNG the README and
docs/ mention: a new picture without a check fails `test_every_documented_picture_is_checked`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from rmlite.data import load_split  # noqa: E402
from rmlite.data.store import load_maps  # noqa: E402
from rmlite.evaluate import accuracy_figure, chance_report, majority_answers, score_answers  # noqa: E402
from rmlite.lab.measure import run_lab  # noqa: E402
from rmlite.lab.report import signal_density_figure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "data" / "mini"
FIXTURE_RUN = Path(__file__).resolve().parent / "fixtures" / "demo_metrics.jsonl"  # `rmlite demo --quick`, 8 steps
SHARE_LIMITS = ((-0.05, 0.0), (1.0, 1.05))  # a share's axis: its bottom and top may leave this much room


# ----- the checks (matplotlib objects only) ------------------------------------------------------------------------
def _inside_legend(artist, legends) -> bool:
    return any(artist in leg.findobj() for leg in legends)


def _hidden_ticks(fig) -> set[int]:
    """The tick labels of axes drawn without axes (`axis("off")`): matplotlib keeps them, but does not draw them."""
    return {id(t) for ax in fig.axes if not ax.axison for t in ax.get_xticklabels() + ax.get_yticklabels()}


def legend_overlaps(fig) -> list[str]:
    """Visible texts (not the legends' own) whose pixels meet a legend's box, and titles over another panel."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legends = [leg for leg in fig.findobj(Legend) if leg.get_visible()]
    hidden = _hidden_ticks(fig)
    out = []
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for t in fig.findobj(Text):
            if not t.get_visible() or not t.get_text().strip() or _inside_legend(t, legends) or id(t) in hidden:
                continue
            if t.get_window_extent(renderer).overlaps(box):
                out.append(f"text {t.get_text()!r} under a legend")
    for ax in fig.axes:  # a panel's title over another panel
        for title in (ax.title, ax._left_title):
            if title.get_text().strip():
                box = title.get_window_extent(renderer)
                out += [f"title {title.get_text()!r} over another panel" for other in fig.axes
                        if other is not ax and box.overlaps(other.get_window_extent(renderer))]
    return out


def unlabelled_axes(fig) -> list[str]:
    """Axes that draw something but say nothing: no title, no axis label, and no figure title either."""
    titled = bool(fig._suptitle and fig._suptitle.get_text())
    out = []
    for ax in fig.axes:
        drawn = ax.lines or ax.patches or ax.collections or ax.images
        said = ax.get_title() or ax.get_title(loc="left") or ax.get_xlabel() or ax.get_ylabel()
        if drawn and not said and not titled:
            out.append(f"axes {fig.axes.index(ax)} has no title or axis label")
    return out


def share_axis_faults(ax) -> list[str]:
    """A share's axis runs 0 to 1 (a little room allowed) and every error bar stays inside [0, 1]."""
    low, high = ax.get_ylim()
    out = []
    if not (SHARE_LIMITS[0][0] <= low <= SHARE_LIMITS[0][1] and SHARE_LIMITS[1][0] <= high <= SHARE_LIMITS[1][1]):
        out.append(f"{ax.get_title()!r}: y axis {low:.2f} to {high:.2f}, not 0 to 1")
    for coll in ax.collections:
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                ys = [y for _, y in seg]
                if min(ys) < -1e-9 or max(ys) > 1 + 1e-9:
                    out.append(f"{ax.get_title()!r}: an error bar spans {min(ys):.2f} to {max(ys):.2f}")
    return out


def full_span_bars(ax) -> list[str]:
    """Error bars from 0 to 1: they say nothing (a share from two questions at 0.5 ± its SE)."""
    return [f"{ax.get_title()!r}: an error bar spans 0 to 1" for coll in ax.collections
            if isinstance(coll, LineCollection) for seg in coll.get_segments()
            if min(y for _, y in seg) <= 1e-9 and max(y for _, y in seg) >= 1 - 1e-9]


def zero_marks(ax, x: float, half_width: float) -> tuple[bool, bool]:
    """(a filled marker at y = 0, a text reading 0) within `half_width` of x."""
    def at_zero(ln) -> bool:
        return any(abs(xi - x) <= half_width and yi == 0
                   for xi, yi in zip(ln.get_xdata(), ln.get_ydata(), strict=True))

    marker = any(isinstance(ln, Line2D) and ln.get_marker() not in (None, "None", "", " ", "_", "|", ",")
                 and ln.get_markersize() >= 3 and ln.get_visible() and at_zero(ln) for ln in ax.lines)
    text = any(t.get_visible() and t.get_text().strip() in ("0", "0.0", "0.00", "0%")
               and abs(t.get_position()[0] - x) <= half_width for t in ax.texts)
    return marker, text


# ----- small real inputs -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mini_test():
    return [{k: v for k, v in r.items() if k != "image"} for r in load_split(MINI, "test").to_list()]


def _answers(samples, right: set[str]) -> list[str]:
    """The key in \\boxed{} for the types in `right`, an empty answer for the rest (0 correct: zero bars)."""
    return [f"\\boxed{{{s['answer']}}}" if s["type"] in right else "" for s in samples]


def _reports(samples):
    before = score_answers(samples, _answers(samples, {"torf1"}), name="before GRPO")
    after = score_answers(samples, _answers(samples, {"torf1", "counting2"}), name="tiny+GRPO")
    return [before, after, chance_report(samples), score_answers(samples, majority_answers(samples), name="majority")]


def _correct_by_type(report) -> dict[str, tuple[int, int]]:
    """(correct, n) per type and "all", counted here from the records."""
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in report.records:
        for key in (r["type"], "all"):
            out[key][0] += bool(r["correct"])
            out[key][1] += 1
    return {k: (c, n) for k, (c, n) in out.items()}


def demo_rows() -> list[dict]:
    return [json.loads(line) for line in FIXTURE_RUN.read_text().splitlines() if line.strip()]


# ----- the pictures ------------------------------------------------------------------------------------------------
def test_accuracy_chart(mini_test):
    reports = _reports(mini_test)
    fig = accuracy_figure(reports)
    ax = fig.axes[0]
    problems = legend_overlaps(fig) + unlabelled_axes(fig) + share_axis_faults(ax)
    labels = [t.get_text().split("\n")[0] for t in ax.get_xticklabels()]
    models = [r for r in reports if r.name not in ("chance", "majority")]
    width = 0.8 / len(models)
    zeros = 0
    for slot, rep in enumerate(models):
        for qtype, (correct, _) in _correct_by_type(rep).items():
            if correct:
                continue
            zeros += 1
            x = labels.index(qtype) + (slot - (len(models) - 1) / 2) * width
            marker, text = zero_marks(ax, x, width / 2)
            if not (marker and text):
                problems.append(f"{rep.name} {qtype}: a zero with {'no marker' if not marker else 'no value'}")
    plt.close(fig)
    assert zeros >= 4, "the inputs must hold zero bars for the check to mean anything"
    assert not problems, problems


def test_training_curves():
    from rmlite.train.runlog import metrics_figure

    rows = demo_rows()
    fig = metrics_figure(rows, ("perception", "planning"))
    problems = legend_overlaps(fig) + unlabelled_axes(fig)
    for ax in fig.axes[1:]:  # zero-spread share, sampled accuracy, held-out accuracy
        problems += share_axis_faults(ax) + full_span_bars(ax)
    plt.close(fig)
    assert any("heldout/accuracy" in r for r in rows) and len({r.get("curriculum/stage") for r in rows}) > 1
    assert not problems, problems


def test_training_curves_one_of_two_held_out():
    """The README's figure had counting3 at 1 of 2 held-out questions: 0.5 ± 0.5 drew a bar from 0 to 1."""
    from rmlite.stats import mean_se
    from rmlite.train.runlog import metrics_figure

    rows = demo_rows()
    for r in rows:
        if "heldout/accuracy/counting3" in r:
            r["heldout/accuracy/counting3"], r["heldout/accuracy_se/counting3"] = mean_se([1, 0])
            r["heldout/n/counting3"] = 2
    fig = metrics_figure(rows, ("perception", "planning"))
    problems = share_axis_faults(fig.axes[3]) + full_span_bars(fig.axes[3])
    plt.close(fig)
    assert not problems, problems


def test_training_curves_without_heldout():
    from rmlite.train.runlog import metrics_figure

    rows = [{k: v for k, v in r.items() if not k.startswith("heldout/")} for r in demo_rows()]
    fig = metrics_figure(rows, ("perception", "planning"))
    problems = legend_overlaps(fig) + unlabelled_axes(fig)
    plt.close(fig)
    assert not problems, problems


def test_lab_figure(mini_test):
    res = run_lab(mini_test[:60], ("sparse", "paper"), error_rates=(0.2, 0.8), group_size=4)
    fig = signal_density_figure(res.rows)
    problems = legend_overlaps(fig) + unlabelled_axes(fig)
    for ax in fig.axes:
        problems += share_axis_faults(ax)
    plt.close(fig)
    assert not problems, problems


def test_warm_start_curve():
    from rmlite.demo_quick import curve_figure

    losses = json.loads((ROOT / "data" / "warm_tiny" / "warm_start.json").read_text())["losses"]
    fig = curve_figure(losses)
    problems = legend_overlaps(fig) + unlabelled_axes(fig)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    problems += [f"tick {t!r} is not a plain number" for t in ticks if not re.fullmatch(r"[0-9.]+", t)]
    plt.close(fig)
    assert ticks and not problems, problems


def test_audit_labels_picture():
    from rmlite.data.audit import audit_rows
    from rmlite.data.audit_picture import worst_labels_figure
    from rmlite.data.store import load_questions

    maps = load_maps(MINI)
    report = audit_rows(maps.remove_columns(["image"]).to_list(), {"test": load_questions(MINI, "test").to_list()})
    fig = worst_labels_figure(maps, report.worst)
    problems = legend_overlaps(fig) + unlabelled_axes(fig)
    legends = fig.findobj(Legend)
    title = fig._suptitle.get_text() if fig._suptitle else ""
    tiles = [ax for ax in fig.axes if ax.images]
    plt.close(fig)
    assert report.worst and len(tiles) == len(report.worst)
    assert title and legends and not problems, (title, legends, problems)
    assert all(str(round(m, 1)) in ax.get_title() or f"{m:+.1f}" in ax.get_title()
               for (m, _, _), ax in zip(report.worst, tiles, strict=True))


# Pictures of maps (PIL: no axes or legend), checked for legibility where they are made: text kept inside the card.
MAP_PICTURES = "tests/test_cards.py"
PICTURES = [  # (names the docs use, its check)
    (r"(docs/figures/training_curves|metrics)\.png", test_training_curves),
    (r"(docs/figures/)?accuracy\.png", test_accuracy_chart),
    (r"(docs/figures/lab_)?signal_density\.png", test_lab_figure),
    (r"warm_start\.png", test_warm_start_curve),
    (r".*-labels\.png", test_audit_labels_picture),
    (r"docs/gallery\.png|docs/figures/sample_card\.png|.*-<index>\.png|runs/show/.*\.png", MAP_PICTURES),
    (r".*<(city|map)>\.png|\.png", None),  # a data set's own images; "metrics.jsonl/.csv/.png" (metrics.png)
]


def test_every_documented_picture_is_checked():
    """Every PNG the README and docs name (a figure, or a picture a command writes) has a check above."""
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    named = {m for p in docs for m in re.findall(r"[\w./<>-]*\.png", p.read_text())}
    unchecked = sorted(n for n in named if not any(re.fullmatch(pattern, n) for pattern, _ in PICTURES))
    assert len(named) >= 8 and not unchecked, unchecked
    assert (ROOT / MAP_PICTURES).is_file()


@pytest.mark.parametrize("p, n", [(0.0, 15), (0.5, 2), (1.0, 7), (0.3, 40), (0.9, 3)])
def test_share_interval_is_wilsons(p, n):
    """The drawn interval is the set of shares p0 whose own SE puts p within one SE of them (bisection here)."""
    from rmlite.stats import share_interval

    def inside(p0: float) -> bool:
        return abs(p - p0) <= (p0 * (1 - p0) / n) ** 0.5 + 1e-12

    def edge(a: float, b: float) -> float:  # a inside, b outside (or at the edge of [0, 1])
        for _ in range(60):
            a, b = ((a + b) / 2, b) if inside((a + b) / 2) else (a, (a + b) / 2)
        return a

    low = 0.0 if inside(0.0) else edge(p, 0.0)
    high = 1.0 if inside(1.0) else edge(p, 1.0)
    got = share_interval(p, n)
    assert got == pytest.approx((low, high), abs=1e-9) and 0.0 <= got[0] <= p <= got[1] <= 1.0
