"""Checks that run before a command's work: every input a user can get wrong is one line (`UserError`), so no map
is built, no model loaded and no table printed before a mistake in the last argument is found.

Each check creates nothing that stays: `writable_out` probes with a nameless temporary file and removes it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from rmlite.cli.args import UserError
from rmlite.data.build import DatasetConfig, map_specs
from rmlite.data.store import check_save_target, load_maps, load_questions, read_manifest
from rmlite.demo import smallest_n_maps
from rmlite.maps.real import TEST_CITIES, find_city, load_city
from rmlite.models.load import check_adapter_base
from rmlite.models.source import model_source
from rmlite.reward.functions import load_reward
from rmlite.schema import run_contents


def _nearest_existing(path: Path) -> Path:
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            return p
    return Path(".")


def writable_out(path: str | os.PathLike, *, flag: str = "--out", folder: bool = True) -> Path:
    """`path` as a Path when it can be written: a folder (`folder=True`) or a file; else `UserError`.

    Refuses an existing file where a folder goes (and a folder where a file goes), a path under a file, and a place
    the user may not write in (probed by creating and removing a temporary file in the nearest existing folder).
    """
    p = Path(path)
    if folder and p.exists() and not p.is_dir():
        raise UserError(f"{flag} {p} is a file, not a folder: choose another {flag} (the file is left as it is)")
    if not folder and p.is_dir():
        raise UserError(f"{flag} {p} is a folder: give a file name, e.g. {p / 'picture.png'}")
    base = _nearest_existing(p if folder else p.parent)
    if not base.is_dir():
        raise UserError(f"{flag} {p}: {base} is a file, so nothing can be written under it; choose another {flag}")
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as e:
        raise UserError(f"{flag} {p}: cannot write in {base} ({e.strerror or e}); choose another {flag}") from None
    return p


def generate_out(out: str, overwrite: bool) -> None:
    """`generate --out`: writable, and only a data set (or nothing) is ever replaced, and only with --overwrite."""
    writable_out(out)
    try:
        check_save_target(out, overwrite)
    except FileExistsError as e:
        raise UserError(str(e).replace("overwrite=True (CLI: --overwrite)", "--overwrite")) from None


def splits(cfg: DatasetConfig) -> None:
    """`generate`: both splits get maps, known before any map is drawn (synthetic maps from `map_specs`, real ones
    by ReasonMap's test cities). Left empty only on request: no test split under --test-fraction 0, no train split
    when the only maps asked for are real test cities (an evaluation set)."""
    held = sum(s.split == "test" for s in map_specs(cfg))
    held += sum(find_city(c)[0].stem in TEST_CITIES for c in cfg.real_maps)
    n = cfg.n_maps + len(cfg.real_maps)
    asked = f"--maps {cfg.n_maps}{f' and {len(cfg.real_maps)} real' if cfg.real_maps else ''} with --test-fraction " \
            f"{cfg.test_fraction}"
    if held == n and cfg.n_maps:
        raise UserError(f"{asked} holds every map out for testing and leaves the train split empty: lower "
                        f"--test-fraction or add maps")
    if held == 0 and cfg.test_fraction > 0:
        raise UserError(f"{asked} leaves the test split empty: use --maps 2 or more (or --test-fraction 0 for a set "
                        f"without a test split)")


def real_cities(cities: tuple[str, ...]) -> None:
    """Every `--real` city (or JSON path) resolves, before any synthetic map is drawn."""
    for city in cities:
        load_city(str(find_city(city)[0]))  # FileNotFoundError lists the known cities; a broken JSON is named


def data_split(data: str, split: str, *, maps: bool = True) -> int:
    """The number of questions in `split` of the data set at `data`; `UserError` when it is missing or empty.

    The tables are opened (memory-mapped, cheap), so a damaged Arrow file is found here, not after a model load.
    """
    counts = read_manifest(data).get("counts", {})
    if split not in counts:
        raise UserError(f"--split {split!r} is not in {data}; it has {', '.join(counts) or 'no splits'}")
    n = len(load_questions(data, split))
    if n == 0:
        others = [f"{k} ({v.get('questions', 0)})" for k, v in counts.items() if k != split]
        raise UserError(f"split {split!r} of {data} has no questions (other splits: {', '.join(others) or 'none'}); "
                        "generate more maps (--maps) or use another --split")
    if maps:
        load_maps(data)
    return n


def rewards(specs: tuple[str, ...] | list[str], flag: str = "--reward") -> None:
    """Each reward is a preset or a `package.module:function` that imports (the import happens here, once)."""
    for spec in specs:
        try:
            load_reward(spec)
        except ValueError as e:
            raise UserError(f"{flag}: {e}") from None


def model(name: str, *, local_only: bool = False) -> str:
    """Where `--model` loads from ("local", "cache", "hub"); one line when it cannot load at all."""
    where = model_source(name)
    if local_only and where != "local":
        raise UserError(f"--cpu-tiny is for a small local model folder (e.g. runs/demo/model, written by `make "
                        f"demo`); {name} is a hub model: drop --cpu-tiny on a GPU, or pass a local folder")
    return where


def adapter(path: str | None, base: str) -> None:
    """`--adapter` is a saved LoRA adapter folder (adapter_config.json + weights)."""
    if path is not None:
        check_adapter_base(path, base)


def run_folder(out: str, *, resume: bool, overwrite: bool) -> list[str]:
    """What `train --out` holds of an earlier run; `UserError` unless --resume / --overwrite says what to do."""
    writable_out(out)
    if resume and overwrite:
        raise UserError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    found = run_contents(out)
    checkpoints = any(n.startswith("checkpoint-") for n in found)
    if resume and not found:
        raise UserError(f"--resume: {out} holds no run to continue; drop --resume to start a new run")
    if resume and not checkpoints:  # interrupted (Ctrl-C) before its first save: --overwrite starts it again
        raise UserError(f"--resume: {out} holds no checkpoint-* folder to continue from ({', '.join(found)}): the run "
                        f"stopped before its first save; pass --overwrite instead of --resume to start it again")
    if found and not (resume or overwrite):
        if not checkpoints:  # interrupted (Ctrl-C) before its first save: there is nothing to resume
            raise UserError(f"--out {out} holds a run stopped before its first checkpoint ({', '.join(found)}): pass "
                            "--overwrite to start it again, or choose another --out")
        raise UserError(f"--out {out} already holds a run ({', '.join(found)}): pass --resume to continue it, "
                        "--overwrite to replace it, or choose another --out")
    return found


def demo_maps(n_maps: int, seed: int) -> None:
    """`demo --maps`: the demo's own rule (`rmlite.demo.smallest_n_maps`), said with the flag's name."""
    least = smallest_n_maps(seed)
    if n_maps < least:
        raise UserError(f"--maps {n_maps} is too few: the demo evaluates on held-out maps, and the smallest number "
                        f"that gives it some is --maps {least}")


def fraction(value: float, flag: str) -> None:
    if not 0.0 <= value <= 1.0:
        raise UserError(f"{flag} {value} must lie in [0, 1]")


def existing_file(path: str | None, flag: str) -> None:
    if path is not None and not Path(path).is_file():
        raise UserError(f"{flag} {path}: no such file")


def pixels(min_pixels: int, max_pixels: int) -> None:
    if not 0 < min_pixels <= max_pixels:
        raise UserError(f"--min-pixels {min_pixels} and --max-pixels {max_pixels}: need 0 < --min-pixels ≤ "
                        "--max-pixels")
