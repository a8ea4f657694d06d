"""`python -m rmlite demo`: the README's main job, end to end on a CPU in a few minutes.

0. check every argument and the report folder before any work (a `ValueError` naming the smallest value that works);
1. generate a small data set (synthetic maps of every difficulty plus the real Oslo map);
2. build the tiny Qwen2.5-VL (random weights, local tokenizer), warm-start it on rmlite's answer formats (its
   learning curve), and ask whether GRPO has anything to amplify: pass@8 per type against guessing (`--quick`
   reuses the warm start shipped in data/warm_tiny/ when it is the one these settings train: `rmlite.demo_quick`);
3. sample GRPO groups on planning questions (several groups per question, as GRPO draws them over a run) and score
   the same completions under the sparse reward and every dense preset: the share of zero-spread groups, in total
   and on the route terms alone (format credit left out), with standard errors clustered by question, and each
   dense-minus-sparse difference with its 95 % interval (paired: the same groups);
4. train two curriculum stages (perception, then planning) with GRPO, 4-bit base + LoRA, the paper reward, with a
   held-out greedy evaluation at the start, every few steps and at the end;
5. report held-out accuracy per type before and after GRPO (± SE, the paired change ± SE, format errors apart)
   beside chance (its expected value), majority and the image-masked model, and one line per type where the model
   scores below the majority baseline;
6. write a report folder (metrics, plots, a sample card with the model's answer and its reward breakdown).

Before any work it prints its expected time: `QUIET_SECONDS` (on a quiet 2-core machine) times a factor
from the machine's load (`rmlite.demo_quick.load_factor`). `--quick` shows the same sections in less time: it
reuses the shipped warm start and caps the arguments in `QUICK_CAPS` (fewer spread groups, GRPO steps and
held-out questions); its report says what it cut.

The report folder is the demo's own: it refuses a folder holding anything else, and re-running replaces its own
files (it deletes nothing itself but an earlier demo's GRPO run, as `rmlite train --overwrite` removes one; the data
set is replaced only if it is an rmlite data set). What a tiny CPU model can show, and what it cannot, is `LIMITS`.

One module on purpose: the demo's steps and the report section each one writes, in the order the demo runs them.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from rmlite import __version__
from rmlite.data.build import DatasetConfig, map_specs
from rmlite.data.cards import answer_card
from rmlite.data.store import MapImages, load_questions, load_split, map_row
from rmlite.demo_quick import demo_settings, load_threads, make_data, quick_section, rebuild, warm_up
from rmlite.evaluate import (
    EvalReport,
    chance_report,
    change_table,
    majority_answers,
    markdown_table,
    paired_change,
    score_answers,
    type_table,
    write_reports,
)
from rmlite.maps.fonts import QUICK_SIZE
from rmlite.models.inference import answers_for
from rmlite.models.load import load_model
from rmlite.models.passk import PassAtKReport, sample_groups
from rmlite.reward.config import PRESETS, RewardBreakdown
from rmlite.reward.functions import load_reward
from rmlite.schema import Sample, answer_kind
from rmlite.stats import cluster_mean_se, has_spread

LIMITS = """## What this demo can and cannot show

