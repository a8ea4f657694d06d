"""Generate, store and load rmlite data sets: questions in `datasets` format, one image per map.

On disk (`DIR`):
    DIR/manifest.json     config, seed, counts per split/type/difficulty, package version; written last
    DIR/questions/        a DatasetDict (train / test), one row per question (schema: `rmlite.schema`), no images
    DIR/maps/             a Dataset, one row per map: map_id, image (PNG), metro_data, network JSON, difficulty

A map has dozens of questions, so storing its PNG once and attaching it to question rows only when a
split is loaded keeps the data set tens of times smaller. Splits are by map: a test map never appears
in training (ReasonMap's cross-city split). Writes are atomic: everything goes to a temporary folder
that is renamed into place only when complete, so an interrupted run never leaves a data set that loads.

`datasets` is imported inside the functions that need it (it costs about a second to import).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rmlite.questions import QuestionConfig, generate_questions
from rmlite.schema import DIFFICULTIES

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class DatasetConfig:
    """What to generate.

    Args:
        n_maps: synthetic maps (each gets every question type).
        seed: master seed; map i uses a seed derived from (seed, i), so adding maps keeps earlier ones.
        size: image side in pixels (512, 768 or 1024).
        difficulties: map difficulties to cycle through.
        test_fraction: share of synthetic maps held out for the test split (split by map).
        line_naming: "numbered" ("Line 3") or "named" ("Red Line").
        real_maps: ReasonMap city names or metro-data JSON paths to add (ReasonMap test cities go to test).
        questions: per-map question counts and planning mix.
    """

    n_maps: int = 20
    seed: int = 0
    size: int = 1024
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
        if self.size not in (512, 768, 1024):
            raise ValueError(f"size must be 512, 768 or 1024, got {self.size}")
        bad = [d for d in self.difficulties if d not in DIFFICULTIES]
        if bad or not self.difficulties:
            raise ValueError(f"difficulties must be a non-empty subset of {DIFFICULTIES}, "
                             f"got {list(self.difficulties)}")
        if not 0.0 <= self.test_fraction < 1.0:
            raise ValueError(f"test_fraction must lie in [0, 1), got {self.test_fraction}")
        if self.line_naming not in ("numbered", "named"):
            raise ValueError(f"line_naming must be 'numbered' or 'named', got {self.line_naming!r}")


@dataclass(frozen=True)
class MapSpec:
    map_id: str
    difficulty: str
    seed: int
    split: str


def map_specs(cfg: DatasetConfig) -> list[MapSpec]:
    """The synthetic maps a config asks for, with their seeds and splits (deterministic).

    >>> [s.map_id for s in map_specs(DatasetConfig(n_maps=3, seed=7))]
    ['s7-m00000', 's7-m00001', 's7-m00002']
    """
    n_test = round(cfg.n_maps * cfg.test_fraction)
    if cfg.test_fraction > 0 and cfg.n_maps >= 2:
        n_test = max(1, n_test)
    test_idx = set(random.Random(f"rmlite-split-{cfg.seed}").sample(range(cfg.n_maps), n_test))
    return [MapSpec(f"s{cfg.seed}-m{i:05d}", cfg.difficulties[i % len(cfg.difficulties)],
                    cfg.seed * 1_000_003 + i, "test" if i in test_idx else "train") for i in range(cfg.n_maps)]


def build_synthetic_map(spec: MapSpec, cfg: DatasetConfig) -> tuple[dict, list[dict]]:
    """One map: network → image → questions. Returns (map record, question rows)."""
    from rmlite.generate import GeneratorConfig, generate_network
    from rmlite.render import render_map

    net = generate_network(GeneratorConfig(difficulty=spec.difficulty, line_naming=cfg.line_naming,
                                           size=cfg.size), spec.seed)
    net.name = spec.map_id
    img = render_map(net, size=cfg.size).image
    qs = generate_questions(net, map_id=spec.map_id, seed=spec.seed, config=cfg.questions)
    return map_record(spec.map_id, net, img, spec.seed, "synthetic", spec.split), qs


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
        from rmlite.reasonmap import build_real_map

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
    from rmlite import __version__

    counts = {split: {"questions": len(r), "maps": len({q["map_id"] for q in r}),
                      "by_type": dict(sorted(Counter(q["type"] for q in r).items())),
                      "by_type_and_difficulty": dict(sorted(Counter(f"{q['type']}/{q['difficulty_question']}"
                                                                    for q in r).items())),
                      "by_map_difficulty": dict(sorted(Counter(q["difficulty_city"] for q in r).items()))}
              for split, r in rows.items()}
    cfg_d = asdict(cfg)
    return {"rmlite_version": __version__, "config": cfg_d, "seed": cfg.seed, "counts": counts,
            "maps": len(maps), "generation_seconds": round(seconds, 2), "complete": True}


def save_dataset(out: Path, maps: list[dict], rows: dict[str, list[dict]], manifest: dict,
                 overwrite: bool = False) -> None:
    """Write everything to a temporary sibling folder, then rename it into place (atomic on one file system)."""
    from datasets import Dataset, DatasetDict

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        maps_ds = Dataset.from_list(maps, features=_map_features())
        maps_ds.save_to_disk(str(tmp / "maps"))
        q = DatasetDict({split: _questions_dataset(r) for split, r in rows.items()})
        # One shard per split: datasets writes zero shards for an empty split and then cannot load it back.
        q.save_to_disk(str(tmp / "questions"), num_shards={k: 1 for k in q})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        if out.exists():
            if not overwrite:
                raise FileExistsError(f"{out} exists")
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _map_features():
    from datasets import Features, Image, Value

    return Features({"map_id": Value("string"), "image": Image(), "metro_data": Value("string"),
                     "network": Value("string"), "difficulty_city": Value("string"), "source": Value("string"),
                     "seed": Value("int64"), "split": Value("string"), "width": Value("int32"),
                     "height": Value("int32")})


def _question_features():
    from datasets import Features, List, Value

    text = {"type": Value("string"), "text": Value("string")}
    return Features({
        "id": Value("string"), "map_id": Value("string"), "type": Value("string"), "question": Value("string"),
        "answer": Value("string"), "choices": List(Value("int64")), "station1": Value("string"),
        "station2": Value("string"), "line": Value("string"), "metro_data": Value("string"),
        "routes": Value("string"), "difficulty_city": Value("string"), "difficulty_question": Value("string"),
        "question_transfer_count": Value("int64"), "template": Value("string"), "seed": Value("int64"),
        "source": Value("string"),
        "prompt": List({"role": Value("string"), "content": List(text)}),
    })


def _questions_dataset(rows: list[dict]):
    from datasets import Dataset

    features = _question_features()
    if not rows:  # an empty split (e.g. only non-test real maps) still gets the full schema
        import pyarrow as pa

        return Dataset(pa.Table.from_pylist([], schema=features.arrow_schema))
    return Dataset.from_list(rows, features=features)


# ----- the small data set shipped with the repository ----------------------------------------------------------------
# The CPU track (notebooks 00, 01, 02, 06 on a CPU runtime, workshops) reads this instead of generating: 24 synthetic
# 512 px maps (8 per difficulty) plus the real Oslo, Geneva and Miami maps, about 3 MB. tests/test_shipped_data.py
# regenerates it from MINI_CONFIG and fails if the committed copy is stale; `make mini-data` rewrites it.
MINI_DIR = Path(__file__).resolve().parent.parent / "data" / "mini"
MINI_CONFIG = DatasetConfig(n_maps=24, seed=0, size=512, real_maps=("oslo", "geneva", "miami"))


def mini_dataset() -> Path:
    """The path of the pre-generated data set in `data/mini` (a repository checkout; not in a wheel)."""
    if not (MINI_DIR / MANIFEST).is_file():
        raise FileNotFoundError(f"no shipped data set at {MINI_DIR}: it lives in the repository checkout (git clone), "
                                "not in an installed wheel. Generate one instead: python -m rmlite generate --maps 24 "
                                "--size 512 --real oslo,geneva,miami --out data/mini")
    return MINI_DIR


# ----- loading ------------------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a complete data set; a clear error for anything else."""
    p = Path(path)
    m = p / MANIFEST
    if not p.is_dir():
        raise FileNotFoundError(f"no rmlite data set at {p} (not a folder)")
    if not m.is_file():
        raise ValueError(f"{p} is not a complete rmlite data set (no {MANIFEST}; was generation interrupted?)")
    manifest = json.loads(m.read_text())
    if not manifest.get("complete"):
        raise ValueError(f"{p}: manifest says the data set is incomplete")
    return manifest


