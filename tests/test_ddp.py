"""`rmlite.train.train` under torchrun with 2 CPU processes (gloo): run files written once, rollouts tagged by rank,
and a run killed mid-way and resumed that leaves the records of an uninterrupted one.

Before the fix every process wrote `metrics.jsonl` (12 rows for 6 steps), `metrics.csv`, `curriculum.json`, and both
appended untagged rows to `completions.jsonl`. Before issue 24 part 5, a resumed run kept the rows written after its
checkpoint and wrote them again (`metrics.jsonl` steps [1, 2, 3, 3, 4]).
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

STEPS, SAVE, KILL = 4, 2, 3  # checkpoints at 2 and 4; the resume case kills both processes after step 3
SCRIPT = """
import os, signal, sys
from transformers import TrainerCallback
from rmlite.data.store import load_split
from rmlite.models.load import load_model
from rmlite.train.grpo import cpu_tiny_settings, train

model_dir, data_dir, out, mode, kill = sys.argv[1:6]
resume, kill = mode == "resume", int(kill)

def spread_reward(completion, sample):  # varies with the text, so groups have spread and the LoRA weights move
    return (len(set(completion)) % 5) / 4.0

class Kill(TrainerCallback):  # SIGKILL, as a crash or an OOM killer ends a process: no Python clean-up
    def on_log(self, args, state, control, logs=None, **kw):  # after RunLogger wrote the step's row
        if state.global_step == kill:
            os.kill(os.getpid(), signal.SIGKILL)

model, proc = load_model(model_dir, load_in_4bit=False, lora_rank=8, dtype="float32")
res = train(model, proc, load_split(data_dir, "train"), reward=spread_reward, curriculum="paper", resume=resume,
            settings=cpu_tiny_settings(out, max_steps={steps}, save_steps={save}, max_completion_length=6),
            callbacks=(Kill(),), progress=False)
rank = res.trainer.accelerator.process_index
with open(f"{{out}}/result-{{rank}}.txt", "w") as f:  # a file per process: their stdout lines can interleave
    f.write(f"{{rank}} {{len(res.metrics)}}")
"""


@pytest.fixture(scope="module")
def torchrun(tmp_path_factory):
    """run(out, resume=False, kill=0) -> (returncode, stderr): `train` under torchrun, 2 processes."""
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.is_file():
        pytest.skip("torchrun is not installed next to this interpreter")
    root = tmp_path_factory.mktemp("ddp")
    data = root / "data"
    q = QuestionConfig(per_map={"torf1": 2, "counting2": 2, "planning": 2})
    generate_dataset(data, DatasetConfig(n_maps=3, size=512, test_fraction=0.0, questions=q), progress=False,
                     workers=1)
    model = root / "tiny"
    shutil.copytree(tiny_model_cached(), model)
    script = root / "ddp_train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(steps=STEPS, save=SAVE)))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def run(out: Path, resume: bool = False, kill: int = 0) -> tuple[int, str]:
        proc = subprocess.Popen([str(torchrun), "--standalone", "--nproc_per_node", "2", str(script), str(model),
                                 str(data), str(out), "resume" if resume else "new", str(kill)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)  # the workers too: they run in sessions of their own
            stdout, stderr = proc.communicate()
        return proc.returncode, stdout + stderr

    return run


@pytest.fixture(scope="module")
def whole_run(torchrun, tmp_path_factory):
    """One uninterrupted run, shared by the tests below."""
    out = tmp_path_factory.mktemp("whole") / "run"
    code, log = torchrun(out)
    assert code == 0, log[-4000:]
    return out


def rows(folder: Path, name: str) -> list[dict]:
    return [json.loads(x) for x in (folder / name).read_text().splitlines()]


@pytest.mark.slow
def test_torchrun_two_processes_write_run_files_once(whole_run):
    out = whole_run
    results = sorted((out / f"result-{k}.txt").read_text().split() for k in (0, 1))
    assert results == [["0", str(STEPS)], ["1", str(STEPS)]]  # both processes return the same (single) metrics
    metrics = rows(out, "metrics.jsonl")
    assert [m["step"] for m in metrics] == list(range(1, STEPS + 1))
    csv_rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_rows) == STEPS + 1
    assert json.loads((out / "curriculum.json").read_text())["num_processes"] == 2
    assert json.loads((out / "run.json").read_text())["num_processes"] == 2
    completions = rows(out, "completions.jsonl")
    assert {r["rank"] for r in completions} == {0, 1}
    # 2 processes × 4 completions per step; each process's rows are whole groups of one question
    assert len(completions) == STEPS * 8 and all(sum(r["rank"] == k for r in completions) == STEPS * 4
                                                 for k in (0, 1))
    for m in metrics:
        assert m["zero_spread/groups"] == 2  # gathered over both processes: 8 completions = 2 groups of 4
    assert (out / "adapter" / "adapter_config.json").is_file()


def by_rank(completions: list[dict]) -> list[dict]:
    """Rows in (step, rank) order, each process's own order kept: two processes append to one file at once, so how
    their rows interleave depends on timing, not on the run."""
    return sorted(completions, key=lambda r: (r["step"], r["rank"]))


@pytest.mark.slow
def test_torchrun_killed_and_resumed_keeps_the_records_of_an_uninterrupted_run(torchrun, whole_run, tmp_path):
    out = tmp_path / "run"
    code, log = torchrun(out, kill=KILL)
    assert code != 0, log[-4000:]  # both processes were killed after step 3
    assert [m["step"] for m in rows(out, "metrics.jsonl")] == [1, 2, 3]
    assert sorted({(r["step"], r["rank"]) for r in rows(out, "completions.jsonl")}) == [
        (s, k) for s in range(KILL) for k in (0, 1)]  # step 3's rollouts (global_step 2) from both processes
    code, log = torchrun(out, resume=True)
    assert code == 0, log[-4000:]
    assert any(m["grad_norm"] > 0 for m in rows(whole_run, "metrics.jsonl"))  # the weights moved: resume restores them
    for name, order in (("metrics.jsonl", list), ("completions.jsonl", by_rank)):
        whole, resumed = order(rows(whole_run, name)), order(rows(out, name))
        assert len(resumed) == len(whole), name
        for a, b in zip(whole, resumed, strict=True):
            assert {k: v for k, v in a.items() if k != "step_time"} == {k: v for k, v in b.items()
                                                                         if k != "step_time"}, (name, a["step"])
    assert log.count("resume: from checkpoint-2; dropped the rows written after it (1 metrics.jsonl, 8 "
                     "completions.jsonl)") == 1  # the main process cut them, once


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
