"""The verl / EasyR1 settings that read an export as rmlite wrote it: its files, its images, its stage order.

Facts from the engines' code (verl 0.9.1 wheel; EasyR1 b44b311, 2026-07-30):

* Order. Both shuffle the train set by default (`data.shuffle: True`: verl `trainer/config/data/legacy_data.yaml`,
  EasyR1 `verl/trainer/config.py` DataConfig), with a `RandomSampler`; `data.shuffle=false` gives a
  `SequentialSampler` (verl `trainer/ppo/utils.py` create_rl_sampler, EasyR1 `verl/trainer/data_loader.py`).
  Neither has a curriculum sampler. Batches are `data.train_batch_size` (EasyR1 `data.rollout_batch_size`)
  prompts, the last partial one dropped (drop_last). verl concatenates a list of `data.train_files` in the order
  given (`utils/dataset/rl_dataset.py` _read_files_and_tokenize); EasyR1 takes one path (a folder is read
  whole, in no promised order).
* Images. verl turns a path into `{"type": "image", "image": path}` and qwen_vl_utils opens it with
  `Image.open(path)`, i.e. from the working directory of the process (verl has no image folder setting);
  EasyR1 joins a path with `data.image_dir` (made absolute from the working directory). Bytes work anywhere.

So the settings name files relative to the export folder, the printed command runs from there (and makes them
absolute with `$PWD`: both engines build their datasets in Ray workers), and the folder travels whole.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

SETTINGS_FILE = "engine_settings.json"
# Prompts measured 796–856 tokens with the 768² budget (docs/engines.md); verl's default 512 raises on them.
MAX_PROMPT_LENGTH = 1024
PATH_SETTINGS = ("data.train_files", "data.val_files", "data.image_dir")  # relative to the export folder
ENTRY = {"verl": "python -m verl.trainer.main_ppo", "easyr1": "python -m verl.trainer.main"}
SHUFFLE_WARNING = ("{engine} shuffles the train rows by default (data.shuffle: True), which undoes the stage "
                   "order: keep data.shuffle=false")


def _listing(files: list[str]) -> str:
    """A Hydra / OmegaConf value: one file as is, several as a list.

    >>> _listing(["a.parquet"]), _listing(["a.parquet", "b.parquet"])
    ('a.parquet', '[a.parquet,b.parquet]')
    """
    return files[0] if len(files) == 1 else "[" + ",".join(files) + "]"


def _data_settings(fmt: str, written: dict[str, list[str]], *, images: str, ordered: bool, batch_size: int,
                   max_pixels: int | None, min_pixels: int | None) -> dict[str, Any]:
    train, val = written.get("train", []), written.get("test", [])
    s: dict[str, Any] = {"data.train_files": _listing(train) if fmt == "verl" else train[0]} if train else {}
    if val:
        s["data.val_files"] = _listing(val)
    if fmt == "easyr1":
        s.update({"data.prompt_key": "problem", "data.answer_key": "answer", "data.image_key": "images"})
        if images == "files":
            s["data.image_dir"] = "."
        s.update({k: v for k, v in (("data.max_pixels", max_pixels), ("data.min_pixels", min_pixels)) if v})
        s["data.format_prompt"] = "null"
    s["data.max_prompt_length"] = MAX_PROMPT_LENGTH
    if ordered:
        s["data.shuffle"] = "false"
    if batch_size > 1:
        s["data.train_batch_size" if fmt == "verl" else "data.rollout_batch_size"] = batch_size
        if fmt == "easyr1":
            s["data.mini_rollout_batch_size"] = "null"
    return s


def engine_settings(fmt: str, written: dict[str, list[str]], *, images: str, stages: list[str], batch_size: int,
                    counts: dict[str, tuple[int, int]], max_pixels: int | None = None,
                    min_pixels: int | None = None, stale: list[str] | None = None) -> dict[str, Any]:
    """What `export` writes to `engine_settings.json`: the engine's overrides, run from the export folder.

    Args:
        written: file names per split, the train stages in order.
        stages: the train split's stage names in order ([] without a curriculum).
        counts: (rows written, rows in the data set) per split.
        stale: parquet files in the folder that this export did not write (an earlier export's).

    >>> s = engine_settings("verl", {"train": ["train.parquet"], "test": ["test.parquet"]}, images="files",
    ...                     stages=["torf", "planning"], batch_size=1, counts={"train": (8, 8)})
    >>> s["settings"]["data.shuffle"], s["run_from"]
    ('false', 'the export folder')
    """
    engine = {"verl": "verl", "easyr1": "EasyR1"}[fmt]
    ordered = len(stages) > 1
    notes = []
    if images == "files":
        opener = ("verl opens an image path from its working directory" if fmt == "verl"
                  else "EasyR1 joins an image path with data.image_dir")
        notes.append(f"{opener}: images/<map>.png is relative to the export folder (--images embedded: from anywhere)")
    train = written.get("train", [])
    if ordered and fmt == "easyr1" and len(train) > 1:
        notes.append("EasyR1 reads one train file: train one stage per run, in this order, each run starting from "
                     "the last one's checkpoint (trainer.load_checkpoint_path): " + ", ".join(train))
    kept, total = counts.get("train", (0, 0))
    if kept < total:
        notes.append(f"train: {kept} of {total} rows kept, each stage cut to whole batches of {batch_size} prompts")
    if ordered and batch_size == 1:
        notes.append(f"stages are not cut to whole batches: export with --batch-size set to {engine}'s batch size "
                     f"({'data.train_batch_size' if fmt == 'verl' else 'data.rollout_batch_size'}) so no batch "
                     "mixes two stages")
    elif ordered:
        notes.append("rows the engine filters out (overlong prompts) move later stages off the batch boundaries")
    return {"format": fmt, "run_from": "the export folder", "stages": stages,
            "settings": _data_settings(fmt, written, images=images, ordered=ordered, batch_size=batch_size,
                                       max_pixels=max_pixels, min_pixels=min_pixels),
            "warnings": ([SHUFFLE_WARNING.format(engine=engine)] if ordered else []) + (
                [f"the folder also holds {', '.join(stale)} from an earlier export: not part of this one"]
                if stale else []), "notes": notes,
            "reward": "python -m rmlite.reward.engines prints the reward settings for this installation"}


def write_settings(out: str | Path, settings: dict[str, Any]) -> Path:
    path = Path(out) / SETTINGS_FILE
    path.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _shell_arg(key: str, value: Any) -> str:
    """One `key=value` for the shell; a path setting is made absolute with `$PWD` (the engines build their datasets
    in Ray workers, whose working directory is not promised to be the one the command ran in).

    >>> _shell_arg("data.train_files", "[a.parquet,b.parquet]"), _shell_arg("data.image_dir", ".")
    ('"data.train_files=[$PWD/a.parquet,$PWD/b.parquet]"', '"data.image_dir=$PWD"')
    >>> _shell_arg("data.shuffle", "false")
    'data.shuffle=false'
    """
    if key not in PATH_SETTINGS:
        return shlex.quote(f"{key}={value}")
    files = ["$PWD" if f == "." else f"$PWD/{f}" for f in str(value).strip("[]").split(",")]
    listed = files[0] if not str(value).startswith("[") else "[" + ",".join(files) + "]"
    return f'"{key}={listed}"'


def format_settings(settings: dict[str, Any], out: str | Path) -> str:
    """The settings as the command line prints them: the command to run (from the export folder), warnings, notes.

    >>> s = {"format": "verl", "settings": {"data.shuffle": "false"}, "warnings": ["w"], "notes": ["n"]}
    >>> print(format_settings(s, "data/verl"))
    run verl from the export folder (every path below is relative to it):
      cd data/verl && python -m verl.trainer.main_ppo data.shuffle=false
    WARNING: w
    note: n
    """
    args = " ".join(_shell_arg(k, v) for k, v in settings["settings"].items())
    engine = {"verl": "verl", "easyr1": "EasyR1"}[settings["format"]]
    lines = [f"run {engine} from the export folder (every path below is relative to it):",
             f"  cd {shlex.quote(str(out))} && {ENTRY[settings['format']]} {args}"]
    lines += [f"WARNING: {w}" for w in settings["warnings"]]
    lines += [f"note: {n}" for n in settings["notes"]]
    return "\n".join(lines)