def load_questions(path: str | os.PathLike, split: str = "train"):
    """The question rows of one split (no images)."""
    from datasets import load_from_disk

    read_manifest(path)
    dd = load_from_disk(str(Path(path) / "questions"))
    if split not in dd:
        raise ValueError(f"unknown split {split!r}; this data set has {list(dd)}")
    return dd[split]


def load_maps(path: str | os.PathLike):
    """The maps table (one row per map, with its image)."""
    from datasets import load_from_disk

    read_manifest(path)
    return load_from_disk(str(Path(path) / "maps"))


def map_row(maps, map_id: str) -> dict:
    """The row of the maps table (image, network JSON, source) for `map_id`."""
    try:
        return maps[maps["map_id"].index(map_id)]
    except ValueError:
        raise KeyError(f"map {map_id!r} is not in this maps table") from None


class MapImages(Mapping):
    """map_id → decoded PIL image, decoded on first use and cached (a map serves dozens of questions).

    A read-only Mapping, so it can be passed wherever `{map_id: image}` is accepted (e.g. `warmstart.warm_start`).
    """

    def __init__(self, maps) -> None:
        self._maps = maps
        self._row = {mid: i for i, mid in enumerate(maps["map_id"])}
        self._cache: dict[str, Any] = {}

    def __getitem__(self, map_id: str):
        if map_id not in self._cache:
            if map_id not in self._row:
                raise KeyError(f"no image for map {map_id!r}")
            self._cache[map_id] = self._maps[self._row[map_id]]["image"].convert("RGB")
        return self._cache[map_id]

    def __contains__(self, map_id: object) -> bool:
        return map_id in self._row

    def __iter__(self):
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


