"""Reward-design lab: measure what a reward gives GRPO before spending GPU hours on it.

For any reward (a preset name, a `RewardConfig`, or a user's `(completion, sample) -> breakdown | float`) and groups
of G simulated rollouts per question (`rmlite.errors`) or real logged completions (training's `completions.jsonl`),
`measure` reports per question type and difficulty: the reward's mean and within-group spread, the share of
zero-spread groups (`frac_reward_zero_std`, no gradient) and whether they are all-correct, the rank correlation
between reward and number of errors, and the advantage a correct answer gets under each GRPO scaling
(`rmlite.advantages`). `hack_probes` scores answers built to exploit a reward. Left out: token-level effects.

>>> from rmlite.errors import Policy
>>> from rmlite.generate import GeneratorConfig, generate_network
>>> from rmlite.questions import generate_questions
>>> qs = generate_questions(generate_network(GeneratorConfig(difficulty="easy", size=512), 0), map_id="m", seed=0)
>>> res = run_lab(qs, rewards=("sparse", "paper"), error_rates=(0.8,), group_size=8)
>>> plan = [r for r in res.rows if r["type"] == "planning" and r["difficulty"] == "all"]
>>> [(r["reward"], r["frac_reward_zero_std"] > 0.5) for r in plan]
[('sparse', True), ('paper', False)]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rmlite.advantages import SCALINGS, grpo_advantages, zero_std_fraction
from rmlite.errors import Policy, Rollouts, fake_line, map_of, simulate
from rmlite.formats import SECTION_SEPARATOR, reference_completion
from rmlite.reward import PAPER, PresetReward, RewardConfig, as_total, load_reward, score

ALL = "all"
COMPLETIONS_FILE = "completions.jsonl"  # what rmlite.train logs per completion and `lab_logged` reads
TABLE_COLUMNS = ("reward", "error_rate", "type", "difficulty", "groups", "accuracy", "reward_mean", "reward_std",
                 "frac_reward_zero_std", "zero_std_all_correct", "spearman", "adv_correct_group",
                 "adv_correct_batch", "adv_correct_none")


# ----- scoring ------------------------------------------------------------------------------------------------------
def reward_name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, RewardConfig):
        return spec.name
    return getattr(spec, "__name__", type(spec).__name__)


def score_rollouts(r: Rollouts, reward: Any) -> np.ndarray:
    """The scalar reward of every rollout. A reward is a pure function, so equal texts of one question score once."""
    fn = load_reward(reward)
    cfg = fn.config if isinstance(fn, PresetReward) else None
    out = np.empty(len(r))
    g = r.group_size
    for q, s in enumerate(r.samples):
        seen: dict[str, float] = {}
        for k in range(q * g, q * g + g):
            t = r.texts[k]
            v = seen.get(t)
            if v is None:
                v = seen[t] = score(t, s, cfg).total if cfg is not None else as_total(fn(t, s))
            out[k] = v
    return out


# ----- statistics ---------------------------------------------------------------------------------------------------
def rankdata(x: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their average rank (as scipy's default).

    >>> rankdata([10, 20, 20, 5]).tolist()
    [2.0, 3.5, 3.5, 1.0]
    """
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], len(x)]
    ranks = np.empty(len(x))
    ranks[order] = ((starts + ends - 1) / 2 + 1)[np.cumsum(first) - 1]
    return ranks


def _row_ranks(x: np.ndarray) -> np.ndarray:
    """`rankdata` along each row of an (n, G) array (pairwise counts: G is small)."""
    return (x[:, None, :] < x[:, :, None]).sum(-1) + ((x[:, None, :] == x[:, :, None]).sum(-1) + 1) / 2


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(1, keepdims=True)
    b = b - b.mean(1, keepdims=True)
    den = np.sqrt((a * a).sum(1) * (b * b).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(1) / np.where(den > 0, den, 1), np.nan)


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation (NaN when either side is constant).

    >>> spearman([1, 2, 3, 4], [10, 9, 2, 1]), spearman([1, 1], [1, 2])
    (-1.0, nan)
    """
    return float(_pearson_rows(rankdata(a)[None], rankdata(b)[None])[0])


def group_spearman(rewards: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Per-group Spearman between reward and error count, (n, G) → (n,); NaN where either is constant."""
    return _pearson_rows(_row_ranks(rewards), _row_ranks(errors))


