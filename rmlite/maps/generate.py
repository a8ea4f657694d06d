"""Seeded generator of plausible metro networks, laid out octilinearly on an integer grid as they grow.

Each line is grown as one or two random walks ("arms") from an anchor station of the network built so far,
in 45° steps with gentle turns, so the network is connected by construction and the layout needs no solver.
A walk that reaches another line's station stops there (a transfer); a walk may follow another line's
track for a while (a shared corridor, drawn as parallel strokes). No line turns back by 135° or more within
three hops (a hairpin: bundled lines knot there); the walker refuses such hops, also across a line's start.
Map difficulty, as in ReasonMap, is set by the number of lines and of transfer stations. Left out:
loops/rings, rivers and other map furniture.

One module on purpose: the grid, the line walker and the retry loop are one algorithm, and its tuning constants
(hop lengths, turn weights, corridor width, line and transfer ranges) only make sense read side by side.

>>> net = generate_network(GeneratorConfig(difficulty="easy"), seed=0)
>>> net.difficulty, 2 <= len(net.lines) <= 4
('easy', True)
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass

from rmlite.maps.fonts import MAP_SIZE, MIN_CAP_PX, legible_font_px, legible_station_cap
from rmlite.maps.layout import labels_fit
from rmlite.maps.namer import FLAVOURS, StationNamer
from rmlite.maps.network import Line, Network
from rmlite.schema import DIFFICULTIES

# Lines per map and transfer stations per map, by difficulty (ReasonMap labels real maps by both counts).
LINE_RANGES = {"easy": (2, 4), "middle": (5, 7), "hard": (8, 12)}
TRANSFER_RANGES = {"easy": (1, 6), "middle": (4, 16), "hard": (9, 40)}
STATIONS_PER_LINE = (6, 25)
TIGHT_MIN_STATIONS = 5  # shortest line where a size's station cap cannot fit the line range at STATIONS_PER_LINE
# (5 stations: counts 0–3 between stops, so counting1 still finds four options one step apart)
LINE_NAMINGS = ("numbered", "named")  # "Line 3", or the colour's name: "Red Line"

# Colour-blind-aware palette (Okabe-Ito + Paul Tol, the last four chosen on a 17-step sRGB grid to be far from
# the rest as seen with protanopia and deuteranopia), each colour with the name a "named" line takes from it.
# Ordered so that small maps get the most distinct colours first. Every pair is at least 20 CIEDE2000 apart and
# 8.4 apart under both colour-vision simulations (`rmlite.maps.colors`; the rules are MIN_DELTA_E = 12 and
# MIN_CVD_DELTA_E = 8), so any map of up to 12 lines, at every size, passes both. (Until issue 23 the last four were
# #999933, #777777, #7B4A12 and Coral #F08070: Coral and Green were 0.7 apart under protanopia.)
PALETTE: tuple[tuple[str, str], ...] = (
    ("Blue", "#0072B2"), ("Orange", "#E69F00"), ("Green", "#009E73"), ("Red", "#CC3311"), ("Purple", "#AA3377"),
    ("Sky", "#56B4E9"), ("Pink", "#CC79A7"), ("Indigo", "#332288"), ("Grey", "#555544"), ("Violet", "#8877FF"),
    ("Brown", "#997755"), ("Olive", "#889944"),
)  # fmt: skip

# Octilinear unit steps, index k = k * 45° clockwise from east (y grows downwards, as in images).
DIRS: tuple[tuple[int, int], ...] = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))
# Station spacing in grid steps per direction class: horizontal hops are longer because labels are wide.
_HOPS = {0: (2, 3, 3), 1: (1, 2, 2), 2: (1, 1, 2)}  # 0 horizontal, 1 diagonal, 2 vertical
_MAX_CORRIDOR = 3  # at most this many parallel strokes in one corridor
_TURN_WEIGHTS = {0: 6.0, 1: 1.4, -1: 1.4, 2: 0.25, -2: 0.25}
# A line may not turn back by HAIRPIN_TURN octants (135°) or more within HAIRPIN_HOPS consecutive hops: such
# hairpins bundle several lines into a knot no reader can follow (`rmlite.data.legibility` measures them).
HAIRPIN_TURN = 3
HAIRPIN_HOPS = 3


@dataclass(frozen=True)
class GeneratorConfig:
    """What kind of network to draw. Ranges are inclusive; None means "the difficulty's default".

    Args:
        difficulty: "easy" | "middle" | "hard" (sets the line and transfer ranges).
        size: the image size the map is meant for; caps the station count so labels stay legible.
        max_pixels: training resize budget (pixels); a smaller budget means larger fonts and fewer stations.
        line_naming: "numbered" ("Line 1") or "named" ("Red Line", the colour it is drawn in).
        name_flavours: station-name language flavours to mix (see rmlite.maps.namer.FLAVOURS).
        lines: override of the line-count range.
        stations_per_line: range of stations on one line (before the per-size cap).
        corridor_share: how readily a line follows another line's track (0 = never).
    """

    difficulty: str = "middle"
    size: int = MAP_SIZE
    max_pixels: int | None = None
    line_naming: str = "numbered"
    name_flavours: tuple[str, ...] = FLAVOURS
    lines: tuple[int, int] | None = None
    stations_per_line: tuple[int, int] = STATIONS_PER_LINE
    corridor_share: float = 0.35

    def validate(self) -> None:
        """Raise ValueError with a readable message for any impossible setting."""
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {self.difficulty!r}")
        if not isinstance(self.size, int) or not 384 <= self.size <= 4096:
            raise ValueError(f"size must be an int in [384, 4096] pixels, got {self.size!r}")
        if self.max_pixels is not None and self.max_pixels < 256 * 256:
            raise ValueError(f"max_pixels must be at least 65536 (256x256), got {self.max_pixels}")
        if self.line_naming not in LINE_NAMINGS:
            raise ValueError(f"line_naming must be one of {LINE_NAMINGS}, got {self.line_naming!r}")
        bad = [f for f in self.name_flavours if f not in FLAVOURS]
        if not self.name_flavours or bad:
            raise ValueError(f"name_flavours must be a non-empty subset of {FLAVOURS}, got unknown {bad}")
        lo, hi = self.line_range()
        if not 1 <= lo <= hi:
            raise ValueError(f"lines range must satisfy 1 <= lo <= hi, got {(lo, hi)}")
        if hi > len(PALETTE):
            raise ValueError(f"at most {len(PALETTE)} lines (one palette colour each), got {hi}")
        slo, shi = self.stations_per_line
        if not 2 <= slo <= shi:
            raise ValueError(f"stations_per_line must satisfy 2 <= lo <= hi, got {(slo, shi)}")
        cap = self.station_cap()
        if lo * slo - (lo - 1) > cap:
            raise ValueError(f"{lo} lines of >= {slo} stations exceed the legible cap of {cap} stations for a "
                             f"{self.size}px map (label cap height >= {MIN_CAP_PX}px); use a larger size or fewer "
                             "lines")
        if not 0.0 <= self.corridor_share <= 1.0:
            raise ValueError(f"corridor_share must be in [0, 1], got {self.corridor_share}")

    def line_range(self) -> tuple[int, int]:
        return self.lines if self.lines is not None else LINE_RANGES[self.difficulty]

    def station_cap(self) -> int:
        return legible_station_cap(self.size, self.max_pixels)


class _Grid:
    """Occupancy of the layout grid: which nodes carry track or stations, which unit edges carry which lines."""

    def __init__(self, width: int, height: int):
        self.w, self.h = width, height
        self.station_at: dict[tuple[int, int], int] = {}  # node -> station id
        self.track: set[tuple[int, int]] = set()  # nodes any line passes through
        self.edges: dict[frozenset, list[int]] = {}  # unit edge -> line ids
        self.node_dirs: dict[tuple[int, int], set[int]] = {}  # node -> directions of track leaving it
        self.pairs: set[frozenset] = set()  # consecutive station nodes of some line
        self.field: dict[tuple[int, int], float] = {}  # crowding: weighted count of track/stations within 2 steps

    def crowd(self, p: tuple[int, int]) -> float:
        """How cramped a new station at p would be (nearby foreign track leaves no room for labels)."""
        return self.field.get(p, 0.0)

    def add_track(self, p: tuple[int, int], station: bool) -> None:
        """Mark p as track (and maybe station) and raise the crowding field around it (kept incrementally)."""
        new_track, new_station = p not in self.track, station and p not in self.station_at
        self.track.add(p)
        if not (new_track or new_station):
            return
        f = self.field
        for dx in range(-2, 3):
            for dy in range(-2, 3):
                if dx or dy:
                    q = (p[0] + dx, p[1] + dy)
                    w = (1.6 if max(abs(dx), abs(dy)) == 1 else 0.7) if new_track else 0.0
                    f[q] = f.get(q, 0.0) + w + (0.5 if new_station else 0.0)


def _dir_index(a: tuple[int, int], b: tuple[int, int]) -> int:
    return DIRS.index((b[0] - a[0], b[1] - a[1]))


def _turning_back(recent: frozenset) -> frozenset:
    """The step directions HAIRPIN_TURN octants or more from one of `recent`: taking one makes a hairpin.

    >>> sorted(_turning_back(frozenset({0}))), sorted(_turning_back(frozenset({0, 1})))
    ([3, 4, 5], [3, 4, 5, 6])
    """
    return frozenset(b for b in range(8) for a in recent if min((a - b) % 8, (b - a) % 8) >= HAIRPIN_TURN)


class _LineWalker:
    """Grows one line's arm from a node, hop by hop (a hop ends at the next station)."""

    def __init__(self, grid: _Grid, rng: random.Random, line_id: int, share: float):
        self.g, self.rng, self.lid, self.share = grid, rng, line_id, share
        self.own_nodes: set[tuple[int, int]] = set()
        self.own_edges: set[frozenset] = set()
        self.shared_hops = 0  # hops ridden on another line's track so far (corridors are spice, not the meal)

    def hop(self, cur: tuple[int, int], d: int, turned: int, shared_run: int, recent: frozenset = frozenset()
            ) -> tuple | None:
        """Pick the next hop: (unit nodes after cur, new direction, new cumulative turn, shared flag) or None.

        `recent`: the octants of the line's last HAIRPIN_HOPS - 1 hops; a hop turning back on them is refused."""
        g, rng = self.g, self.rng
        back = _turning_back(recent)
        best, best_score = None, -math.inf
        traced: dict[tuple, tuple | None] = {}  # hop lengths repeat (3, 3): trace each step list once
        for t, w in _TURN_WEIGHTS.items():
            if abs(turned + t) > 2:  # keep an arm heading roughly one way: no spirals
                continue
            nd = (d + t) % 8
            for straight in ((0,) if t == 0 else (0, 1)):
                for n in _HOPS[0 if nd % 4 == 0 else (2 if nd % 4 == 2 else 1)]:
                    steps = (d,) * straight + (nd,) * n
                    res = traced[steps] if steps in traced else traced.setdefault(steps, self._trace(cur, steps))
                    if res is None:
                        continue
                    nodes, shared = res
                    if back and not back.isdisjoint(steps[:len(nodes)]):
                        continue
                    end = nodes[-1]
                    score = math.log(w) - rng.expovariate(1.0) * 1.2  # Gumbel-ish noise: a weighted random pick
                    if not shared:  # track squeezed past other lines leaves no room for labels
                        score -= 0.3 * sum(g.crowd(q) for q in nodes[:-1])
                    if end not in g.station_at:
                        score -= g.crowd(end)
                        margin = min(end[0], end[1], g.w - end[0], g.h - end[1])
                        score -= (4.0, 2.0, 0.6)[margin] if margin < 3 else 0.0
                    else:
                        score += 0.3  # reaching another line's station makes a transfer: welcome, not forced
                    if shared:
                        score += math.log(max(self.share, 1e-6) * 3) - 1.2 * shared_run - 0.8 * self.shared_hops
                    if score > best_score:
                        best, best_score = (nodes, nd, turned + t, shared), score
        return best

    def _trace(self, cur: tuple[int, int], steps: tuple[int, ...]) -> tuple[list, bool] | None:
        """Unit nodes visited by `steps` from cur, cut at the first station reached; None if not allowed."""
        g, own = self.g, self.own_nodes
        nodes: list[tuple[int, int]] = []
        p = cur
        shared_any = False
        seen: set[tuple[int, int]] = set()
        for k in steps:
            q = (p[0] + DIRS[k][0], p[1] + DIRS[k][1])
            if not (0 <= q[0] <= g.w and 0 <= q[1] <= g.h) or q in own or q in seen:
                return None
            e = frozenset((p, q))
            shared = e in g.edges
            if k % 2 == 1:  # diagonal: must not cross one of our own diagonals in an X
                x = frozenset(((p[0] + DIRS[k][0], p[1]), (p[0], p[1] + DIRS[k][1])))
                if x in self.own_edges:
                    return None
            if shared:
                if self.share <= 0 or len(g.edges[e]) >= _MAX_CORRIDOR:
                    return None
                shared_any = True
            elif q in g.track and q not in g.station_at:
                return None  # would join or cross another line at a node with no station
            elif q in g.station_at and (k in g.node_dirs.get(q, ()) or (k + 4) % 8 in g.node_dirs.get(q, ())):
                pass  # entering a station along its own axis through a fresh edge cannot happen (edge would exist)
            nodes.append(q)
            seen.add(q)
            if q in g.station_at:
                # A second, different track between two stations that are already neighbours reads as a
                # parallel service the map cannot show; only a shared corridor may link them again.
                if frozenset((cur, q)) in g.pairs and not all(
                        frozenset((a, b)) in g.edges for a, b in zip([cur] + nodes, nodes, strict=False)):
                    return None
                return nodes, shared_any
            p = q
        if nodes[-1] in g.track:  # ending on foreign track without a station: no
            return None
        return nodes, shared_any

    def grow(self, start: tuple[int, int], d: int, n_stations: int, behind: list[frozenset] | None = None
             ) -> tuple[list, list, list]:
        """Walk up to n_stations hops from start; returns (unit nodes after start, indices of station nodes, the
        octants of each hop). `behind`: octants of the hops the line already has before start, nearest first, as
        travelled towards start (the other arm's, reversed), so no hairpin forms across the start either."""
        nodes: list[tuple[int, int]] = []
        stations: list[int] = []
        hops: list[frozenset] = []
        cur, turned, run = start, 0, 0
        self.own_nodes.add(start)
        while len(stations) < n_stations:
            recent = frozenset().union(*(hops[::-1] + (behind or []))[:HAIRPIN_HOPS - 1])
            h = self.hop(cur, d, turned, run, recent)
            if h is None:
                break
            hop_nodes, d, turned, shared = h
            hops.append(frozenset(_dir_index(a, b) for a, b in zip([cur] + hop_nodes, hop_nodes, strict=False)))
            run = run + 1 if shared else 0
            self.shared_hops += shared
            prev = cur
            for q in hop_nodes:
                self.own_edges.add(frozenset((prev, q)))
                self.own_nodes.add(q)
                prev = q
            nodes.extend(hop_nodes)
            stations.append(len(nodes) - 1)
            cur = hop_nodes[-1]
        return nodes, stations, hops


