"""One rule for every command's output folder: a command writes into a new or empty folder, or into one it made
itself for the same purpose (a re-run replaces its own files); anything else needs `--overwrite`.

A folder is known by the marker a command leaves in it (`OUTPUT_MARKER`: the command's name and rmlite's
version), written before the work starts, so an interrupted run still owns its folder. `generate` (a data set),
`train` (a run folder, `rmlite.train.runfolder`) and `demo` (its report marker) keep their own stricter rules;
this module serves `lab`, `eval` and `export`, and the pictures of `show` and `audit` (a PNG text chunk names the
command that wrote one).

>>> import tempfile; d = Path(tempfile.mkdtemp()) / "lab"; _ = claim_folder(d, "lab"); owner(d)
'lab'
"""

from __future__ import annotations

import json
from pathlib import Path

from rmlite import __version__
from rmlite.cli.args import UserError
from rmlite.cli.checks import writable_out
from rmlite.schema import MANIFEST, run_contents

OUTPUT_MARKER = ".rmlite-output.json"


def owner(folder: Path) -> str | None:
    """Which rmlite output `folder` holds: a command's name from its marker, "training run", "data set", or None."""
    try:
        return str(json.loads((folder / OUTPUT_MARKER).read_text())["command"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if run_contents(folder):
        return "training run"
    return "data set" if (folder / MANIFEST).is_file() else None


def check_folder(out: str | Path, command: str, *, overwrite: bool = False) -> Path:
    """`--out` for `command`: writable, and new, empty or its own, unless `overwrite`; else one line."""
    p = writable_out(out)
    if overwrite or not p.is_dir():
        return p
    names = sorted(x.name for x in p.iterdir() if x.name != OUTPUT_MARKER)
    held = owner(p)
    if names and held != command:
        what = f"holds a {held} output" if held else "holds files rmlite did not write"
        shown = ", ".join(names[:4]) + (", …" if len(names) > 4 else "")
        raise UserError(f"--out {p} {what} ({shown}): choose a new folder, or pass --overwrite to write into it "
                        f"(files of the same name are replaced)")
    return p


def claim_folder(out: str | Path, command: str) -> Path:
    """Make `out` and mark it as `command`'s, before the work starts."""
    p = Path(out)
    p.mkdir(parents=True, exist_ok=True)
    (p / OUTPUT_MARKER).write_text(json.dumps({"command": command, "rmlite_version": __version__}))
    return p


def check_picture(out: Path, command: str, *, overwrite: bool = False, flag: str = "--out") -> None:
    """A picture path `command` may write: new, or a picture it wrote before, unless `overwrite`."""
    if overwrite or not out.is_file():
        return
    try:
        from PIL import Image

        with Image.open(out) as im:
            mine = im.info.get("Software") == f"rmlite {command}"
    except OSError:
        mine = False
    if not mine:
        raise UserError(f"{flag} {out} exists and `rmlite {command}` did not write it: choose another path, or pass "
                        f"--overwrite to replace it")


def picture_info(command: str):
    """The PNG text chunk that marks a picture as `command`'s (pass as `pnginfo=` to `Image.save`)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", f"rmlite {command}")
    return info