A model of about a million parameters that sees maps at 112 px on a CPU shows that every part runs and how often
each reward gives a GRPO group a learning signal (the zero-spread section says on which terms); it cannot show that
GRPO raises accuracy (it cannot read station labels at 112 px, and a few dozen CPU steps move little: the held-out
change below says what this run did), which is what a real VLM on a GPU is for (notebooks 03–05, or
`python -m rmlite train --model <hub name>`).
"""

MODEL_NAME = "tiny+GRPO"  # the trained model's name in the evaluation reports
BEFORE_NAME = "before GRPO"  # the warm-started model as GRPO starts from it (4-bit, fresh LoRA)
SPARSE = "sparse"
GROUP_SIZE = 4  # completions per GRPO group, as the demo's GRPO samples them (cpu_tiny_settings)
COMPLETION_TOKENS = 48  # the demo GRPO's max_completion_length; its spread groups are sampled with the same limit
SPREAD_BATCH = 16  # planning questions per generation batch when sampling the spread groups (64 sequences)
PASS_K = 8
EVAL_EVERY = 8  # GRPO steps between held-out evaluations
Z95 = 1.96
MARKER = "demo.json"  # written first into the report folder: what ran; marks the folder as the demo's own
REPORT = "REPORT.md"
REPORT_TITLE = "# rmlite demo report"
PARTS = {"total": "the total reward (what GRPO's advantage sees)",
         "route": "the route terms alone (correctness + α·detail, weighted; format credit left out)"}


def spread_rewards() -> tuple[str, ...]:
    """The sparse reward and every dense preset (a detail term) in `rmlite.reward.config.PRESETS`, read now."""
    return (SPARSE, *sorted(name for name, cfg in PRESETS.items() if cfg.dense and cfg.alpha > 0))


# Seconds the demo takes on a quiet 2-core machine (the expected-time line scales them by the load). Full: measured
# 2026-11-28 (README). Quick: not measured quiet yet: its CPU seconds with one thread, 31 s (2026-12-07, load 10-13,
# bench/bench_demo.py), bound its quiet time from above (CPU time only grows under load; the full demo's 168 CPU-s
# against its quiet 137 s say a second thread saves under 19 %), and 137 s x its CPU share 0.185 = 25 s from below.
QUIET_SECONDS = {"full": 137.0, "quick": 30.0}
# --quick caps these arguments (and reuses the shipped warm start): 2 groups per planning question instead of 4,
# 4 GRPO steps per curriculum stage instead of 8, 32 held-out questions instead of 48.
QUICK_CAPS = {"spread_repeats": 2, "stage_prompts": 4, "eval_limit": 32}


@dataclass(frozen=True)
class DemoSettings:
    """What the demo runs: the owner of `rmlite demo`'s defaults (`--maps`, `--seed`, `--quick`).

    n_maps synthetic maps of `size` px and `seed`; a warm start of `warm_steps` steps checked with pass@`pass_k`;
    `spread_repeats` GRPO groups on each of `spread_prompts` planning questions; `stage_prompts` GRPO steps per
    curriculum stage; `eval_limit` held-out questions. `quick`: reuse the shipped warm start (when it matches these
    settings) and cap the arguments in `QUICK_CAPS`.
    """

    n_maps: int = 12
    seed: int = 0
    size: int = QUICK_SIZE
    warm_steps: int = 300
    stage_prompts: int = 8
    eval_limit: int = 48
    spread_prompts: int = 80
    spread_repeats: int = 4
    pass_k: int = PASS_K
    quick: bool = False


def run_demo(out: str = "runs/demo", settings: DemoSettings | None = None, **options: Any) -> Path:
    """The steps of the module docstring, each timed, written into the report folder `out`; returns it. `settings`:
    a DemoSettings (default: its defaults), `options` (its field names as keywords) change fields of it.

    Raises ValueError, before any work, for an argument below the smallest value that works or a report folder
    that is not the demo's (or cannot be written).
    """
    s = replace(settings or DemoSettings(), **options)
    args = {"out": str(out), **{k: v for k, v in asdict(s).items() if k != "quick"}}
    check_arguments(**args)
    if s.quick:
        args.update({k: min(args[k], cap) for k, cap in QUICK_CAPS.items()})
    out_dir = Path(out)
    claim_folder(out_dir, {**args, "quick": s.quick})
    with load_threads(QUIET_SECONDS["quick" if s.quick else "full"], "quick: " * s.quick):
        return _run(out_dir, args, quick=s.quick)


def _run(out_dir: Path, args: dict, *, quick: bool) -> Path:
    """`run_demo`'s steps, after its checks."""
    import torch

    torch.manual_seed(args["seed"])
    t0 = time.perf_counter()
    laps = _Laps()
    data_dir = out_dir / "data"
    data, settings = demo_settings(*(args[k] for k in WARM_ARGS))
    maps, images, train_rows = make_data(data_dir, data)
    laps.lap("data")
    model_dir, stats, shipped = warm_up(out_dir, train_rows, images, settings, quick)
    laps.lap("warm start (shipped)" if shipped else "warm start")
    spread = _zero_spread(out_dir, model_dir, train_rows, images, n_prompts=args["spread_prompts"],
                          repeats=args["spread_repeats"], seed=args["seed"])
    laps.lap("zero-spread groups")
    model, processor, res, held = _train_two_stages(out_dir, model_dir, data_dir, args["stage_prompts"],
                                                    args["eval_limit"])
    laps.lap("GRPO (2 stages)")
    reports = _evaluate(out_dir, model, processor, held)
    laps.lap("evaluation")
    _answer_card(out_dir, data_dir, maps, reports)
    total = round(time.perf_counter() - t0, 1)
    cut = quick_section(args, _defaults(), shipped, settings) if quick else ""
    _write_report(out_dir, (stats, spread, res, reports), timings=laps.seconds, total=total, quick=cut)
    print(change_table(reports[BEFORE_NAME], reports[MODEL_NAME], [reports["chance"], reports["majority"]]))
    for line in below_majority(reports[MODEL_NAME], reports["majority"]):
        print(line)
    print(f"[demo] finished in {total} s; report: {out_dir / REPORT}")
    return out_dir