def _mean(x: np.ndarray) -> float | None:
    x = x[~np.isnan(x)] if x.dtype.kind == "f" else x
    return round(float(x.mean()), 4) if x.size else None


def measure(r: Rollouts, rewards: np.ndarray, reward: str, error_rate: float | str) -> list[dict]:
    """Tidy rows (one per question type × difficulty, `"all"` margins included) for one reward's scores.

    | field | meaning |
    |---|---|
    | accuracy | share of ReasonMap-correct rollouts (no fatal error) |
    | reward_mean, reward_std | mean reward; mean within-group standard deviation |
    | frac_reward_zero_std | share of groups whose rewards are all equal (no GRPO gradient) |
    | zero_std_all_correct / _all_wrong | among those groups, the share where every rollout is correct / wrong |
    | spearman | mean within-group rank correlation of reward with the error count (good: near −1) |
    | spearman_pooled | the same over all rollouts at once (W and question mix included) |
    | adv_correct_{group,batch,none} | mean advantage of an error-free rollout in groups that also hold errors |

    Batch scaling uses the standard deviation of all rollouts passed in (one big batch).
    """
    g = r.group_size
    grid = rewards.reshape(-1, g)
    err = np.asarray(r.n_errors, dtype=np.float64).reshape(-1, g)
    ok = np.asarray(r.correct, dtype=bool).reshape(-1, g)
    adv = {s: grpo_advantages(rewards, g, s).reshape(-1, g) for s in SCALINGS}
    zero = np.isclose(grid.std(axis=1), 0.0)
    rho = group_spearman(grid, err)
    best = err == 0
    mixed = best.any(1) & ~best.all(1)  # groups where a correct answer competes with wrong ones
    types = np.array([s["type"] for s in r.samples])
    diffs = np.array([s.get("difficulty_question") or s["difficulty_city"] for s in r.samples])
    rows = []
    for t in [ALL, *sorted(set(types))]:
        for d in [ALL, *[x for x in ("easy", "middle", "hard") if x in set(diffs)]]:
            m = (types == t if t != ALL else np.ones(len(types), bool)) & (diffs == d if d != ALL else True)
            if not m.any():
                continue
            z = zero[m]
            row = {"reward": reward, "error_rate": error_rate, "type": t, "difficulty": d, "groups": int(m.sum()),
                   "accuracy": _mean(ok[m].astype(float)), "reward_mean": _mean(grid[m]),
                   "reward_std": _mean(grid[m].std(axis=1)),
                   "frac_reward_zero_std": round(zero_std_fraction(grid[m].reshape(-1), g), 4),
                   "zero_std_all_correct": _mean(ok[m][z].all(1).astype(float)) if z.any() else None,
                   "zero_std_all_wrong": _mean((~ok[m][z]).all(1).astype(float)) if z.any() else None,
                   "spearman": _mean(rho[m]), "spearman_pooled": _nan_none(spearman(grid[m].ravel(), err[m].ravel()))}
            mm = m & mixed
            for s in SCALINGS:
                row[f"adv_correct_{s}"] = _mean(adv[s][mm][best[mm]]) if mm.any() else None
            rows.append(row)
    return rows


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


# ----- the lab ------------------------------------------------------------------------------------------------------
@dataclass
class LabResult:
    rows: list[dict] = field(default_factory=list)
    probes: list[dict] = field(default_factory=list)
    rollouts: dict = field(default_factory=dict)  # error rate (or "logged") → Rollouts
    rewards: dict = field(default_factory=dict)  # (reward name, error rate) → per-rollout rewards

    def table(self, columns: Sequence[str] | None = None, **where: Any) -> str:
        """The rows matching `where` (e.g. `type="planning", difficulty="all"`) as text, optionally some columns."""
        return format_table([r for r in self.rows if all(r.get(k) == v for k, v in where.items())], columns)


def run_lab(samples: Sequence[Mapping], rewards: Iterable[Any] = ("sparse", "paper", "official"),
            error_rates: Iterable[float] = (0.2, 0.5, 0.8), group_size: int = 8, policy: Policy | None = None,
            seed: int = 0, probes: bool = False) -> LabResult:
    """Simulate `group_size` rollouts per question at each error rate and measure every reward on them.

    `policy` sets the operator weights and the rest (its `error_rate` is replaced by each of `error_rates`).
    """
    base = policy or Policy()
    rewards = list(rewards)
    res = LabResult()
    for e in error_rates:
        r = simulate(samples, dataclasses.replace(base, error_rate=float(e)), group_size, seed)
        res.rollouts[e] = r
        _measure_all(res, r, rewards, e)
    if probes:
        res.probes = hack_probes(samples, rewards)
    return res