def attach_images(questions, images: MapImages, *, lazy: bool = True):
    """Add an `image` column to question rows.

    lazy=True: a transform that looks the image up when a row is read (nothing copied; good for viewing and
    evaluation). lazy=False: materialise the column (what TRL's trainer wants, since it inspects columns).
    """
    if lazy:
        def _add(batch: dict) -> dict:
            if "map_id" not in batch:  # a column selection without map_id (e.g. the curriculum's type scan)
                return batch
            batch["image"] = [images[m] for m in batch["map_id"]]
            return batch

        return questions.with_transform(_add)
    from datasets import Image

    # Reuse the stored PNG bytes (no decode/re-encode per row).
    raw = images._maps.cast_column("image", Image(decode=False))
    by_id = dict(zip(raw["map_id"], raw["image"], strict=True))
    col = [by_id[m] for m in questions["map_id"]]
    return questions.add_column("image", col, feature=Image())


def load_split(path: str | os.PathLike, split: str = "train", *, images: bool = True, lazy: bool = True):
    """Questions of one split, with map images attached (lazily by default)."""
    q = load_questions(path, split)
    if not images:
        return q
    return attach_images(q, MapImages(load_maps(path)), lazy=lazy)


def export_parquet(path: str | os.PathLike, out: str | os.PathLike) -> list[Path]:
    """Write questions-<split>.parquet and maps.parquet (images as PNG bytes) under `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    from datasets import load_from_disk

    read_manifest(path)
    for split, ds in load_from_disk(str(Path(path) / "questions")).items():
        ds.to_parquet(str(out / f"questions-{split}.parquet"))
        written.append(out / f"questions-{split}.parquet")
    load_maps(path).to_parquet(str(out / "maps.parquet"))
    written.append(out / "maps.parquet")
    return written


def filter_rows(rows: Iterable[dict], *, types: Sequence[str] | None = None,
                difficulties: Sequence[str] | None = None) -> list[dict]:
    """Plain-python filter by question type and question difficulty."""
    return [r for r in rows if (types is None or r["type"] in types)
            and (difficulties is None or r["difficulty_question"] in difficulties)]