def _defaults() -> dict:
    """`run_demo`'s report folder and its settings' defaults, by name."""
    return {"out": inspect.signature(run_demo).parameters["out"].default, **asdict(DemoSettings())}


WARM_ARGS = ("n_maps", "seed", "size", "warm_steps", "pass_k")  # the DemoSettings its data and warm start take


def default_settings() -> tuple[DatasetConfig, dict]:
    """`demo_settings` for `run_demo`'s defaults: what the shipped warm start must be made with."""
    return demo_settings(*(_defaults()[k] for k in WARM_ARGS))


def rebuild_shipped(dest: Path | None = None) -> Path:
    """`make warm-tiny`: the full demo's data and warm start for `run_demo`'s defaults, shipped into `dest` (default
    data/warm_tiny/)."""
    return rebuild({k: _defaults()[k] for k in WARM_ARGS}, dest)


# ----- 0. checks before any work ---------------------------------------------------------------------------------
MINIMA = {"warm_steps": (1, ""), "stage_prompts": (1, "one GRPO step per curriculum stage"), "eval_limit": (1, ""),
          "spread_prompts": (1, ""), "spread_repeats": (1, ""), "pass_k": (1, ""), "seed": (0, "--seed")}
MAPS_CAP = 50  # how far `smallest_n_maps` looks


def smallest_n_maps(seed: int) -> int:
    """The fewest synthetic maps whose data set has a test map (the demo evaluates on held-out maps), by the data
    set's own split rule.

    >>> smallest_n_maps(0)
    2
    """
    return next((n for n in range(1, MAPS_CAP + 1)
                 if any(s.split == "test" for s in map_specs(DatasetConfig(n_maps=n, seed=seed)))), MAPS_CAP)


def check_arguments(**args: Any) -> None:
    """One ValueError for the first argument that cannot work, naming the smallest value that does.

    >>> check_arguments(n_maps=0)
    Traceback (most recent call last):
    ValueError: the demo needs n_maps >= 2 (--maps: one map to train on and one held out for the test split), got 0
    """
    for name, (least, why) in MINIMA.items():
        v = args.get(name, least)
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise ValueError(f"the demo needs {name} >= {least}{f' ({why})' if why else ''}, got {v!r}")
    if "n_maps" in args:
        n, least = args["n_maps"], smallest_n_maps(args.get("seed", 0))
        if isinstance(n, bool) or not isinstance(n, int) or n < least:
            raise ValueError(f"the demo needs n_maps >= {least} (--maps: one map to train on and one held out for "
                             f"the test split), got {n!r}")
    if "size" in args:
        DatasetConfig(n_maps=args.get("n_maps", 2), size=args["size"])  # its own ValueError names the sizes


