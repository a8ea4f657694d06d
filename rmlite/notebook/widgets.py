"""The notebooks' ipywidgets: a map/question browser, the reward side-by-side, a rollout browser for the lab and
upload-and-ask. Each returns a widget box that builds without a display (tests construct them); ipywidgets is
imported inside the functions. Images go into `Image`/`HTML` widgets, not `Output`: headless runners (nbclient)
hang on Output capture.
"""

from __future__ import annotations

from pathlib import Path

from rmlite.data.cards import sample_card
from rmlite.data.store import load_maps, load_questions, map_row
from rmlite.models.inference import ask
from rmlite.notebook.playground import answer_choices, reward_table


def map_browser(data_dir: str | Path, split: str = "train"):
    """Page through questions by type and map difficulty; shows the sample card. Returns the widget box."""
    import io

    import ipywidgets as w

    q, maps = load_questions(data_dir, split), load_maps(data_dir)  # once, not on every slider move
    kinds = list(zip(q["type"], q["difficulty_city"], strict=True))
    types = ["all", *sorted({t for t, _ in kinds})]
    diffs = ["all", *sorted({d for _, d in kinds})]
    typ, diff = w.Dropdown(options=types, description="type"), w.Dropdown(options=diffs, description="map")
    idx, note = w.IntSlider(min=0, max=0, description="#"), w.Label()
    image = w.Image(format="png", layout=w.Layout(max_width="640px"))

    def picks() -> list[int]:
        return [i for i, (t, d) in enumerate(kinds) if typ.value in ("all", t) and diff.value in ("all", d)]

    def show(_=None) -> None:  # an Image widget, not an Output: headless runners (nbclient) hang on Output capture
        rows = picks()
        idx.max = max(0, len(rows) - 1)
        note.value = f"{len(rows)} questions match" if rows else "no question matches"
        if rows:
            buf = io.BytesIO()
            sample = q[rows[min(idx.value, idx.max)]]
            sample_card(sample, map_row(maps, sample["map_id"]), width=640).save(buf, format="png")
            image.value = buf.getvalue()

    for c in (typ, diff, idx):
        c.observe(show, names="value")
    show()
    return w.VBox([w.HBox([typ, diff, idx]), note, image])


def reward_widget(samples: list[dict]):
    """Pick a question, pick an answer (the reference, a typical model error, a hack) or type one, and see its
    reward under every preset (`paper`, `official`, `sparse`, `robust`) side by side."""
    import html

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
    return w.VBox([pick, question, answer, text, table])


def ask_widget(model, processor, max_new_tokens: int = 256):
    """Upload a map image, type a question, get the model's answer (rmlite.models.inference.ask)."""
    import io

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
    return w.VBox([upload, question, button, out])


def rollout_browser(lab_result, error_rate: float | str | None = None):
    """Page through the lab's simulated (or logged) GRPO groups: each rollout's text, its errors and its reward
    under every reward measured, so a surprising number in the lab's tables can be traced to the answers behind it."""
    import html

    import ipywidgets as w

    rates = list(lab_result.rollouts)
    rate = w.Dropdown(options=rates, value=error_rate if error_rate in rates else rates[0], description="error rate")
    group, view = w.IntSlider(min=0, max=0, description="group"), w.HTML()

    def show(_=None) -> None:
        r = lab_result.rollouts[rate.value]
        group.max = max(0, len(r.samples) - 1)
        g = min(group.value, group.max)
        s, lo = r.samples[g], g * r.group_size
        names = [name for (name, e) in lab_result.rewards if e == rate.value]
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body = []
        for i in range(lo, lo + r.group_size):
            cells = "".join(f"<td>{lab_result.rewards[(n, rate.value)][i]:.3f}</td>" for n in names)
            ops = ", ".join(r.ops[i]) or ("correct" if r.correct[i] else "-")
            text = html.escape(r.texts[i][:400]).replace("\n", "<br>")
            body.append(f"<tr><td>{ops}</td>{cells}<td style='text-align:left'>{text}</td></tr>")
        view.value = (f"<b>{html.escape(s['type'])} · {html.escape(s['difficulty_city'])}</b>"
                      f"<pre style='white-space:pre-wrap'>{html.escape(s['question'][:600])}</pre>"
                      f"<table><tr><th>errors</th>{head}<th>rollout</th></tr>{''.join(body)}</table>")

    rate.observe(show, names="value")
    group.observe(show, names="value")
    show()
    return w.VBox([w.HBox([rate, group]), view])
