"""Save and load rmlite data sets: questions in `datasets` format, one image per map.

On disk (`DIR`):
    DIR/manifest.json     config, seed, counts per split/type/difficulty, package version; written last
    DIR/questions/        a DatasetDict (train / test), one row per question (schema: `rmlite.schema`), no images
    DIR/maps/             a Dataset, one row per map: map_id, image (PNG), metro_data, network JSON, difficulty

A map has dozens of questions, so storing its PNG once and attaching it to question rows only when a
split is loaded keeps the data set tens of times smaller. Writes are atomic: everything goes to a temporary
folder that is renamed into place only when complete, so an interrupted run never leaves a data set that loads.

`datasets` is imported inside the functions that need it (it costs about a second to import).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rmlite.schema import DATA_SCHEMA, MANIFEST, Sample


def save_dataset(out: Path, maps: list[dict], rows: dict[str, list[Sample]], manifest: dict, *,
                 overwrite: bool = False) -> None:
    """Write everything to a temporary sibling folder, then rename it into place (atomic on one file system).

    Never renames or replaces anything but an rmlite data set (`check_save_target`); temporary folders that a
    killed run left beside `out` are cleaned first (`clean_stale_temporaries`). Saving is quiet: the caller shows
    the progress.
    """
    out = Path(out)
    check_save_target(out, overwrite)
    clean_stale_temporaries(out.parent)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        with _quiet_datasets():
            _write_tables(tmp, maps, rows)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        check_save_target(out, overwrite)  # again: the folder may have changed while the maps were built
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_tables(folder: Path, maps: list[dict], rows: dict[str, list[Sample]]) -> None:
    from datasets import Dataset, DatasetDict

    Dataset.from_list(maps, features=_map_features()).save_to_disk(str(folder / "maps"))
    q = DatasetDict({split: _questions_dataset(r) for split, r in rows.items()})
    # One shard per split: datasets writes zero shards for an empty split and then cannot load it back.
    q.save_to_disk(str(folder / "questions"), num_shards={k: 1 for k in q})


@contextmanager
def _quiet_datasets():
    """datasets' own "Saving the dataset" / "Map" bars off (three per split otherwise), restored afterwards."""
    from datasets.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    was_off = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_off:
            enable_progress_bars()


def check_save_target(out: str | os.PathLike, overwrite: bool) -> None:
    """Refuse, before any work, to save where a user's file or folder would be lost.

    `out` may be missing, or (with `overwrite`) an rmlite data set or an empty folder. A file is never renamed or
    replaced, nor is a folder without a manifest (it is not a data set, so --overwrite does not cover it).
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a data set folder; choose another --out (the file is "
                              "left as it is)")
    if not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if any(out.iterdir()) and not (out / MANIFEST).is_file():
        raise FileExistsError(f"{out} is a folder but not an rmlite data set (no {MANIFEST}); --overwrite only "
                              "replaces a data set: choose another --out")


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def clean_stale_temporaries(parent: str | os.PathLike) -> list[Path]:
    """Remove the `.NAME.tmp-PID` / `.NAME.old-PID` folders that a killed save left in `parent` (PID gone).

    An `.old` folder whose data set NAME is missing (killed between the two renames) is the previous data set: it is
    renamed back to NAME instead. Each action is printed as one line. Returns the paths removed or restored.
    """
    parent = Path(parent)
    done = []
    for p in sorted(parent.iterdir()) if parent.is_dir() else []:
        m = _TEMPORARY.match(p.name)
        if not m or not p.is_dir() or p.is_symlink() or _alive(int(m["pid"])):
            continue
        target = parent / m["name"]
        if m["kind"] == "old" and not target.exists():
            p.rename(target)
            print(f"restored {target} from a save that was killed while replacing it")
        else:
            shutil.rmtree(p)
            print(f"removed a temporary folder left by a killed run: {p}")
        done.append(p)
    return done


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
        "routes": Value("string"), "route_count": Value("int64"), "difficulty_city": Value("string"),
        "difficulty_question": Value("string"),
        "question_transfer_count": Value("int64"), "template": Value("string"), "seed": Value("int64"),
        "source": Value("string"),
        "prompt": List({"role": Value("string"), "content": List(text)}),
    })


def _questions_dataset(rows: list[Sample]):
    from datasets import Dataset

    features = _question_features()
    if not rows:  # an empty split (e.g. only non-test real maps) still gets the full schema
        import pyarrow as pa

        return Dataset(pa.Table.from_pylist([], schema=features.arrow_schema))
    return Dataset.from_list(rows, features=features)


# ----- loading ------------------------------------------------------------------------------------------------------
def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a complete data set; a clear one-line error naming the file for anything else."""
    p = Path(path)
    m = p / MANIFEST
    if not p.is_dir():
        raise FileNotFoundError(f"no rmlite data set at {p} (not a folder)")
    if not m.is_file():
        raise ValueError(_no_manifest(p))
    try:
        manifest = json.loads(m.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{m} is not valid JSON ({e}); generate the data set again") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{m} holds a JSON {type(manifest).__name__}, not an object; generate the data set again")
    if not manifest.get("complete"):
        raise ValueError(f"{p}: manifest says the data set is incomplete")
    made = manifest.get("data_schema", 1)
    if made != DATA_SCHEMA:
        raise ValueError(f"{p} was made by rmlite {manifest.get('rmlite_version', '?')} (data schema {made}; this "
                         f"rmlite reads {DATA_SCHEMA}): generate it again, e.g. `rmlite generate --out {p} "
                         f"--overwrite` with the settings in its {MANIFEST}")
    return manifest


