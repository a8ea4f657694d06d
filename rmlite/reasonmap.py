"""Real maps: ReasonMap's metro-data JSON, its map images, and the released ReasonMap / ReasonMap-Plus data sets.

* `load_city("oslo")` reads `{line: [stations]}` (with its "(Transfer Station)" tags) into a `Network`.
* `build_real_map(...)` generates rmlite's question types for a real map, as ReasonMap-Plus was built.
* `from_released(row)` maps a row of `FSCCS/ReasonMap` (planning), `FSCCS/ReasonMap-Plus` or
  `FSCCS/ReasonMap-Train` to rmlite's schema; `load_released(name_or_path, split)` loads one (a hub name
  on a machine that can download, or a local `save_to_disk` folder).

Answer keys on real maps come from the JSON, which has known slips (Oslo's "Voksnia" is "Voksenlia" on the
map). The JSON has no coordinates, so routes on real maps are shown as text.
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rmlite.names import normalize_line, normalize_station, strip_tags
from rmlite.network import Network, Section, route_to_json
from rmlite.questions import QuestionConfig, generate_questions
from rmlite.schema import CHOICE_LETTERS, make_prompt, question_difficulty

# ReasonMap's cross-city test split: these cities are test-only by default.
TEST_CITIES = frozenset({"auckland", "los_angeles", "miami", "lisboa", "geneva", "beijing", "hangzhou", "budapest",
                         "singapore", "rome", "toronto"})
# Map difficulty labels. Oslo's "middle" is confirmed by the released data; the others are rmlite's estimate
# from line and transfer counts (ReasonMap labels its maps by hand, 10 per level).
KNOWN_DIFFICULTY = {"oslo": "middle"}
RELEASED = {"reasonmap": "FSCCS/ReasonMap", "plus": "FSCCS/ReasonMap-Plus", "train": "FSCCS/ReasonMap-Train"}


def reasonmap_root() -> Path:
    """Where the bundled real-map fixtures live (`data/reasonmap` of the checkout, or $RMLITE_REASONMAP)."""
    env = os.environ.get("RMLITE_REASONMAP")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "data" / "reasonmap"


def find_city(city: str, root: Path | None = None) -> tuple[Path, Path | None]:
    """(metro-data JSON, map image or None) for a city name like "oslo", or a JSON path."""
    p = Path(city)
    if p.suffix == ".json":
        if not p.is_file():
            raise FileNotFoundError(f"no metro-data file at {p}")
        img = p.parent.parent.parent / "maps" / p.parent.name / (p.stem + ".png")
        return p, img if img.is_file() else None
    root = root or reasonmap_root()
    hits = sorted(root.glob(f"stations/*/{city.lower()}.json"))
    if not hits:
        known = sorted(q.stem for q in root.glob("stations/*/*.json"))
        raise FileNotFoundError(f"unknown city {city!r}; available under {root}: {known}")
    js = hits[0]
    img = root / "maps" / js.parent.name / (js.stem + ".png")
    return js, img if img.is_file() else None


def difficulty_estimate(n_lines: int) -> str:
    """rmlite's map-difficulty estimate from the line count (same ranges as the synthetic generator)."""
    return "easy" if n_lines <= 4 else "middle" if n_lines <= 7 else "hard"


def load_city(city: str, *, difficulty: str | None = None) -> Network:
    """A real city's network from its metro-data JSON (tags dropped; "Station" kept as ReasonMap writes it)."""
    js, _ = find_city(city)
    try:
        data = json.loads(js.read_text(encoding="utf-8"))
    except ValueError as e:
        raise ValueError(f"{js} is not valid JSON: {e}") from None
    n_lines = len(data) if isinstance(data, dict) else 0
    diff = difficulty or KNOWN_DIFFICULTY.get(js.stem) or difficulty_estimate(n_lines)
    return Network.from_metro_data(data, difficulty=diff, name=js.stem)


def build_real_map(city: str, *, seed: int = 0, config: QuestionConfig | None = None,
                   split: str | None = None) -> tuple[dict, list[dict]]:
    """(map record, question rows) for a real city, for `rmlite.data`; test cities go to the test split."""
    from PIL import Image

    from rmlite.data import map_record

    js, img_path = find_city(city)
    net = load_city(str(js))
    if img_path is None:
        raise FileNotFoundError(f"no map image for {city!r} (expected maps/<country>/{js.stem}.png)")
    map_id = f"real-{js.stem}"
    qs = generate_questions(net, map_id=map_id, seed=seed, config=config, source=f"reasonmap:{js.stem}")
    split = split or ("test" if js.stem in TEST_CITIES else "train")
    with Image.open(img_path) as im:
        image = im.convert("RGB")
    return map_record(map_id, net, image, seed, f"reasonmap:{js.stem}", split), qs


# ----- released data sets ------------------------------------------------------------------------------------------
_TYPE_MAP = {"torf1": "torf1", "torf2": "torf2", "counting1": "counting1", "counting2": "counting2",
             "counting3": "counting3", "planning": "planning"}


def from_released(row: Mapping[str, Any], *, template: str = "short") -> dict:
    """One released ReasonMap / ReasonMap-Plus row → an rmlite sample (the image under `image` if present).

    Field mapping: station_1/station_2 → station1/station2, json → metro_data, figure (base64, path or image)
    → image, type (mixed case; absent means planning) → type, integer answers (0–3 for Counting1, 1/0 for TorF)
    → rmlite's encodings, question_short/question_long → question (by `template`), routes (a dict of app
    route plans) → reference routes with route names and stops mapped onto the metro data.
    """
    typ_raw = str(row.get("type") or "planning")
    typ = _TYPE_MAP.get(typ_raw.lower())
    if typ is None:
        raise ValueError(f"unknown released question type {typ_raw!r}")
    md_raw = row.get("json")
    md = json.loads(md_raw) if isinstance(md_raw, str) else md_raw
    if not isinstance(md, dict):
        raise ValueError("released row has no metro data in its 'json' field")
    net = Network.from_metro_data(md, difficulty=str(row.get("difficulty_city", "easy")),
                                  name=str(row.get("city", "")))
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
    ans = row.get("answer")
    if typ == "planning":
        routes = _released_routes(net, row.get("routes"))
        if not routes:
            routes = net.routes(s1, s2)
        sample["routes"] = route_to_json(routes)
        sample["template"] = template
        q = row.get("question_long" if template != "short" else "question_short") or row.get("question") or ""
        sample["question"] = str(q)
        from rmlite.formats import format_route

        sample["template"] = "short" if template == "short" else _long_kind(str(q))
        sample["answer"] = format_route(routes[0], sample["template"])
        if "question_transfer_count" not in row:
            sample["question_transfer_count"] = len(routes[0]) - 1
        sample["difficulty_question"] = str(row.get("difficulty_question")
                                            or question_difficulty(sample["question_transfer_count"]))
    else:
        sample["question"] = str(row.get("question") or "")
        if typ == "counting1":
            sample["answer"] = CHOICE_LETTERS[int(ans)]
            sample["choices"] = _choices_from_question(sample["question"])
        elif typ in ("torf1", "torf2"):
            sample["answer"] = "yes" if int(ans) == 1 else "no"
            if typ == "torf2":
                sample["line"] = _line_from_question(net, sample["question"])
        else:
            sample["answer"] = str(int(ans))
    sample["prompt"] = make_prompt(sample["question"])
    fig = row.get("figure")
    if fig is not None:
        sample["image"] = decode_figure(fig)
    return sample


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
