# rmlite developer entry points.  `make test` and `make demo` each set up their own environment:
#   * an active virtualenv ($VIRTUAL_ENV) or a non-base conda env ($CONDA_PREFIX) is used as is;
#   * otherwise ./.venv is created with $(PYTHON) (python3).
# CPU install order: torch==2.14.1 torchvision==0.29.1 first, then `pip install -e ".[train,notebooks,dev]"`, both
# constrained by requirements/cpu.txt.  A stamp file in the environment (hash of pyproject.toml, the constraints
# file, the torch spec and this checkout's path) makes later runs skip the install (seconds instead of minutes).
# Override e.g. `make test EXTRAS=dev` (core-only) or `make setup CONSTRAINTS=requirements/gpu.txt TORCH_SPEC=`.
# On Linux, torch comes CPU-only from the PyTorch CPU index when it answers (TORCH_INDEX=auto; `none` for the
# ordinary index, or another index URL): see scripts/setup_env.sh.
# Portable to GNU make 3.81 (macOS's make): no .ONESHELL or other 4.x features; every recipe is one shell line and
# the install logic lives in scripts/setup_env.sh (tests/test_makefile.py checks both, and CI runs `make test`).

SHELL := /bin/bash
.DEFAULT_GOAL := test

PYTHON      ?= python3
EXTRAS      ?= train,notebooks,dev
CONSTRAINTS ?= requirements/cpu.txt
TORCH_SPEC  ?= torch==2.14.1 torchvision==0.29.1
TORCH_INDEX ?= auto
PYTEST_ARGS ?= -q

# ---- which environment ------------------------------------------------------------------------------------------
ifneq ($(strip $(VIRTUAL_ENV)),)
  ENV_DIR  := $(VIRTUAL_ENV)
  ENV_KIND := active virtualenv
else ifneq ($(and $(strip $(CONDA_PREFIX)),$(filter-out base,$(CONDA_DEFAULT_ENV)),$(if $(wildcard $(CONDA_PREFIX)/condabin),,x)),)
  ENV_DIR  := $(CONDA_PREFIX)
  ENV_KIND := active conda env
else
  ENV_DIR  := $(CURDIR)/.venv
  ENV_KIND := project .venv
endif
PY    := $(ENV_DIR)/bin/python
STAMP := $(ENV_DIR)/.rmlite-installed

# pip on this machine prints one "Location 'file:///opt/...' is ignored" warning per package: drop that noise only.
PIP_NOISE := is ignored: it is neither a file nor a directory

# ---- deterministic, offline run environment for tests and the demo ------------------------------------------------
RUN_ENV := HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 \
           TOKENIZERS_PARALLELISM=false PYTHONHASHSEED=0 MPLBACKEND=Agg
ifeq ($(CI),true)
  # The `ci` profile is registered in tests/conftest.py.
  RUN_ENV += HYPOTHESIS_PROFILE=$(or $(HYPOTHESIS_PROFILE),ci)
endif

.PHONY: setup test test-fast demo lint doctest clean help mini-data warm-tiny notebooks-sync setup-gpu-stack test-gpu-stack

help:
	@echo "make setup | test | test-fast | demo | lint | doctest | mini-data | warm-tiny | notebooks-sync | test-gpu-stack | clean    (environment: $(ENV_KIND) at $(ENV_DIR))"

setup:
	@ENV_DIR="$(ENV_DIR)" ENV_KIND="$(ENV_KIND)" PYTHON="$(PYTHON)" TORCH_SPEC="$(TORCH_SPEC)" EXTRAS="$(EXTRAS)" \
	  TORCH_INDEX="$(TORCH_INDEX)" \
	  TORCH_CONSTRAINTS="$(CONSTRAINTS)" PKG_CONSTRAINTS="$(CONSTRAINTS)" HASH_FILES="pyproject.toml $(CONSTRAINTS)" \
	  bash scripts/setup_env.sh

test: setup
	@$(RUN_ENV) $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "rmlite: pytest collected no tests (exit 5), treated as success"; exit 0; fi; \
	exit $$rc

