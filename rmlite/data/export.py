"""Export a data set to the parquet layouts verl and EasyR1 read, for users who outgrow one GPU.

Both layouts carry the whole sample (rmlite's schema, without the image) as a JSON `ground_truth` string,
which `rmlite.reward.engines.compute_score` decodes, so the same reward runs in either engine.

* verl (`RLHFDataset`, 0.9.1): `data_source`, `prompt` (chat messages; the user turn starts with `<image>`),
  `images` (one dict per question: the map's file, or its bytes, plus the pixel budget), `ability`,
  `reward_model` {"style": "rule", "ground_truth"}, `extra_info`.
* EasyR1 (`RLHFDataset`, July 2026): `problem` (text with `<image>`), `answer` (the JSON ground truth), `images`
  (the map's path, read with `data.image_dir`; or its bytes).

The curriculum: `order` (rmlite's own ordered pass, `partial(rmlite.curriculum.order_samples, curriculum=...,
seed=...)`, the function `rmlite train` orders its data with) puts the train rows in stage order, each row with
its stage (verl: in `extra_info`; EasyR1: columns `stage`, `stage_name`), in one file or one file per stage
(`stage_files`). The engine must then read them in order: `engine_settings` (written next to the rows as
`engine_settings.json`) says how, and warns that both engines shuffle by default (`data.shuffle: True`).

Images travel with the folder: a map has dozens of questions, so by default each map's PNG is written once to
`<out>/images/` and every row points at it with a path relative to the export folder (`images/<map>.png`):
EasyR1 joins it with `data.image_dir`, verl opens it from the working directory, so verl runs from the export
folder. `images="embedded"` repeats the PNG bytes in every row instead (about 15 times larger), for rows that
must be read from anywhere. The pixel budget (`max_pixels`, `min_pixels`) goes into each verl image entry, which
verl passes to the resize before tokenising: without it a 1024 px map costs 1,369 visual tokens and overflows
verl's default `data.max_prompt_length` of 512. EasyR1 takes the budget from its own `data.max_pixels` /
`data.min_pixels` instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rmlite.data.engine_settings import engine_settings, write_settings
from rmlite.data.store import load_maps, load_questions, read_manifest
from rmlite.schema import FIELDS, Sample

FORMATS = ("verl", "easyr1")
IMAGE_MODES = ("files", "embedded")
IMAGE_DIR = "images"  # under the export folder, one PNG per map
TRAIN = "train"  # the split a curriculum orders (the others keep their data-set order)
# Every schema field but the chat prompt, which each engine builds from the question in its own layout.
_GROUND_TRUTH_FIELDS = tuple(f for f in FIELDS if f != "prompt")
# `order(samples, prompts_per_batch=...) -> (positions, spans)`, spans with `.name`, `.start`, `.stop`.
Order = Callable[..., tuple[list[int], Sequence[Any]]]


def ground_truth(sample: Sample) -> str:
    """The sample as the JSON string the adapters read back."""
    return json.dumps({k: sample[k] for k in _GROUND_TRUTH_FIELDS if k in sample}, ensure_ascii=False)


def image_path(map_id: str) -> str:
    """A map's image as a row names it: relative to the export folder, with `/` on every system.

    >>> image_path("oslo")
    'images/oslo.png'
    """
    return f"{IMAGE_DIR}/{map_id}.png"


def stage_file(split: str, index: int, name: str) -> str:
    """The file of one stage with `stage_files`: numbered, so a sorted listing is the stage order.

    >>> stage_file("train", 0, "torf")
    'train-stage0-torf.parquet'
    """
    return f"{split}-stage{index}-{name}.parquet"


def _map_pngs(data_dir: str | Path) -> dict[str, bytes]:
    """Each map's stored PNG bytes, as saved (not decoded and re-encoded)."""
    from datasets import Image

    maps = load_maps(data_dir).cast_column("image", Image(decode=False))
    return {row["map_id"]: row["image"]["bytes"] for row in maps}


