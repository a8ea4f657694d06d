"""`train`, `eval`, `demo` and `doctor`: the commands that load a model. Every input (data, split, reward, run
folder, model availability, adapter) is checked before the model loads, so a mistake costs seconds, not a load.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rmlite.cli import checks, outputs
from rmlite.cli.args import UserError
from rmlite.curriculum import get_curriculum
from rmlite.curriculum.schedule import generation_geometry, order_samples
from rmlite.data.store import load_split
from rmlite.demo import run_demo
from rmlite.doctor import NEEDS_GPU, card_estimate
from rmlite.doctor import main_lines as doctor_main
from rmlite.evaluate import evaluate, markdown_table
from rmlite.models.gpu import cuda_available, gpu_preset
from rmlite.models.load import load_model
from rmlite.schema import ADAPTER_DIR
from rmlite.tables import for_console
from rmlite.train.runfolder import finished
from rmlite.train.settings import GRPOSettings, card_load_options, card_settings, cpu_preset

CPU_STEPS_HINT = 8  # what the CPU refusal suggests for --steps (a few minutes with the tiny model)


def train_preset(a: argparse.Namespace) -> dict | None:
    """The preset `rmlite train` runs: the CPU preset with --cpu-tiny, else the detected card's; None on a CPU
    without --cpu-tiny (no card: GRPOSettings' and load_model's own defaults)."""
    if a.cpu_tiny:
        return cpu_preset()
    return gpu_preset() if cuda_available() else None


def train_settings(a: argparse.Namespace) -> GRPOSettings:
    """The GRPOSettings of `rmlite train`: the preset's (`card_settings`, as the doctor measures them) with only what
    the user passed on top."""
    given = {} if a.steps is None else {"max_steps": a.steps}
    preset = train_preset(a)
    return GRPOSettings(output_dir=a.out, **given) if preset is None else card_settings(preset, a.out, **given)


def train_load_options(a: argparse.Namespace) -> dict:
    """`load_model` keywords of `rmlite train`: the preset's image cap and dtype (`card_load_options`); 4-bit unless
    --no-4bit (the tiny model too, as before: the CPU covers the 4-bit LoRA path)."""
    preset = train_preset(a)
    return {**(card_load_options(preset) if preset else {}), "load_in_4bit": not a.no_4bit}


def check_train(a: argparse.Namespace) -> None:
    """Everything `train` needs, before the model loads (--overwrite's removal is `train`'s, after the load)."""
    checks.run_folder(a.out, resume=a.resume, overwrite=a.overwrite)
    checks.rewards([a.reward])
    checks.model(a.model, local_only=a.cpu_tiny)
    checks.adapter(a.adapter, a.model)
    n = checks.data_split(a.data, "train")
    if a.steps is None and not cuda_available():
        raise UserError(f"no GPU here: pass --steps (e.g. --steps {CPU_STEPS_HINT}); without it train makes one "
                        f"pass over all {n} training questions")


def first_steps(ds, curriculum: str, settings: GRPOSettings) -> str | None:
    """One line: the question types the first `max_steps` steps train on, when a scheduled curriculum will not reach
    all its stages (`--steps 8` with the paper curriculum trains true/false questions only); None otherwise."""
    cur = get_curriculum(curriculum)
    prompts, steps_per_batch = generation_geometry(settings.per_device_train_batch_size, settings.num_generations,
                                                   settings.gradient_accumulation_steps)
    rows = ds.select_columns(["type", cur.difficulty_field])
    _, spans = order_samples(rows, cur, settings.seed, prompts_per_batch=prompts, steps_per_batch=steps_per_batch)
    live = [s for s in spans if s.num_batches]
    later = [s for s in live if s.start_step >= settings.max_steps]
    if settings.max_steps < 1 or not later:
        return None
    present = set(rows["type"])
    types = sorted({t for s in live if s not in later for t in cur.stages[s.index].types} & present)
    return (f"the first {settings.max_steps} steps train on {', '.join(types)} only: the {cur.name} curriculum "
            f"reaches {later[0].name} at step {later[0].start_step + 1} of {live[-1].stop_step} (--curriculum none "
            "mixes all types)")


def cmd_train(a: argparse.Namespace) -> int:
    check_train(a)
    done = finished(Path(a.out), train_settings(a).max_steps) if a.resume else None
    if done is not None:  # a finished run: resuming it would train past its end and replace its adapter
        print(done)
        return 0
    ds = load_split(a.data, "train")
    settings = train_settings(a)
    line = first_steps(ds, a.curriculum, settings)
    if line:
        print(line)
    # The model first: unsloth must be imported before trl/transformers (rmlite.train imports them).
    model, processor = load_model(a.model, **train_load_options(a), adapter=a.adapter)
    from rmlite.train.grpo import train  # deferred: torch / trl (unsloth must come first)

    res = train(model, processor, ds, reward=a.reward, curriculum=a.curriculum, settings=settings,
                resume=a.resume, overwrite=a.overwrite)
    print(f"trained {len(res.metrics)} logged steps; adapter and logs in {res.output_dir}")
    return 0


def eval_name(adapter: str | None) -> str:
    """The report's name: its adapter's run (`runs/stage2/adapter` → "stage2"), or "model" for the base model.

    >>> eval_name("runs/stage2/adapter"), eval_name("my-lora"), eval_name(None)
    ('stage2', 'my-lora', 'model')
    """
    if adapter is None:
        return "model"
    p = Path(adapter)
    return (p.parent.name if p.name == ADAPTER_DIR and p.parent.name else p.name) or "model"


def cmd_eval(a: argparse.Namespace) -> int:
    outputs.check_folder(a.out, "eval", overwrite=a.overwrite)
    checks.model(a.model)
    checks.adapter(a.adapter, a.model)
    checks.data_split(a.data, a.split)
    model, processor = load_model(a.model, load_in_4bit=not a.no_4bit, lora_rank=0, adapter=a.adapter,
                                  trainable=False)
    ds = load_split(a.data, a.split)
    if a.limit is not None:
        ds = ds.select(range(min(a.limit, len(ds))))
    outputs.claim_folder(a.out, "eval")
    reports = evaluate(model, processor, ds, name=eval_name(a.adapter), out=a.out, max_new_tokens=a.max_new_tokens,
                       compat=a.compat)
    print(for_console(markdown_table(list(reports.values())), Path(a.out) / "report.md", write=False))
    print(f"wrote {a.out}")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    checks.writable_out(a.out)
    checks.demo_maps(a.maps, a.seed)
    run_demo(out=a.out, n_maps=a.maps, seed=a.seed, quick=a.quick)
    return 0


def doctor_preset(a: argparse.Namespace) -> dict | None:
    """The preset `--card` / `--memory-cap` ask about (that card, or that much memory on this one); None: the
    detected card's."""
    if not (a.card or a.memory_cap):
        return None
    detected = gpu_preset()
    name = a.card or ("a card" if detected["use_cpu"] else detected["device"])
    return gpu_preset(name, a.memory_cap or detected["total_mem_gb"])


def cmd_doctor(a: argparse.Namespace) -> int:
    if (a.random_weights or a.memory_cap or a.card or a.model) and not a.fit:
        raise UserError("--model, --card, --memory-cap and --random-weights describe a fit check: add --fit")
    preset = doctor_preset(a)
    if (a.random_weights or preset) and not cuda_available():
        if preset:  # what can be said without the card: the estimate, labelled as one
            print(card_estimate(preset, a.model))
        raise UserError(NEEDS_GPU)
    if a.out is not None:
        checks.writable_out(a.out)
    if a.model is not None and not a.random_weights:
        checks.model(a.model)
    return doctor_main(fit=a.fit, preset=preset, model=a.model, steps=a.steps, random_weights=a.random_weights,
                       memory_cap_gb=a.memory_cap, out=a.out)
