"""`python -m rmlite demo`: the README's main job, end to end on a CPU in a few minutes.

1. generate a small data set (synthetic maps of every difficulty plus the real Oslo map);
2. build the tiny Qwen2.5-VL (random weights, local tokenizer), warm-start it on rmlite's answer formats (its
   learning curve), and ask whether GRPO has anything to amplify: pass@8 per type against guessing;
3. sample GRPO groups on planning questions once and score the same completions under the sparse reward and every
   dense preset: the share of zero-spread groups with standard errors, and each dense-minus-sparse difference
   with its 95 % interval (paired: the same groups);
4. train two curriculum stages (perception, then planning) with GRPO, 4-bit base + LoRA, the paper reward, with a
   held-out greedy evaluation at the start, every few steps and at the end;
5. report held-out accuracy per type before and after GRPO (± SE, the paired change ± SE, format errors apart)
   beside chance, majority and the image-masked model;
6. write a report folder (metrics, plots, a sample card with the model's answer and its reward breakdown).

What a tiny CPU model can show, and what it cannot, is `LIMITS`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.cards import answer_card
from rmlite.data.store import MapImages, load_maps, load_questions, load_split, map_row
from rmlite.evaluate import (
    EvalReport,
    chance_answers,
    change_table,
    majority_answers,
    markdown_table,
    mean_se,
    paired_change,
    score_answers,
    write_reports,
)
from rmlite.models.inference import answers_for
from rmlite.models.load import load_model
from rmlite.models.probe import ProbeReport, sample_groups
from rmlite.models.tiny import build_tiny_vlm
from rmlite.models.warmstart import warm_start
from rmlite.reward.config import PRESETS
from rmlite.reward.functions import as_total, load_reward
from rmlite.schema import answer_kind

LIMITS = """## What this demo can and cannot show

A model of about a million parameters that sees maps at 112 px on a CPU shows that every part runs and how much
more often a dense reward gives a GRPO group a learning signal; it cannot show that GRPO raises accuracy (it cannot
read station labels at 112 px, and a few dozen CPU steps move little: the held-out change below says what this run
did), which is what a real VLM on a GPU is for (notebooks 03–05, or `python -m rmlite train --model <hub name>`).
"""

MODEL_NAME = "tiny+GRPO"  # the trained model's name in the evaluation reports
BEFORE_NAME = "before GRPO"  # the warm-started model as GRPO starts from it (4-bit, fresh LoRA)
SPARSE = "sparse"
GROUP_SIZE = 4  # completions per GRPO group, as the demo's GRPO samples them (cpu_tiny_settings)
PASS_K = 8
EVAL_EVERY = 8  # GRPO steps between held-out evaluations
Z95 = 1.96


def spread_rewards() -> tuple[str, ...]:
    """The sparse reward and every dense preset (a detail term) in `rmlite.reward.config.PRESETS`, read now."""
    return (SPARSE, *sorted(name for name, cfg in PRESETS.items() if cfg.detail and cfg.alpha > 0))


def run_demo(out: str = "runs/demo", n_maps: int = 12, seed: int = 0, size: int = 512, warm_steps: int = 300,
             stage_prompts: int = 8, eval_limit: int = 48, spread_prompts: int = 64, pass_k: int = PASS_K) -> Path:
    """The six steps of the module docstring, each timed; returns the report folder."""
    import torch

    torch.manual_seed(seed)
    t0 = time.perf_counter()
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    laps = _Laps()
    data_dir = out_dir / "data"
    maps, images, train_rows = _make_data(data_dir, n_maps, seed, size)
    laps.lap("data")
    model_dir, stats = _warm_start(out_dir, train_rows, images, warm_steps, seed, pass_k)
    laps.lap("warm start")
    spread = _zero_spread(out_dir, model_dir, train_rows, images, spread_prompts, seed)
    laps.lap("zero-spread groups")
    model, processor, res, held = _train_two_stages(out_dir, model_dir, data_dir, stage_prompts, eval_limit)
    laps.lap("GRPO (2 stages)")
    reports = _evaluate(out_dir, model, processor, held)
    laps.lap("evaluation")
    _answer_card(out_dir, data_dir, maps, reports)
    total = round(time.perf_counter() - t0, 1)
    _write_report(out_dir, stats, spread, res, reports, laps.seconds, total)
    print(change_table(reports[BEFORE_NAME], reports[MODEL_NAME], [reports["chance"], reports["majority"]]))
    print(f"[demo] finished in {total} s; report: {out_dir / 'REPORT.md'}")
    return out_dir


class _Laps:
    """Seconds per demo step, printed as each step ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def lap(self, name: str) -> None:
        self.seconds[name] = round(time.perf_counter() - self._since, 1)
        print(f"[demo] {name}: {self.seconds[name]} s")
        self._since = time.perf_counter()


