"""Read rmlite's export with verl's and EasyR1's own code: their dataset classes load every row (one image each, with
as many image tokens as the image's patch grid) and their reward loaders call rmlite's `compute_score` to exactly
rmlite's numbers. The closest check of the scale-out path one CPU machine can make (training itself needs GPUs).

Each engine goes into a temporary virtualenv that sees this environment's packages (torch, transformers, rmlite)
through a .pth file and installs only what the engine adds, at pinned versions:
  * verl 0.9.1 and qwen-vl-utils 0.0.14 from the package index (about a minute, ~600 MB, once per run);
  * EasyR1 from a checkout (`--easyr1 PATH`: its repository is not on the package index) with its own pin,
    transformers < 5, and the few packages its dataset and reward modules import; commit b44b311
    (2026-07-30) is the one tested. Without `--easyr1` only verl is checked.
The processor is a Qwen2.5-VL processor with the real image settings (14 px patches, 2x2 merge) and the tiny
model's tokenizer, so visual token counts are the real model's; text token counts are the tiny tokenizer's.

Run:  python scripts/check_engines.py [--easyr1 PATH] [--keep]
Measured 2026-11-28 on 2 CPU cores: see docs/engines.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

VERL = ("verl==0.9.1", "qwen-vl-utils==0.0.14")
EASYR1_DEPS = ("transformers>=4.54,<5", "omegaconf", "jinja2", "tensordict", "codetiming", "ray",
               "qwen-vl-utils==0.0.14")
EASYR1_TESTED_COMMIT = "b44b311b669bf1fd1aa2fc36f2251482ba33cb16"
MAX_PROMPT_LENGTH = 1024  # the engine setting the README gives: 1024 px maps at rmlite's pixel budget fit in it
PRESETS = ("paper", "official", "sparse")
HUB_MAX_PIXELS = 12_845_056  # Qwen2.5-VL's processor default (16,384 visual tokens)

VERL_PROBE = r'''
import json, sys
from omegaconf import OmegaConf
from transformers import AutoProcessor
from verl.trainer.ppo.reward import get_custom_reward_fn
from verl.utils.dataset.rl_dataset import RLHFDataset, build_multimodal_processor_inputs

job = json.load(open(sys.argv[1]))
proc = AutoProcessor.from_pretrained(job["processor"])
merge = proc.image_processor.merge_size ** 2
pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
cfg = OmegaConf.create({"prompt_key": "prompt", "image_key": "images", "max_prompt_length": job["max_prompt_length"],
                        "filter_overlong_prompts": True, "filter_overlong_prompts_workers": None,
                        "truncation": "error", "cache_dir": job["cache"]})
out = {"splits": {}, "scores": {}}
for split, path in job["parquet"].items():
    ds = RLHFDataset(data_files=[path], tokenizer=proc.tokenizer, config=cfg, processor=proc)
    lengths, mismatched = [], 0
    for i in range(len(ds)):  # what verl's agent loop does with a row's raw prompt before generation
        messages = ds[i]["raw_prompt"]
        text = proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images, videos, audios = RLHFDataset._process_multi_modal_info(messages, ds.image_patch_size, cfg)
        inputs = build_multimodal_processor_inputs(proc, text=[text], images=images, videos=videos, audio=audios,
                                                   mm_processor_kwargs={})
        grid, ids = inputs["image_grid_thw"], inputs["input_ids"][0]
        mismatched += int(len(grid) != 1 or int((ids == pad).sum()) != int(grid.prod(-1).sum()) // merge)
        lengths.append(len(ids))
    out["splits"][split] = {"rows": len(ds), "mismatched": mismatched, "prompt_tokens": [min(lengths), max(lengths)]}
for preset in job["presets"]:
    fn = get_custom_reward_fn(OmegaConf.create({"reward": {"custom_reward_function": {
        "path": job["engines"], "name": "compute_score", "reward_kwargs": {"reward": preset}}}}))
    out["scores"][preset] = [fn(data_source=c["data_source"], solution_str=c["text"], ground_truth=c["ground_truth"],
                                extra_info=c["extra_info"])["score"] for c in job["calls"]]
print("RESULT " + json.dumps(out))
'''

EASYR1_PROBE = r'''
import json, os, shutil, sys
from pathlib import Path
from transformers import AutoProcessor
from verl.utils.dataset import RLHFDataset, process_image
from verl.workers.reward.config import RewardConfig
from verl.workers.reward.function import AutoRewardManager

job = json.load(open(sys.argv[1]))
# EasyR1 pins transformers < 5, whose tokenizer reader wants `extra_special_tokens` as a dict (5.x saves a list; the
# tokens themselves are in `added_tokens_decoder` either way).
older = Path(job["processor"] + "-transformers4")
shutil.copytree(job["processor"], older, dirs_exist_ok=True)
cfg_path = older / "tokenizer_config.json"
tok_cfg = json.loads(cfg_path.read_text())
if isinstance(tok_cfg.get("extra_special_tokens"), list):
    tok_cfg["extra_special_tokens"] = {}
    cfg_path.write_text(json.dumps(tok_cfg))
proc = AutoProcessor.from_pretrained(older)
merge = proc.image_processor.merge_size ** 2
pad = proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")
out = {"splits": {}, "scores": {}}
for split, path in job["parquet"].items():
    ds = RLHFDataset(data_path=path, tokenizer=proc.tokenizer, processor=proc, prompt_key="problem",
                     answer_key="answer", image_key="images", image_dir=job["export"],
                     max_prompt_length=job["max_prompt_length"], max_pixels=job["max_pixels"],
                     filter_overlong_prompts=True, filter_overlong_prompts_workers=None)
    lengths, mismatched = [], 0
    for i in range(len(ds)):
        item = ds[i]
        image = process_image(os.path.join(job["export"], ds.dataset[i]["images"][0]), None, job["max_pixels"])
        grid = proc.image_processor(images=[image], return_tensors="pt")["image_grid_thw"]
        mismatched += int(int((item["input_ids"] == pad).sum()) != int(grid.prod(-1).sum()) // merge)
        lengths.append(int(item["attention_mask"].sum()))
    out["splits"][split] = {"rows": len(ds), "mismatched": mismatched, "prompt_tokens": [min(lengths), max(lengths)]}
for preset in job["presets"]:
    cfg = RewardConfig(reward_function=job["engines"] + ":compute_score", reward_function_kwargs={"reward": preset})
    cfg.post_init()
    manager = AutoRewardManager(cfg, proc.tokenizer)
    inputs = [{"response": c["text"], "response_length": 1, "ground_truth": c["ground_truth"]} for c in job["calls"]]
    out["reward_type"] = manager.reward_type
    out["scores"][preset] = [s["overall"] for s in manager.reward_fn(inputs)]
print("RESULT " + json.dumps(out))
'''


def make_env(where: Path, packages: list[str], editable: Path | None = None) -> Path:
    """A virtualenv that sees this interpreter's packages (a .pth file) plus `packages`; returns its python."""
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    site = subprocess.run([python, "-c", "import site; print(site.getsitepackages()[0])"], capture_output=True,
                          text=True, check=True).stdout.strip()
    # `addsitedir` (not a bare path) so this environment's own .pth files run too: rmlite's editable install is one
    here = [p for p in sys.path if p.endswith("site-packages")]
    Path(site, "zz-parent-env.pth").write_text("".join(f"import site; site.addsitedir({p!r})\n" for p in here))
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    if editable is not None:  # the checkout itself, without its pins (they would replace this environment's stack)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "-e", str(editable)], check=True)
    return python


