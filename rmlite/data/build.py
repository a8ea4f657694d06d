"""Build an rmlite data set: synthetic maps of every difficulty plus real cities, their questions, the mini set.

`generate_dataset(out, DatasetConfig(...))` draws the maps (seeded, in worker processes), asks the questions
(`rmlite.data.questions`), splits by map (a test map never appears in training: ReasonMap's cross-city split)
and hands everything to `rmlite.data.store.save_dataset`, which writes it atomically. `mini_dataset()` is the
small set shipped in `data/mini` (the CPU track and the tests read it; `make mini-data` rewrites it).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rmlite import __version__
from rmlite.data.legibility import label_cover
from rmlite.data.questions import QuestionConfig, generate_questions
from rmlite.data.store import save_dataset
from rmlite.maps.fonts import MAP_SIZE, QUICK_SIZE, SIZES
from rmlite.maps.generate import (
    LINE_NAMINGS,
    LINE_RANGES,
    TIGHT_MIN_STATIONS,
    TRANSFER_RANGES,
    GeneratorConfig,
    generate_network,
)
from rmlite.maps.layout import cached_plan
from rmlite.maps.real import TEST_CITIES, find_city, load_city
from rmlite.maps.render import render_map
from rmlite.schema import DATA_SCHEMA, DIFFICULTIES, MANIFEST


@dataclass(frozen=True)
class DatasetConfig:
    """What to generate.

    Args:
        n_maps: synthetic maps (each gets every question type).
        seed: master seed; map i uses a seed derived from (seed, i), so adding maps keeps earlier ones.
        size: image side in pixels (one of `SIZES`).
        difficulties: map difficulties to cycle through.
        test_fraction: share of synthetic maps held out for the test split (split by map).
        line_naming: "numbered" ("Line 3") or "named" ("Red Line").
        real_maps: ReasonMap city names or metro-data JSON paths to add (ReasonMap test cities go to test).
        questions: per-map question counts and planning mix.
    """

    n_maps: int = 20
    seed: int = 0
    size: int = MAP_SIZE
    difficulties: tuple[str, ...] = DIFFICULTIES
    test_fraction: float = 0.2
    line_naming: str = "numbered"
    real_maps: tuple[str, ...] = ()
    questions: QuestionConfig = field(default_factory=QuestionConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.n_maps < 0:
            raise ValueError(f"n_maps must be >= 0, got {self.n_maps}")
        if self.n_maps == 0 and not self.real_maps:
            raise ValueError("nothing to generate: n_maps is 0 and no real maps were given")
        if self.size not in SIZES:
            raise ValueError(f"size must be {', '.join(map(str, SIZES[:-1]))} or {SIZES[-1]}, got {self.size}")
        bad = [d for d in self.difficulties if d not in DIFFICULTIES]
        if bad or not self.difficulties:
            raise ValueError(f"difficulties must be a non-empty subset of {DIFFICULTIES}, "
                             f"got {list(self.difficulties)}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in [0, 1), got {self.test_fraction}")
        if self.line_naming not in LINE_NAMINGS:
            raise ValueError(f"line_naming must be one of {LINE_NAMINGS}, got {self.line_naming!r}")


@dataclass(frozen=True)
class MapSpec:
    map_id: str
    difficulty: str
    seed: int
    split: str
    lines: int | None = None  # the line count to draw (None: the generator's own draw)


# Tries per map to land a balanced line count inside its difficulty's transfer range (the closest one is kept).
LINE_TRIES = 2
_SEED_STRIDE = 1_000_003 * 7919  # a retry's seed: far from every map seed of every master seed in use


def line_counts(difficulty: str, size: int) -> tuple[int, ...]:
    """The line counts a synthetic map of this difficulty and size can have (the generator's range, cut where the
    size's station cap cannot fit more lines of at least `TIGHT_MIN_STATIONS` stations).

    >>> line_counts("easy", 512), line_counts("hard", 512), line_counts("hard", 768)
    ((2, 3, 4), (8, 9), (8, 9, 10, 11, 12))
    """
    lo, hi = LINE_RANGES[difficulty]
    cap = GeneratorConfig(difficulty, size=size).station_cap()
    return tuple(range(lo, min(hi, max(lo, cap // 5 + 1)) + 1))


def synthetic_network(spec: MapSpec, cfg: DatasetConfig):
    """The network of one synthetic map. With `spec.lines` set, that many lines (so counting3's key is balanced
    within each difficulty, issue 23: 69 of 100 easy maps had 2 lines): up to `LINE_TRIES` seeds, keeping the first
    whose transfer count lies in the difficulty's range, else the closest."""
    gen = GeneratorConfig(difficulty=spec.difficulty, line_naming=cfg.line_naming, size=cfg.size)
    if spec.lines is None:
        return generate_network(gen, spec.seed)
    gen = dataclasses.replace(gen, lines=(spec.lines, spec.lines))
    try:
        gen.validate()
    except ValueError:  # a tight cap: shorter lines, as the generator's own draw allows there
        gen = dataclasses.replace(gen, stations_per_line=(TIGHT_MIN_STATIONS, gen.stations_per_line[1]))
    lo, hi = TRANSFER_RANGES[spec.difficulty]
    best = None
    for k in range(LINE_TRIES):
        net = generate_network(gen, spec.seed + k * _SEED_STRIDE)
        miss = max(lo - len(net.transfer_stations), len(net.transfer_stations) - hi, 0)
        if best is None or miss < best[0]:
            best = (miss, net)
        if miss == 0:
            break
    return best[1]


def map_specs(cfg: DatasetConfig) -> list[MapSpec]:
    """The synthetic maps a config asks for, with their seeds and splits (deterministic).

    >>> [s.map_id for s in map_specs(DatasetConfig(n_maps=3, seed=7))]
    ['s7-m00000', 's7-m00001', 's7-m00002']
    """
    n_test = round(cfg.n_maps * cfg.test_fraction)
    if cfg.test_fraction > 0 and cfg.n_maps >= 2:
        n_test = max(1, n_test)
    test_idx = set(random.Random(f"rmlite-split-{cfg.seed}").sample(range(cfg.n_maps), n_test))
    specs = []
    for i in range(cfg.n_maps):
        d = cfg.difficulties[i % len(cfg.difficulties)]
        counts = line_counts(d, cfg.size)  # each count in turn over the maps of one difficulty
        specs.append(MapSpec(f"s{cfg.seed}-m{i:05d}", d, cfg.seed * 1_000_003 + i, "test" if i in test_idx else "train",
                             counts[(i // len(cfg.difficulties) + cfg.seed) % len(counts)]))
    return specs


def build_synthetic_map(spec: MapSpec, cfg: DatasetConfig) -> tuple[dict, list[dict]]:
    """One map: network → image → questions. Returns (map record, question rows)."""
    net = synthetic_network(spec, cfg)
    net.name = spec.map_id
    res = render_map(net, size=cfg.size)
    img = res.image
    qs = generate_questions(net, map_id=spec.map_id, seed=spec.seed, config=cfg.questions,
                            unreadable=unreadable_stations(net, res, cfg.size), size=cfg.size)
    return map_record(spec.map_id, net, img, spec.seed, "synthetic", spec.split), qs


def unreadable_stations(net, res, size: int) -> frozenset[str]:
    """Stations no question may name: the renderer's (no label, a label nearer another mark, a label on track) and,
    measured from the drawn geometry, any whose label touches another line's stroke (the placer's pixel raster can
    miss a sub-pixel touch; ~4 of 13,000 questions at 768 px did before this check)."""
    over_other, _, _ = label_cover(cached_plan(net, size, False, None), net)
    return res.unreadable | over_other


def map_record(map_id: str, net, image, seed: int, source: str, split: str) -> dict:
    """A row of the maps table (image stored as PNG bytes)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)  # level 1: 3–4x faster than the default, ~10% larger
    return {"map_id": map_id, "image": {"bytes": buf.getvalue(), "path": None},
            "metro_data": json.dumps(net.metro_data(), ensure_ascii=False), "network": net.to_json(),
            "difficulty_city": net.difficulty, "source": source, "seed": int(seed), "split": split,
            "width": image.width, "height": image.height}


def _build_star(args):
    return build_synthetic_map(*args)


def generate_dataset(out: str | os.PathLike, cfg: DatasetConfig, *, workers: int | None = None,
                     progress: bool = True, overwrite: bool = False) -> Path:
    """Generate maps and questions and save them atomically under `out`; returns the path.

    Uses all cores by default (`workers=None`); results do not depend on the number of workers.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    specs = map_specs(cfg)
    workers = max(1, min(workers or os.cpu_count() or 1, len(specs) or 1))
    maps: list[dict] = []
    rows: dict[str, list[dict]] = {"train": [], "test": []}
    # Real maps first: a mistyped city or a broken JSON file is reported before any synthetic work.
    real = []
    for ref in cfg.real_maps:

        real.append(build_real_map(ref, seed=cfg.seed, config=cfg.questions))
    bar = tqdm(total=len(specs) + len(cfg.real_maps), desc="maps", unit="map", disable=not progress)
    jobs = [(s, cfg) for s in specs]
    if workers > 1 and len(jobs) > 1:
        import multiprocessing as mp

        with mp.get_context("fork" if hasattr(os, "fork") else "spawn").Pool(workers) as pool:
            results = pool.imap(_build_star, jobs, chunksize=max(1, min(8, len(jobs) // (4 * workers))))
            for (rec, qs) in results:
                maps.append(rec)
                rows[rec["split"]] += qs
                bar.update()
    else:
        for job in jobs:
            rec, qs = _build_star(job)
            maps.append(rec)
            rows[rec["split"]] += qs
            bar.update()
    for rec, qs in real:
        maps.append(rec)
        rows[rec["split"]] += qs
        bar.update()
    bar.close()
    manifest = _manifest(cfg, maps, rows, time.perf_counter() - t0)
    save_dataset(out, maps, rows, manifest, overwrite=overwrite)
    return out


def _manifest(cfg: DatasetConfig, maps: list[dict], rows: dict[str, list[dict]], seconds: float) -> dict:
    counts = {split: {"questions": len(r), "maps": len({q["map_id"] for q in r}),
                      "by_type": dict(sorted(Counter(q["type"] for q in r).items())),
                      "by_type_and_difficulty": dict(sorted(Counter(f"{q['type']}/{q['difficulty_question']}"
                                                                    for q in r).items())),
                      "by_map_difficulty": dict(sorted(Counter(q["difficulty_city"] for q in r).items()))}
              for split, r in rows.items()}
    cfg_d = asdict(cfg)
    return {"rmlite_version": __version__, "data_schema": DATA_SCHEMA, "config": cfg_d, "seed": cfg.seed,
            "counts": counts,
            "short": short_types(maps, rows, cfg.questions), "maps": len(maps),
            "generation_seconds": round(seconds, 2), "complete": True}


def short_types(maps: list[dict], rows: dict[str, list[dict]], questions: QuestionConfig) -> dict[str, dict]:
    """map_id → {type: "asked/wanted"} for each type a map gave fewer questions of than `questions.per_map` asks
    (a small real map with no "no" answer, a map too small for counting1's options, unreadable stations)."""
    got = Counter((q["map_id"], q["type"]) for r in rows.values() for q in r)
    want = {t: (min(n, 1) if t == "counting3" else n) for t, n in questions.per_map.items()}
    out: dict[str, dict] = {}
    for rec in maps:
        for t, n in want.items():
            if got[(rec["map_id"], t)] < n:
                out.setdefault(rec["map_id"], {})[t] = f"{got[(rec['map_id'], t)]}/{n}"
    return dict(sorted(out.items()))


# ----- the small data set shipped with the repository ----------------------------------------------------------------
# The CPU track (notebooks 00, 01, 02, 06 on a CPU runtime, workshops) reads this instead of generating: 24 synthetic
# 512 px maps (8 per difficulty) plus the real Oslo, Geneva and Miami maps, about 3 MB. tests/test_shipped_data.py
# regenerates it from MINI_CONFIG and fails if the committed copy is stale; `make mini-data` rewrites it.
MINI_DIR = Path(__file__).resolve().parents[2] / "data" / "mini"
MINI_CONFIG = DatasetConfig(n_maps=24, seed=0, size=QUICK_SIZE, real_maps=("oslo", "geneva", "miami"))


def mini_dataset() -> Path:
    """The path of the pre-generated data set in `data/mini` (a repository checkout; not in a wheel)."""
    if not (MINI_DIR / MANIFEST).is_file():
        raise FileNotFoundError(f"no shipped data set at {MINI_DIR}: it lives in the repository checkout (git clone), "
                                "not in an installed wheel. Generate one instead: python -m rmlite generate --maps 24 "
                                "--size 512 --real oslo,geneva,miami --out data/mini")
    return MINI_DIR


def build_real_map(city: str, *, seed: int = 0, config: QuestionConfig | None = None,
                   split: str | None = None) -> tuple[dict, list[dict]]:
    """(map record, question rows) for a real city, for `rmlite.data`; test cities go to the test split."""
    from PIL import Image


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
