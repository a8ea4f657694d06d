"""Real cities: ReasonMap's metro-data JSON and map images (`data/reasonmap/`), read into `Network`s.

* `find_city("oslo")` finds a city's JSON and image (a name, or a path to a JSON file);
* `load_city("oslo")` reads `{line: [stations]}` (with its "(Transfer Station)" tags) into a `Network`.

Answer keys on real maps come from the JSON, which has known slips (Oslo's "Voksnia" is "Voksenlia" on the
map). The JSON has no coordinates, so routes on real maps are shown as text. Questions about a real map are
made in `rmlite.data.build`; the released ReasonMap sets are read by `rmlite.data.released`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rmlite.maps.network import Network

# ReasonMap's cross-city test split: these cities are test-only by default.
TEST_CITIES = frozenset({"auckland", "los_angeles", "miami", "lisboa", "geneva", "beijing", "hangzhou", "budapest",
                         "singapore", "rome", "toronto"})
# Map difficulty labels. Oslo's "middle" is confirmed by the released data; the others are rmlite's estimate
# from line and transfer counts (ReasonMap labels its maps by hand, 10 per level).
KNOWN_DIFFICULTY = {"oslo": "middle"}
# Real loop lines that ReasonMap's JSON writes open (first station not repeated): city → line names. Beijing's
# Line 2 and Line 10 are rings; without this they would be counted the long way round. A loop written closed
# (first station repeated) needs no entry.
OPEN_LOOPS: dict[str, frozenset[str]] = {"beijing": frozenset({"Line 2", "Line 10", "2号线", "10号线"})}


def reasonmap_root() -> Path:
    """Where the bundled real-map fixtures live (`data/reasonmap` of the checkout, or $RMLITE_REASONMAP)."""
    env = os.environ.get("RMLITE_REASONMAP")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "reasonmap"


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
    return Network.from_metro_data(data, difficulty=diff, name=js.stem, loops=OPEN_LOOPS.get(js.stem, ()))