def build_inputs(work: Path) -> dict:
    """A small data set at 1024 px (two real maps and two synthetic ones), both exports, and the probe's processor."""
    from transformers import AutoProcessor

    from rmlite.data.answers import reference_completion
    from rmlite.data.build import DatasetConfig, generate_dataset
    from rmlite.data.export import export
    from rmlite.data.questions import QuestionConfig
    from rmlite.models.gpu import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS
    from rmlite.models.load import set_max_pixels
    from rmlite.models.tiny import build_tiny_vlm

    qcfg = QuestionConfig(per_map={"counting1": 2, "counting2": 2, "counting3": 1, "torf1": 2, "torf2": 2,
                                   "planning": 4})
    data = work / "data"
    generate_dataset(data, DatasetConfig(n_maps=2, size=1024, seed=0, real_maps=("oslo", "miami"), questions=qcfg),
                     progress=False, workers=1)
    tiny = build_tiny_vlm(work / "tiny", seed=0)
    processor = AutoProcessor.from_pretrained(tiny)  # Qwen2.5-VL's processor classes (14 px patches, 2x2 merge)
    set_max_pixels(processor, HUB_MAX_PIXELS, DEFAULT_MIN_PIXELS)  # the hub processor's cap: the export's budget acts
    processor.save_pretrained(work / "processor")
    exports = {fmt: export(data, work / fmt, fmt, max_pixels=DEFAULT_MAX_PIXELS, min_pixels=DEFAULT_MIN_PIXELS)
               for fmt in ("verl", "easyr1")}
    import pyarrow.parquet as pq

    rows = pq.read_table(exports["verl"][0]).to_pylist()
    calls = []
    for r in rows:
        sample = json.loads(r["reward_model"]["ground_truth"])
        for text in (reference_completion(sample), "I cannot read the map."):
            calls.append({"data_source": r["data_source"], "text": text, "extra_info": r["extra_info"],
                          "ground_truth": r["reward_model"]["ground_truth"]})
    return {"exports": exports, "calls": calls, "processor": str(work / "processor"),
            "max_pixels": DEFAULT_MAX_PIXELS}