def is_demo_folder(folder: Path) -> bool:
    """True when `folder` holds an earlier demo report: its marker, or (older reports) its REPORT.md title."""
    marker, report = folder / MARKER, folder / REPORT
    try:
        if marker.is_file() and "rmlite_demo" in json.loads(marker.read_text()):
            return True
        return report.is_file() and report.read_text().startswith(REPORT_TITLE)
    except (OSError, ValueError, TypeError):
        return False


def claim_folder(out_dir: Path, args: dict) -> None:
    """Refuse a report folder that holds anything the demo did not write, or that cannot be written; else write
    the marker (what runs) into it."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; the demo writes its report into a folder: pass a new folder as --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_demo_folder(out_dir):
        raise ValueError(f"{out_dir} holds files the demo did not write; pass a new or empty folder as --out "
                         "(the demo replaces only an earlier demo report)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / MARKER).write_text(json.dumps({"rmlite_demo": args, "rmlite_version": __version__}, indent=1))
    except OSError as e:
        raise ValueError(f"cannot write the demo report into {out_dir}: {e.strerror or e}") from None


class _Laps:
    """Seconds per demo step, printed as each step ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def lap(self, name: str) -> None:
        self.seconds[name] = round(time.perf_counter() - self._since, 1)
        print(f"[demo] {name}: {self.seconds[name]} s")
        self._since = time.perf_counter()


# ----- 1.–3. data, warm start (`rmlite.demo_quick`), zero-spread groups ------------------------------------------
def _zero_spread(out_dir: Path, model_dir: Path, train_rows: list[dict], images: MapImages, *, n_prompts: int,
                 repeats: int, seed: int) -> dict:
    """3. `repeats` groups on each of the first `n_prompts` planning questions, sampled from the warm-started model
    as the demo's GRPO samples them, scored under each of `spread_rewards()`; the groups go to `spread_groups.jsonl`.

    In float32: GRPO samples from the same weights; the 4-bit model is built again for training.
    """
    model, processor = load_model(str(model_dir), load_in_4bit=False, lora_rank=0, dtype="float32")
    plan = [r for r in train_rows if answer_kind(r["type"]) == "route"][:n_prompts]
    if not plan:
        raise ValueError("the training split has no planning question to sample groups on")
    asked = plan * repeats  # question i's groups are i, i + len(plan), ...
    t0 = time.perf_counter()
    groups = sample_groups(model, processor, asked, [images[r["map_id"]] for r in asked], group_size=GROUP_SIZE,
                           max_new_tokens=COMPLETION_TOKENS, batch_size=SPREAD_BATCH, seed=seed)
    seconds = time.perf_counter() - t0
    scored = score_groups(asked, groups)
    flags = zero_flags(scored)
    result = spread_stats(flags, [s["id"] for s in asked])
    result.update(questions=len(plan), repeats=repeats, groups=len(asked), group_size=GROUP_SIZE,
                  max_new_tokens=COMPLETION_TOKENS, seconds=round(seconds, 1),
                  seconds_per_group=round(seconds / len(asked), 3), **why_spread(scored, flags))
    (out_dir / "spread.json").write_text(json.dumps(result, indent=1))
    with open(out_dir / "spread_groups.jsonl", "w") as f:
        f.writelines(json.dumps({"id": s["id"], "completions": g}, ensure_ascii=False) + "\n"
                     for s, g in zip(asked, groups, strict=True))
    print(f"[demo] zero-spread planning groups ({len(asked)}): {_shares(result)}")
    return result


