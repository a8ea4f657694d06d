"""The released ReasonMap / ReasonMap-Plus / ReasonMap-Train data sets, read into rmlite's schema.

`from_released(row)` maps a row of `FSCCS/ReasonMap` (planning), `FSCCS/ReasonMap-Plus` or `FSCCS/ReasonMap-Train`
to an rmlite sample; `load_released(name_or_path, split)` loads one (a hub name on a machine that can download,
or a local `save_to_disk` folder). Answer keys come from the released rows, not recomputed.

The official readers disagree on the layout, so every one they use is read here:

* `figure`: base64 text (ReasonMap `main.py`), bytes or `{"bytes": …}` (a `datasets.Image` column), a PIL image, or
  a path such as `./maps/<country>/<city>.png` (ReasonMap `main_plus.py`, RewardMap `verl/utils/rl_dataset.py`),
  resolved as given, then against `maps_root`, the data set folder and `$RMLITE_REASONMAP`.
* `json`: a dict, a JSON string (ReasonMap `main.py`), a path to the JSON file (RewardMap's reward manager), or
  absent (ReasonMap `main_plus.py` reads `stations/<country>/<city>.json` itself; so does rmlite, under the same
  roots); a struct with every city's line keys (what `datasets` makes of a dict column) has its None lines dropped.

A row that cannot be read is skipped with a counted one-line reason (`strict=True` raises instead); the planning
template is read from the question text, whatever column it came from.
"""

from __future__ import annotations

import base64
import io
import json
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rmlite.data.answers import format_route
from rmlite.maps.network import Network, Section, route_to_json
from rmlite.maps.real import OPEN_LOOPS, reasonmap_root
from rmlite.names import normalize_line, normalize_station
from rmlite.schema import ANSWER_KIND, ANSWER_KINDS, NAMED_FIELDS, Sample, kind_of, make_prompt, question_difficulty

RELEASED = {"reasonmap": "FSCCS/ReasonMap", "plus": "FSCCS/ReasonMap-Plus", "train": "FSCCS/ReasonMap-Train"}


# ----- released data sets ------------------------------------------------------------------------------------------
def from_released(row: Mapping[str, Any], *, template: str = "short", roots: Sequence[Path] = ()) -> dict:
    """One released ReasonMap / ReasonMap-Plus row → an rmlite sample (the image under `image` if present).

    Field mapping: station_1/station_2 → station1/station2, json → metro_data, figure (base64, path or image)
    → image, type (mixed case; absent means planning) → type, integer answers (0–3 for a letter, 1/0 for yes/no)
    → rmlite's encodings by the type's answer kind, question_short/question_long → question (by `template`), routes
    (a dict of app route plans) → reference routes with route names and stops mapped onto the metro data.
    `roots` are the folders relative figure and JSON paths are resolved against (`reasonmap_root()` is always last).
    """
    roots = _search_roots(roots)
    typ_raw = str(row.get("type") or "planning")
    typ = typ_raw.lower()
    if typ not in ANSWER_KIND:
        raise ValueError(f"unknown released question type {typ_raw!r}")
    net = _released_network(row, roots)
    s1 = _match_station(net, str(row.get("station_1") or ""))
    s2 = _match_station(net, str(row.get("station_2") or ""))
    sample = {"id": str(row.get("id", f"{row.get('city', 'map')}-{typ}-{row.get('index', 0)}")),
              "map_id": f"real-{row.get('city', 'unknown')}", "type": typ, "choices": [],
              "station1": s1, "station2": s2, "line": "",
              "metro_data": json.dumps(net.metro_data(), ensure_ascii=False),
              "routes": "[]", "route_count": 0, "difficulty_city": net.difficulty,
              "difficulty_question": str(row.get("difficulty_question") or net.difficulty),
              "question_transfer_count": int(row.get("question_transfer_count") or 0), "template": "",
              "seed": 0, "source": f"released:{row.get('city', '')}"}
    if kind_of(typ).route:
        _fill_route(sample, row, net, template)
    else:
        _fill_perception(sample, row, net)
    sample["prompt"] = make_prompt(sample["question"])
    fig = row.get("figure")
    if fig is not None:
        sample["image"] = decode_figure(fig, roots)
    return sample


def _search_roots(roots: Iterable[Path | str | None]) -> tuple[Path, ...]:
    """The given folders (None dropped), then `reasonmap_root()` ($RMLITE_REASONMAP or the bundled cities)."""
    out = [Path(r) for r in roots if r]
    return tuple(dict.fromkeys([*out, reasonmap_root()]))


def _resolve(path: str, roots: Sequence[Path]) -> Path | None:
    """An existing file: `path` itself, or `path` under one of `roots` (a leading "./" ignored)."""
    p = Path(path)
    if p.is_file():
        return p
    if p.is_absolute():
        return None
    rel = Path(*[part for part in p.parts if part != "."])
    return next((r / rel for r in roots if (r / rel).is_file()), None)