def _measure_all(res: LabResult, r: Rollouts, rewards: list, label: float | str) -> None:
    for spec in rewards:
        name = reward_name(spec)
        vals = score_rollouts(r, spec)
        res.rewards[(name, label)] = vals
        res.rows += measure(r, vals, name, label)


# ----- real logged completions --------------------------------------------------------------------------------------
def read_completions(path: str | Path) -> list[dict]:
    """Training's per-completion rows `{"step", "stage", "id", "type", "completion", "reward"}`."""
    rows = []
    for i, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                raise ValueError(f"{path}:{i}: not JSON ({e})") from None
    return rows


def logged_rollouts(rows: Iterable[Mapping], samples: Mapping[str, Mapping], group_size: int | None = None) -> Rollouts:
    """Rollouts from logged completions: one group per (step, sample id), joined on `id` with the data set.

    Groups of another size than `group_size` (default: the most common) are left out. Correctness is the paper
    preset's ReasonMap check, and the error count is 1 for an incorrect answer, 0 for a correct one.
    """
    groups: dict[tuple, list[str]] = {}
    for row in rows:
        sid = row.get("id")
        if sid not in samples:
            raise ValueError(f"completion for sample id {sid!r} (step {row.get('step')}) is not in the data set")
        text = row.get("completion")
        groups.setdefault((row.get("step"), sid), []).append(text if isinstance(text, str) else "")
    if not groups:
        raise ValueError("no logged completions to read")
    g = group_size or Counter(len(v) for v in groups.values()).most_common(1)[0][0]
    keep = [(k, v) for k, v in groups.items() if len(v) == g]
    sams = [samples[k[1]] for k, _ in keep]
    texts = [t for _, v in keep for t in v]
    correct = [score(t, s, PAPER).correct for s, (_, v) in zip(sams, keep, strict=True) for t in v]
    return Rollouts(sams, g, texts, [int(not c) for c in correct], correct, [() for _ in texts])


def lab_logged(rows: Iterable[Mapping], samples: Mapping[str, Mapping], rewards: Iterable[Any] = ("paper",),
               group_size: int | None = None) -> LabResult:
    """The lab's metrics on real completions (see `logged_rollouts`); `error_rate` is `"logged"` in the rows."""
    res = LabResult()
    r = logged_rollouts(rows, samples, group_size)
    res.rollouts["logged"] = r
    _measure_all(res, r, list(rewards), "logged")
    return res


# ----- hackability probes ---------------------------------------------------------------------------------------------
FILLER = "Let me think about this carefully and check the map again. "


def probe_answers(sample: Mapping) -> dict[str, str]:
    """Answers built to exploit a reward rather than to answer: padding (filler before the answer), keyword
    stuffing, listing every line or option, repeating sections, an invented line, a direct ride where a transfer is
    needed, and the empty answer (for reference)."""
    ref = reference_completion(sample)
    m = map_of(sample)
    if sample["type"] != "planning":
        every = {"counting1": "A, B, C, D", "torf1": "yes or no", "torf2": "yes or no"}.get(
            sample["type"], ", ".join(str(i) for i in range(10)))
        return {"reference": ref, "padding": FILLER * 80 + "\n" + ref,
                "keyword_stuffing": "yes no true A B C D 1 2 3 4 " + ref,
                "every_option": "\\boxed{" + every + "}",
                "every_box": " ".join(f"\\boxed{{{v}}}" for v in every.replace(" or ", ", ").split(", ")),
                "empty": ""}
    s1, s2 = sample["station1"], sample["station2"]
    section = "Route Name: {}\nDeparture Stop: {}\nArrival Stop: {}"
    first = next(ln for ln, st in m.lines.items() if s1 in st)
    out = {
        "reference": ref,
        "padding": FILLER * 80 + "\n" + ref,
        "keyword_stuffing": section.format(" ".join(m.lines), s1, s2) + "\n\nStations: " + ", ".join(m.stations),
        "every_line": SECTION_SEPARATOR.join(section.format(ln, s1, s2) for ln in m.lines),
        "repeated_sections": SECTION_SEPARATOR.join([ref] * 3),
        "invented_line": section.format(fake_line(m, random.Random(0)), s1, s2),
        "empty": "",
    }
    if sample.get("question_transfer_count"):  # a direct ride is only a hack where a transfer is needed
        out["direct_claim"] = section.format(first, s1, s2)
    return out


