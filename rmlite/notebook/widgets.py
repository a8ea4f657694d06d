"""The notebooks' browsers: maps and questions, the reward side by side, the lab's rollouts, upload-and-ask. Each is an
ipywidgets box where a widget can be drawn, and a static view (an HTML table and the image) where it cannot.

Where no widget frontend exists (nbconvert, `jupyter execute`, papermill, a Jupyter without ipywidgets' extension)
a widget prints as `VBox(children=…)`. So every function takes `static`: True (the static view), False (the
widget) or None (decide with `live_frontend`). A live widget also carries its static view as `text/html` in its
display bundle, so a frontend that cannot draw the widget shows the table and image instead of its repr. ipywidgets
is imported inside the functions. Images go into `Image`/`HTML` widgets, not `Output`: headless runners (nbclient)
hang on Output capture.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rmlite.data.cards import sample_card
from rmlite.data.store import load_maps, load_questions, map_row
from rmlite.models.inference import ask
from rmlite.notebook.env import live_frontend
from rmlite.notebook.playground import CARD_WIDTH, answer_choices, reward_rows, reward_table
from rmlite.schema import Sample


# ----- static or live -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StaticView:
    """What a browser shows without a widget frontend: HTML for notebooks (and nbconvert), text for a console."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def use_static(static: bool | None) -> bool:
    """The `static` argument resolved: None asks `live_frontend`."""
    return not live_frontend()[0] if static is None else bool(static)


def with_fallback(box, static_html: Callable[[], str]):
    """`box` whose display bundle also holds `static_html()` as text/html (rendered at display time, so it shows the
    widget's state then): a frontend without the widget extension shows that instead of `VBox(children=…)`."""
    widget_bundle = box._repr_mimebundle_

    def bundle(**kw):
        return {**(widget_bundle(**kw) or {}), "text/html": static_html()}

    box._repr_mimebundle_ = bundle
    return box


def html_table(rows: Sequence[Mapping]) -> str:
    """Rows of one shape as an HTML table (escaped; floats to 3 decimals).

    >>> html_table([{"a": 1, "b": 0.5}])
    '<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>0.500</td></tr></table>'
    """
    if not rows:
        return "<p>(no rows)</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else html.escape("-" if v is None else str(v))


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="png")
    return buf.getvalue()


def img_tag(png: bytes, width: int = CARD_WIDTH) -> str:
    return f"<img src='data:image/png;base64,{base64.b64encode(png).decode()}' style='max-width:{width}px'/>"


# ----- map browser --------------------------------------------------------------------------------------------------
def map_browser(data_dir: str | Path, split: str = "train", *, static: bool | None = None):
    """Page through questions by type and map difficulty; shows the sample card. The static view: how many questions
    of each type on each map difficulty, and the first question's card."""
    q, maps = load_questions(data_dir, split), load_maps(data_dir)  # once, not on every slider move
    kinds = list(zip(q["type"], q["difficulty_city"], strict=True))

    def card_png(i: int) -> bytes:
        sample = q[i]
        return png_bytes(sample_card(sample, map_row(maps, sample["map_id"]), width=CARD_WIDTH))

    def static_html(png: bytes, caption: str = "the card shown") -> str:
        return (f"<b>{len(kinds)} {html.escape(split)} questions</b> (type × map difficulty){_counts_html(kinds)}"
                f"<p>{html.escape(caption)}:</p>{img_tag(png)}")

    if not kinds:
        return StaticView(f"<p>no {html.escape(split)} questions in {html.escape(str(data_dir))}</p>",
                          f"no {split} questions in {data_dir}")
    if use_static(static):
        text = f"{len(kinds)} {split} questions in {data_dir}; first: {q[0]['id']}"
        return StaticView(static_html(card_png(0), f"question {q[0]['id']}"), text)
    return _live_map_browser(kinds, card_png, static_html)


