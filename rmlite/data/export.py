"""Export a data set to the parquet layouts verl and EasyR1 read, for users who outgrow one GPU.

Both layouts carry the whole sample (rmlite's schema, without the image) as a JSON `ground_truth` string,
which `rmlite.reward.engines.compute_score` decodes, so the same reward runs in either engine.

* verl (`RLHFDataset`): `data_source`, `prompt` (chat messages; the user turn starts with `<image>`),
  `images` (list of {"bytes"}), `ability`, `reward_model` {"style": "rule", "ground_truth"}, `extra_info`.
* EasyR1: `problem` (text with `<image>`), `answer` (the JSON ground truth), `images` (list of {"bytes"}).

Multi-GPU training itself cannot be tested here (one CPU machine); these files are tested by reading them back
the way the engines do (pyarrow/datasets parquet readers and the adapters' calling conventions).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from rmlite.data.store import load_maps, load_questions, read_manifest
from rmlite.schema import FIELDS

FORMATS = ("verl", "easyr1")
# Every schema field but the chat prompt, which each engine builds from the question in its own layout.
_GROUND_TRUTH_FIELDS = tuple(f for f in FIELDS if f != "prompt")


def ground_truth(sample: dict) -> str:
    """The sample as the JSON string the adapters read back."""
    return json.dumps({k: sample[k] for k in _GROUND_TRUTH_FIELDS if k in sample}, ensure_ascii=False)


def export(data_dir: str | Path, out: str | Path, fmt: str = "verl") -> list[Path]:
    """Write `<split>.parquet` for each split of an rmlite data set in the layout of `fmt`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose from {FORMATS}")
    from datasets import Dataset

    manifest = read_manifest(data_dir)
    maps = load_maps(data_dir)
    png = {}
    for i, mid in enumerate(maps["map_id"]):
        buf = io.BytesIO()
        maps[i]["image"].save(buf, format="PNG")
        png[mid] = buf.getvalue()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for split in manifest["counts"]:
        rows = []
        for s in load_questions(data_dir, split):
            gt = ground_truth(s)
            images = [{"bytes": png[s["map_id"]], "path": None}]
            if fmt == "verl":
                prompt = [{"role": "user", "content": "<image>" + s["question"]}]
                rows.append({"data_source": "rmlite", "prompt": prompt,
                             "images": images, "ability": f"map/{s['type']}",
                             "reward_model": {"style": "rule", "ground_truth": gt},
                             "extra_info": {"split": split, "index": len(rows), "id": s["id"]}})
            else:
                rows.append({"problem": "<image>" + s["question"], "answer": gt, "images": images})
        path = out / f"{split}.parquet"
        Dataset.from_list(rows).to_parquet(str(path))
        written.append(path)
    return written
