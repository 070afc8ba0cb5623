"""The click commands: each parses, calls one `app` function, renders with `ui`.

`entry.py` is the console script: it sends every command line here except a plain
`repro run COMMAND...`, and turns errors into messages and exit codes. `app` is imported
inside each command so `repro --help` stays fast. The commands live in `runs` (run, rerun),
`views` (list, show, log, diff, stats, report) and `care` (doctor, fingerprint, fsck, gc,
export, import); importing them adds them to the `cli` group.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from repro_run.cli import care, runs, views  # noqa: F401 - each adds its commands to `cli`
from repro_run.cli.group import cli

__all__ = ["cli", "run_click"]


def run_click(args: Sequence[str]) -> None:
    """Parse `args` with click and run the command; click's errors become exit statuses."""
    try:
        cli.main(args=list(args), prog_name="repro", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        raise KeyboardInterrupt from exc  # one message for every Ctrl-C (entry.py)