def _counts_html(kinds: Sequence[tuple[str, str]]) -> str:
    counts = Counter(kinds)
    diffs = sorted({d for _, d in kinds})
    rows = [{"type": t, **{d: counts[(t, d)] for d in diffs}} for t in sorted({t for t, _ in kinds})]
    return html_table(rows)


def _live_map_browser(kinds, card_png: Callable[[int], bytes], static_html: Callable[[bytes], str]):
    import ipywidgets as w

    types = ["all", *sorted({t for t, _ in kinds})]
    diffs = ["all", *sorted({d for _, d in kinds})]
    typ, diff = w.Dropdown(options=types, description="type"), w.Dropdown(options=diffs, description="map")
    idx, note = w.IntSlider(min=0, max=0, description="#"), w.Label()
    image = w.Image(format="png", layout=w.Layout(max_width=f"{CARD_WIDTH}px"))

    def picks() -> list[int]:
        return [i for i, (t, d) in enumerate(kinds) if typ.value in ("all", t) and diff.value in ("all", d)]

    def show(_=None) -> None:  # an Image widget, not an Output: headless runners (nbclient) hang on Output capture
        rows = picks()
        idx.max = max(0, len(rows) - 1)
        note.value = f"{len(rows)} questions match" if rows else "no question matches"
        if rows:
            image.value = card_png(rows[min(idx.value, idx.max)])

    for c in (typ, diff, idx):
        c.observe(show, names="value")
    show()
    return with_fallback(w.VBox([w.HBox([typ, diff, idx]), note, image]), lambda: static_html(image.value))


# ----- reward side by side ------------------------------------------------------------------------------------------
def reward_choices_html(sample: Sample) -> str:
    """The static reward view of one question: its text and key, then every canned answer (`answer_choices`) with
    its total under each preset."""
    rows = []
    for label, text in answer_choices(dict(sample)).items():
        totals = {r["preset"]: r["total"] for r in reward_rows(text, dict(sample))}
        rows.append({"answer": label, "text": text[:80] + ("…" if len(text) > 80 else ""), **totals})
    return (f"<pre style='white-space:pre-wrap'>{html.escape(sample['question'])}\n\ngold: "
            f"{html.escape(sample['answer'])}</pre>{html_table(rows)}")


def reward_widget(samples: list[Sample], *, static: bool | None = None):
    """Pick a question, pick an answer (the reference, a typical model error, a hack) or type one, and see its
    reward under every preset (`paper`, `official`, `sparse`, `robust`) side by side. The static view: the first
    question with every canned answer's reward under each preset."""
    if use_static(static):
        s = samples[0]
        return StaticView(reward_choices_html(s), f"{s['id']}: {len(answer_choices(s))} answers scored")
    import ipywidgets as w

    labels = [(f"{s['type']} · {s['difficulty_city']} · {s['id']}", i) for i, s in enumerate(samples)]
    pick = w.Dropdown(options=labels, description="question", layout=w.Layout(width="90%"))
    answer = w.Dropdown(description="answer", layout=w.Layout(width="90%"))
    text = w.Textarea(description="edit", layout=w.Layout(width="90%", height="80px"))
    question, table = w.HTML(), w.HTML()

    def show(_=None) -> None:
        s = samples[pick.value]
        question.value = f"<pre style='white-space:pre-wrap'>{html.escape(s['question'])}\n\ngold: " \
                         f"{html.escape(s['answer'])}</pre>"
        table.value = f"<pre>{html.escape(reward_table(text.value, s))}</pre>"

    def new_answer(_=None) -> None:
        if answer.value is not None:
            text.value = answer.value  # fires show()

    def new_question(_=None) -> None:
        answer.options = list(answer_choices(samples[pick.value]).items())
        answer.value = answer.options[0][1]
        new_answer()
        show()

    pick.observe(new_question, names="value")
    answer.observe(new_answer, names="value")
    text.observe(show, names="value")
    new_question()
    box = w.VBox([pick, question, answer, text, table])
    return with_fallback(box, lambda: reward_choices_html(samples[pick.value]))


