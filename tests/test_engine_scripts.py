"""The launch recipes for verl and EasyR1 (scripts/*_rewardmap.sh) and their check (scripts/check_engines.py), in CI.

The engines are not installed here: `python scripts/check_engines.py --easyr1 PATH` builds their real configs from
the recipes (docs/engines.md). These tests are the cheap part: the scripts parse, their dry run prints a launch
command that agrees with the export's own `engine_settings.json` (written by rmlite.data.engine_settings, which
shares no code with the scripts), docs/scaling.md and the scripts name the same files, knobs and settings, the doc's
CPU rehearsal runs as typed, the check's judge fails on corrupted results, and its temporary folder goes on failure,
on Ctrl-C and on SIGTERM.
"""

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rmlite.data.build import DatasetConfig, generate_dataset
from rmlite.data.questions import QuestionConfig

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = {"verl": ROOT / "scripts" / "verl_rewardmap.sh", "easyr1": ROOT / "scripts" / "easyr1_rewardmap.sh"}
ENTRY = {"verl": "verl.trainer.main_ppo", "easyr1": "verl.trainer.main"}
SCALING = ROOT / "docs" / "scaling.md"
# The paper's run as each engine's keys spell it, written out from docs/scaling.md's table by hand.
PAPER = {"verl": {"algorithm.adv_estimator": "grpo", "actor_rollout_ref.rollout.n": "8",
                  "actor_rollout_ref.actor.optim.lr": "1e-6", "actor_rollout_ref.actor.kl_loss_coef": "0.001",
                  "actor_rollout_ref.actor.use_kl_loss": "True", "data.train_batch_size": "16",
                  "actor_rollout_ref.rollout.name": "vllm", "data.shuffle": "False", "trainer.total_epochs": "1"},
         "easyr1": {"algorithm.adv_estimator": "grpo", "worker.rollout.n": "8", "worker.actor.optim.lr": "1.0e-6",
                    "algorithm.kl_coef": "1.0e-3", "algorithm.use_kl_loss": "true", "data.rollout_batch_size": "16",
                    "data.shuffle": "false", "trainer.total_epochs": "1"}}


