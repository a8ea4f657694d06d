"""Export a data set to the parquet layouts verl and EasyR1 read, for users who outgrow one GPU.

Both layouts carry the whole sample (rmlite's schema, without the image) as a JSON `ground_truth` string,
which `rmlite.reward.engines.compute_score` decodes, so the same reward runs in either engine.

* verl (`RLHFDataset`, 0.9.1): `data_source`, `prompt` (chat messages; the user turn starts with `<image>`),
  `images` (one dict per question: the map's file, or its bytes, plus the pixel budget), `ability`,
  `reward_model` {"style": "rule", "ground_truth"}, `extra_info`.
* EasyR1 (`RLHFDataset`, July 2026): `problem` (text with `<image>`), `answer` (the JSON ground truth), `images`
  (the map's path relative to the export folder, read with `data.image_dir=<export folder>`; or its bytes).

Images: a map has dozens of questions, so by default each map's PNG is written once to `<out>/images/` and every
row points at it (verl reads an absolute path, EasyR1 a relative one under `data.image_dir`); `images="embedded"`
repeats the PNG bytes in every row instead, for a folder that must travel as parquet files alone. The pixel budget
(`max_pixels`, `min_pixels`) goes into each verl image entry, which verl passes to the resize before tokenising:
without it a 1024 px map costs 1,369 visual tokens and overflows verl's default `data.max_prompt_length` of 512.
EasyR1 takes the budget from its own `data.max_pixels` / `data.min_pixels` instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rmlite.data.store import load_maps, load_questions, read_manifest
from rmlite.schema import FIELDS

FORMATS = ("verl", "easyr1")
IMAGE_MODES = ("files", "embedded")
IMAGE_DIR = "images"  # under the export folder, one PNG per map
# Every schema field but the chat prompt, which each engine builds from the question in its own layout.
_GROUND_TRUTH_FIELDS = tuple(f for f in FIELDS if f != "prompt")


def ground_truth(sample: dict) -> str:
    """The sample as the JSON string the adapters read back."""
    return json.dumps({k: sample[k] for k in _GROUND_TRUTH_FIELDS if k in sample}, ensure_ascii=False)


def _map_pngs(data_dir: str | Path) -> dict[str, bytes]:
    """Each map's stored PNG bytes, as saved (not decoded and re-encoded)."""
    from datasets import Image

    maps = load_maps(data_dir).cast_column("image", Image(decode=False))
    return {row["map_id"]: row["image"]["bytes"] for row in maps}


def _write_images(pngs: dict[str, bytes], out: Path) -> dict[str, Path]:
    folder = out / IMAGE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for map_id, data in pngs.items():
        path = folder / f"{map_id}.png"
        path.write_bytes(data)
        paths[map_id] = path.resolve()
    return paths


def _verl_row(s: dict, split: str, index: int, image: dict[str, Any]) -> dict[str, Any]:
    return {"data_source": "rmlite", "prompt": [{"role": "user", "content": "<image>" + s["question"]}],
            "images": [image], "ability": f"map/{s['type']}",
            "reward_model": {"style": "rule", "ground_truth": ground_truth(s)},
            "extra_info": {"split": split, "index": index, "id": s["id"]}}


def export(data_dir: str | Path, out: str | Path, fmt: str = "verl", *, images: str = "files",
           max_pixels: int | None = None, min_pixels: int | None = None) -> list[Path]:
    """Write `<split>.parquet` for each split of an rmlite data set in the layout of `fmt` (see the module doc).

    `max_pixels` / `min_pixels` (None: leave the engine's default) go into every verl image entry.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {FORMATS}")
    if images not in IMAGE_MODES:
        raise ValueError(f"unknown image mode {images!r}; choose from {IMAGE_MODES}")
    from datasets import Dataset

    manifest = read_manifest(data_dir)
    pngs = _map_pngs(data_dir)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = _write_images(pngs, out) if images == "files" else {}
    budget = {k: v for k, v in (("max_pixels", max_pixels), ("min_pixels", min_pixels)) if v is not None}
    written = []
    for split in manifest["counts"]:
        rows = []
        for s in load_questions(data_dir, split):
            mid = s["map_id"]
            if fmt == "verl":
                image = {"image": str(files[mid])} if files else {"bytes": pngs[mid]}
                rows.append(_verl_row(s, split, len(rows), {**image, **budget}))
            else:
                image = os.path.relpath(files[mid], out.resolve()) if files else {"bytes": pngs[mid]}
                rows.append({"problem": "<image>" + s["question"], "answer": ground_truth(s), "images": [image]})
        path = out / f"{split}.parquet"
        Dataset.from_list(rows).to_parquet(str(path))
        written.append(path)
    return written