def _make_data(data_dir: Path, n_maps: int, seed: int, size: int) -> tuple[Any, MapImages, list[dict]]:
    """1. A small data set (synthetic maps of every difficulty plus Oslo): (maps table, images, train rows)."""
    generate_dataset(data_dir, DatasetConfig(n_maps=n_maps, seed=seed, size=size, real_maps=("oslo",)),
                     overwrite=True)
    maps = load_maps(data_dir)
    return maps, MapImages(maps), [dict(r) for r in load_questions(data_dir, "train")]


def _warm_start(out_dir: Path, train_rows: list[dict], images: MapImages, steps: int, seed: int,
                pass_k: int) -> tuple[Path, Any]:
    """2. The tiny Qwen2.5-VL, warm-started on rmlite's answer formats, its learning curve and pass@k per type."""
    model_dir = build_tiny_vlm(out_dir / "model", seed=seed)
    stats = warm_start(model_dir, None, train_rows, images, steps=steps, seed=seed, pass_k=pass_k, max_heldout=64)
    (out_dir / "warm_start.json").write_text(json.dumps(stats.as_dict(), indent=1, default=str))
    _plot_curve(stats.losses, out_dir / "warm_start.png")
    return model_dir, stats


def _plot_curve(losses: list[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(range(1, len(losses) + 1), losses)
    ax.set(xlabel="warm-start step", ylabel="cross-entropy on the answer", yscale="log", title="warm start")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _zero_spread(out_dir: Path, model_dir: Path, train_rows: list[dict], images: MapImages, n_prompts: int,
                 seed: int) -> dict:
    """3. Planning groups sampled once from the warm-started model, scored under each of `spread_rewards()`.

    In float32: GRPO samples from the same weights; the 4-bit model is built again for training.
    """
    from rmlite.train.spread import has_spread  # deferred: rmlite.train imports transformers

    model, processor = load_model(str(model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    plan = [r for r in train_rows if answer_kind(r["type"]) == "route"][:n_prompts]
    groups = sample_groups(model, processor, plan, [images[r["map_id"]] for r in plan], group_size=GROUP_SIZE,
                           seed=seed)
    zero = {}
    for name in spread_rewards():
        fn = load_reward(name)
        zero[name] = [float(not has_spread([as_total(fn(c, s)) for c in g])) for s, g in zip(plan, groups,
                                                                                            strict=True)]
    result = _spread_stats(zero)
    result["groups"], result["group_size"] = len(plan), GROUP_SIZE
    (out_dir / "spread.json").write_text(json.dumps(result, indent=1))
    print(f"[demo] zero-spread planning groups: {_shares(result)}")
    return result


def _spread_stats(zero: dict[str, list[float]]) -> dict:
    """Share ± SE per reward, and each dense reward minus sparse (paired per group) ± SE with its 95 % interval."""
    out: dict[str, Any] = {"zero_spread": {}, "difference_vs_sparse": {}}
    for name, flags in zero.items():
        m, se = mean_se(flags)
        out["zero_spread"][name] = {"share": m, "se": se}
        if name != SPARSE:
            d, dse = mean_se([a - b for a, b in zip(flags, zero[SPARSE], strict=True)])
            out["difference_vs_sparse"][name] = {"difference": d, "se": dse,
                                                 "interval95": [d - Z95 * dse, d + Z95 * dse]}
    return out


def _shares(spread: dict) -> str:
    """"sparse 0.30 ± 0.06, paper 0.09 ± 0.04"."""
    return ", ".join(f"{name} {v['share']:.2f} ± {v['se']:.2f}" for name, v in spread["zero_spread"].items())


def _train_two_stages(out_dir: Path, model_dir: Path, data_dir: Path, stage_prompts: int,
                      eval_limit: int) -> tuple[Any, Any, Any, Any]:
    """4. GRPO on a few prompts per stage, perception then planning (the coarse curriculum), 4-bit base + LoRA, with
    held-out greedy evaluations on the first `eval_limit` test questions."""
    from rmlite.train.grpo import cpu_tiny_settings, train  # deferred: torch / trl (unsloth must come first)
    from rmlite.train.heldout import HeldOutEval  # deferred: torch / trl (unsloth must come first)

    model, processor = load_model(str(model_dir), load_in_4bit=True, lora_rank=8)
    ds = load_split(data_dir, "train")
    routes = [answer_kind(ty) == "route" for ty in ds["type"]]
    pick = ([i for i, r in enumerate(routes) if not r][:stage_prompts]
            + [i for i, r in enumerate(routes) if r][:stage_prompts])
    test = load_split(data_dir, "test")
    held = HeldOutEval(test.select(range(min(eval_limit, len(test)))), every=EVAL_EVERY, max_new_tokens=48)
    settings = cpu_tiny_settings(str(out_dir / "grpo"), max_steps=len(pick), max_completion_length=48)
    res = train(model, processor, ds.select(pick), reward="paper", curriculum="coarse", settings=settings,
                heldout=held)
    return model, processor, res, held


def _evaluate(out_dir: Path, model: Any, processor: Any, held: Any) -> dict[str, EvalReport]:
    """5. Before and after GRPO (the held-out evaluations at its first and last step), the image-masked model,
    chance and majority, on the same held-out questions; written under `eval/`."""
    steps = sorted(held.reports)
    before, after = held.reports[steps[0]], held.reports[steps[-1]]
    before.name, after.name = BEFORE_NAME, MODEL_NAME
    masked = answers_for(model, processor, held.rows, mask_image=True, max_new_tokens=48, batch_size=8,
                         progress=False)
    reports = {BEFORE_NAME: before, MODEL_NAME: after,
               f"{MODEL_NAME} (image masked)": score_answers(held.samples, masked, name=f"{MODEL_NAME} (image masked)"),
               "chance": score_answers(held.samples, chance_answers(held.samples), name="chance"),
               "majority": score_answers(held.samples, majority_answers(held.samples), name="majority")}
    write_reports(list(reports.values()), out_dir / "eval")
    return reports


def _answer_card(out_dir: Path, data_dir: Path, maps: Any, reports: dict) -> None:
    """6a. A sample card with the model's answer (a planning one when there is) and its reward breakdown."""
    records = reports[MODEL_NAME].records
    rec = next((r for r in records if answer_kind(r["type"]) == "route"), records[0])
    q = load_questions(data_dir, "test")
    sample = q[q["id"].index(rec["id"])]
    answer_card(sample, map_row(maps, sample["map_id"]), rec, width=768).save(out_dir / "sample_answer.png")


def _write_report(out_dir: Path, stats: Any, spread: dict, res: Any, reports: dict[str, EvalReport],
                  timings: dict[str, float], total: float) -> None:
    """6b. REPORT.md: what the demo can and cannot show, then its numbers, each with its standard error."""
    parts = ["# rmlite demo report\n", LIMITS, _warm_section(stats), _spread_section(spread), _grpo_section(res),
             _heldout_section(reports),
             f"## Timings\n\nSeconds per part of the demo: {json.dumps(timings)}; total {total} s.\n"]
    (out_dir / "REPORT.md").write_text("\n".join(parts))


def _warm_section(stats: Any) -> str:
    probe = ProbeReport.from_dict(stats.probe)
    curve = ", ".join(f"step {i + 1}: {stats.losses[i]:.3f}" for i in sorted({0, len(stats.losses) // 10,
                                                                              len(stats.losses) // 2,
                                                                              len(stats.losses) - 1}))
    warn = "\n".join(f"- {line}" for line in stats.warnings) or f"- pass@{probe.k} beats guessing on every type."
    return (f"## Warm start\n\n{stats.summary()}\n\nLearning curve (`warm_start.png`): {curve}.\n\n"
            f"Is there anything for GRPO to amplify? Greedy accuracy and pass@{probe.k} at the training temperature "
            f"on the warm start's held-out questions, against a guesser who knows each type's answer distribution "
            f"(± standard errors):\n\n{probe.table()}\n\n{warn}\n")


def _spread_section(spread: dict) -> str:
    lines = ["| reward | zero-spread share ± SE | minus sparse ± SE | 95 % interval |", "|---|---|---|---|"]
    for name, v in spread["zero_spread"].items():
        d = spread["difference_vs_sparse"].get(name)
        diff = (f"{d['difference']:+.3f} ± {d['se']:.3f} | [{d['interval95'][0]:+.3f}, {d['interval95'][1]:+.3f}]"
                if d else "– | –")
        lines.append(f"| {name} | {v['share']:.3f} ± {v['se']:.3f} | {diff} |")
    return (f"## Zero-spread planning groups\n\n{spread['groups']} planning questions, {spread['group_size']} "
            "completions each, sampled once from the warm-started model at temperature 1 and scored under every "
            "reward (the same groups, so the differences are paired). A zero-spread group gives GRPO no gradient.\n\n"
            + "\n".join(lines) + "\n")


def _grpo_section(res: Any) -> str:
    rows = res.metrics
    zs = [r["zero_spread/total"] for r in rows if "zero_spread/total" in r]
    mean = sum(zs) / len(zs) if zs else float("nan")
    return (f"## GRPO\n\n{len(rows)} steps, stages {', '.join(res.trainer.curriculum.names)}, one prompt per step; "
            f"curves in `grpo/metrics.png` (reward, zero-spread groups, sampled accuracy, held-out accuracy). "
            f"Share of zero-spread groups over the run (`zero_spread/total`): {mean:.2f}. With one prompt per step "
            f"TRL's `frac_reward_zero_std` agrees with it; with more prompts per step it tests the batch, not the "
            f"group, under `scale_rewards=\"batch\"`.\n")


def _heldout_section(reports: dict[str, EvalReport]) -> str:
    before, after = reports[BEFORE_NAME], reports[MODEL_NAME]
    d, se, n = paired_change(before, after)
    verdict = "within" if abs(d) <= 2 * se else "beyond"
    base = [r for k, r in reports.items() if k not in (BEFORE_NAME, MODEL_NAME)]
    return (f"## Held-out accuracy before and after GRPO\n\n{n} held-out questions (unseen maps), greedy, ReasonMap's "
            f"strict check; accuracy ± SE, the paired change ± SE, and format errors (answers the type's parser cannot "
            f"read) apart from wrong answers:\n\n{change_table(before, after, base)}\n\n"
            f"Held-out accuracy changed by {d:+.3f} ± {se:.3f} over GRPO: {verdict} two standard errors of zero.\n\n"
            f"All runs side by side:\n\n{markdown_table(list(reports.values()))}\n")