def _commit(g: _Grid, lid: int, nodes: list[tuple[int, int]], station_flags: list[bool], next_id: list[int]) -> list:
    """Write a finished line into the grid; returns its station ids in order."""
    ids = []
    last = None
    for i, p in enumerate(nodes):
        g.add_track(p, station_flags[i])
        if i:
            a = nodes[i - 1]
            g.edges.setdefault(frozenset((a, p)), []).append(lid)
            k = _dir_index(a, p)
            g.node_dirs.setdefault(a, set()).add(k)
            g.node_dirs.setdefault(p, set()).add((k + 4) % 8)
        if station_flags[i]:
            if p not in g.station_at:
                g.station_at[p] = next_id[0]
                next_id[0] += 1
            ids.append(g.station_at[p])
            if last is not None:
                g.pairs.add(frozenset((last, p)))
            last = p
    return ids


def _anchor_candidates(g: _Grid, rng: random.Random) -> list[tuple[float, tuple[int, int], int]]:
    """(score, node, direction) for starting a new line through an existing station on a free axis."""
    cx, cy = g.w / 2, g.h / 2
    out = []
    for p in g.station_at:
        used = g.node_dirs.get(p, set())
        if len(used) >= 5:
            continue
        # Prefer stations near the centre with few lines: new lines cross there, as in real radial networks.
        base = -math.hypot(p[0] - cx, p[1] - cy) / max(g.w, g.h) * 2.5 - 0.8 * len(used)
        for k in range(4):
            if k in used or k + 4 in used:
                continue
            out.append((base - rng.expovariate(1.0), p, k if rng.random() < 0.5 else k + 4))
    out.sort(key=lambda t: -t[0])
    return out


