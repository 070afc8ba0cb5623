"""Every click command in one group: importing `runs`, `views`, `care` and `remote` adds theirs to `cli`;
`run_click` parses a command line with click and runs it (`main.py` sends every command line
here but a plain `repro run COMMAND...`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from repro_run.cli import care, remote, runs, views  # noqa: F401 - each adds its commands to `cli`
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
        raise KeyboardInterrupt from exc  # one message for every Ctrl-C (main.py)