def released_metro_data(row: Mapping[str, Any], roots: Sequence[Path] = ()) -> dict[str, list[str]]:
    """The row's metro data from `json` in any layout the official readers use (see the module table)."""
    md = row.get("json")
    if isinstance(md, str) and md.strip().startswith("{"):
        md = json.loads(md)
    elif isinstance(md, str) and md.strip():
        found = _resolve(md.strip(), _search_roots(roots))
        if found is None:
            raise ValueError(f"json path {md.strip()!r} not found under {[str(r) for r in _search_roots(roots)]}")
        md = json.loads(found.read_text(encoding="utf-8"))
    elif md is None or md == "":
        rel = f"stations/{row.get('country', '')}/{row.get('city', '')}.json"
        found = _resolve(rel, _search_roots(roots))
        if found is None:
            raise ValueError(f"no 'json' field and no {rel} under {[str(r) for r in _search_roots(roots)]}")
        md = json.loads(found.read_text(encoding="utf-8"))
    if not isinstance(md, Mapping):
        raise ValueError(f"metro data must be a JSON object, got {type(md).__name__}")
    return {str(k): list(v) for k, v in md.items() if v is not None}


def _released_network(row: Mapping[str, Any], roots: Sequence[Path] = ()) -> Network:
    city = str(row.get("city", ""))
    return Network.from_metro_data(released_metro_data(row, roots), difficulty=str(row.get("difficulty_city", "easy")),
                                   name=city, loops=OPEN_LOOPS.get(city.lower(), ()))


def _fill_route(sample: Sample, row: Mapping[str, Any], net: Network, template: str) -> None:
    """Question, reference routes, key, template and transfer count of a route question (ReasonMap)."""
    routes = _released_routes(net, row.get("routes"))
    total = len(routes)
    if not routes:
        routes, total = net.routes_and_count(sample["station1"], sample["station2"])
    sample["routes"] = route_to_json(routes)
    sample["route_count"] = total
    q = row.get("question_long" if template != "short" else "question_short") or row.get("question") or ""
    sample["question"] = str(q)
    sample["template"] = template_of(str(q))
    sample["answer"] = format_route(routes[0], sample["template"])
    if "question_transfer_count" not in row:
        sample["question_transfer_count"] = len(routes[0]) - 1
    sample["difficulty_question"] = str(row.get("difficulty_question")
                                        or question_difficulty(sample["question_transfer_count"]))


def _fill_perception(sample: Sample, row: Mapping[str, Any], net: Network) -> None:
    """Question and key of a perception question (ReasonMap-Plus), encoded by its answer kind."""
    sample["question"] = str(row.get("question") or "")
    kind = kind_of(sample["type"])
    sample["answer"] = released_answer(row.get("answer"), kind.name)
    if kind.choices:
        sample["choices"] = _choices_from_question(sample["question"])
    if "line" in NAMED_FIELDS.get(sample["type"], ()):
        sample["line"] = _line_from_question(net, sample["question"])


def released_answer(value: Any, kind: str) -> str:
    """A released perception answer in rmlite's encoding, or ValueError in one line: a letter is an index 0–3 or
    A–D, yes/no is 1/0 (or the words), a count is a whole number ≥ 0 (the kind's record says: `AnswerKind.released`).
    Nothing out of range is coerced.

    >>> released_answer(1, "letter"), released_answer("b", "letter"), released_answer(0, "yes_no")
    ('B', 'B', 'no')
    >>> released_answer(-1, "letter")
    Traceback (most recent call last):
    ValueError: answer -1 is not a choice (0-3 or A-D)
    """
    key = ANSWER_KINDS[kind].released_key(value)
    if key is None:
        raise ValueError(f"answer {value!r} is not {ANSWER_KINDS[kind].released_doc}")
    return key


def template_of(question: str) -> str:
    """ReasonMap's planning template from the question text: via-stop counts (long1), lists (long2) or neither.

    >>> template_of("... Provide only one optimal route, including all the via stops."), template_of("Route Name:")
    ('long2', 'short')
    """
    q = question.lower()
    return "long1" if "number of via stops" in q else "long2" if "via stops" in q else "short"


def _match_station(net: Network, name: str) -> str:
    """The metro-data station that `name` (possibly without "Station" or with tags) refers to; "" for no name;
    ValueError for a name the map does not have (a key about a station nobody can find is not a question)."""
    if not name:
        return ""
    if name in net.station_lines:
        return name
    key = normalize_station(name)
    for s in net.stations:
        if normalize_station(s) == key:
            return s
    raise ValueError(f"station {name!r} is not on the map of {net.name or 'this city'}")


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


