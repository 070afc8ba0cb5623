"""The `repro` command group, which every command module adds its commands to."""

from __future__ import annotations

import click

from repro_run import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="repro")
def cli() -> None:
    """Make ML runs reproducible: prefix the command you already use with `repro run`."""
