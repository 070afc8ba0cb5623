"""Commands that share runs through a team remote (object storage): `push`, `pull`.
`list --remote` and `show --remote` are in `views.py`; `rerun` pulls a run only the remote has."""

from __future__ import annotations

import click

from repro_run.cli.group import cli, workspace
from repro_run.core.humanize import count, format_bytes

REMOTE_HELP = "The remote's URL (default: REPRO_REMOTE, else [tool.repro] remote)."


@cli.command("push")
@click.argument("refs", nargs=-1, metavar="[ID...]")
@click.option("--all", "all_runs", is_flag=True, help="Push every finished run of this store.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1, max=256),
    default=16,
    show_default=True,
    help="Requests in flight at once.",
)
@click.option("--allow-secrets", is_flag=True, help="Push even if something looks secret.")
@click.option("--remote", "url", metavar="URL", help=REMOTE_HELP)
def push_command(
    refs: tuple[str, ...], all_runs: bool, jobs: int, allow_secrets: bool, url: str | None
) -> None:
    """Send runs (their records, files and objects, output files included) to the team remote;
    safe to repeat and to interrupt."""
    from repro_run.app.transfer.push import push
    from repro_run.ui import console as ui_console
    from repro_run.ui import data as ui_data

    result = push(
        workspace(),
        refs,
        all_runs=all_runs,
        jobs=jobs,
        allow_secrets=allow_secrets,
        url=url,
        reporter=ui_data.DataReporter(),
    )
    for finding in result.findings:
        ui_console.echo(f"repro: warning: pushed despite a secret finding: {finding}", err=True)
    if result.unscanned:
        ui_console.echo(
            f"repro: note: {count(result.unscanned, 'binary file')} could not be scanned for "
            "secrets (a NUL byte in their first 8000 bytes)",
            err=True,
        )
    for run in result.runs:
        if run.already:
            ui_console.echo(f"repro: run {run.run_id} is already on {result.remote}")
        else:
            ui_console.echo(
                f"repro: pushed run {run.run_id} to {result.remote} "
                f"({count(run.objects, 'object')}, {format_bytes(run.size)} sent)"
            )
    if not result.runs:
        ui_console.echo("repro: no finished run to push")


@cli.command("pull")
@click.argument("refs", nargs=-1, required=True, metavar="ID...")
@click.option("--with-outputs", is_flag=True, help="Fetch the archived output files too.")
@click.option("--remote", "url", metavar="URL", help=REMOTE_HELP)
def pull_command(refs: tuple[str, ...], with_outputs: bool, url: str | None) -> None:
    """Fetch runs from the team remote into this store (every object verified); the run's
    commit must be in this repository (git fetch)."""
    from repro_run.app.transfer.pull import pull
    from repro_run.ui import console as ui_console
    from repro_run.ui import data as ui_data

    reporter = ui_data.DataReporter()
    for run in pull(workspace(), refs, with_outputs=with_outputs, url=url, reporter=reporter):
        if run.already:
            ui_console.echo(f"repro: run {run.run_id} is already in this store")
        else:
            outputs = " with its output files" if run.output_files else ""
            ui_console.echo(
                f"repro: pulled run {run.run_id}{outputs} ({count(run.objects, 'object')}) — "
                f"rerun it: repro rerun {run.run_id}"
            )
