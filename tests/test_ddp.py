"""`rmlite.train.train` under torchrun with 2 CPU processes (gloo): run files written once, rollouts tagged by rank.

Before the fix every process wrote `metrics.jsonl` (12 rows for 6 steps), `metrics.csv`, `curriculum.json`, and both
appended untagged rows to `completions.jsonl`.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fixtures.models import tiny_model_cached
from fixtures.processes import kill_tree

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig

pytest.importorskip("trl")

STEPS = 3
SCRIPT = """
import sys
from rmlite.data.store import load_split
from rmlite.models.load import load_model
from rmlite.train.grpo import cpu_tiny_settings, train

model_dir, data_dir, out = sys.argv[1:4]
model, proc = load_model(model_dir, load_in_4bit=False, lora_rank=8, dtype="float32")
res = train(model, proc, load_split(data_dir, "train"), reward="paper", curriculum="paper",
            settings=cpu_tiny_settings(out, max_steps={steps}, max_completion_length=6))
rank = res.trainer.accelerator.process_index
with open(f"{{out}}/result-{{rank}}.txt", "w") as f:  # a file per process: their stdout lines can interleave
    f.write(f"{{rank}} {{len(res.metrics)}}")
"""


def test_torchrun_two_processes_write_run_files_once(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip("torchrun is not installed next to this interpreter")
    data = tmp_path / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 2, "planning": 2})
    generate_dataset(data, DatasetConfig(n_maps=3, size=512, test_fraction=0.0, questions=q), progress=False,
                     workers=1)
    model = tmp_path / "tiny"
    shutil.copytree(tiny_model_cached(), model)
    script = tmp_path / "ddp_train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(steps=STEPS)))
    out = tmp_path / "run"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script), str(model),
                             str(data), str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)  # the workers too: they run in sessions of their own
        stdout, stderr = proc.communicate()
    assert proc.returncode == 0, stderr[-4000:]
    results = sorted((out / f"result-{k}.txt").read_text().split() for k in (0, 1))
    assert results == [["0", str(STEPS)], ["1", str(STEPS)]]  # both processes return the same (single) metrics
    metrics = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == list(range(1, STEPS + 1))
    csv_rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_rows) == STEPS + 1
    assert json.loads((out / "curriculum.json").read_text())["num_processes"] == 2
    assert json.loads((out / "run.json").read_text())["num_processes"] == 2
    rows = [json.loads(x) for x in (out / "completions.jsonl").read_text().splitlines()]
    assert {r["rank"] for r in rows} == {0, 1}
    # 2 processes × 4 completions per step; each process's rows are whole groups of one question
    assert len(rows) == STEPS * 8 and all(sum(r["rank"] == k for r in rows) == STEPS * 4 for k in (0, 1))
    for m in metrics:
        assert m["zero_spread/groups"] == 2  # gathered over both processes: 8 completions = 2 groups of 4
    assert (out / "adapter" / "adapter_config.json").is_file()


def test_kill_tree_ends_children_in_their_own_sessions():
    """What the timeout above relies on: a child started in a new session (as torchrun starts its workers) dies with
    its parent; killing the parent's process group alone would leave it running."""
    import psutil

    code = ("import subprocess, sys, time; "
            "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True); "
            "print(c.pid, flush=True); time.sleep(120)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(parent.stdout.readline())
    assert os.getpgid(child) != os.getpgid(parent.pid)  # not reachable through the parent's group
    killed = kill_tree(parent.pid)
    parent.wait(timeout=10)
    assert set(killed) == {parent.pid, child}
    assert not psutil.pid_exists(child) or psutil.Process(child).status() == psutil.STATUS_ZOMBIE
