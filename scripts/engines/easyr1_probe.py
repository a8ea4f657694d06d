"""Runs inside EasyR1's own environment (scripts/check_engines.py starts it): EasyR1's `PPOConfig` built from the
launch script's arguments as `verl.trainer.main` builds it, EasyR1's `create_dataloader` reading the export, and its
reward manager's `compute_reward` scoring decoded tokens.

Usage: python easyr1_probe.py JOB.json   (prints one line `RESULT {json}`). vLLM (GPU only) is not installed:
EasyR1's config package imports its rollout module, which imports vLLM at the top, so `vllm` is an empty stand-in
here; nothing this probe runs generates text.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
import types
from pathlib import Path


class _Absent(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`vllm` and its submodules as empty modules whose every attribute is a placeholder class."""

    def find_spec(self, name, path=None, target=None):
        if name == "vllm" or name.startswith("vllm."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda attr: type(attr, (), {})
        return module

    def exec_module(self, module):
        pass


sys.meta_path.append(_Absent())

import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from verl.protocol import DataProto  # noqa: E402
from verl.trainer.config import PPOConfig  # noqa: E402
from verl.trainer.data_loader import create_dataloader  # noqa: E402
from verl.utils.dataset import process_image  # noqa: E402
from verl.utils.tokenizer import get_processor, get_tokenizer  # noqa: E402
from verl.workers.reward import AutoRewardManager  # noqa: E402

ENTRY = "verl.trainer.main"
torch.set_num_threads(1)  # the prompt-length filter forks workers: no torch thread pool in the parent (see verl's)


def build_config(args: list[str]) -> PPOConfig:
    """What `python -m verl.trainer.main ARGS` builds (its `main`, before Ray): command-line dotlist merged over the
    structured `PPOConfig`, turned into the dataclasses, every `post_init` run."""
    cli = OmegaConf.from_dotlist(args)  # what OmegaConf.from_cli() does with sys.argv[1:]
    merged = OmegaConf.merge(OmegaConf.structured(PPOConfig()), cli)
    config: PPOConfig = OmegaConf.to_object(merged)
    config.deep_post_init()
    return config


def read_split(loader, processor, is_train: bool) -> dict:
    """Every row of a dataloader's dataset, in its sampler's order; image tokens checked against the patch grid."""
    ds = loader.dataset
    order = list(iter(loader.sampler)) if is_train else list(range(len(ds)))
    merge = processor.image_processor.merge_size ** 2
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    lengths, mismatched, stages = [], 0, []
    for i in order:
        item = ds[i]
        images = [process_image(p, ds.min_pixels, ds.max_pixels) for p in item["multi_modal_data"]["images"]]
        features = processor.image_processor(images=images, return_tensors="pt")["image_grid_thw"]
        mismatched += int(len(features) != 1
                          or int((item["input_ids"] == pad).sum()) != int(features.prod(-1).sum()) // merge)
        lengths.append(int(item["attention_mask"].sum()))
        stages.append(int(ds.dataset[i].get("stage", -1)))
    return {"rows": len(ds), "mismatched": mismatched, "prompt_tokens": [min(lengths), max(lengths)],
            "stages": stages, "sampler": type(loader.sampler).__name__ if is_train else None}


def batch(calls: list[dict], tokenizer, response_length: int) -> DataProto:
    """Rollout-shaped data: each text tokenised as the response, right-padded, with its ground truth."""
    import numpy as np

    responses = torch.full((len(calls), response_length), tokenizer.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(calls), response_length), dtype=torch.long)
    for i, c in enumerate(calls):
        ids = tokenizer(c["text"], add_special_tokens=False)["input_ids"][:response_length]
        responses[i, :len(ids)] = torch.tensor(ids)
        mask[i, :len(ids)] = 1
    truth = np.array([c["ground_truth"] for c in calls], dtype=object)
    return DataProto.from_dict(tensors={"responses": responses, "response_mask": mask},
                               non_tensors={"ground_truth": truth})


def scores(args: list[str], preset: str, calls: list[dict], tokenizer) -> tuple[list[float], int, str]:
    """The launch arguments with REWARD=<preset>, through AutoRewardManager.compute_reward: the `overall` it
    logs, and how many rows' float32 reward tensor lacks that value at the response's last token (EasyR1's place)."""
    key = "worker.reward.reward_function_kwargs.reward="
    config = build_config([key + preset if a.startswith(key) else a for a in args])
    manager = AutoRewardManager(config.worker.reward, tokenizer)
    data = batch(calls, tokenizer, config.data.max_response_length)
    reward, metrics = manager.compute_reward(data)
    last = data.batch["response_mask"].sum(-1) - 1
    overall = [float(x) for x in metrics["overall"]]
    misplaced = sum(int(reward[i].sum() != reward[i, last[i]] or reward[i, last[i]] != torch.tensor(overall[i]))
                    for i in range(len(calls)))
    return overall, misplaced, manager.reward_type


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    command = job["command"]
    if command[1:3] != ["-m", ENTRY]:
        raise SystemExit(f"the launch script does not run {ENTRY}: {command[:3]}")
    args = command[3:]
    config = build_config(args)
    model = config.worker.actor.model  # as verl.trainer.main's Runner loads them
    tokenizer = get_tokenizer(model.model_path, override_chat_template=config.data.override_chat_template,
                              trust_remote_code=model.trust_remote_code, use_fast=True)
    processor = get_processor(model.model_path, override_chat_template=config.data.override_chat_template,
                              trust_remote_code=model.trust_remote_code, use_fast=True)
    train, val = create_dataloader(config.data, tokenizer, processor)
    out = {"splits": {"train": read_split(train, processor, True), "test": read_split(val, processor, False)},
           "scores": {}, "config": {
               "adv_estimator": config.algorithm.adv_estimator, "n": config.worker.rollout.n, "rollout": "vllm",
               "lr": config.worker.actor.optim.lr, "kl_loss_coef": config.algorithm.kl_coef,
               "use_kl_loss": config.algorithm.use_kl_loss, "train_batch_size": config.data.rollout_batch_size,
               "n_gpus": config.trainer.n_gpus_per_node, "shuffle": config.data.shuffle,
               "max_prompt_length": config.data.max_prompt_length,
               "max_response_length": config.data.max_response_length, "total_epochs": config.trainer.total_epochs,
               "image_dir": config.data.image_dir}}
    out["misplaced"] = {}
    for preset in job["presets"]:
        out["scores"][preset], out["misplaced"][preset], out["reward_type"] = scores(args, preset, job["calls"],
                                                                                     tokenizer)
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
