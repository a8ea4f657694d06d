#!/usr/bin/env bash
# RewardMap's GRPO run in EasyR1 (commit b44b311) on rmlite's data and reward: Qwen2.5-VL-7B-Instruct, 8 GPUs,
# 8 rollouts per question, lr 1e-6, KL loss 1e-3, batches of 16 questions, one pass over the curriculum.
# Run it inside EasyR1's own environment (EasyR1 pins transformers < 5; rmlite's training stack cannot share it):
#
#   bash scripts/easyr1_rewardmap.sh DATA_DIR [more overrides key=value...]
#
# Knobs (environment variables): MODEL, GPUS, TP (vLLM tensor parallel size), REWARD (paper | official | sparse |
# robust), CURRICULUM (paper | coarse | fine | none), IMAGES (files | embedded), EXPORT (the parquet folder),
# PYTHON (the engine's interpreter). RMLITE_DRY_RUN=1 does steps 1-3 and prints the launch command, one argument
# a line, instead of running it (scripts/check_engines.py reads it).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${1:?usage: bash scripts/easyr1_rewardmap.sh DATA_DIR [overrides...]}"
shift
MODEL="${MODEL:-Qwen/Qwen2.5-VL-7B-Instruct}"
GPUS="${GPUS:-8}"
BATCH=16                         # questions per step: the paper's global batch
TP="${TP:-4}"                    # the release's vLLM tensor parallel size: two 4-GPU rollout replicas on 8 GPUs
REWARD="${REWARD:-paper}"
CURRICULUM="${CURRICULUM:-paper}"
IMAGES="${IMAGES:-files}"        # embedded: every row carries its map's bytes (about 15 times larger)
EXPORT="${EXPORT:-${DATA%/}-easyr1}"
PYTHON="${PYTHON:-python3}"

# 1. rmlite core (data + reward: no torch, no transformers) into this environment, leaving EasyR1's pins alone.
# (asked from /: in the repository folder `import rmlite` would find the source tree, installed or not)
if ! (cd / && "$PYTHON" -c "import rmlite, PIL, datasets, networkx" 2>/dev/null); then
    echo "installing rmlite core from $REPO into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q -e "$REPO"
fi

# 2. the curriculum export: rows in stage order (true/false, counting, planning), so the run reads them unshuffled.
if [[ -f "$EXPORT/train.parquet" ]]; then
    echo "using the existing export $EXPORT (remove it to export again)"
else
    "$PYTHON" -m rmlite export --format easyr1 --curriculum "$CURRICULUM" --batch-size "$BATCH" \
        --images "$IMAGES" --data "$DATA" --out "$EXPORT"
fi

EXPORT="$(cd "$EXPORT" && pwd)"

# 3. the reward module, loaded by path by EasyR1's reward manager (it reads REWARD_TYPE from the module).
REWARD_FILE="$("$PYTHON" -c 'import rmlite.reward.engines as e; print(e.__file__)')"

ARGS=(
    data.train_files="$EXPORT/train.parquet"
    data.val_files="$EXPORT/test.parquet"
    data.prompt_key=problem
    data.answer_key=answer
    data.image_key=images
    data.image_dir="$EXPORT"                 # the rows hold image paths relative to the export folder
    data.format_prompt=null                  # rmlite's questions already say how to answer
    data.shuffle=false                       # the curriculum is the row order
    data.rollout_batch_size="$BATCH"
    data.mini_rollout_batch_size=null        # rollouts in whole batches of the export's (stage-cut) size
    data.max_prompt_length=1024              # a map at the pixel budget below is at most 752 visual tokens
    data.max_response_length=2048
    data.max_pixels=589824                   # rmlite's 768x768 budget (EasyR1 resizes to it before tokenising)
    data.min_pixels=3136
    algorithm.adv_estimator=grpo
    algorithm.use_kl_loss=true
    algorithm.kl_penalty=low_var_kl
    algorithm.kl_coef=1.0e-3
    worker.actor.global_batch_size="$BATCH"  # one update per step, as in the paper
    worker.actor.micro_batch_size_per_device_for_update=1
    worker.actor.micro_batch_size_per_device_for_experience=1
    worker.actor.clip_ratio_high=0.2         # symmetric clipping as in the paper (EasyR1's default is 0.3)
    worker.actor.model.model_path="$MODEL"
    worker.actor.optim.lr=1.0e-6
    worker.actor.optim.weight_decay=1.0e-2
    worker.actor.offload.offload_params=true
    worker.actor.offload.offload_optimizer=true
    worker.rollout.n=8                       # the group size
    worker.rollout.temperature=1.0
    worker.rollout.tensor_parallel_size="$TP"
    worker.rollout.gpu_memory_utilization=0.6
    worker.ref.offload.offload_params=true
    worker.reward.reward_function="$REWARD_FILE:compute_score"
    worker.reward.reward_function_kwargs.reward="$REWARD"
    trainer.n_gpus_per_node="$GPUS"
    trainer.nnodes=1
    trainer.total_epochs=1                   # one pass: the curriculum is not repeated
    trainer.val_before_train=false
    trainer.val_freq=50
    trainer.save_freq=50
    trainer.logger='["console"]'
    trainer.project_name=rmlite
    trainer.experiment_name="rewardmap-$REWARD"
)

if [[ "${RMLITE_DRY_RUN:-0}" == 1 ]]; then
    printf '%s\n' "$PYTHON" -m verl.trainer.main "${ARGS[@]}" "$@"
    exit 0
fi
exec "$PYTHON" -m verl.trainer.main "${ARGS[@]}" "$@"
