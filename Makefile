# rmlite developer entry points.  `make test` and `make demo` each set up their own environment:
#   * an active virtualenv ($VIRTUAL_ENV) or a non-base conda env ($CONDA_PREFIX) is used as is;
#   * otherwise ./.venv is created with $(PYTHON) (python3).
# CPU install order: torch==2.14.1 torchvision==0.29.1 first, then `pip install -e ".[train,notebooks,dev]"`, both
# constrained by requirements/cpu.txt.  A stamp file in the environment (hash of pyproject.toml, the constraints
# file, the torch spec and this checkout's path) makes later runs skip the install (seconds instead of minutes).
# Override e.g. `make test EXTRAS=dev` (core-only) or `make setup CONSTRAINTS=requirements/gpu.txt TORCH_SPEC=`.

SHELL := /bin/bash
.ONESHELL:
.DEFAULT_GOAL := test

PYTHON      ?= python3
EXTRAS      ?= train,notebooks,dev
CONSTRAINTS ?= requirements/cpu.txt
TORCH_SPEC  ?= torch==2.14.1 torchvision==0.29.1
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

.PHONY: setup test demo lint doctest clean help mini-data notebooks-sync setup-gpu-stack test-gpu-stack

help:
	@echo "make setup | test | demo | lint | doctest | mini-data | notebooks-sync | test-gpu-stack | clean    (environment: $(ENV_KIND) at $(ENV_DIR))"

setup:
	@set -euo pipefail
	want="$$( { cat pyproject.toml $(CONSTRAINTS); echo "$(TORCH_SPEC)|$(EXTRAS)|$(CURDIR)"; } | sha256sum | cut -d' ' -f1)"
	if [ -x "$(PY)" ] && [ -f "$(STAMP)" ] && [ "$$(cat "$(STAMP)")" = "$$want" ]; then
	  echo "rmlite: $(ENV_KIND) $(ENV_DIR) is up to date"; exit 0
	fi
	if [ ! -x "$(PY)" ]; then
	  if [ "$(ENV_KIND)" != "project .venv" ]; then echo "rmlite: no python at $(PY)" >&2; exit 1; fi
	  echo "rmlite: creating $(ENV_DIR) with $$($(PYTHON) --version)"
	  $(PYTHON) -m venv "$(ENV_DIR)"
	fi
	echo "rmlite: installing into $(ENV_KIND) $(ENV_DIR) (first time: a few minutes)"
	start=$$(date +%s)
	if [ -n "$(strip $(TORCH_SPEC))" ]; then
	  if $(PY) - $(TORCH_SPEC) <<-'PYEOF' 2>/dev/null
		import sys, importlib.metadata as md
		sys.exit(any(md.version(n).split("+")[0] != v for n, v in (s.split("==") for s in sys.argv[1:])))
		PYEOF
	  then echo "rmlite: $(TORCH_SPEC) already installed"
	  else { $(PY) -m pip install -q $(TORCH_SPEC) -c $(CONSTRAINTS); } 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	  fi
	fi
	{ $(PY) -m pip install -q -e ".[$(EXTRAS)]" -c $(CONSTRAINTS); } 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	echo "$$want" > "$(STAMP)"
	echo "rmlite: environment ready in $$(( $$(date +%s) - start )) s"

test: setup
	@set -uo pipefail
	$(RUN_ENV) $(PY) -m pytest $(PYTEST_ARGS); rc=$$?
	if [ $$rc -eq 5 ]; then echo "rmlite: pytest collected no tests (exit 5), treated as success"; exit 0; fi
	exit $$rc

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
	@set -euo pipefail
	want="$$( { cat pyproject.toml requirements/gpu.txt $(GPU_LOCK); echo "$(TORCH_SPEC)|$(CURDIR)"; } | sha256sum | cut -d' ' -f1)"
	if [ -x "$(GPU_PY)" ] && [ -f "$(GPU_STAMP)" ] && [ "$$(cat "$(GPU_STAMP)")" = "$$want" ]; then
	  echo "rmlite: GPU-pin lane $(GPU_ENV) is up to date"; exit 0
	fi
	[ -x "$(GPU_PY)" ] || $(PYTHON) -m venv "$(GPU_ENV)"
	echo "rmlite: installing the GPU pins into $(GPU_ENV) (first time: about 3 minutes)"
	start=$$(date +%s)
	{ $(GPU_PY) -m pip install -q $(TORCH_SPEC) -c $(GPU_LOCK); } 2>&1 | { grep -v "$(PIP_NOISE)" || true; }
	{ $(GPU_PY) -m pip install -q -e ".[train,gpu,dev]" -c requirements/gpu.txt -c $(GPU_LOCK); } 2>&1 \
	  | { grep -v "$(PIP_NOISE)" || true; }
	echo "$$want" > "$(GPU_STAMP)"
	echo "rmlite: GPU-pin lane ready in $$(( $$(date +%s) - start )) s"

test-gpu-stack: setup-gpu-stack
	@set -uo pipefail
	start=$$(date +%s)
	$(RUN_ENV) $(GPU_PY) -m pytest $(PYTEST_ARGS) -p no:cacheprovider $(GPU_TESTS); rc=$$?
	echo "rmlite: GPU-pin lane tests took $$(( $$(date +%s) - start )) s"
	exit $$rc

demo: setup
	@$(RUN_ENV) $(PY) -m rmlite demo

# Doctests are not part of `make test` (see [tool.pytest.ini_options] in pyproject.toml).
doctest: setup
	@$(RUN_ENV) $(PY) -m pytest -q --doctest-modules rmlite

# Rewrite the small shipped data set (data/mini) from rmlite.data.build.MINI_CONFIG (tests fail when it is stale).
# Its hand-written data/mini/README.md is kept across the rewrite (update its counts by hand).
mini-data: setup
	@set -euo pipefail
	keep="$$(mktemp)"; cp data/mini/README.md "$$keep"
	$(RUN_ENV) $(PY) -c "from rmlite.data import MINI_CONFIG, MINI_DIR, generate_dataset; \
	generate_dataset(MINI_DIR, MINI_CONFIG, overwrite=True, progress=False); print('wrote', MINI_DIR)"
	cp "$$keep" data/mini/README.md; rm -f "$$keep"

# Rewrite the notebooks' Colab badges and clone address (and the README's) from rmlite.notebook.env.REPO.
notebooks-sync: setup
	@$(PY) -m rmlite.notebook.sync

lint: setup
	@$(PY) -m ruff check rmlite tests

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .hypothesis
	find . \( -path ./.venv -o -path ./.venv-gpu \) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