def expected_scores(calls: list[dict]) -> dict[str, list[float]]:
    from rmlite.reward.config import get_config
    from rmlite.reward.score import score

    return {p: [score(c["text"], json.loads(c["ground_truth"]), get_config(p)).total for c in calls] for p in PRESETS}


def run_probe(python: Path, probe: str, job: dict, work: Path, name: str) -> dict:
    (work / f"{name}_probe.py").write_text(probe)
    (work / f"{name}_job.json").write_text(json.dumps(job))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([str(python), str(work / f"{name}_probe.py"), str(work / f"{name}_job.json")],
                          capture_output=True, text=True, env=env, cwd=work)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{name} probe failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def report(name: str, got: dict, n_rows: dict[str, int], want: dict[str, list[float]]) -> bool:
    ok = True
    for split, info in got["splits"].items():
        good = info["rows"] == n_rows[split] and info["mismatched"] == 0
        ok &= good
        print(f"{name}: {split}: {info['rows']}/{n_rows[split]} rows loaded, {info['mismatched']} with a wrong "
              f"image-token count, prompts {info['prompt_tokens'][0]}-{info['prompt_tokens'][1]} tokens "
              f"({'ok' if good else 'FAILED'})")
    for preset, scores in got["scores"].items():
        same = scores == want[preset]
        ok &= same
        print(f"{name}: reward {preset}: {len(scores)} calls, {'identical to rmlite' if same else 'DIFFERENT'}")
    if "reward_type" in got:
        print(f"{name}: reward manager sees REWARD_TYPE={got['reward_type']!r}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--easyr1", type=Path, help=f"an EasyR1 checkout (tested: commit {EASYR1_TESTED_COMMIT[:7]})")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print it")
    ap.add_argument("--skip-verl", action="store_true", help="check EasyR1 only")
    a = ap.parse_args(argv)
    if a.easyr1 is not None and not (a.easyr1 / "verl" / "utils" / "dataset.py").is_file():
        print(f"error: {a.easyr1} is not an EasyR1 checkout (no verl/utils/dataset.py)", file=sys.stderr)
        return 2
    import pyarrow.parquet as pq

    from rmlite.reward import engines

    work = Path(tempfile.mkdtemp(prefix="rmlite-engines-"))
    t0 = time.perf_counter()
    inputs = build_inputs(work)
    want = expected_scores(inputs["calls"])
    ok = True
    engines_to_check = ([] if a.skip_verl else [("verl", VERL_PROBE, (list(VERL),))]) + (
        [("EasyR1", EASYR1_PROBE, (list(EASYR1_DEPS), a.easyr1))] if a.easyr1 else [])
    for name, probe, env_args in engines_to_check:
        t = time.perf_counter()
        python = make_env(work / f"venv-{name}", *env_args)
        fmt = "verl" if name == "verl" else "easyr1"
        parquet = {p.stem: str(p) for p in inputs["exports"][fmt]}
        job = {"processor": inputs["processor"], "parquet": parquet, "engines": engines.__file__,
               "presets": list(PRESETS), "calls": inputs["calls"], "max_prompt_length": MAX_PROMPT_LENGTH,
               "cache": str(work / "cache"), "export": str(work / fmt), "max_pixels": inputs["max_pixels"]}
        got = run_probe(python, probe, job, work, name)
        ok &= report(name, got, {s: pq.read_metadata(p).num_rows for s, p in parquet.items()}, want)
        print(f"{name}: {time.perf_counter() - t:.0f} s (install and probe)")
    print(f"{'OK' if ok else 'FAILED'} in {time.perf_counter() - t0:.0f} s" + (f"; files in {work}" if a.keep else ""))
    if not a.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
