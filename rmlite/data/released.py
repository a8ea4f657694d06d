"""The released ReasonMap / ReasonMap-Plus / ReasonMap-Train data sets, read into rmlite's schema.

`from_released(row)` maps a row of `FSCCS/ReasonMap` (planning), `FSCCS/ReasonMap-Plus` or `FSCCS/ReasonMap-Train`
to an rmlite sample; `load_released(name_or_path, split)` loads one (a hub name on a machine that can download,
or a local `save_to_disk` folder). Answer keys come from the released rows, not recomputed.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmlite.data.answers import format_route
from rmlite.maps.network import Network, Section, route_to_json
from rmlite.names import normalize_line, normalize_station, strip_tags
from rmlite.schema import ANSWER_KIND, CHOICE_LETTERS, NAMED_FIELDS, answer_kind, make_prompt, question_difficulty

RELEASED = {"reasonmap": "FSCCS/ReasonMap", "plus": "FSCCS/ReasonMap-Plus", "train": "FSCCS/ReasonMap-Train"}


# ----- released data sets ------------------------------------------------------------------------------------------
def from_released(row: Mapping[str, Any], *, template: str = "short") -> dict:
    """One released ReasonMap / ReasonMap-Plus row → an rmlite sample (the image under `image` if present).

    Field mapping: station_1/station_2 → station1/station2, json → metro_data, figure (base64, path or image)
    → image, type (mixed case; absent means planning) → type, integer answers (0–3 for a letter, 1/0 for yes/no)
    → rmlite's encodings by the type's answer kind, question_short/question_long → question (by `template`), routes
    (a dict of app route plans) → reference routes with route names and stops mapped onto the metro data.
    """
    typ_raw = str(row.get("type") or "planning")
    typ = typ_raw.lower()
    if typ not in ANSWER_KIND:
        raise ValueError(f"unknown released question type {typ_raw!r}")
    net = _released_network(row)
    s1 = _match_station(net, str(row.get("station_1") or ""))
    s2 = _match_station(net, str(row.get("station_2") or ""))
    sample = {"id": str(row.get("id", f"{row.get('city', 'map')}-{typ}-{row.get('index', 0)}")),
              "map_id": f"real-{row.get('city', 'unknown')}", "type": typ, "choices": [],
              "station1": s1, "station2": s2, "line": "",
              "metro_data": json.dumps(net.metro_data(), ensure_ascii=False),
              "routes": "[]", "difficulty_city": net.difficulty,
              "difficulty_question": str(row.get("difficulty_question") or net.difficulty),
              "question_transfer_count": int(row.get("question_transfer_count") or 0), "template": "",
              "seed": 0, "source": f"released:{row.get('city', '')}"}
    if answer_kind(typ) == "route":
        _fill_route(sample, row, net, template)
    else:
        _fill_perception(sample, row, net)
    sample["prompt"] = make_prompt(sample["question"])
    fig = row.get("figure")
    if fig is not None:
        sample["image"] = decode_figure(fig)
    return sample


def _released_network(row: Mapping[str, Any]) -> Network:
    """The row's metro data (`json`, a string or a dict) as a Network."""
    md_raw = row.get("json")
    md = json.loads(md_raw) if isinstance(md_raw, str) else md_raw
    if not isinstance(md, dict):
        raise ValueError("released row has no metro data in its 'json' field")
    return Network.from_metro_data(md, difficulty=str(row.get("difficulty_city", "easy")),
                                   name=str(row.get("city", "")))


def _fill_route(sample: dict, row: Mapping[str, Any], net: Network, template: str) -> None:
    """Question, reference routes, key, template and transfer count of a route question (ReasonMap)."""
    routes = _released_routes(net, row.get("routes"))
    if not routes:
        routes = net.routes(sample["station1"], sample["station2"])
    sample["routes"] = route_to_json(routes)
    q = row.get("question_long" if template != "short" else "question_short") or row.get("question") or ""
    sample["question"] = str(q)
    sample["template"] = "short" if template == "short" else _long_kind(str(q))
    sample["answer"] = format_route(routes[0], sample["template"])
    if "question_transfer_count" not in row:
        sample["question_transfer_count"] = len(routes[0]) - 1
    sample["difficulty_question"] = str(row.get("difficulty_question")
                                        or question_difficulty(sample["question_transfer_count"]))