# ----- upload and ask -----------------------------------------------------------------------------------------------
ASK_STATIC = ("upload-and-ask needs a live notebook (a widget frontend). Here, ask in code: "
              "<code>rmlite.models.inference.ask(model, processor, PIL.Image.open(path), question)</code>")


def ask_widget(model, processor, max_new_tokens: int = 256, *, static: bool | None = None):
    """Upload a map image, type a question, get the model's answer (rmlite.models.inference.ask). The static view
    says how to ask in code (an upload needs a frontend)."""
    if use_static(static):
        return StaticView(f"<p>{ASK_STATIC}</p>", ASK_STATIC.replace("<code>", "").replace("</code>", ""))
    import ipywidgets as w
    from PIL import Image

    upload = w.FileUpload(accept="image/*", multiple=False, description="map image")
    question = w.Text(value="How many stations are on Line 1?", description="question",
                      layout=w.Layout(width="90%"))
    button, out = w.Button(description="ask"), w.Output()

    def run(_=None) -> None:
        out.clear_output()
        with out:
            if not upload.value:
                print("upload a map image first")
                return
            item = upload.value[0] if isinstance(upload.value, (tuple, list)) else next(iter(upload.value.values()))
            image = Image.open(io.BytesIO(bytes(item["content"]))).convert("RGB")
            print(ask(model, processor, image, question.value, max_new_tokens=max_new_tokens))

    button.on_click(run)
    return with_fallback(w.VBox([upload, question, button, out]), lambda: f"<p>{ASK_STATIC}</p>")


# ----- the lab's rollouts -------------------------------------------------------------------------------------------
def rollout_html(lab_result, rate, group: int) -> str:
    """One group of the lab's rollouts at error rate `rate` (or "logged") as HTML: each rollout's errors, its reward
    under every reward measured, and its text."""
    r = lab_result.rollouts[rate]
    g = max(0, min(group, len(r.samples) - 1))
    s, lo = r.samples[g], g * r.group_size
    names = [name for (name, e) in lab_result.rewards if e == rate]
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for i in range(lo, lo + r.group_size):
        cells = "".join(f"<td>{lab_result.rewards[(n, rate)][i]:.3f}</td>" for n in names)
        ops = ", ".join(r.ops[i]) or ("correct" if r.correct[i] else "-")
        text = html.escape(r.texts[i][:400]).replace("\n", "<br>")
        body.append(f"<tr><td>{ops}</td>{cells}<td style='text-align:left'>{text}</td></tr>")
    return (f"<b>{html.escape(s['type'])} · {html.escape(s['difficulty_city'])}</b> (group {g + 1} of "
            f"{len(r.samples)})<pre style='white-space:pre-wrap'>{html.escape(s['question'][:600])}</pre>"
            f"<table><tr><th>errors</th>{head}<th>rollout</th></tr>{''.join(body)}</table>")


def rollout_browser(lab_result, error_rate: float | str | None = None, *, static: bool | None = None):
    """Page through the lab's simulated (or logged) GRPO groups: each rollout's text, its errors and its reward
    under every reward measured, so a surprising number in the lab's tables can be traced to the answers behind it.
    The static view shows the first group (`rollout_html(res, rate, g)` shows any other)."""
    rates = list(lab_result.rollouts)
    first = error_rate if error_rate in rates else rates[0]
    if use_static(static):
        return StaticView(rollout_html(lab_result, first, 0),
                          f"group 1 of {len(lab_result.rollouts[first].samples)} at error rate {first}")
    import ipywidgets as w

    rate = w.Dropdown(options=rates, value=first, description="error rate")
    group, view = w.IntSlider(min=0, max=0, description="group"), w.HTML()

    def show(_=None) -> None:
        group.max = max(0, len(lab_result.rollouts[rate.value].samples) - 1)
        view.value = rollout_html(lab_result, rate.value, group.value)

    rate.observe(show, names="value")
    group.observe(show, names="value")
    show()
    return with_fallback(w.VBox([w.HBox([rate, group]), view]), lambda: view.value)