def load_check():
    spec = importlib.util.spec_from_file_location("check_engines", ROOT / "scripts" / "check_engines.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass reads its own module while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("recipes") / "maps"
    q = QuestionConfig(per_map={"torf1": 3, "counting2": 2, "counting1": 2, "planning": 3})
    generate_dataset(out, DatasetConfig(n_maps=2, size=512, test_fraction=0.5, questions=q), progress=False,
                     workers=1)
    return out


def dry_run(engine: str, data: Path, export: Path, **env: str) -> subprocess.CompletedProcess:
    run_env = dict(os.environ, RMLITE_DRY_RUN="1", PYTHON=sys.executable, EXPORT=str(export), **env)
    return subprocess.run(["bash", str(SCRIPTS[engine]), str(data)], capture_output=True, text=True, env=run_env,
                          cwd=ROOT)


def overrides(command: list[str]) -> dict[str, str]:
    return dict(a.lstrip("+").split("=", 1) for a in command[3:])


@pytest.mark.parametrize("engine", SCRIPTS)
def test_script_parses_and_a_broken_copy_does_not(engine, tmp_path):
    assert subprocess.run(["bash", "-n", str(SCRIPTS[engine])], capture_output=True).returncode == 0
    broken = tmp_path / "broken.sh"
    broken.write_text(SCRIPTS[engine].read_text().replace("\nfi\n", "\n", 1))  # an `if` left open
    assert subprocess.run(["bash", "-n", str(broken)], capture_output=True).returncode != 0


@pytest.fixture(scope="module")
def dry_runs(data_dir, tmp_path_factory):
    """Each recipe's dry run on a small data set: (its launch command, its export folder)."""
    out = {}
    for engine in SCRIPTS:
        export = tmp_path_factory.mktemp(engine) / "export"
        proc = dry_run(engine, data_dir, export, REWARD="robust", GPUS="2", TP="2")
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        out[engine] = (lines[lines.index(sys.executable):], export)
    return out


@pytest.mark.parametrize("engine", SCRIPTS)
def test_dry_run_agrees_with_the_exports_own_settings(engine, dry_runs):
    command, export = dry_runs[engine]
    assert command[1:3] == ["-m", ENTRY[engine]]
    args = overrides(command)
    for key, value in PAPER[engine].items():
        assert args[key] == value, key
    assert args["trainer.n_gpus_per_node"] == "2"  # the knobs reach the command
    reward_key = ("reward.custom_reward_function.reward_kwargs.reward" if engine == "verl"
                  else "worker.reward.reward_function_kwargs.reward")
    assert args[reward_key] == "robust"
    # Every setting the exporter says this export needs is in the command, paths resolved against the export.
    settings = json.loads((export / "engine_settings.json").read_text())["settings"]
    for key, value in settings.items():
        if key.endswith("_files") or key == "data.image_dir":
            assert Path(args[key]).resolve() == (export / str(value)).resolve(), key
        else:
            assert args[key].lower() == str(value).lower(), key
    reward_file = args.get("reward.custom_reward_function.path") or args["worker.reward.reward_function"]
    assert Path(reward_file.split(":")[0]) == ROOT / "rmlite" / "reward" / "engines.py"


def test_dry_run_fails_in_one_line_without_data(tmp_path):
    proc = dry_run("verl", tmp_path / "missing", tmp_path / "export")
    assert proc.returncode != 0 and not (tmp_path / "export").exists()


def test_scaling_doc_and_scripts_agree(dry_runs):
    doc = SCALING.read_text()
    for engine, script in SCRIPTS.items():
        assert f"scripts/{script.name}" in doc, script.name
        text = script.read_text()
        knobs = set(re.findall(r'^([A-Z]+)="\$\{\1:-', text, flags=re.M))
        assert {"MODEL", "GPUS", "REWARD", "CURRICULUM", "EXPORT", "PYTHON"} <= knobs
        # every NAME=value a documented command sets before this script is a knob the script reads
        for line in re.findall(rf"^(.*bash scripts/{script.name}.*)$", doc, flags=re.M):
            for name in re.findall(r"\b([A-Z][A-Z0-9_]+)=", line.split("bash")[0]):
                assert name in knobs | {"RMLITE_DRY_RUN"}, (script.name, name)
        args = overrides(dry_runs[engine][0])
        for key, value in PAPER[engine].items():  # the doc's table of the paper's run is what the script passes
            assert args[key] == value and f"`{key}={value}`" in doc, (engine, key)
    assert "scripts/check_engines.py" in doc


@pytest.mark.slow
def test_the_docs_rehearsal_runs_as_written(tmp_path):
    # docs/scaling.md rung 0, each line as typed, with rmlite's environment active (its bin first on PATH), in a
    # folder that holds the repository's scripts/ and data/ (so its outputs land in tmp_path).
    block = re.search(r"## 0\. Rehearse on a CPU.*?```bash\n(.*?)```", SCALING.read_text(), flags=re.S).group(1)
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 2 and all("RMLITE_DRY_RUN=1" in line for line in lines)
    for name in ("scripts", "data"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for line in lines:
        proc = subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=tmp_path, env=env)
        assert proc.returncode == 0, (line, proc.stderr[-2000:])
        assert any(arg.startswith("verl.trainer.main") for arg in proc.stdout.splitlines()), line  # the command
    for engine in SCRIPTS:
        assert (tmp_path / "runs" / "rehearsal" / engine / "train.parquet").is_file()


def test_judge_passes_a_good_result_and_fails_corrupted_ones():
    ce = load_check()
    good = {"config": dict(ce.PAPER_RUN), "scores": {"paper": [1.0, 0.0]},
            "splits": {"train": {"rows": 4, "mismatched": 0, "prompt_tokens": [10, 20], "stages": [0, 0, 1, 1],
                                 "sampler": "SequentialSampler"},
                       "test": {"rows": 2, "mismatched": 0, "prompt_tokens": [10, 20], "stages": [-1, -1],
                                "sampler": None}}}
    rows, want = {"train": 4, "test": 2}, {"paper": [1.0, 0.0]}
    assert ce.judge("x", good, rows, want) == []
    shuffled = json.loads(json.dumps(good))
    shuffled["splits"]["train"]["stages"] = [0, 1, 0, 1]
    assert any("stage order" in f for f in ce.judge("x", shuffled, rows, want))
    assert any("reward paper" in f for f in ce.judge("x", good, rows, {"paper": [1.0, 0.5]}))
    assert any("rows" in f for f in ce.judge("x", good, {"train": 5, "test": 2}, want))
    kl = json.loads(json.dumps(good))
    kl["config"]["kl_loss_coef"] = 1e-2
    assert any("kl_loss_coef" in f for f in ce.judge("x", kl, rows, want))


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_check_removes_its_folder_on_failure_and_interrupt(error, tmp_path, monkeypatch):
    ce = load_check()
    made = []

    def fail(work):
        made.append(work)
        (work / "big").write_bytes(b"0" * 1024)
        raise error

    monkeypatch.setattr(ce, "build_inputs", fail)
    monkeypatch.setattr(ce.tempfile, "tempdir", str(tmp_path))
    with pytest.raises(error):
        ce.main([])
    assert made and not made[0].exists()
    assert signal.getsignal(signal.SIGTERM) is not ce._terminate  # the handler is put back


def test_check_removes_its_folder_on_sigterm(tmp_path):
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); import check_engines as ce; "
            "ce.tempfile.tempdir = sys.argv[2]; "
            "ce.build_inputs = lambda work: ((work / 'started').write_text('x'), time.sleep(60)); "
            "ce.main([])")
    proc = subprocess.Popen([sys.executable, "-c", code, str(ROOT / "scripts"), str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not list(tmp_path.glob("*/started")) and time.time() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob("*/started")), "the check never started"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode != 0 and list(tmp_path.iterdir()) == []


def test_check_refuses_a_folder_that_is_not_easyr1(tmp_path, capsys):
    assert load_check().main(["--easyr1", str(tmp_path)]) == 2
    assert "not an EasyR1 checkout" in capsys.readouterr().err
    shutil.rmtree(tmp_path)