def score_groups(samples: Sequence[Sample], groups: Sequence[Sequence[str]]) -> dict[str, list[list[RewardBreakdown]]]:
    """Each group's completions scored under each of `spread_rewards()`: {reward: [[breakdown per completion]]}."""
    fns = {name: load_reward(name) for name in spread_rewards()}
    return {name: [[fn(c, s) for c in g] for s, g in zip(samples, groups, strict=True)] for name, fn in fns.items()}


def route_terms(b: RewardBreakdown) -> float:
    """The weighted route terms of a score: correctness + α·detail, without the format credit."""
    c = b.components()
    return c["correctness"] + c["detail"]


def zero_flags(scored: dict[str, list[list[RewardBreakdown]]]) -> dict[str, dict[str, list[float]]]:
    """{part: {reward: [1.0 for a group without spread, else 0.0]}} for each part of `PARTS`."""
    value = {"total": lambda b: b.total, "route": route_terms}
    return {part: {name: [float(not has_spread([value[part](b) for b in g])) for g in groups]
                   for name, groups in scored.items()} for part in PARTS}


def spread_stats(flags: dict[str, dict[str, list[float]]], clusters: Sequence[Hashable]) -> dict:
    """Per part of `PARTS`: the zero-spread share ± SE per reward and each dense reward minus sparse (paired per
    group) ± SE with its 95 % interval, SEs clustered by question. The "total" part is also at the top level."""
    out: dict[str, Any] = {}
    for part, zero in flags.items():
        res: dict[str, Any] = {"zero_spread": {}, "difference_vs_sparse": {}}
        for name, f in zero.items():
            m, se = cluster_mean_se(f, clusters)
            res["zero_spread"][name] = {"share": m, "se": se}
            if name != SPARSE:
                d, dse = cluster_mean_se([a - b for a, b in zip(f, zero[SPARSE], strict=True)], clusters)
                res["difference_vs_sparse"][name] = {"difference": d, "se": dse,
                                                     "interval95": [d - Z95 * dse, d + Z95 * dse]}
        out[part] = res
    out.update(out["total"])
    return out


def why_spread(scored: dict[str, list[list[RewardBreakdown]]], flags: dict[str, dict[str, list[float]]]) -> dict:
    """Where sparse's spread comes from: the share of answers with format credit, the number of groups holding a
    right route, and the share of groups whose sparse rewards differ in format credit only."""
    groups = scored[SPARSE]
    total, route = flags["total"][SPARSE], flags["route"][SPARSE]
    return {"format_pass": sum(b.format > 0 for g in groups for b in g) / sum(len(g) for g in groups),
            "groups_with_a_right_route": sum(any(b.correct for b in g) for g in groups),
            "format_only_spread": sum(t == 0 and r == 1 for t, r in zip(total, route, strict=True)) / len(groups)}


def _shares(spread: dict) -> str:
    """"sparse 0.30 ± 0.06, paper 0.09 ± 0.04"."""
    return ", ".join(f"{name} {v['share']:.2f} ± {v['se']:.2f}" for name, v in spread["zero_spread"].items())


# ----- 4.–6. GRPO, evaluation, report ----------------------------------------------------------------------------
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
    held = HeldOutEval(test.select(range(min(eval_limit, len(test)))), every=EVAL_EVERY,
                       max_new_tokens=COMPLETION_TOKENS)
    settings = cpu_tiny_settings(str(out_dir / "grpo"), max_steps=len(pick), max_completion_length=COMPLETION_TOKENS)
    res = train(model, processor, ds.select(pick), reward="paper", curriculum="coarse", settings=settings,
                heldout=held, overwrite=True)  # the folder is the demo's own (claim_folder): its last run goes
    return model, processor, res, held


