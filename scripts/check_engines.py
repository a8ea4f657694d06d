"""Run rmlite's launch recipes for verl and EasyR1 as far as a CPU can: each engine's own config code builds the exact
configuration the recipe passes, its own dataset classes read the curriculum export after the folder has moved, and
its own reward entry point scores decoded tokens to exactly rmlite's numbers under every preset.

For each engine a temporary virtualenv sees this environment's packages (torch, the data stack) through a plain
path in a .pth file (so rmlite itself is NOT importable there) and installs only what the engine adds, at pins:
  * verl 0.9.1 and qwen-vl-utils 0.0.14 from the package index (transformers 5.10 comes with verl's pin);
  * EasyR1 from a checkout (`--easyr1 PATH`; its repository is not on the package index; commit b44b311 tested),
    with transformers < 5 and omegaconf 2.3.0 (EasyR1's PPOConfig does not build under omegaconf 2.4.0).
Then, per engine:
  1. `RMLITE_DRY_RUN=1 bash scripts/<engine>_rewardmap.sh DATA` runs the recipe's steps for real in that
     environment: it installs rmlite core there (the install must leave every package the engine installed as it
     was), exports in curriculum order and prints the launch command instead of starting it;
  2. the export folder is moved (the paths in the command follow it), then scripts/engines/<engine>_probe.py
     builds the engine's config from the printed arguments (verl: Hydra compose + validate_config; EasyR1: the
     dotlist over PPOConfig + deep_post_init), reads both splits with the engine's dataset classes and the train
     sampler (the stage order must survive), checks each row's image tokens against its patch grid, and scores
     the reference answer and a wrong one for every row with verl's RewardLoopWorker / EasyR1's
     AutoRewardManager.compute_reward on tokenised text, under paper, official, sparse and robust.
The model path is the only argument replaced: a local Qwen2.5-VL processor (the real image settings) with the tiny
model's tokenizer, since nothing here reaches the model hub.

Run:  python scripts/check_engines.py [--easyr1 PATH] [--skip-verl] [--keep]
Measured: see docs/engines.md. The temporary folder is removed on success, on failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EASYR1_TESTED_COMMIT = "b44b311b669bf1fd1aa2fc36f2251482ba33cb16"
OMEGACONF = "2.3.0"  # EasyR1's PPOConfig does not build under omegaconf 2.4.0 (`--omegaconf 2.4.0` shows it)
HUB_MAX_PIXELS = 12_845_056  # Qwen2.5-VL's processor default (16,384 visual tokens): the export's budget must act


@dataclass(frozen=True)
class Engine:
    name: str
    fmt: str  # rmlite export's --format
    packages: tuple[str, ...]
    run_in_export: bool  # verl opens relative image paths from its working directory

    @property
    def script(self) -> Path:
        return REPO / "scripts" / f"{self.fmt}_rewardmap.sh"

    @property
    def probe(self) -> Path:
        return REPO / "scripts" / "engines" / f"{self.fmt}_probe.py"


VERL = Engine("verl", "verl", ("verl==0.9.1", "qwen-vl-utils==0.0.14"), run_in_export=True)


def easyr1(omegaconf: str) -> Engine:
    return Engine("EasyR1", "easyr1", ("transformers>=4.54,<5", f"omegaconf=={omegaconf}", "jinja2", "tensordict",
                                       "codetiming", "ray", "torchdata", "msgspec", "qwen-vl-utils==0.0.14"),
                  run_in_export=False)


def make_env(where: Path, packages: tuple[str, ...], checkout: Path | None = None) -> Path:
    """A virtualenv that sees this interpreter's site-packages as a plain path, plus `packages`; returns its python."""
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    site = own_site(python)
    here = [p for p in sys.path if p.endswith("site-packages")]
    # a plain path, not site.addsitedir: the parent's .pth files (rmlite's editable install) stay unread
    Path(site, "zz-parent-env.pth").write_text("".join(f"{p}\n" for p in here))
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    if checkout is not None:  # the checkout itself, without its pins (vLLM, flash-attn need a GPU)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(checkout)], check=True)
    return python


def own_site(python: Path) -> str:
    return subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                          text=True, check=True).stdout.strip()