def _write_images(pngs: dict[str, bytes], out: Path) -> None:
    (out / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    for map_id, data in pngs.items():
        (out / image_path(map_id)).write_bytes(data)


def _row(fmt: str, s: Sample, split: str, index: int, image: Any, stage: tuple[int, str] | None) -> dict[str, Any]:
    """One question in `fmt`'s layout; `image` is the path or `{"bytes": ...}` (verl's also carries the budget)."""
    extra = {} if stage is None else {"stage": stage[0], "stage_name": stage[1]}
    if fmt == "verl":
        return {"data_source": "rmlite", "prompt": [{"role": "user", "content": "<image>" + s["question"]}],
                "images": [image], "ability": f"map/{s['type']}",
                "reward_model": {"style": "rule", "ground_truth": ground_truth(s)},
                "extra_info": {"split": split, "index": index, "id": s["id"], **extra}}
    return {"problem": "<image>" + s["question"], "answer": ground_truth(s), "images": [image], **extra}


def _staged(samples: list[Sample], order: Order | None, batch_size: int) -> list[tuple[int, str, list[int]]]:
    """(stage index, stage name, positions) in training order; one unnamed group in data-set order without `order`."""
    if order is None:
        return [(-1, "", list(range(len(samples))))]
    positions, spans = order(samples, prompts_per_batch=batch_size)
    return [(k, span.name, positions[span.start:span.stop]) for k, span in enumerate(spans)
            if span.stop > span.start]


def _files(fmt: str, split: str, samples: list[Sample], groups: list[tuple[int, str, list[int]]], image: Callable, *,
           stage_files: bool) -> list[tuple[str, list[dict]]]:
    """(file name, rows) of one split: one file, or one per stage with `stage_files`."""
    files: list[tuple[str, list[dict]]] = [] if stage_files else [(f"{split}.parquet", [])]
    for k, name, positions in groups:
        if stage_files:
            files.append((stage_file(split, k, name), []))
        rows = files[-1][1]
        for i in positions:
            s = samples[i]
            rows.append(_row(fmt, s, split, len(rows), image(s["map_id"]), None if k < 0 else (k, name)))
    return files


def export(data_dir: str | Path, out: str | Path, fmt: str = "verl", *, images: str = "files",
           max_pixels: int | None = None, min_pixels: int | None = None, order: Order | None = None,
           batch_size: int = 1, stage_files: bool = False) -> list[Path]:
    """Write `<split>.parquet` for each split of an rmlite data set in the layout of `fmt`, plus
    `engine_settings.json` (see the module doc). Returns the parquet files, the train stages in order.

    Args:
        max_pixels, min_pixels: go into every verl image entry (None: leave the engine's default).
        order: stage-orders the train split (None: data-set order, no stage columns).
        batch_size: the engine's prompts per batch (verl `data.train_batch_size`, EasyR1
            `data.rollout_batch_size`), passed to `order` so each stage is whole batches (its curriculum's `fit`).
        stage_files: write `train-stage<k>-<name>.parquet` per stage instead of one `train.parquet`.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {FORMATS}")
    if images not in IMAGE_MODES:
        raise ValueError(f"unknown image mode {images!r}; choose from {IMAGE_MODES}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if stage_files and order is None:
        raise ValueError("stage_files needs an order (a curriculum) to cut the train split into stages")
    from datasets import Dataset

    manifest = read_manifest(data_dir)
    pngs = _map_pngs(data_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if images == "files":
        _write_images(pngs, out)
    budget = {k: v for k, v in (("max_pixels", max_pixels), ("min_pixels", min_pixels)) if v is not None}

    def image(map_id: str) -> Any:
        entry = image_path(map_id) if images == "files" else {"bytes": pngs[map_id]}
        if fmt == "easyr1":
            return entry
        return {"image": entry, **budget} if images == "files" else {**entry, **budget}

    written: dict[str, list[str]] = {}
    stages: list[str] = []
    counts: dict[str, tuple[int, int]] = {}
    for split in manifest["counts"]:
        samples = list(load_questions(data_dir, split))
        groups = _staged(samples, order if split == TRAIN else None, batch_size)
        if split == TRAIN and order is not None:
            stages = [name for _, name, _ in groups]
        counts[split] = (sum(len(g[2]) for g in groups), len(samples))
        files = _files(fmt, split, samples, groups, image, stage_files=stage_files and split == TRAIN)
        for name, rows in files:
            Dataset.from_list(rows).to_parquet(str(out / name))
        written[split] = [name for name, _ in files]
    mine = {name for names in written.values() for name in names}
    stale = sorted(p.name for p in out.glob("*.parquet") if p.name not in mine)
    write_settings(out, engine_settings(fmt, written, images=images, stages=stages, batch_size=batch_size,
                                        counts=counts, max_pixels=max_pixels, min_pixels=min_pixels, stale=stale))
    return [out / name for names in written.values() for name in names]