def _evaluate(out_dir: Path, model: Any, processor: Any, held: Any) -> dict[str, EvalReport]:
    """5. Before and after GRPO (the held-out evaluations at its first and last step), the image-masked model,
    chance and majority, on the same held-out questions; written under `eval/`."""
    steps = sorted(held.reports)
    before, after = held.reports[steps[0]], held.reports[steps[-1]]
    before.name, after.name = BEFORE_NAME, MODEL_NAME
    masked = answers_for(model, processor, held.rows, mask_image=True, max_new_tokens=COMPLETION_TOKENS, batch_size=8,
                         progress=False)
    reports = {BEFORE_NAME: before, MODEL_NAME: after,
               f"{MODEL_NAME} (image masked)": score_answers(held.samples, masked, name=f"{MODEL_NAME} (image masked)"),
               "chance": chance_report(held.samples),
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


def _write_report(out_dir: Path, results: tuple[Any, dict, Any, dict[str, EvalReport]], *,
                  timings: dict[str, float], total: float, quick: str = "") -> None:
    """6b. REPORT.md: what the demo can and cannot show (and what --quick cut), then its numbers, each with its
    standard error. `results`: the warm start's stats, the spread tables, the GRPO result and the reports."""
    stats, spread, res, reports = results
    laps = ", ".join(f"{name} {sec} s" for name, sec in timings.items())
    parts = [f"{REPORT_TITLE}\n", LIMITS, *([quick] if quick else []), _warm_section(stats), spread_section(spread),
             _grpo_section(res), _heldout_section(reports), f"## Timings\n\n{laps}; total {total} s.\n"]
    (out_dir / REPORT).write_text("\n".join(parts))


def _warm_section(stats: Any) -> str:
    passk = PassAtKReport.from_dict(stats.pass_at_k)
    curve = ", ".join(f"step {i + 1}: {stats.losses[i]:.3f}" for i in sorted({0, len(stats.losses) // 10,
                                                                              len(stats.losses) // 2,
                                                                              len(stats.losses) - 1}))
    warn = "\n".join(f"- {line}" for line in stats.warnings) or f"- pass@{passk.k} beats guessing on every type."
    return (f"## Warm start\n\n{stats.summary()}\n\nLearning curve (`warm_start.png`, raw points and their running "
            f"mean): {curve}.\n\n"
            f"Is there anything for GRPO to amplify? Greedy accuracy and pass@{passk.k} at the training temperature "
            f"on the warm start's held-out questions, against a guesser who knows each type's answer distribution "
            f"(± standard errors):\n\n{passk.table()}\n\n{warn}\n")


def _interval(d: dict) -> str:
    """"-0.031 ± 0.022 [-0.074, +0.012]"."""
    return f"{d['difference']:+.3f} ± {d['se']:.3f} [{d['interval95'][0]:+.3f}, {d['interval95'][1]:+.3f}]"


def beyond_noise(d: dict) -> bool:
    """True when the 95 % interval of a difference excludes zero."""
    lo, hi = d["interval95"]
    return lo > 0 or hi < 0


def spread_section(spread: dict) -> str:
    """The zero-spread table (total and route terms) and one verdict line per dense reward."""
    tot, route = spread["total"], spread["route"]
    lines = ["| reward | zero-spread (total) ± SE | minus sparse ± SE [95 %] | zero-spread (route terms) ± SE | "
             "minus sparse ± SE [95 %] |", "|---|---|---|---|---|"]
    for name, v in tot["zero_spread"].items():
        r = route["zero_spread"][name]
        dt, dr = tot["difference_vs_sparse"].get(name), route["difference_vs_sparse"].get(name)
        lines.append(f"| {name} | {v['share']:.3f} ± {v['se']:.3f} | {_interval(dt) if dt else '–'} | "
                     f"{r['share']:.3f} ± {r['se']:.3f} | {_interval(dr) if dr else '–'} |")
    verdicts = [f"- {name} − sparse: total {_interval(d)}, {'beyond' if beyond_noise(d) else 'not beyond'} noise; "
                f"route terms {_interval(route['difference_vs_sparse'][name])}, "
                f"{'beyond' if beyond_noise(route['difference_vs_sparse'][name]) else 'not beyond'} noise."
                for name, d in tot["difference_vs_sparse"].items()]
    sparse = tot["zero_spread"][SPARSE]["share"]
    return (f"## Zero-spread planning groups\n\n{spread['questions']} planning questions × {spread['repeats']} "
            f"groups of {spread['group_size']} completions ({spread['groups']} groups, {spread['seconds']} s: "
            f"{spread['seconds_per_group']} s per group), sampled from the warm-started model as the demo's GRPO "
            f"samples them (temperature 1, at most {spread['max_new_tokens']} tokens) and scored under every reward: "
            f"the same completions, so the differences are paired; standard errors and 95 % intervals treat a "
            f"question's groups as one cluster. A group whose rewards are all equal gives GRPO no gradient. "
            f"\"Total\" is {PARTS['total']}; \"route terms\" is {PARTS['route']}.\n\n"
            + "\n".join(lines) + "\n\n" + "\n".join(verdicts) + "\n\n"
            f"Where sparse's spread comes from: {spread['format_pass']:.0%} of the sampled answers pass the strict "
            f"format check and {spread['groups_with_a_right_route']} of the {spread['groups']} groups hold a right "
            f"route, so {1 - sparse:.0%} of sparse's groups have spread and {spread['format_only_spread']:.0%} have it "
            f"from format credit alone: a signal about the answer's format, not its route. Without the format credit "
            f"(route terms), a dense reward's detail credit is what gives a group spread.\n")


def _grpo_section(res: Any) -> str:
    rows = res.metrics
    zs = [r["zero_spread/total"] for r in rows if "zero_spread/total" in r]
    mean = sum(zs) / len(zs) if zs else float("nan")
    return (f"## GRPO\n\n{len(rows)} steps, stages {', '.join(res.trainer.curriculum.names)}, one prompt per step; "
            f"curves in `grpo/metrics.png` (reward, zero-spread groups, sampled accuracy, held-out accuracy). "
            f"Share of zero-spread groups over the run (`zero_spread/total`): {mean:.2f}. With one prompt per step "
            f"TRL's `frac_reward_zero_std` agrees with it; with more prompts per step it tests the batch, not the "
            f"group, under `scale_rewards=\"batch\"`.\n")


def below_majority(model: EvalReport, majority: EvalReport) -> list[str]:
    """One line per question type where the model's accuracy is below the majority baseline's."""
    tm, tb = type_table(model), type_table(majority)
    return [f"{t}: {model.name} {tm[t]['accuracy']:.3f} ± {tm[t]['se']:.3f} is below the majority baseline "
            f"{tb[t]['accuracy']:.3f} (n={tm[t]['n']})" for t in sorted(tm)
            if t != "all" and t in tb and tm[t]["accuracy"] < tb[t]["accuracy"]]


def _heldout_section(reports: dict[str, EvalReport]) -> str:
    before, after = reports[BEFORE_NAME], reports[MODEL_NAME]
    d, se, n = paired_change(before, after)
    verdict = "within" if abs(d) <= 2 * se else "beyond"
    base = [r for k, r in reports.items() if k not in (BEFORE_NAME, MODEL_NAME)]
    below = "\n".join(f"- {line}" for line in below_majority(after, reports["majority"])) or (
        f"- {MODEL_NAME} scores at or above the majority baseline on every type.")
    return (f"## Held-out accuracy before and after GRPO\n\n{n} held-out questions (unseen maps), greedy, ReasonMap's "
            f"strict check; accuracy ± SE, the paired change ± SE, and format errors (answers the type's parser cannot "
            f"read) apart from wrong answers; chance is a guesser's expected accuracy:\n\n"
            f"{change_table(before, after, base)}\n\n"
            f"Held-out accuracy changed by {d:+.3f} ± {se:.3f} over GRPO: {verdict} two standard errors of zero.\n\n"
            f"Below the majority baseline (always answering a type's most frequent key):\n\n{below}\n\n"
            f"All runs side by side:\n\n{markdown_table(list(reports.values()))}\n")
