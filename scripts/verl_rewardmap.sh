#!/usr/bin/env bash
# RewardMap's GRPO run in verl 0.9.1 on rmlite's data and reward: Qwen2.5-VL-7B-Instruct, 8 GPUs, 8 rollouts per
# question, lr 1e-6, KL loss 1e-3, batches of 16 questions, one pass over the perception-then-planning curriculum.
# Run it inside verl's own environment (verl pins transformers < 5.11; rmlite's training stack cannot share it):
#
#   bash scripts/verl_rewardmap.sh DATA_DIR [more hydra overrides...]
#
# Knobs (environment variables): MODEL, GPUS, TP (vLLM tensor parallel size), REWARD (paper | official | sparse |
# robust), CURRICULUM (paper | coarse | fine | none), IMAGES (files | embedded), EXPORT (the parquet folder),
# PYTHON (the engine's interpreter). RMLITE_DRY_RUN=1 does steps 1-3 and prints the launch command, one argument
# a line, instead of running it (scripts/check_engines.py reads it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${1:?usage: bash scripts/verl_rewardmap.sh DATA_DIR [hydra overrides...]}"
shift
MODEL="${MODEL:-Qwen/Qwen2.5-VL-7B-Instruct}"
GPUS="${GPUS:-8}"
BATCH=16                         # questions per step: the paper's global batch
TP="${TP:-4}"                    # the release's vLLM tensor parallel size: two 4-GPU rollout replicas on 8 GPUs
REWARD="${REWARD:-paper}"
CURRICULUM="${CURRICULUM:-paper}"
IMAGES="${IMAGES:-files}"        # embedded: every row carries its map's bytes (about 15 times larger)
EXPORT="${EXPORT:-${DATA%/}-verl}"
PYTHON="${PYTHON:-python3}"
# verl starts from the export folder (step 4): a relative interpreter or model folder must not depend on where we are
[[ "$PYTHON" == */* && "$PYTHON" != /* ]] && PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
[[ -e "$MODEL" && "$MODEL" != /* ]] && MODEL="$(cd "$MODEL" && pwd)"

# 1. rmlite core (data + reward: no torch, no transformers) into this environment, leaving verl's pins alone.
# (asked from /: in the repository folder `import rmlite` would find the source tree, installed or not)
if ! (cd / && "$PYTHON" -c "import rmlite, PIL, datasets, networkx" 2>/dev/null); then
    echo "installing rmlite core from $REPO into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q -e "$REPO"
fi

# 2. the curriculum export: rows in stage order (true/false, counting, planning), so the run reads them unshuffled.
if [[ -f "$EXPORT/train.parquet" ]]; then
    echo "using the existing export $EXPORT (remove it to export again)"
else
    "$PYTHON" -m rmlite export --format verl --curriculum "$CURRICULUM" --batch-size "$BATCH" \
        --images "$IMAGES" --data "$DATA" --out "$EXPORT"
fi

EXPORT="$(cd "$EXPORT" && pwd)"

# 3. the reward module, loaded by path by verl's reward workers.
REWARD_FILE="$("$PYTHON" -c 'import rmlite.reward.engines as e; print(e.__file__)')"

ARGS=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    data.train_files="$EXPORT/train.parquet"
    data.val_files="$EXPORT/test.parquet"
    data.shuffle=False                       # the curriculum is the row order
    data.train_batch_size="$BATCH"
    data.max_prompt_length=1024              # a map at rmlite's 768x768 pixel budget is at most 752 visual tokens
    data.max_response_length=2048
    data.filter_overlong_prompts=True
    data.truncation=error
    actor_rollout_ref.model.path="$MODEL"
    actor_rollout_ref.model.enable_gradient_checkpointing=True
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.actor.optim.lr=1e-6
    actor_rollout_ref.actor.optim.weight_decay=0.01
    actor_rollout_ref.actor.ppo_mini_batch_size="$BATCH"  # one update per step, as in the paper
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1
    actor_rollout_ref.actor.use_kl_loss=True
    actor_rollout_ref.actor.kl_loss_coef=0.001
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.fsdp_config.param_offload=True
    actor_rollout_ref.actor.fsdp_config.optimizer_offload=True
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n=8            # the group size
    actor_rollout_ref.rollout.temperature=1.0
    actor_rollout_ref.rollout.tensor_model_parallel_size="$TP"
    actor_rollout_ref.rollout.gpu_memory_utilization=0.6
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=1
    actor_rollout_ref.ref.log_prob_micro_batch_size_per_gpu=1
    actor_rollout_ref.ref.fsdp_config.param_offload=True
    reward.custom_reward_function.path="$REWARD_FILE"
    reward.custom_reward_function.name=compute_score
    +reward.custom_reward_function.reward_kwargs.reward="$REWARD"
    trainer.n_gpus_per_node="$GPUS"
    trainer.nnodes=1
    trainer.total_epochs=1                   # one pass: the curriculum is not repeated
    trainer.val_before_train=False
    trainer.test_freq=50
    trainer.save_freq=50
    trainer.logger='["console"]'
    trainer.project_name=rmlite
    trainer.experiment_name="rewardmap-$REWARD"
    trainer.default_local_dir="$PWD/checkpoints/rmlite/rewardmap-$REWARD"   # here, not in the export folder
)

if [[ "${RMLITE_DRY_RUN:-0}" == 1 ]]; then
    printf '%s\n' "$PYTHON" -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
    exit 0
fi
# 4. verl opens the rows' image paths (images/<map>.png) from its working directory: run it from the export folder.
cd "$EXPORT"
exec "$PYTHON" -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
