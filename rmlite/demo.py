"""`python -m rmlite demo`: the README's main job on a small CPU default.

Today it generates a small data set (synthetic maps of every difficulty plus the real Oslo map), writes
preview cards a person can check (map, question, key, gold route drawn on synthetic maps), and scores a
perfect and a flawed answer for one planning question under each reward preset, so the dense reward's
partial credit is visible. Training and evaluation join it when `rmlite.train` lands.
"""

from __future__ import annotations

import json
import time
from pathlib import Path


def run_demo(out: str = "runs/demo", n_maps: int = 12, seed: int = 0, size: int = 512) -> Path:
    from rmlite.data import DatasetConfig, generate_dataset, load_maps, load_questions, read_manifest
    from rmlite.preview import sample_card

    t0 = time.perf_counter()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = out_dir / "data"
    cfg = DatasetConfig(n_maps=n_maps, seed=seed, size=size, real_maps=("oslo",))
    generate_dataset(data_dir, cfg, overwrite=True)
    manifest = read_manifest(data_dir)
    print(f"data: {manifest['counts']['train']['questions']} train / {manifest['counts']['test']['questions']} test "
          f"questions on {manifest['maps']} maps -> {data_dir}")

    train = load_questions(data_dir, "train")
    maps = load_maps(data_dir)
    row_of = {m: i for i, m in enumerate(maps["map_id"])}
    shown = []
    for typ in ("torf1", "counting1", "planning"):
        idx = next(i for i, t in enumerate(train["type"]) if t == typ)
        s = train[idx]
        path = out_dir / f"sample-{typ}.png"
        sample_card(s, maps[row_of[s["map_id"]]], width=768).save(path)
        shown.append(path)
        print(f"wrote {path}")

    plan = train[next(i for i, t in enumerate(train["type"]) if t == "planning")]
    _reward_table(plan, out_dir)
    print(f"demo finished in {time.perf_counter() - t0:.1f} s; open {out_dir} to look at the maps")
    return out_dir


def _reward_table(sample: dict, out_dir: Path) -> None:
    """Score the perfect answer and a wrong-arrival answer under each preset; print and save the table."""
    try:
        from rmlite.reward import PRESETS, score
    except ImportError:  # the reward module is optional for the data-only demo
        return
    from rmlite.formats import reference_completion

    perfect = reference_completion(sample)
    lines = perfect.splitlines()
    flawed = "\n".join(lines[:-1] + ["Arrival Stop: Nowhere"])
    rows = []
    for name, cfg in PRESETS.items():
        for label, text in (("perfect", perfect), ("wrong arrival", flawed)):
            b = score(text, sample, cfg)
            rows.append({"preset": name, "answer": label, "total": round(b.total, 3), "format": b.format,
                         "correctness": b.correctness, "detail": b.detail, "weight": b.weight})
    (out_dir / "reward_table.json").write_text(json.dumps(rows, indent=2))
    print(f"{'preset':<10}{'answer':<15}{'total':>8}{'format':>8}{'correct':>9}{'detail':>8}{'W':>6}")
    for r in rows:
        print(f"{r['preset']:<10}{r['answer']:<15}{r['total']:>8}{r['format']:>8}{r['correctness']:>9}"
              f"{r['detail']:>8}{r['weight']:>6}")
