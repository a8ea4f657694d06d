"""The world: metro networks and their pictures (no questions, no rewards).

Rooms, bottom up: `rides` (the stops between two stations on a line), `network` (lines, stations, transfers,
routing), `namer` (pronounceable station names), `fonts` (the bundled DejaVu faces and legible sizes), `labels`
(station-label placement), `layout` (where everything on a map goes, decided before drawing), `render` (a Network
as a schematic map), `generate` (seeded synthetic networks), `real` (ReasonMap's real cities as Networks).

The names below are loaded on first use (PEP 562), so `rmlite.maps.rides`, which the reward imports, does not pull
in PIL and numpy with the drawing rooms.
"""

import importlib

_HOME = {"PALETTE": "generate", "GeneratorConfig": "generate", "generate_network": "generate", "FLAVOURS": "namer",
         "StationNamer": "namer", "Line": "network", "Network": "network", "Section": "network",
         "route_to_json": "network", "routes_from_json": "network", "TEST_CITIES": "real", "find_city": "real",
         "load_city": "real", "RenderResult": "render", "render_map": "render"}
__all__ = list(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"rmlite.maps.{_HOME[name]}"), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
