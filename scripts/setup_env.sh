#!/usr/bin/env bash
# Create or update one Python environment for rmlite; `make setup` and `make setup-gpu-stack` call it.
# It lives in a script rather than in the Makefile's recipes so that any make runs it the same way: GNU make 3.81
# (macOS) ignores .ONESHELL and would run a multi-line recipe line by line.
#
# Settings, from the environment (the Makefile passes them):
#   ENV_DIR, ENV_KIND   the environment's folder and what it is ("project .venv", "active virtualenv", ...)
#   PYTHON              the interpreter that creates a missing project venv (python3)
#   TORCH_SPEC          torch (and torchvision) pins installed first, empty to skip
#   TORCH_CONSTRAINTS   constraint files for the torch install (space-separated)
#   PKG_CONSTRAINTS     constraint files for `pip install -e ".[EXTRAS]"` (space-separated)
#   EXTRAS              the package's extras
#   HASH_FILES          files whose content decides whether the environment is up to date
#   CREATE              1: create a missing venv at ENV_DIR whatever its kind (the GPU-pin lane's own .venv-gpu)
#   TORCH_INDEX         where CPU-only torch comes from on Linux: "auto" (default: the PyTorch CPU index when it
#                       answers within 5 s, else the ordinary index), "none" (the ordinary index: on Linux x86_64 a
#                       CUDA build, about 5 GB more), or an index URL. macOS wheels are CPU-only already.
# A stamp file in the environment holds a hash of HASH_FILES, TORCH_SPEC, EXTRAS and this checkout's path; when it
# matches, nothing is installed (seconds instead of minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ENV_DIR:?}" "${ENV_KIND:?}" "${PYTHON:=python3}" "${TORCH_SPEC=}" "${TORCH_CONSTRAINTS=}" \
  "${PKG_CONSTRAINTS=}" "${EXTRAS:?}" "${HASH_FILES:?}"
PY="$ENV_DIR/bin/python"
STAMP="$ENV_DIR/.rmlite-installed"
# pip on some machines prints one "Location 'file:///...' is ignored" warning per package: drop that noise only.
NOISE="is ignored: it is neither a file nor a directory"

hash_of() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }
constraints() { local f; for f in $1; do printf -- '-c %s ' "$f"; done; }
CPU_INDEX="https://download.pytorch.org/whl/cpu"
quiet_pip() { { "$PY" -m pip install -q "$@"; } 2>&1 | { grep -v "$NOISE" || true; }; }

# shellcheck disable=SC2086  # HASH_FILES is a list of paths
want="$( { cat $HASH_FILES; echo "$TORCH_SPEC|$EXTRAS|$PWD"; } | hash_of)"
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "rmlite: $ENV_KIND $ENV_DIR is up to date"; exit 0
fi
if [ ! -x "$PY" ]; then
  if [ "$ENV_KIND" != "project .venv" ] && [ "${CREATE:-0}" != 1 ]; then echo "rmlite: no python at $PY" >&2; exit 1; fi
  echo "rmlite: creating $ENV_DIR with $("$PYTHON" --version)"
  "$PYTHON" -m venv "$ENV_DIR"
fi
echo "rmlite: installing into $ENV_KIND $ENV_DIR (first time: a few minutes)"
start=$(date +%s)
if [ -n "$TORCH_SPEC" ]; then
  # shellcheck disable=SC2086  # TORCH_SPEC is a list of requirement specifiers
  if "$PY" - $TORCH_SPEC 2>/dev/null <<'PYEOF'
import sys, importlib.metadata as md
sys.exit(any(md.version(n).split("+")[0] != v for n, v in (s.split("==") for s in sys.argv[1:])))
PYEOF
  then echo "rmlite: $TORCH_SPEC already installed"
  else
    index="${TORCH_INDEX:-auto}"
    if [ "$(uname -s)" != "Linux" ] || [ "$index" = "none" ]; then index=""
    elif [ "$index" = "auto" ]; then
      if curl -fsI --max-time 5 "$CPU_INDEX/" >/dev/null 2>&1; then index="$CPU_INDEX"; else index=""
        echo "rmlite: the PyTorch CPU index did not answer: torch comes from the ordinary index (on Linux x86_64 a" \
             "CUDA build, about 5 GB more; TORCH_INDEX=<url> names another CPU index)"
      fi
    fi
    if [ -n "$index" ]; then
      echo "rmlite: CPU-only torch from $index"
      # shellcheck disable=SC2046,SC2086  # +cpu builds satisfy the constraints' ==X.Y.Z pins
      quiet_pip $(printf '%s+cpu ' $TORCH_SPEC) --index-url "$index" $(constraints "$TORCH_CONSTRAINTS")
    else
      # shellcheck disable=SC2046,SC2086
      quiet_pip $TORCH_SPEC $(constraints "$TORCH_CONSTRAINTS")
    fi
  fi
fi
# shellcheck disable=SC2046
quiet_pip -e ".[$EXTRAS]" $(constraints "$PKG_CONSTRAINTS")
echo "$want" > "$STAMP"
size="$(du -sh "$ENV_DIR" 2>/dev/null | cut -f1)"
echo "rmlite: environment ready in $(( $(date +%s) - start )) s ($size on disk)"
