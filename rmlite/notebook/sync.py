"""One source for the boilerplate every notebook shares: the Colab badge and the time line in its first cell, the
install cell, and the README's notebook badges, built from `rmlite.notebook.env.REPO` and the time tables below.
Change REPO (a fork) or a time, run `python -m rmlite.notebook.sync` (or `make notebooks-sync`), and every copy
follows; `--check` only reports (tests run it, so copies cannot drift).

Written by hand rather than with a templating tool because it is three substitutions in JSON the notebooks already
are; nbformat reads and writes them so cell ids and metadata are kept.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rmlite.notebook.env import CPU_TRACK_NUMBERS, NOTEBOOKS, REPO, badge, colab_url

ROOT = Path(__file__).resolve().parents[2]
BADGE_LINE = re.compile(r"^\[!\[Open In Colab\]\(.*$", re.M)
COLAB_URL = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\"']*?/notebooks/(\d\d_\w+\.ipynb)")
INSTALL_MARK = 'if "google.colab" in sys.modules:'
# The shell that fetches SOURCE into /content/rmlite: a .zip (one top folder, as GitHub's "Download ZIP" and
# `git archive --prefix=rmlite/` make it) is unpacked, anything else is cloned. IPython fills in {SOURCE}.
FETCH = ('case "{SOURCE}" in *.zip) rm -rf /content/rmlite.unzip && unzip -q "{SOURCE}" -d /content/rmlite.unzip && '
         'mv /content/rmlite.unzip/* /content/rmlite;; *) git clone -q --depth 1 "{SOURCE}" /content/rmlite;; esac')
TIME_LINE = re.compile(r"^\*\*(?:Expected time|Time)\b.*$", re.M)
SMOKE_MACHINE = "a 2-core machine under load"  # where SMOKE_SECONDS were measured (re-measure when it is quiet)
# (wall, CPU) seconds of one smoke run (RMLITE_SMOKE=1, in order 00 -> 06, a fresh output folder), /usr/bin/time.
SMOKE_SECONDS = {"00_setup.ipynb": (18, 4), "01_maps_and_questions.ipynb": (30, 7),
                 "02_reward_playground.ipynb": (27, 7), "03_stage1_perception_grpo.ipynb": (1056, 338),
                 "04_stage2_route_planning_grpo.ipynb": (185, 55), "05_evaluate.ipynb": (128, 46),
                 "06_reward_lab.ipynb": (32, 7)}  # load average ~11 on 2 cores: CPU seconds are the steadier figure
T4_ESTIMATES = {"00_setup.ipynb": "about 3 minutes (the install)", "01_maps_and_questions.ipynb": "about 2 minutes",
                "02_reward_playground.ipynb": "about 1 minute", "03_stage1_perception_grpo.ipynb":
                "about 60-90 minutes for 150 steps", "04_stage2_route_planning_grpo.ipynb":
                "about 90-120 minutes for 200 steps", "05_evaluate.ipynb": "about 15-30 minutes for 300 questions "
                "per model", "06_reward_lab.ipynb": "about 1 minute"}


README_ROW = re.compile(r"^(\| `(\d\d_\w+\.ipynb)` \| .*? \| )(\w+) / [^|]*?( \| \[!\[Open In Colab\].*)$", re.M)


def readme_time(notebook: str, runtime: str) -> str:
    """The README table's time cell: the runtime it needs, the T4 estimate and the measured smoke time."""
    return f"{runtime} / {T4_ESTIMATES[notebook]}; smoke {SMOKE_SECONDS[notebook][0]} s"


def time_line(notebook: str) -> str:
    """The header's time line: smoke mode as measured, a T4 as estimated (until someone measures it)."""
    wall, cpu = SMOKE_SECONDS[notebook]
    return (f"**Time.** Smoke mode (`RMLITE_SMOKE=1`, on a CPU): {wall} s wall, {cpu} s CPU, "
            f"measured on {SMOKE_MACHINE}. On a free Colab T4 GPU: {T4_ESTIMATES[notebook]} (an estimate, not yet "
            "measured on a T4).")


