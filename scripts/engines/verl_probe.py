"""Runs inside verl's own environment (scripts/check_engines.py starts it): verl's Hydra config built from the launch
script's arguments, verl's dataset and sampler reading the export, verl's reward worker scoring decoded tokens.

Usage: python verl_probe.py JOB.json   (prints one line `RESULT {json}`). The job holds the launch command that
`RMLITE_DRY_RUN=1 bash scripts/verl_rewardmap.sh` printed, the texts to score and the presets.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import verl.trainer.main_ppo as main_ppo
from hydra import compose, initialize_config_dir
from verl import DataProto
from verl.experimental.reward_loop import RewardLoopWorker
from verl.trainer.ppo.utils import create_rl_dataset, create_rl_sampler, need_critic, need_reference_policy
from verl.utils.config import omega_conf_to_dataclass, validate_config
from verl.utils.dataset.rl_dataset import RLHFDataset, build_multimodal_processor_inputs

ENTRY = "verl.trainer.main_ppo"
# One thread: verl's prompt-length filter forks workers, and a fork after torch has started its thread pool can
# hang the child (seen here: a worker idle in the image processor). verl's trainer forks from a fresh Ray actor.
torch.set_num_threads(1)
PRESET_KEY = "+reward.custom_reward_function.reward_kwargs.reward="


def build_config(overrides: list[str]):
    """What `python -m verl.trainer.main_ppo OVERRIDES` builds: Hydra's compose of verl's ppo_trainer, then the
    same `validate_config` main_ppo.main runs before it starts Ray."""
    config_dir = Path(main_ppo.__file__).parent / "config"
    with initialize_config_dir(config_dir=str(config_dir), version_base=None):
        cfg = compose(config_name="ppo_trainer", overrides=overrides)
    validate_config(config=cfg, use_reference_policy=need_reference_policy(cfg), use_critic=need_critic(cfg))
    return cfg


def read_split(cfg, files, tokenizer, processor, is_train: bool) -> dict:
    """Every row through verl's dataset in its sampler's order, then into model inputs as verl's agent loop does;
    each row's image-token count checked against its image's patch grid."""
    ds = create_rl_dataset(files, cfg.data, tokenizer, processor, is_train=is_train)
    order = list(iter(create_rl_sampler(cfg.data, ds))) if is_train else list(range(len(ds)))
    merge = processor.image_processor.merge_size ** 2
    pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    lengths, mismatched, stages = [], 0, []
    for i in order:
        row = ds[i]
        messages = row["raw_prompt"]
        text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        images, videos, audios = RLHFDataset._process_multi_modal_info(messages, ds.image_patch_size, cfg.data)
        inputs = build_multimodal_processor_inputs(processor, text=[text], images=images, videos=videos,
                                                   audio=audios, mm_processor_kwargs={})
        grid, ids = inputs["image_grid_thw"], inputs["input_ids"][0]
        mismatched += int(len(grid) != 1 or int((ids == pad).sum()) != int(grid.prod(-1).sum()) // merge)
        lengths.append(len(ids))
        stages.append(row["extra_info"].get("stage", -1))
    return {"rows": len(ds), "mismatched": mismatched, "prompt_tokens": [min(lengths), max(lengths)],
            "stages": stages, "sampler": type(create_rl_sampler(cfg.data, ds)).__name__ if is_train else None}


def batch(calls: list[dict], tokenizer, response_length: int) -> DataProto:
    """Rollout-shaped data: a one-token prompt, each text tokenised as the response, right-padded."""
    prompts = torch.full((len(calls), 1), tokenizer.pad_token_id or 0, dtype=torch.long)
    responses = torch.full((len(calls), response_length), tokenizer.pad_token_id or 0, dtype=torch.long)
    mask = torch.zeros((len(calls), 1 + response_length), dtype=torch.long)
    mask[:, 0] = 1
    for i, c in enumerate(calls):
        ids = tokenizer(c["text"], add_special_tokens=False)["input_ids"][:response_length]
        responses[i, :len(ids)] = torch.tensor(ids)
        mask[i, 1:1 + len(ids)] = 1
    non_tensors = {"data_source": np.array([c["data_source"] for c in calls], dtype=object),
                   "reward_model": np.array([{"ground_truth": c["ground_truth"], "style": "rule"} for c in calls],
                                            dtype=object),
                   "extra_info": np.array([dict(c["extra_info"]) for c in calls], dtype=object)}
    return DataProto.from_dict(tensors={"prompts": prompts, "responses": responses, "attention_mask": mask,
                                        "input_ids": torch.cat([prompts, responses], 1)}, non_tensors=non_tensors)


def scores(overrides: list[str], preset: str, calls: list[dict]) -> list[float]:
    """The launch arguments with REWARD=<preset>, through verl's RewardLoopWorker (loads the reward by path)."""
    cfg = build_config([PRESET_KEY + preset if a.startswith(PRESET_KEY) else a for a in overrides])
    worker = RewardLoopWorker(cfg)
    data = batch(calls, worker.input_tokenizer, cfg.data.max_response_length)
    out = worker.loop.run_until_complete(worker.compute_score_batch(data))
    return [float(o["reward_score"]) for o in out]


def main(job_path: str) -> None:
    job = json.loads(Path(job_path).read_text())
    command = job["command"]
    if command[1:3] != ["-m", ENTRY]:
        raise SystemExit(f"the launch script does not run {ENTRY}: {command[:3]}")
    overrides = command[3:]
    cfg = build_config(overrides)
    model = omega_conf_to_dataclass(cfg.actor_rollout_ref.model)  # what verl's trainer loads tokenizer/processor from
    actor, rollout = cfg.actor_rollout_ref.actor, cfg.actor_rollout_ref.rollout
    out = {"splits": {}, "scores": {}, "config": {
        "adv_estimator": cfg.algorithm.adv_estimator, "n": rollout.n, "rollout": rollout.name, "lr": actor.optim.lr,
        "kl_loss_coef": actor.kl_loss_coef, "use_kl_loss": actor.use_kl_loss,
        "train_batch_size": cfg.data.train_batch_size, "n_gpus": cfg.trainer.n_gpus_per_node,
        "shuffle": cfg.data.shuffle, "max_prompt_length": cfg.data.max_prompt_length,
        "max_response_length": cfg.data.max_response_length, "total_epochs": cfg.trainer.total_epochs}}
    for split, files, train in (("train", cfg.data.train_files, True), ("test", cfg.data.val_files, False)):
        out["splits"][split] = read_split(cfg, files, model.tokenizer, model.processor, train)
    for preset in job["presets"]:
        out["scores"][preset] = scores(overrides, preset, job["calls"])
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