def _layout(cfg: GeneratorConfig, rng: random.Random, sizes: list[int], grid_n: int):
    """Lay out all lines; returns (grid, [(unit nodes, station flags, station ids)]) or None on a dead end."""
    g = _Grid(grid_n, grid_n)
    next_id = [0]
    lines = []
    for lid, n in enumerate(sizes):
        for _attempt in range(25):
            walker = _LineWalker(g, rng, lid, cfg.corridor_share)
            if lid == 0:
                # First line: through the central region, in a random axis.
                start = (grid_n // 2 + rng.randint(-2, 2), grid_n // 2 + rng.randint(-2, 2))
                d = rng.randrange(8)
            else:
                cands = _anchor_candidates(g, rng)
                if not cands:
                    return None
                _, start, d = cands[min(len(cands) - 1, int(rng.expovariate(0.7)))]
            one_arm = lid > 0 and rng.random() < 0.3  # the line ends at the transfer (a terminus there)
            n1 = n - 1 if one_arm else max(1, round((n - 1) * rng.uniform(0.35, 0.65)))
            a_nodes, a_st, a_hops = walker.grow(start, d, n1)
            back = [frozenset((o + 4) % 8 for o in h) for h in a_hops]
            b_nodes, b_st, _ = walker.grow(start, (d + 4) % 8, n - 1 - len(a_st), back) if not one_arm else ([], [], [])
            if len(a_st) + len(b_st) + 1 < min(n, cfg.stations_per_line[0]) or len(a_st) + len(b_st) + 1 < 2:
                continue
            # Trim arm tails after their last station (a walk only ever ends on a station, but be safe).
            a_nodes = a_nodes[: a_st[-1] + 1] if a_st else []
            b_nodes = b_nodes[: b_st[-1] + 1] if b_st else []
            nodes = b_nodes[::-1] + [start] + a_nodes
            flags = [False] * len(nodes)
            off = len(b_nodes)
            flags[off] = True
            for i in a_st:
                flags[off + 1 + i] = True
            for i in b_st:
                flags[off - 1 - i] = True
            ids = _commit(g, lid, nodes, flags, next_id)
            lines.append((nodes, flags, ids))
            break
        else:
            return None
    return g, lines


def _compress(nodes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Unit-step path → polyline of its end points and bends."""
    out = [nodes[0]]
    for i in range(1, len(nodes) - 1):
        if _dir_index(nodes[i - 1], nodes[i]) != _dir_index(nodes[i], nodes[i + 1]):
            out.append(nodes[i])
    out.append(nodes[-1])
    return out


def generate_network(config: GeneratorConfig, seed: int) -> Network:
    """A connected, octilinear network for (config, seed); the same pair always gives the same network.

    Args:
        config: what to generate (validated here).
        seed: any int; the network is a pure function of (config, seed).
    Returns:
        A Network with positions (station → grid x, y), geometry (line → polyline of grid points) and colours.
    """
    config.validate()
    rng = random.Random(f"rmlite-map-{seed}")
    lo, hi = config.line_range()
    cap = config.station_cap()
    tlo, thi = TRANSFER_RANGES[config.difficulty] if config.lines is None else (0, 10**6)
    font = legible_font_px(config.size, config.max_pixels)
    eff = config.size if config.max_pixels is None else min(config.size, int(math.isqrt(config.max_pixels)))
    # Grid cell ≈ 2 font heights at the image size; the renderer fits the grid to the canvas.
    grid_n = max(10, int((config.size - 5 * font * config.size / eff) / (2.0 * font * config.size / eff)))
    for _attempt in range(200):
        n_lines = rng.randint(lo, min(hi, max(lo, cap // 5 + 1)))
        slo, shi = config.stations_per_line
        # Share the station budget between lines; transfers are counted once, so allow ~15% overshoot. Where the
        # size's cap is tight (hard maps at 512 px), lines may be shorter than `slo` (down to TIGHT_MIN_STATIONS) so
        # that hard maps still vary in line count (else every one has 8 lines and counting3 is a constant).
        budget = int(cap * 1.15 / n_lines)
        slo = min(slo, max(TIGHT_MIN_STATIONS, budget))
        per = max(slo, min(shi, budget))
        sizes = [rng.randint(slo, per) for _ in range(n_lines)]
        res = _layout(config, rng, sizes, grid_n)
        if res is None:
            continue
        g, lines = res
        n_st = len(g.station_at)
        n_tr = sum(1 for s in range(n_st) if sum(s in ids for _, _, ids in lines) > 1)
        if n_st > cap or not tlo <= n_tr <= thi or any(len(ids) < 2 for _, _, ids in lines):
            continue
        net = _to_network(config, rng, seed, g, lines, grid_n)
        # Rare knots leave a label no free spot; redraw rather than ship a map with overlapping labels.
        # (The renderer caches this plan, so render_map on the returned network does not redo it.)
        if labels_fit(net, config.size, config.max_pixels):
            return net
    raise RuntimeError(f"could not generate a {config.difficulty} map for seed {seed}; loosen the config")


def _to_network(cfg: GeneratorConfig, rng: random.Random, seed: int, g: _Grid, lines: list, grid_n: int) -> Network:
    palette = list(PALETTE)
    k = len(lines)
    # Small maps draw from the most distinct colours; order within the map is shuffled.
    colours = rng.sample(palette[: max(k, 6)], k)
    if cfg.line_naming == "named":
        names = [f"{c} Line" for c, _ in colours]
    else:
        names = [f"Line {i + 1}" for i in range(k)]
    namer = StationNamer(rng, cfg.name_flavours, reserved=tuple(names))
    max_len = 13 if cfg.size < 700 else 16  # small maps: shorter names, so labels fit
    n_st = len(g.station_at)
    st_names = [namer.next(max_len) for _ in range(n_st)]
    pos_of = {sid: p for p, sid in g.station_at.items()}
    net_lines = []
    geometry = {}
    for name, (_cname, hexcol), (nodes, _flags, ids) in zip(names, colours, lines, strict=True):
        net_lines.append(Line(name, tuple(st_names[i] for i in ids), hexcol))
        geometry[name] = _compress(nodes)
    positions = {st_names[sid]: pos_of[sid] for sid in range(n_st)}
    meta = {"seed": seed, "grid": [grid_n, grid_n], "size": cfg.size, "generator": dataclasses.asdict(cfg),
            "short_names": {n: (c if cfg.line_naming == "named" else n.split()[-1]) for n, (c, _) in
                            zip(names, colours, strict=True)}}
    return Network(tuple(net_lines), difficulty=cfg.difficulty, name=f"synthetic-{cfg.difficulty}-{seed}",
                   positions=positions, geometry=geometry, meta=meta)
