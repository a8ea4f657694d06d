"""The notebooks' browsers on both paths: the live ipywidgets box (whose display bundle also carries the static view,
for frontends without the widget extension) and the static view (an HTML table and the image), and how `static=None`
decides between them."""

from __future__ import annotations

import sys
import types

import pytest

import rmlite.notebook as nb
from rmlite.data.build import MINI_DIR
from rmlite.lab.measure import load_samples, run_lab
from rmlite.notebook import widgets

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def no_frontend_env(monkeypatch):
    for var in (nb.WIDGETS_ENV, "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    return monkeypatch


def _kernel(monkeypatch, user_ns=None):
    """An IPython shell that looks like a Jupyter kernel's (it has a `kernel`)."""
    ipython = pytest.importorskip("IPython")
    shell = types.SimpleNamespace(kernel=object(), user_ns=user_ns or {})
    monkeypatch.setattr(ipython, "get_ipython", lambda: shell)


def test_detection_without_a_frontend(no_frontend_env):
    pytest.importorskip("ipywidgets")
    assert nb.live_frontend() == (False, "not in a Jupyter kernel")  # pytest: plain Python
    _kernel(no_frontend_env)
    live, why = nb.live_frontend()
    assert not live and "nbconvert" in why  # a kernel nobody looks at: nbclient, jupyter execute, papermill


@pytest.mark.parametrize("how", ["jupyter server", "colab", "vscode"])
def test_detection_with_a_frontend(no_frontend_env, how):
    pytest.importorskip("ipywidgets")
    _kernel(no_frontend_env, {"__vsc_ipynb_file__": "x.ipynb"} if how == "vscode" else None)
    if how == "jupyter server":
        no_frontend_env.setenv("JPY_SESSION_NAME", "/home/u/01_maps_and_questions.ipynb")
    elif how == "colab":
        no_frontend_env.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert nb.live_frontend()[0]
    assert not widgets.use_static(None) and widgets.use_static(True)


def test_detection_overrides_and_missing_ipywidgets(no_frontend_env):
    no_frontend_env.setenv(nb.WIDGETS_ENV, "live")
    assert nb.live_frontend() == (True, f"{nb.WIDGETS_ENV}=live")
    no_frontend_env.setenv(nb.WIDGETS_ENV, "static")
    _kernel(no_frontend_env)
    no_frontend_env.setenv("JPY_SESSION_NAME", "x")
    assert nb.live_frontend() == (False, f"{nb.WIDGETS_ENV}=static")
    no_frontend_env.delenv(nb.WIDGETS_ENV)
    no_frontend_env.setitem(sys.modules, "ipywidgets", None)  # not installed: importing it fails
    assert nb.live_frontend() == (False, "ipywidgets is not installed")


@pytest.fixture(scope="module")
def lab():
    samples = [s for s in load_samples(MINI_DIR, "train") if s["type"] == "planning"][:4]
    return run_lab(samples, ("sparse", "paper"), error_rates=(0.5,), group_size=4)


def test_static_views(no_frontend_env, lab):
    """Without a frontend every browser is a static view: tables and the image as HTML, a short text repr, never a
    widget's `VBox(children=…)`."""
    questions = load_samples(MINI_DIR, "train")
    views = {"map": nb.map_browser(MINI_DIR), "reward": nb.reward_widget(questions[:3]),
             "ask": nb.ask_widget(None, None), "rollouts": nb.rollout_browser(lab)}
    for name, v in views.items():
        assert isinstance(v, nb.StaticView), name
        assert "VBox" not in repr(v) and v._repr_html_() == v.html
    counts = {}
    for s in questions:
        counts[(s["type"], s["difficulty_city"])] = counts.get((s["type"], s["difficulty_city"]), 0) + 1
    page = views["map"].html
    assert "data:image/png;base64," in page and f"{len(questions)} train questions" in page
    planning_row = "<tr><td>planning</td>" + "".join(
        f"<td>{counts.get(('planning', d), 0)}</td>" for d in sorted({d for _, d in counts})) + "</tr>"
    assert planning_row in page  # the type × difficulty counts, recounted here
    reward = views["reward"].html
    assert all(f"<th>{p}</th>" in reward for p in ("paper", "official", "sparse", "robust"))
    assert "<td>reference</td>" in reward
    assert "ask(model, processor" in views["ask"].html
    assert views["rollouts"].html == widgets.rollout_html(lab, 0.5, 0) and views["rollouts"].html.count("<tr>") == 5


def test_live_widgets_carry_the_static_view(lab):
    """static=False builds the widget; its display bundle keeps the widget view and adds the static HTML of its
    current state, so a Jupyter without the widget extension shows a table and image, not the repr."""
    pytest.importorskip("ipywidgets")
    box = nb.map_browser(MINI_DIR, static=False)
    bundle = box._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "data:image/png;base64," in bundle["text/html"]
    import base64

    assert base64.b64encode(box.children[2].value).decode() in bundle["text/html"]  # the card shown now
    rollouts = nb.rollout_browser(lab, static=False)
    rollouts.children[0].children[1].value = 2
    assert rollouts._repr_mimebundle_()["text/html"] == widgets.rollout_html(lab, 0.5, 2)
    for box in (nb.reward_widget(load_samples(MINI_DIR, "train")[:2], static=False), nb.ask_widget(None, None,
                                                                                                  static=False)):
        bundle = box._repr_mimebundle_()
        assert WIDGET_VIEW in bundle and bundle["text/html"]


def test_html_table_escapes():
    assert "<td>&lt;b&gt;</td>" in widgets.html_table([{"x": "<b>"}])