# The developer lane: every test but the end-to-end runs marked `slow` (training, notebooks 03-05, demo, DDP...).
# `make test` (CI) runs both lanes; docs/maintainers.md gives their measured times.
test-fast: setup
	@start=$$(date +%s); $(RUN_ENV) $(PY) -m pytest $(PYTEST_ARGS) -m "not slow"; rc=$$?; \
	echo "rmlite: the developer lane (-m 'not slow') took $$(( $$(date +%s) - start )) s"; exit $$rc

# ---- the GPU-pin lane: the code users run on a GPU (unsloth, trl 1.15, transformers 5.17), tested on a CPU --------
# Its own venv (.venv-gpu, never an active one: the pins differ from cpu.txt), installed like `setup` (CPU torch
# first, then the package with the gpu extra) under requirements/gpu.txt plus the lane's lock gpu-lane.txt, and
# skipped when the stamp matches. Its tests live in tests_gpu/ (the main run collects tests/ only).
GPU_ENV   ?= $(CURDIR)/.venv-gpu
GPU_PY    := $(GPU_ENV)/bin/python
GPU_STAMP := $(GPU_ENV)/.rmlite-installed
GPU_LOCK  := requirements/gpu-lane.txt
GPU_TESTS ?= tests/test_api_surface.py tests_gpu

setup-gpu-stack:
	@ENV_DIR="$(GPU_ENV)" ENV_KIND="GPU-pin lane" CREATE=1 PYTHON="$(PYTHON)" TORCH_SPEC="$(TORCH_SPEC)" \
	  EXTRAS="train,gpu,dev" TORCH_INDEX="$(TORCH_INDEX)" \
	  TORCH_CONSTRAINTS="$(GPU_LOCK)" PKG_CONSTRAINTS="requirements/gpu.txt $(GPU_LOCK)" \
	  HASH_FILES="pyproject.toml requirements/gpu.txt $(GPU_LOCK)" bash scripts/setup_env.sh

test-gpu-stack: setup-gpu-stack
	@start=$$(date +%s); $(RUN_ENV) $(GPU_PY) -m pytest $(PYTEST_ARGS) -p no:cacheprovider $(GPU_TESTS); rc=$$?; \
	echo "rmlite: GPU-pin lane tests took $$(( $$(date +%s) - start )) s"; exit $$rc

demo: setup
	@$(RUN_ENV) $(PY) -m rmlite demo

# Doctests are not part of `make test` (see [tool.pytest.ini_options] in pyproject.toml).
doctest: setup
	@$(RUN_ENV) $(PY) -m pytest -q --doctest-modules rmlite

# Rewrite the small shipped data set (data/mini) from rmlite.data.build.MINI_CONFIG (tests fail when it is stale).
# Its hand-written data/mini/README.md is kept across the rewrite (update its counts by hand).
mini-data: setup
	@set -euo pipefail; keep="$$(mktemp)"; cp data/mini/README.md "$$keep"; \
	$(RUN_ENV) $(PY) -c "from rmlite.data import MINI_CONFIG, MINI_DIR, generate_dataset; \
	generate_dataset(MINI_DIR, MINI_CONFIG, overwrite=True, progress=False); print('wrote', MINI_DIR)"; \
	cp "$$keep" data/mini/README.md; rm -f "$$keep"

# Rewrite the warm start `rmlite demo --quick` reuses (data/warm_tiny) with the full demo's own data and warm-start
# steps for its default arguments (minutes: 300 training steps). tests/test_demo.py fails when it no longer matches.
warm-tiny: setup
	@$(RUN_ENV) $(PY) -c "from rmlite.demo import rebuild_shipped; print('wrote', rebuild_shipped())"

# Rewrite the notebooks' Colab badges and clone address (and the README's) from rmlite.notebook.env.REPO.
notebooks-sync: setup
	@$(PY) -m rmlite.notebook.sync

lint: setup
	@$(PY) -m ruff check rmlite tests

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . \( -path ./.venv -o -path ./.venv-gpu \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
