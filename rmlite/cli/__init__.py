"""Command line: `python -m rmlite generate | show | audit | export | train | eval | lab | demo | doctor`.

User mistakes (bad arguments, missing or unwritable paths, unreadable data, a model that cannot load from here)
print one line, `rmlite CMD: error: ...`, and exit with status 2; they never end in a traceback (set RMLITE_DEBUG=1
to see one). Inputs are checked before the work (`rmlite.cli.checks`), and nothing a user has is overwritten or
hidden unless asked with `--overwrite` / `--resume`. Every default and list of choices is read from the dataclass,
constant or function that owns it (`rmlite.cli.parser`), so a changed default reaches the command line; `--help`
shows them. Left out: training knobs beyond `--steps` (set them in Python with `GRPOSettings`).

Rooms: `args` (argument types, default readers, `UserError`), `parser`, `checks`, `data_commands` (generate, show,
audit, export), `model_commands` (train, eval, demo, doctor), `lab_command`.
"""

from __future__ import annotations

import os
import sys

from rmlite.cli.args import UserError, as_csv, field_default, param_default
from rmlite.cli.data_commands import cmd_audit, cmd_export, cmd_generate, cmd_show, dataset_config
from rmlite.cli.lab_command import cmd_lab, lab_main
from rmlite.cli.model_commands import cmd_demo, cmd_doctor, cmd_eval, cmd_train, train_settings
from rmlite.cli.parser import add_lab_parser, build_parser
from rmlite.models.load import AdapterUnusable, BackendUnavailable

__all__ = ["COMMANDS", "UserError", "add_lab_parser", "as_csv", "build_parser", "dataset_config", "field_default",
           "lab_main", "main", "one_line", "param_default", "train_settings"]

COMMANDS = {"generate": cmd_generate, "show": cmd_show, "audit": cmd_audit, "export": cmd_export, "train": cmd_train,
            "eval": cmd_eval, "lab": cmd_lab, "demo": cmd_demo, "doctor": cmd_doctor}
# OSError: files, folders, permissions; AdapterUnusable: e.g. `eval --adapter` of a run whose LoRA never moved
USER_ERRORS = (UserError, ValueError, KeyError, OSError, BackendUnavailable, AdapterUnusable)
# What Ctrl-C leaves, per command, in one line (no traceback).
STOPPED = {"": "what was written is kept; re-run the same command to finish",
           "generate": "nothing was written (a data set appears only when complete); re-run the same command",
           "train": "re-run with --resume to continue from the last checkpoint (before the first one, --overwrite "
                    "starts the run again)"}


def one_line(e: BaseException) -> str:
    """The message of a user mistake as one line: `<path>: <reason>` for a file-system error with an errno.

    >>> one_line(PermissionError(13, "Permission denied", "/data/x"))
    '/data/x: Permission denied'
    >>> one_line(KeyError("map 'm1' is not in this maps table"))
    "map 'm1' is not in this maps table"
    """
    if isinstance(e, OSError) and e.errno is not None and e.strerror:
        text = f"{e.filename}: {e.strerror}" if e.filename is not None else e.strerror
    elif isinstance(e, KeyError) and e.args:
        text = str(e.args[0])
    else:
        text = str(e) or type(e).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except USER_ERRORS as e:
        if os.environ.get("RMLITE_DEBUG"):
            raise
        print(f"rmlite {args.cmd}: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if os.environ.get("RMLITE_DEBUG"):
            raise
        print(f"rmlite {args.cmd}: stopped (Ctrl-C); {STOPPED.get(args.cmd, STOPPED[''])}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
