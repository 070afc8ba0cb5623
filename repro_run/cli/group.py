"""The `repro` command group, which every command module adds its commands to, and the
workspace each command finds once and hands to its verb."""

from __future__ import annotations

from pathlib import Path

import click

from repro_run import __version__

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from repro_run.app.workspace import Workspace


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repro")
def cli() -> None:
    """Make ML runs reproducible: prefix the command you already use with `repro run`."""


def workspace(*, warn: bool = False) -> Workspace:
    """The repository and store of the current directory. `warn`: records a listing skips
    (unreadable) are said on stderr, for the views that list runs."""
    from repro_run.app.workspace import Workspace
    from repro_run.ui.console import TerminalReporter

    return Workspace.find(Path.cwd(), warn=TerminalReporter().warn if warn else None)
