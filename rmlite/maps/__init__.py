"""The world: metro networks and their pictures (no questions, no rewards).

Rooms, bottom up: `network` (lines, stations, transfers, routing), `namer` (pronounceable station names), `fonts`
(the bundled DejaVu faces and legible sizes), `labels` (station-label placement), `layout` (where everything on a
map goes, decided before drawing), `render` (a Network as a schematic map), `generate` (seeded synthetic networks),
`real` (ReasonMap's real cities as Networks).
"""

from rmlite.maps.generate import PALETTE, GeneratorConfig, generate_network
from rmlite.maps.namer import FLAVOURS, StationNamer
from rmlite.maps.network import Line, Network, Section, route_to_json, routes_from_json
from rmlite.maps.real import TEST_CITIES, find_city, load_city
from rmlite.maps.render import RenderResult, render_map

__all__ = ["PALETTE", "GeneratorConfig", "generate_network", "FLAVOURS", "StationNamer", "Line", "Network",
           "Section", "route_to_json", "routes_from_json", "TEST_CITIES", "find_city", "load_city", "RenderResult",
           "render_map"]