def _fill_perception(sample: dict, row: Mapping[str, Any], net: Network) -> None:
    """Question and key of a perception question (ReasonMap-Plus), encoded by its answer kind."""
    sample["question"] = str(row.get("question") or "")
    ans, kind = row.get("answer"), answer_kind(sample["type"])
    if kind == "letter":
        sample["answer"] = CHOICE_LETTERS[int(ans)]
        sample["choices"] = _choices_from_question(sample["question"])
    elif kind == "yes_no":
        sample["answer"] = "yes" if int(ans) == 1 else "no"
    else:
        sample["answer"] = str(int(ans))
    if "line" in NAMED_FIELDS.get(sample["type"], ()):
        sample["line"] = _line_from_question(net, sample["question"])


def _long_kind(question: str) -> str:
    return "long1" if "number of via stops" in question.lower() else "long2"


def _match_station(net: Network, name: str) -> str:
    """The metro-data station that `name` (possibly without "Station" or with tags) refers to; "" if none."""
    if not name:
        return ""
    if name in net.station_lines:
        return name
    key = normalize_station(name)
    for s in net.stations:
        if normalize_station(s) == key:
            return s
    return strip_tags(name)


def _match_line(net: Network, name: str) -> str:
    if name in net.line_by_name:
        return name
    key = normalize_line(name)
    hits = [ln.name for ln in net.lines if normalize_line(ln.name) == key]
    return hits[0] if len(hits) == 1 else name


def _released_routes(net: Network, routes: Any) -> list[tuple[Section, ...]]:
    if isinstance(routes, str):
        try:
            routes = json.loads(routes)
        except ValueError:
            return []
    if isinstance(routes, Mapping):
        plans = list(routes.values())
    elif isinstance(routes, list):
        plans = routes
    else:
        return []
    out = []
    for plan in plans:
        if not isinstance(plan, list) or not plan:
            continue
        out.append(tuple(Section(_match_line(net, str(s.get("route_name", ""))),
                                 _match_station(net, str(s.get("departure_stop", ""))),
                                 _match_station(net, str(s.get("arrival_stop", ""))),
                                 tuple(_match_station(net, str(v)) for v in (s.get("via_stops") or ())))
                         for s in plan))
    return out


def _choices_from_question(q: str) -> list[int]:
    import re

    vals = re.findall(r"(?m)^\s*([A-D])\)\s*(-?\d+)", q)
    return [int(v) for _, v in vals][:4] if len(vals) >= 4 else []


def _line_from_question(net: Network, q: str) -> str:
    tail = q.rsplit("on the line", 1)[-1].strip().rstrip("?").strip()
    return _match_line(net, tail)


def decode_figure(fig: Any):
    """A released `figure` (base64 string, file path, bytes, dict with bytes, or PIL image) → PIL RGB image."""
    from PIL import Image

    if hasattr(fig, "convert"):
        return fig.convert("RGB")
    if isinstance(fig, Mapping) and fig.get("bytes"):
        fig = fig["bytes"]
    if isinstance(fig, (bytes, bytearray)):
        return Image.open(io.BytesIO(fig)).convert("RGB")
    if isinstance(fig, str):
        if len(fig) < 4096 and Path(fig).is_file():
            return Image.open(fig).convert("RGB")
        data = fig.split(",", 1)[1] if fig.startswith("data:") else fig
        try:
            return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        except Exception as e:  # noqa: BLE001 - any decoding failure is the same user error
            raise ValueError(f"figure is neither a file path nor base64 image data ({e})") from None
    raise ValueError(f"cannot read a figure of type {type(fig).__name__}")


def load_released(name_or_path: str, split: str | None = None, *, template: str = "short",
                  limit: int | None = None) -> list[dict]:
    """Rows of a released data set in rmlite's schema.

    Args:
        name_or_path: "reasonmap" / "plus" / "train", a hub name (FSCCS/ReasonMap…), or a local folder saved with
            `save_to_disk`. Hub names need network access (never used in tests or CI).
        split: e.g. "validation" for ReasonMap's 312-question test set, "test" for ReasonMap-Plus (1,448).
    """
    import datasets

    name = RELEASED.get(name_or_path, name_or_path)
    if Path(name).exists():
        ds = datasets.load_from_disk(name)
    else:
        ds = datasets.load_dataset(name)
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            split = "validation" if "validation" in ds else "test" if "test" in ds else next(iter(ds))
        if split not in ds:
            raise ValueError(f"{name} has no split {split!r}; it has {list(ds)}")
        ds = ds[split]
    rows = ds if limit is None else ds.select(range(min(limit, len(ds))))
    return [from_released({**r, "index": i}, template=template) for i, r in enumerate(rows)]