def own_packages(python: Path) -> dict[str, str]:
    """Name -> version of what the virtualenv itself holds (not the parent's packages it sees)."""
    out = subprocess.run([str(python), "-m", "pip", "list", "--format=json", "--path", own_site(python)],
                         capture_output=True, text=True, check=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def build_inputs(work: Path) -> dict:
    """A small data set at 1024 px (three synthetic maps to train on, real Oslo and Miami to test on) and a local
    model folder."""
    from transformers import AutoProcessor

    from rmlite.data.build import DatasetConfig, generate_dataset
    from rmlite.data.questions import QuestionConfig
    from rmlite.models.gpu import DEFAULT_MIN_PIXELS
    from rmlite.models.load import set_max_pixels
    from rmlite.models.tiny import build_tiny_vlm

    # 18 train rows a stage of the paper curriculum (three synthetic maps): a whole batch of 16 each after the cut
    qcfg = QuestionConfig(per_map={"torf1": 3, "torf2": 3, "counting2": 5, "counting3": 1, "counting1": 6,
                                   "planning": 6})
    data = work / "data"
    generate_dataset(data, DatasetConfig(n_maps=3, size=1024, seed=0, test_fraction=0.0, real_maps=("oslo", "miami"),
                                         questions=qcfg), progress=False, workers=1)
    model = build_tiny_vlm(work / "model", seed=0)
    processor = AutoProcessor.from_pretrained(model)  # Qwen2.5-VL's processor classes (14 px patches, 2x2 merge)
    set_max_pixels(processor, HUB_MAX_PIXELS, DEFAULT_MIN_PIXELS)  # the hub processor's cap: the export's acts
    processor.save_pretrained(model)
    return {"data": data, "model": Path(model)}


def for_transformers4(model: Path) -> Path:
    """A copy of the model folder transformers 4 can read: 5.x saves `extra_special_tokens` as a list, 4.x wants a
    dict (the tokens themselves are in `added_tokens_decoder` either way)."""
    older = model.with_name(model.name + "-transformers4")
    shutil.copytree(model, older, dirs_exist_ok=True)
    path = older / "tokenizer_config.json"
    cfg = json.loads(path.read_text())
    if isinstance(cfg.get("extra_special_tokens"), list):
        cfg["extra_special_tokens"] = {}
        path.write_text(json.dumps(cfg))
    return older


def dry_run(engine: Engine, python: Path, data: Path, model: Path, export: Path) -> list[str]:
    """The recipe's steps for real (install rmlite core, curriculum export) and the launch command it prints."""
    env = dict(os.environ, RMLITE_DRY_RUN="1", PYTHON=str(python), MODEL=str(model), EXPORT=str(export))
    env.pop("VIRTUAL_ENV", None)
    proc = subprocess.run(["bash", str(engine.script), str(data)], capture_output=True, text=True, env=env,
                          cwd=data.parent)
    if proc.returncode != 0:
        raise CheckFailed(f"{engine.script.name} (dry run) failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = proc.stdout.splitlines()
    start = lines.index(str(python))  # the command, one argument a line, after the steps' own output
    return lines[start:]


def calls_from_export(engine: Engine, export: Path) -> list[dict]:
    """From every exported row (the engine's own input): the reference answer and a wrong one, with the row's truth."""
    import pyarrow.parquet as pq

    from rmlite.data.answers import reference_completion

    calls = []
    for path in sorted(export.glob("*.parquet")):
        for r in pq.read_table(path).to_pylist():
            if engine.fmt == "verl":
                truth, source, extra = r["reward_model"]["ground_truth"], r["data_source"], r["extra_info"]
            else:
                truth, source, extra = r["answer"], "rmlite", {}
            for text in (reference_completion(json.loads(truth)), "I cannot read the map."):
                calls.append({"data_source": source, "text": text, "ground_truth": truth, "extra_info": extra})
    return calls


def expected_scores(calls: list[dict], presets: list[str]) -> dict[str, list[float]]:
    from rmlite.reward.config import get_config
    from rmlite.reward.score import score

    return {p: [score(c["text"], json.loads(c["ground_truth"]), get_config(p)).total for c in calls] for p in presets}


def run_probe(engine: Engine, python: Path, job: dict, work: Path, cwd: Path) -> dict:
    job_path = work / f"{engine.fmt}_job.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", HF_DATASETS_CACHE=str(work / "hf-datasets-cache"))
    proc = subprocess.run([str(python), str(engine.probe), str(job_path)], capture_output=True, text=True, env=env,
                          cwd=cwd)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise CheckFailed(f"{engine.name} probe failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


class CheckFailed(Exception):
    """A step of the check that cannot go on (its message says which and why)."""


# The paper's training settings (docs/scaling.md), as each engine's built config must hold them.
PAPER_RUN = {"adv_estimator": "grpo", "n": 8, "rollout": "vllm", "lr": 1e-6, "kl_loss_coef": 1e-3, "use_kl_loss": True,
             "train_batch_size": 16, "n_gpus": 8, "shuffle": False, "max_prompt_length": 1024,
             "max_response_length": 2048, "total_epochs": 1}


def judge(name: str, got: dict, n_rows: dict[str, int], want: dict[str, list[float]]) -> list[str]:
    """What the probe saw against what it must see; returns the failures (printing every finding)."""
    bad = [f"config {k}={got['config'].get(k)!r}, the recipe means {v!r}" for k, v in PAPER_RUN.items()
           if got["config"].get(k) != v]
    print(f"{name}: config built by the engine: " + ", ".join(f"{k}={got['config'][k]}" for k in PAPER_RUN))
    for split, info in got["splits"].items():
        stages = info["stages"]
        print(f"{name}: {split}: {info['rows']}/{n_rows[split]} rows loaded after the move, {info['mismatched']} "
              f"with a wrong image-token count, prompts {info['prompt_tokens'][0]}-{info['prompt_tokens'][1]} tokens"
              + (f", {info['sampler']} reads stages {_runs(stages)}" if split == "train" else ""))
        if info["rows"] != n_rows[split] or info["mismatched"]:
            bad.append(f"{split}: {info['rows']}/{n_rows[split]} rows, {info['mismatched']} mismatched")
        if split == "train" and (len(set(stages)) < 2 or stages != sorted(stages)):
            bad.append(f"train: the sampler does not read the curriculum in stage order: {_runs(stages)}")
    for preset, scores in got["scores"].items():
        same = sum(a == b for a, b in zip(scores, want[preset], strict=True))
        print(f"{name}: reward {preset}: {same}/{len(scores)} decoded-token scores identical to rmlite")
        if same != len(scores):
            bad.append(f"reward {preset}: {len(scores) - same} scores differ from rmlite's")
        if got.get("misplaced", {}).get(preset):
            bad.append(f"reward {preset}: {got['misplaced'][preset]} reward tensors lack the score at the last token")
    if "reward_type" in got:
        print(f"{name}: reward manager reads REWARD_TYPE={got['reward_type']!r}")
    return bad


def _runs(stages: list[int]) -> str:
    """[0, 0, 1, 2, 2] -> '0x2 1x1 2x2'."""
    runs: list[list[int]] = []
    for s in stages:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return " ".join(f"{s}x{n}" for s, n in runs)


def check_engine(engine: Engine, work: Path, inputs: dict, presets: list[str], checkout: Path | None) -> list[str]:
    """One engine end to end (see the module doc); returns its failures."""
    import pyarrow.parquet as pq

    python = make_env(work / f"venv-{engine.fmt}", engine.packages, checkout)
    before = own_packages(python)
    model = for_transformers4(inputs["model"]) if engine.fmt == "easyr1" else inputs["model"]
    export = work / f"{engine.fmt}-export"
    command = dry_run(engine, python, inputs["data"], model, export)
    after = own_packages(python)
    bad = []
    if "rmlite" not in after:
        bad.append("the recipe did not install rmlite into the engine's environment")
    changed = sorted(k for k in set(before) | set(after) if k != "rmlite" and before.get(k) != after.get(k))
    print(f"{engine.name}: the recipe installed rmlite core into the engine's environment; packages it changed "
          f"there: {', '.join(f'{k} {before.get(k)} -> {after.get(k)}' for k in changed) or 'none'}")
    bad += [f"installing rmlite changed {k}: {before.get(k)} -> {after.get(k)}" for k in changed]
    moved = work / "moved" / export.name
    moved.parent.mkdir(exist_ok=True)
    export.rename(moved)  # the travel check: nothing below may depend on where the export was written
    command = [a.replace(str(export), str(moved)) for a in command]
    calls = calls_from_export(engine, moved)
    n_rows = {s: sum(pq.read_metadata(p).num_rows for p in moved.glob(f"{s}*.parquet")) for s in ("train", "test")}
    got = run_probe(engine, python, {"command": command, "calls": calls, "presets": presets}, work,
                    moved if engine.run_in_export else work)
    return bad + judge(engine.name, got, n_rows, expected_scores(calls, presets))


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _terminate(signum, frame):  # SIGTERM: leave through the same `finally` as Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--easyr1", type=Path, help=f"an EasyR1 checkout (tested: commit {EASYR1_TESTED_COMMIT[:7]})")
    ap.add_argument("--skip-verl", action="store_true", help="check EasyR1 only")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    ap.add_argument("--omegaconf", default=OMEGACONF, help="omegaconf for EasyR1's environment (default: %(default)s)")
    a = ap.parse_args(argv)
    if a.easyr1 is not None and not (a.easyr1 / "verl" / "trainer" / "config.py").is_file():
        print(f"error: {a.easyr1} is not an EasyR1 checkout (no verl/trainer/config.py)", file=sys.stderr)
        return 2
    if a.skip_verl and a.easyr1 is None:
        print("error: --skip-verl leaves nothing to check without --easyr1", file=sys.stderr)
        return 2
    from rmlite.reward.config import PRESETS

    engines = ([] if a.skip_verl else [(VERL, None)]) + ([(easyr1(a.omegaconf), a.easyr1.resolve())] if a.easyr1
                                                         else [])
    previous = signal.signal(signal.SIGTERM, _terminate)
    work = Path(tempfile.mkdtemp(prefix="rmlite-engines-"))
    t0, failures, size = time.perf_counter(), [], 0
    try:
        inputs = build_inputs(work)
        for engine, checkout in engines:
            t = time.perf_counter()
            try:
                failures += [f"{engine.name}: {f}" for f in check_engine(engine, work, inputs, list(PRESETS), checkout)]
            except (CheckFailed, subprocess.CalledProcessError) as e:
                failures.append(f"{engine.name}: {e}")
            print(f"{engine.name}: {time.perf_counter() - t:.0f} s (environment, recipe, probe)")
        size = folder_size(work)
    finally:
        if a.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)
    for f in failures:
        print(f"FAILED: {f}")
    print(f"{'FAILED' if failures else 'OK'} in {time.perf_counter() - t0:.0f} s; temporary folder "
          f"{size / 2**30:.2f} GiB at its largest, {'kept' if a.keep else 'removed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