def decode_figure(fig: Any, roots: Sequence[Path] = ()):
    """A released `figure` (base64 string, file path, bytes, dict with bytes or path, or PIL image) → PIL RGB image.

    A relative path is looked up as given, then under each of `roots` and `reasonmap_root()`.
    """
    from PIL import Image

    if hasattr(fig, "convert"):
        return fig.convert("RGB")
    if isinstance(fig, Mapping):
        fig = fig.get("bytes") or fig.get("path") or ""
    if isinstance(fig, (bytes, bytearray)):
        return Image.open(io.BytesIO(fig)).convert("RGB")
    if isinstance(fig, str):
        found = _resolve(fig, _search_roots(roots)) if len(fig) < 4096 else None
        if found is not None:
            with Image.open(found) as im:
                return im.convert("RGB")
        if len(fig) < 4096 and fig.lower().endswith((".png", ".jpg", ".jpeg", ".webp")):
            raise ValueError(f"figure path {fig!r} not found under {[str(r) for r in _search_roots(roots)]}")
        data = fig.split(",", 1)[1] if fig.startswith("data:") else fig
        try:
            return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
        except Exception as e:  # noqa: BLE001 - any decoding failure is the same user error
            raise ValueError(f"figure is neither a file path nor base64 image data ({e})") from None
    raise ValueError(f"cannot read a figure of type {type(fig).__name__}")


class ReleasedRows(list):
    """The samples of a released set, with `skipped` (one-line reason → how many rows it skipped) and `coverage`
    (city → (rows read, rows in the set))."""

    skipped: Counter
    coverage: dict[str, tuple[int, int]]

    def __init__(self, rows: Iterable[dict] = (), skipped: Counter | None = None) -> None:
        super().__init__(rows)
        self.skipped = skipped if skipped is not None else Counter()
        self.coverage = {}

    def coverage_line(self) -> str:
        """One line: how much of the set was read, and which cities lost rows.

        >>> r = ReleasedRows(); r.coverage = {"oslo": (10, 10), "rome": (0, 12)}; r.coverage_line()
        'read 10 of 22 rows; 1 of 2 cities complete; incomplete: rome 0/12'
        """
        read, total = sum(a for a, _ in self.coverage.values()), sum(b for _, b in self.coverage.values())
        short = [f"{c} {a}/{b}" for c, (a, b) in sorted(self.coverage.items()) if a < b]
        full = len(self.coverage) - len(short)
        tail = f"; incomplete: {', '.join(short[:8])}{' …' if len(short) > 8 else ''}" if short else ""
        return f"read {read} of {total} rows; {full} of {len(self.coverage)} cities complete{tail}"


def load_released(name_or_path: str, split: str | None = None, *, template: str = "short",
                  limit: int | None = None, maps_root: str | Path | None = None,
                  strict: bool = False, allow_partial: bool = False) -> ReleasedRows:
    """Rows of a released data set in rmlite's schema.

    Args:
        name_or_path: "reasonmap" / "plus" / "train", a hub name (FSCCS/ReasonMap…), or a local folder saved with
            `save_to_disk`. Hub names need network access (never used in tests or CI).
        split: e.g. "validation" for ReasonMap's 312-question test set, "test" for ReasonMap-Plus (1,448).
        template: which planning question column to read (`question_short`, or `question_long` otherwise).
        maps_root: the folder relative `figure` / `json` paths point into (ReasonMap's `maps/`, `stations/`).
        strict: raise on the first row that cannot be read, instead of skipping it with a counted reason.
        allow_partial: use the rows that could be read when some could not (their reasons are warned, and
            `coverage` says per city how many were read). Without it a set that lost rows is refused in one line:
            ReasonMap's repository ships station lists, not map images, and an evaluation on 2 of 30 cities must
            not pass for one on the whole set (docs/data.md says where the images come from).
    """
    import datasets

    name = RELEASED.get(name_or_path, name_or_path)
    local = Path(name).exists()
    ds = datasets.load_from_disk(name) if local else datasets.load_dataset(name)
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            split = "validation" if "validation" in ds else "test" if "test" in ds else next(iter(ds))
        if split not in ds:
            raise ValueError(f"{name} has no split {split!r}; it has {list(ds)}")
        ds = ds[split]
    rows = ds if limit is None else ds.select(range(min(limit, len(ds))))
    roots = _search_roots([maps_root, Path(name) if local else None, Path(name).parent if local else None])
    got = _read_rows(rows, template, roots, strict)
    if got.skipped and not allow_partial:
        reasons = "; ".join(f"{n} × {r}" for r, n in got.skipped.most_common(2))
        raise ValueError(f"{name}: {got.coverage_line()} ({reasons}); pass allow_partial=True to use only the "
                         f"rows that could be read")
    for reason, n in got.skipped.items():
        warnings.warn(f"skipped {n} released row(s): {reason}", stacklevel=2)
    return got


_ROW_ERRORS = (ValueError, KeyError, TypeError, OSError, IndexError)


def _read_rows(rows: Iterable[Mapping], template: str, roots: Sequence[Path], strict: bool) -> ReleasedRows:
    """Each row through `from_released`; a failure raises (strict) or is counted under its one-line reason."""
    out = ReleasedRows()
    counts: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        tally = counts.setdefault(str(r.get("city") or "unknown"), [0, 0])
        tally[1] += 1
        try:
            out.append(from_released({**r, "index": i}, template=template, roots=roots))
            tally[0] += 1
        except _ROW_ERRORS as e:
            reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
            if strict:
                raise ValueError(f"released row {i}: {reason}") from e
            out.skipped[reason] += 1
    out.coverage = {c: (a, b) for c, (a, b) in counts.items()}
    return out