def hack_probes(samples: Sequence[Mapping], rewards: Iterable[Any] = ("paper",), per_type: int = 50) -> list[dict]:
    """Each probe's reward vs the reference's, per reward and question kind (planning / perception).

    Row fields: `reward_mean`, `reference_mean` (on the same questions), `ratio` (probe mean / reference mean),
    `beats_reference` (share of questions where the probe scores at least the reference), `correct` (share judged
    correct; rewards returning a breakdown only). `per_type` questions of each type are used.
    """
    picked: dict[str, list] = {}
    for s in samples:
        if len(picked.setdefault(s["type"], [])) < per_type:
            picked[s["type"]].append(s)
    out = []
    for spec in rewards:
        fn, name = load_reward(spec), reward_name(spec)
        for kind in ("planning", "perception"):
            group = [s for t, v in picked.items() if (t == "planning") == (kind == "planning") for s in v]
            scored: dict[str, list] = {}  # probe → [(probe reward, reference reward, judged correct)]
            for s in group:
                answers = probe_answers(s)
                ref = as_total(fn(answers.pop("reference"), s))
                for probe, text in answers.items():
                    b = fn(text, s)
                    scored.setdefault(probe, []).append((as_total(b), ref, getattr(b, "correct", None)))
            for probe, vals in scored.items():
                v, ref = np.array([x[0] for x in vals]), np.array([x[1] for x in vals])
                oks = [x[2] for x in vals if x[2] is not None]
                out.append({"reward": name, "kind": kind, "probe": probe, "n": len(v),
                            "reward_mean": round(float(v.mean()), 4), "reference_mean": round(float(ref.mean()), 4),
                            "ratio": round(float(v.mean() / ref.mean()), 4) if ref.mean() else None,
                            "beats_reference": round(float(np.mean(v >= ref - 1e-9)), 4),
                            "correct": round(float(np.mean(oks)), 4) if oks else None})
    return out


# ----- output -------------------------------------------------------------------------------------------------------
def format_table(rows: Sequence[Mapping], columns: Sequence[str] | None = None) -> str:
    """A plain text table (numbers to 3 decimals, None as "-").

    >>> print(format_table([{"a": 1, "b": 0.12345}, {"a": 22, "b": None}]))
    a   b
    --  -----
    1   0.123
    22  -
    """
    if not rows:
        return "(no rows)"
    cols = list(columns or [c for c in TABLE_COLUMNS if c in rows[0]] or rows[0].keys())

    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    body = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(b[i]) for b in body)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def plot_signal_density(rows: Sequence[Mapping], path: str | Path) -> Path:
    """Signal density (1 − frac_reward_zero_std) against error rate, one line per reward; top row per question type,
    bottom row per difficulty."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if isinstance(r["error_rate"], (int, float))]
    types = [ALL] + sorted({r["type"] for r in rows} - {ALL})
    diffs = [d for d in ("easy", "middle", "hard") if any(r["difficulty"] == d for r in rows)]
    ncol = max(len(types), len(diffs) + 1)
    fig, axes = plt.subplots(2, ncol, figsize=(3.2 * ncol, 6.4), sharey=True, squeeze=False)
    panels = [(0, i, {"type": t, "difficulty": ALL}, f"type: {t}") for i, t in enumerate(types)]
    panels += [(1, i, {"type": ALL, "difficulty": d}, f"difficulty: {d}") for i, d in enumerate([ALL, *diffs])]
    for ax in axes.ravel():
        ax.set_visible(False)
    for r_i, c_i, where, title in panels:
        ax = axes[r_i][c_i]
        ax.set_visible(True)
        for name in dict.fromkeys(r["reward"] for r in rows):
            pts = sorted((r["error_rate"], 1 - r["frac_reward_zero_std"]) for r in rows
                         if r["reward"] == name and all(r[k] == v for k, v in where.items()))
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=name)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("policy error rate")
    axes[0][0].set_ylabel("signal density (1 − zero-spread share)")
    axes[1][0].set_ylabel("signal density")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(res: LabResult, out: str | Path, plots: bool = True) -> list[Path]:
    """lab.jsonl (all rows), lab.txt (the tables), probes.jsonl, signal_density.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "lab.jsonl", out / "lab.txt"]
    paths[0].write_text("".join(json.dumps(r) + "\n" for r in res.rows))
    text = "\n\n".join([format_table(res.rows), format_table(res.probes) if res.probes else ""]).rstrip() + "\n"
    paths[1].write_text(text)
    if res.probes:
        paths.append(out / "probes.jsonl")
        paths[-1].write_text("".join(json.dumps(r) + "\n" for r in res.probes))
    if plots and any(isinstance(r["error_rate"], (int, float)) for r in res.rows):
        paths.append(plot_signal_density(res.rows, out / "signal_density.png"))
    return paths


