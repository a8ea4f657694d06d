"""`python -m rmlite …` runs the command line (see `rmlite.cli`).

From the repository folder, a Python without rmlite's dependencies (the system one, when the environment `make`
created is not active) would import the source tree and die in a traceback; it gets one line saying what to do.
"""

import sys

try:
    from rmlite.cli import main
except ModuleNotFoundError as e:  # a dependency is missing from this Python, not a bug in rmlite
    sys.exit(f"rmlite: this Python ({sys.executable}) lacks rmlite's dependencies (no module {e.name!r}): run "
             "`source .venv/bin/activate` first (the environment `make demo` created), or `pip install -e .`")

sys.exit(main())
