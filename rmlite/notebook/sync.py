"""One source for the boilerplate every notebook shares: the Colab badge in its first cell, the install cell, and the
README's notebook badges, all built from `rmlite.notebook.env.REPO`. Change REPO, run
`python -m rmlite.notebook.sync` (or `make notebooks-sync`), and every copy follows; `--check` only reports (tests
run it, so copies cannot drift).

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


def install_cell() -> str:
    """The first code cell of every notebook: on Colab only, clone REPO and install the training stack (pinned, and
    never replacing Colab's torch: `rmlite.colab_install`) on a GPU runtime or the light CPU track otherwise; then say
    what is missing and whether a restart is needed."""
    return f'''import subprocess, sys
# Colab only (elsewhere: make / .venv): a GPU runtime gets the pinned stack (requirements/gpu.txt), a CPU one rmlite.
if "google.colab" in sys.modules:
    gpu = subprocess.run("nvidia-smi -L", shell=True, capture_output=True, text=True).stdout.strip()
    print(gpu or "no GPU: installing the CPU track ({CPU_TRACK_NUMBERS}); 03-05 need a T4 runtime (Runtime menu)")
    !test -d /content/rmlite || git clone -q --depth 1 {REPO} /content/rmlite
    sys.path.insert(0, "/content/rmlite")
    if gpu:  # pinned: unsloth needs these exact trl / transformers versions; Colab's torch stays as it is
        from rmlite.colab_install import keep_torch
        keep = keep_torch()  # stops here with one line if unsloth cannot use Colab's torch
        %pip install -q -e "/content/rmlite[train,gpu]" -c /content/rmlite/requirements/gpu.txt -c {{keep}}
    else:  # unpinned: keep Colab's own packages, add only what is missing
        %pip install -q -e /content/rmlite
import rmlite.notebook as nb
print(nb.install_report())'''


def sync_notebook(path: Path, write: bool = True) -> bool:
    """Rewrite one notebook's badge and install cell; True when it changed (or would change, write=False)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    new_first = BADGE_LINE.sub(badge(path.name), first.source, count=1)
    changed = new_first != first.source
    first.source = new_first
    installs = [c for c in nb.cells if c.cell_type == "code" and INSTALL_MARK in c.source]
    if len(installs) != 1:
        raise ValueError(f"{path.name}: expected one install cell (with {INSTALL_MARK!r}), found {len(installs)}")
    if installs[0].source != install_cell():
        installs[0].source = install_cell()
        changed = True
    if changed and write:
        nbformat.write(nb, path)
    return changed


def sync_readme(path: Path, write: bool = True) -> bool:
    text = path.read_text(encoding="utf-8")
    new = COLAB_URL.sub(lambda m: colab_url(m.group(1)), text)
    if new != text and write:
        path.write_text(new, encoding="utf-8")
    return new != text


def sync(root: Path = ROOT, write: bool = True) -> list[str]:
    """Sync every notebook and the README; returns the names of the files that changed (or would)."""
    changed = [n for n in NOTEBOOKS if sync_notebook(root / "notebooks" / n, write)]
    if sync_readme(root / "README.md", write):
        changed.append("README.md")
    return changed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmlite.notebook.sync", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="only report files that are out of date (exit 1 if any)")
    a = p.parse_args(argv)
    changed = sync(write=not a.check)
    verb = "out of date" if a.check else "updated"
    print(f"{verb}: {', '.join(changed)}" if changed else f"all notebooks and the README match REPO = {REPO}")
    return int(a.check and bool(changed))


if __name__ == "__main__":
    raise SystemExit(main())