# ----- command line -------------------------------------------------------------------------------------------------
def add_lab_parser(subparsers: Any) -> argparse.ArgumentParser:
    """`rmlite lab`: register the sub-command on an argparse subparsers object."""
    p = subparsers.add_parser("lab", help="measure rewards on simulated (or logged) GRPO groups, in seconds on CPU")
    _lab_arguments(p)
    return p


def _lab_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="a folder written by `rmlite generate`")
    p.add_argument("--split", default="train", help="which split's questions to use")
    p.add_argument("--rewards", default="sparse,paper,official",
                   help="comma-separated presets or package.module:function rewards")
    p.add_argument("--group-size", type=int, default=8, help="rollouts per question (GRPO's G)")
    p.add_argument("--error-rates", default="0.2,0.5,0.8", help="policy error rates to simulate")
    p.add_argument("--completions", default=None, help="training's completions.jsonl: measure these instead")
    p.add_argument("--limit", type=int, default=None, help="use at most this many questions")
    p.add_argument("--seed", type=int, default=0, help="simulation seed (same seed, same rollouts)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG")
    p.add_argument("--out", required=True, help="output folder (lab.jsonl, lab.txt, probes.jsonl, PNG)")


def load_samples(data: str | Path, split: str | None = None) -> list[dict]:
    """Question rows of a data set folder (one split, or every split when None)."""
    from rmlite.data import load_questions, read_manifest

    splits = [split] if split else list(read_manifest(data).get("counts", {"train": 0}))
    return [row for sp in splits for row in load_questions(data, sp).to_list()]


def cmd_lab(a: argparse.Namespace) -> int:
    rewards = [x.strip() for x in a.rewards.split(",") if x.strip()]
    if not rewards:
        raise ValueError("--rewards is empty")
    if a.group_size < 2:
        raise ValueError("--group-size must be at least 2: GRPO compares completions within a group")
    if a.completions:
        samples = {s["id"]: s for s in load_samples(a.data, None)}
        res = lab_logged(read_completions(a.completions), samples, rewards, a.group_size)
        res.probes = hack_probes(list(samples.values()), rewards)
    else:
        try:
            rates = [float(x) for x in a.error_rates.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--error-rates must be numbers like 0.2,0.5,0.8, got {a.error_rates!r}") from None
        samples = load_samples(a.data, a.split)[: a.limit]
        if not samples:
            raise ValueError(f"split {a.split!r} of {a.data} has no questions")
        res = run_lab(samples, rewards, rates, a.group_size, seed=a.seed, probes=True)
    print(format_table([r for r in res.rows if r["difficulty"] == ALL]))
    print()
    print(format_table(res.probes, ("reward", "kind", "probe", "reward_mean", "reference_mean", "ratio",
                                    "beats_reference", "correct")))
    for p in write_outputs(res, a.out, plots=not a.no_plots):
        print(f"wrote {p}")
    return 0


def lab_main(argv: list[str] | None = None) -> int:
    """`python -m rmlite.lab …` (the same arguments as `rmlite lab`)."""
    p = argparse.ArgumentParser(prog="rmlite lab", description=add_lab_parser.__doc__)
    _lab_arguments(p)
    return cmd_lab(p.parse_args(argv))


__all__ = ["run_lab", "lab_logged", "measure", "score_rollouts", "hack_probes", "probe_answers", "format_table",
           "plot_signal_density", "write_outputs", "read_completions", "logged_rollouts", "load_samples", "spearman",
           "rankdata", "group_spearman", "LabResult", "add_lab_parser", "cmd_lab", "lab_main"]

if __name__ == "__main__":
    raise SystemExit(lab_main())
