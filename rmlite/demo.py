"""`python -m rmlite demo`: the README's main job, end to end on a CPU in a few minutes.

1. generate a small data set (synthetic maps of every difficulty plus the real Oslo map);
2. build the tiny Qwen2.5-VL (random weights, local tokenizer) and warm-start it on rmlite's answer formats;
3. measure the share of GRPO groups with reward spread under the sparse and the paper reward;
4. train two curriculum stages (perception, then planning) with GRPO, 4-bit base + LoRA, the paper reward;
5. evaluate on held-out maps with chance / majority / image-masked baselines;
6. write a report folder (metrics, plots, a sample card with the model's answer and its reward breakdown).

What a tiny CPU model can show: the pipeline runs, the warm start teaches the formats, the dense reward leaves
far fewer zero-spread GRPO groups than the sparse one. What it cannot show: that GRPO raises accuracy — a
~1 M-parameter model trained for a few dozen CPU steps does not; that needs a real VLM on a GPU
(`--model` with a hub name and the GPU settings).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.cards import answer_card
from rmlite.data.store import MapImages, load_maps, load_questions, load_split, map_row
from rmlite.evaluate import evaluate, markdown_table
from rmlite.models.load import load_model
from rmlite.models.tiny import build_tiny_vlm
from rmlite.models.warmstart import reward_spread_share, warm_start

LIMITS = """## What this demo can and cannot show

- It **can** show that every part runs end to end on a CPU: data → warm start → two-stage GRPO → evaluation.
- It **can** show the sparse-reward symptom the paper fights: the share of GRPO groups with no reward spread
  (no gradient) under the sparse reward versus the dense paper reward (see `spread.json`).
- It **cannot** show that GRPO improves accuracy. The model has about a million parameters and trains for a
  few dozen CPU steps; its accuracy after GRPO is about what the warm start gave it, and the image-masked
  baseline shows how much it reads the map at all. For real results, train a real VLM on a GPU
  (the notebooks, or `python -m rmlite train --model <hub name>`).
"""


def run_demo(out: str = "runs/demo", n_maps: int = 12, seed: int = 0, size: int = 512, warm_steps: int = 300,
             stage_prompts: int = 8, eval_limit: int = 48) -> Path:
    import torch

    from rmlite.train.grpo import cpu_tiny_settings, train  # deferred: torch / trl (unsloth must come first)

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        timings[name] = round(time.perf_counter() - since, 1)
        print(f"[demo] {name}: {timings[name]} s")
        return time.perf_counter()

    # 1. data
    t = time.perf_counter()
    data_dir = out_dir / "data"
    generate_dataset(data_dir, DatasetConfig(n_maps=n_maps, seed=seed, size=size, real_maps=("oslo",)),
                     overwrite=True)
    maps = load_maps(data_dir)
    images = MapImages(maps)
    train_rows = [dict(r) for r in load_questions(data_dir, "train")]
    t = lap("data", t)

    # 2. tiny model + warm start
    model_dir = build_tiny_vlm(out_dir / "model", seed=seed)
    stats = warm_start(model_dir, None, train_rows, images, steps=warm_steps, seed=seed)
    (out_dir / "warm_start.json").write_text(json.dumps(stats.as_dict(), indent=1, default=str))
    t = lap("warm start", t)

    # 3. the spread of rewards within GRPO groups, sparse vs paper, on the warm-started model (float32: bitsandbytes'
    # CPU 4-bit path breaks a later backward pass once it has run under inference mode)
    model, processor = load_model(str(model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    spread = {name: reward_spread_share(model, processor, train_rows, images, name, group_size=4, n_prompts=32,
                                        seed=seed) for name in ("sparse", "paper")}
    del model
    model, processor = load_model(str(model_dir), load_in_4bit=True, lora_rank=8)
    (out_dir / "spread.json").write_text(json.dumps({"share_of_groups_with_reward_spread": spread}, indent=1))
    print(f"[demo] GRPO groups with reward spread: sparse {spread['sparse']:.2f}, paper {spread['paper']:.2f}")
    t = lap("reward spread", t)

    # 4. two stages: perception then planning (the coarse curriculum), a few prompts each
    ds = load_split(data_dir, "train")
    types = ds["type"]
    pick = ([i for i, ty in enumerate(types) if ty != "planning"][:stage_prompts]
            + [i for i, ty in enumerate(types) if ty == "planning"][:stage_prompts])
    settings = cpu_tiny_settings(str(out_dir / "grpo"), max_steps=len(pick), max_completion_length=48)
    res = train(model, processor, ds.select(pick), reward="paper", curriculum="coarse", settings=settings)
    t = lap("GRPO (2 stages)", t)

    # 5. evaluation on held-out maps
    test = load_split(data_dir, "test")
    test = test.select(range(min(eval_limit, len(test))))
    reports = evaluate(model, processor, test, name="tiny+GRPO", out=out_dir / "eval", max_new_tokens=48,
                       batch_size=8)
    t = lap("evaluation", t)

    # 6. a sample card with the model's answer and its reward breakdown
    rec = next((r for r in reports["tiny+GRPO"].records if r["type"] == "planning"),
               reports["tiny+GRPO"].records[0])
    q = load_questions(data_dir, "test")
    sample = q[q["id"].index(rec["id"])]
    answer_card(sample, map_row(maps, sample["map_id"]), rec, width=768).save(out_dir / "sample_answer.png")

    table = markdown_table(list(reports.values()))
    total = round(time.perf_counter() - t0, 1)
    report = (f"# rmlite demo report\n\n{LIMITS}\n## Numbers\n\n{stats.summary()}\n\n"
              f"GRPO groups with reward spread (tiny warm-started model, G=4, 32 prompts): sparse "
              f"{spread['sparse']:.2f}, paper {spread['paper']:.2f}.\n\n"
              f"GRPO: {len(res.metrics)} steps, stages {', '.join(res.trainer.curriculum.names)}; "
              f"curves in `grpo/metrics.png`.\n\nHeld-out evaluation ({len(test)} questions):\n\n{table}\n\n"
              f"Timings (s): {json.dumps(timings)}; total {total} s.\n")
    (out_dir / "REPORT.md").write_text(report)
    print(table)
    print(f"[demo] finished in {total} s; report: {out_dir / 'REPORT.md'}")
    return out_dir