def _no_manifest(p: Path) -> str:
    """Why a folder without a manifest is not a data set, in one line: ReasonMap's released files, a set whose
    generation stopped, or something else.

    >>> import tempfile; d = Path(tempfile.mkdtemp()); (d / "stations").mkdir(); _no_manifest(d).split(":")[1]
    " ReasonMap's released files (stations/, maps/), not an rmlite data set"
    """
    if (p / "stations").is_dir():
        return (f"{p}: ReasonMap's released files (stations/, maps/), not an rmlite data set: make one from its "
                f"cities with `rmlite generate --real <city>`, or read a released set with "
                f"rmlite.data.load_released")
    if (p / "questions").is_dir() or (p / "maps").is_dir():
        return f"{p} is not a complete rmlite data set (no {MANIFEST}; was generation interrupted?)"
    return f"{p} is not an rmlite data set (no {MANIFEST}): make one with `rmlite generate --out {p}`"


def _load_table(folder: Path):
    """`datasets.load_from_disk`, with a damaged or truncated Arrow file (or its JSON) as one line naming it."""
    import pyarrow as pa
    from datasets import load_from_disk

    try:
        return load_from_disk(str(folder))
    except (OSError, ValueError, pa.ArrowException) as e:
        reason = " ".join(str(e).split())[:200]
        raise ValueError(f"{_damaged_file(folder) or folder} is damaged and cannot be read ({type(e).__name__}: "
                         f"{reason}); generate the data set again") from None


def _damaged_file(folder: Path) -> Path | None:
    """The first Arrow or JSON file under `folder` that does not read back whole (None if each one does)."""
    import pyarrow as pa

    for f in sorted(folder.rglob("*")):
        try:
            if f.suffix == ".arrow":
                with pa.memory_map(str(f)) as source:
                    pa.ipc.open_stream(source).read_all()
            elif f.suffix == ".json":
                json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError, pa.ArrowException):
            return f
    return None


def load_questions(path: str | os.PathLike, split: str = "train"):
    """The question rows of one split (no images)."""
    read_manifest(path)
    dd = _load_table(Path(path) / "questions")
    if split not in dd:
        raise ValueError(f"unknown split {split!r}; this data set has {', '.join(dd)}")
    return dd[split]


def load_maps(path: str | os.PathLike):
    """The maps table (one row per map, with its image)."""
    read_manifest(path)
    return _load_table(Path(path) / "maps")


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