def install_cell(source: str | None = None) -> str:
    """The first code cell of every notebook: on Colab only, fetch rmlite from SOURCE (REPO, a fork's address, or a
    .zip of the repository on Drive: docs/colab.md) and install the training stack (pinned, and never replacing
    Colab's torch: `rmlite.colab_install`) on a GPU runtime or the light CPU track otherwise; then say what is
    missing and whether a restart is needed. `source`: another SOURCE than REPO (a teacher's zip on Drive)."""
    return f'''import subprocess, sys
SOURCE = "{source or REPO}"  # Colab: a git address (a fork), or a .zip of the repository on Drive (docs/colab.md)
if "google.colab" in sys.modules:  # elsewhere: make / .venv; a GPU runtime gets the pinned requirements/gpu.txt
    gpu = subprocess.run("nvidia-smi -L", shell=True, capture_output=True, text=True).stdout.strip()
    print(gpu or "no GPU: installing the CPU track ({CPU_TRACK_NUMBERS}); 03-05 need a T4 runtime (Runtime menu)")
    if SOURCE.startswith("/content/drive/"): from google.colab import drive; drive.mount("/content/drive")
    !test -d /content/rmlite || {FETCH}
    sys.path.insert(0, "/content/rmlite")
    if gpu:  # pinned: unsloth needs these exact trl / transformers versions; Colab's torch stays as it is
        from rmlite.colab_install import keep_torch
        keep = keep_torch()  # stops here with one line if unsloth cannot use Colab's torch
        %pip install -q -e "/content/rmlite[train,gpu]" -c /content/rmlite/requirements/gpu.txt -c {{keep}}
    else:  # unpinned: keep Colab's own packages, add only what is missing
        %pip install -q -e /content/rmlite
import rmlite.notebook as nb; print(nb.install_report())'''


def sync_notebook(path: Path, *, write: bool = True, source: str | None = None) -> bool:
    """Rewrite one notebook's badge and install cell; True when it changed (or would change, write=False)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    new_first = BADGE_LINE.sub(badge(path.name), first.source, count=1)
    if not TIME_LINE.search(new_first):
        raise ValueError(f"{path.name}: the first cell has no time line (a line starting with **Time)")
    new_first = TIME_LINE.sub(lambda _: time_line(path.name), new_first, count=1)
    changed = new_first != first.source
    first.source = new_first
    installs = [c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source]
    if len(installs) != 1:
        raise ValueError(f"{path.name}: expected one install cell (with {INSTALL_MARK!r}), found {len(installs)}")
    if installs[0].source != install_cell(source):
        installs[0].source = install_cell(source)
        changed = True
    if changed and write:
        nbformat.write(nb, path)
    return changed


def sync_readme(path: Path, *, write: bool = True) -> bool:
    """The README's notebook badges (from REPO) and the time column of its notebook table (from the tables above)."""
    text = path.read_text(encoding="utf-8")
    new = COLAB_URL.sub(lambda m: colab_url(m.group(1)), text)
    new = README_ROW.sub(lambda m: f"{m.group(1)}{readme_time(m.group(2), m.group(3))}{m.group(4)}", new)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def sync(root: Path = ROOT, *, write: bool = True, source: str | None = None) -> list[str]:
    """Sync every notebook and the README; returns the names of the files that changed (or would). `source`: the
    install cells fetch rmlite from there instead of REPO (copies to hand out; the repository keeps REPO)."""
    changed = [n for n in NOTEBOOKS if sync_notebook(root / "notebooks" / n, write=write, source=source)]
    if sync_readme(root / "README.md", write=write):
        changed.append("README.md")
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmlite.notebook.sync", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1 if any)")
    p.add_argument("--root", type=Path, default=ROOT, help="the folder to sync (default: this checkout)")
    p.add_argument("--source", help="SOURCE of the install cells instead of REPO: a fork's git address or a .zip of "
                                    "the repository on Drive, e.g. /content/drive/MyDrive/rmlite.zip (docs/colab.md)")
    a = p.parse_args(argv)
    changed = sync(a.root, write=not a.check, source=a.source)
    verb = "out of date" if a.check else "updated"
    print(f"{verb}: {', '.join(changed)}" if changed else f"all notebooks and the README match REPO = {REPO}")
    return int(a.check and bool(changed))


if __name__ == "__main__":
    raise SystemExit(main())
