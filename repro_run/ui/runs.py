"""The `list` table, the `show` summary and its `--json`, the `fsck` and `gc` lines.

Drawn on `ui.console`'s Console, rich imported inside the renderers. Recorded text is data,
never markup: every cell goes through `console.text` (control characters escaped).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence

from repro_run.core.humanize import count, format_bytes
from repro_run.models import (
    CRASHED,
    FAILED,
    INTERRUPTED,
    RUNNING,
    SECRET_IN_PATCH,
    SUCCEEDED,
    TAINTED,
    CommandInfo,
    EnvsRemoved,
    FsckReport,
    GcReport,
    RunRecord,
    RunSummary,
    TreeRef,
    Unavailable,
    nodes_of,
    to_json_dict,
)
from repro_run.ui.console import format_duration, text
from repro_run.ui.envrows import conda_rows, container_rows
from repro_run.ui.facts import determinism_rows, facts_rows
from repro_run.ui.nodes import render_nodes

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

    from rich.console import Console
    from rich.text import Text


_STATUS_STYLE = {
    SUCCEEDED: "green",
    FAILED: "red",
    CRASHED: "red",
    INTERRUPTED: "yellow",
    RUNNING: "cyan",
}


_WIDE_TABLE = 140  # `list` off a terminal, when it shows lineage or metrics


# --- repro list ----------------------------------------------------------------------------
def render_list(
    runs: Sequence[RunSummary],
    console: Console,
    filtered: bool = False,
    short: Mapping[str, str] | None = None,
) -> None:
    """The table of `runs`; `short` maps an ID to the prefix shown (the whole ID if unmapped)."""
    from rich.table import Table

    names = short or {}

    if not runs:
        console.print(
            "No runs match." if filtered else "No runs yet. Start one with: repro run <command>"
        )
        return
    # FLAGS, GROUP and METRICS only when some listed run has them: the usual list stays narrow.
    flags, groups, metrics = (any(getattr(run, f) for run in runs) for f in _OPTIONAL_COLUMNS)
    if (
        flags or groups or metrics or any(run.rerun_of for run in runs)
    ) and not console.is_terminal:
        console.width = max(console.width, _WIDE_TABLE)  # off a terminal: room for them
    cells: dict[str, list[Text]] = {name: [] for name in _LIST_COLUMNS}
    for run in runs:
        # Lineage: a rerun runs its original's command, so the cell says whose rerun it is.
        original = names.get(run.rerun_of, run.rerun_of) if run.rerun_of else None
        command = f"rerun of {original}: {run.verdict or '-'}" if original else run.command
        cells["ID"].append(text(names.get(run.id, run.id)))
        cells["STARTED"].append(text(_short_time(run.created)))
        cells["STATUS"].append(text(listed_status(run), _STATUS_STYLE.get(run.status, "")))
        cells["DURATION"].append(
            text(format_duration(run.duration) if run.duration is not None else "-")
        )
        cells["COMMAND"].append(text(command))
        cells["COMMIT"].append(text((run.commit or "")[:8] + ("*" if run.dirty else "")))
        marks = ",".join(_FLAG_MARKS.get(f, f) for f in run.flags)
        cells["FLAGS"].append(text(marks or "-", "yellow"))
        cells["SEED"].append(text(str(run.seed) if run.seed is not None else "-"))
        cells["EXIT"].append(text(str(run.exit_code) if run.exit_code is not None else "-"))
        cells["GROUP"].append(text(run.group or "-"))
        cells["METRICS"].append(text(_finals(run.metrics)))
    optional = {"FLAGS": flags, "GROUP": groups, "METRICS": metrics}
    shown = [name for name in _LIST_COLUMNS if optional.get(name, True)]
    shown = _fit_columns(shown, cells, console.width)
    spare = max(console.width - _needed(shown, cells), 0)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in shown:
        # One line per run: a long command or metrics cell ends in an ellipsis.
        width = _column_width(name, cells[name])
        if name in _MIN_WIDTHS:  # COMMAND and METRICS share what the others leave
            share = (2 if name == "COMMAND" else 1) if "METRICS" in shown else 1
            width += spare * share // (3 if "METRICS" in shown else 1)
        table.add_column(name, no_wrap=True, overflow="ellipsis", width=width)
    for row in zip(*(cells[name] for name in shown), strict=True):
        table.add_row(*row)
    console.print(table)


def listed_status(run: RunSummary) -> str:
    """The run's status; for one of several parts, how many parts share it: `failed (1 of 4
    parts)`, `succeeded (4 parts)`."""
    if not run.parts:
        return run.status
    total = len(run.parts)
    alike = sum(1 for status in run.parts.values() if status == run.status)
    return (
        f"{run.status} ({total} parts)"
        if alike == total
        else (f"{run.status} ({alike} of {total} parts)")
    )


_LIST_COLUMNS = (
    "ID", "STARTED", "STATUS", "DURATION", "COMMAND", "COMMIT", "FLAGS", "SEED", "EXIT", "GROUP",
    "METRICS",
)  # fmt: skip
_MIN_WIDTHS = {"COMMAND": 20, "METRICS": 16}  # what a narrow terminal still leaves them
# Given up, in this order, when the terminal is too narrow for the rest (`show` has them all).
_DROPPED_FIRST = ("SEED", "DURATION", "GROUP", "EXIT", "STARTED", "METRICS")


def _column_width(name: str, cells: list[Text]) -> int:
    """What the column needs: its widest cell, or for COMMAND and METRICS at most their minimum
    (they take what is left, cut with an ellipsis)."""
    natural = max(len(name), *(cell.cell_len for cell in cells))
    return min(natural, _MIN_WIDTHS.get(name, natural))


def _needed(names: list[str], cells: dict[str, list[Text]]) -> int:
    widths = [_column_width(name, cells[name]) for name in names]
    return sum(widths) + 2 * (len(names) - 1)  # rich's padding: a space each side


def _fit_columns(shown: list[str], cells: dict[str, list[Text]], width: int) -> list[str]:
    """`shown` less the columns a terminal `width` wide cannot hold beside COMMAND's minimum."""

    for name in _DROPPED_FIRST:
        if _needed(shown, cells) <= width:
            break
        if name in shown:
            shown = [n for n in shown if n != name]
    return shown


_OPTIONAL_COLUMNS = ("flags", "group", "metrics")
_FLAG_MARKS = {TAINTED: "tainted", SECRET_IN_PATCH: "secret"}  # short enough for a column


# --- repro show ----------------------------------------------------------------------------
def render_show(
    record: RunRecord, status: str, console: Console, reruns: Sequence[RunSummary] = ()
) -> None:
    from rich.table import Table

    def section(title: str, rows: Sequence[tuple[str, str]]) -> None:
        if not rows:
            return
        console.print(text(title, "bold"))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for key, value in rows:
            style = _STATUS_STYLE.get(status, "") if (title, key) == ("Run", "status") else ""
            if (title, key) == ("Run", "flags") and value != "none":
                style = "yellow"  # a reader must heed them
            grid.add_row(text(f"  {key}"), text(value, style))
        console.print(grid)

    nodes = nodes_of(record.facts.processes) if record.facts else None
    for title, rows in show_sections(record, status, reruns):
        section(title, rows)
        if title == "Inside the child" and nodes is not None:
            render_nodes(nodes, console)


def show_sections(
    record: RunRecord, status: str, reruns: Sequence[RunSummary] = ()
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The `show` summary as (section, [(key, value)]): plain strings, as recorded."""
    return [
        ("Run", _run_rows(record, status)),
        ("Parts", _part_rows(record)),
        ("Code", _code_rows(record)),
        ("Command", _command_rows(record.command)),
        ("Parameters", _param_rows(record.command)),
        ("Config", _config_rows(record)),
        ("Seed", _seed_rows(record)),
        ("Inside the child", facts_rows(record)),
        ("Data", _tree_rows(record.data)),
        (
            "Outputs",
            _tree_rows(record.outputs) + _not_imported_rows(record) + _preexisting_rows(record),
        ),
        ("Environment", _env_rows(record)),
        ("Packages", _package_rows(record)),
        ("Conda", conda_rows(record)),
        ("Container", container_rows(record)),
        ("System", _system_rows(record)),
        ("GPU", _gpu_rows(record)),
        ("CUDA libraries", _cuda_rows(record)),
        ("Resources", _resource_rows(record)),
        ("Metrics", _metrics_rows(record)),
        ("Rerun", _rerun_rows(record)),
        ("Reruns", [(r.id, f"{r.verdict or r.status} ({_short_time(r.created)})") for r in reruns]),
        ("Problems", [("!", problem) for problem in record.problems]),
    ]


def _run_rows(record: RunRecord, status: str) -> list[tuple[str, str]]:
    p = record.process
    rows = [
        ("id", record.id),
        ("status", status),
        ("started", record.started or record.created),
        ("ended", record.ended or "-"),
    ]
    if p is not None:
        rows += [
            ("exit code", f"{p.exit_code}" + (f" ({p.signal})" if p.signal else "")),
            ("duration", format_duration(p.wall_time)),
        ]
    return rows + _group_and_flag_rows(record)


def _part_rows(record: RunRecord) -> list[tuple[str, str]]:
    """A run several supervisors recorded: how they were joined, then one row per part."""
    part = record.part
    if part is None or not record.parts:
        return []
    shape = f"{part.nodes or '?'} node(s) x {part.tasks or '?'} task(s)"
    rows = [("launch", f"{part.join}, {shape}, {len(record.parts)} part(s) recorded")]
    for p in record.parts:
        exit_code = "-" if p.exit_code is None else str(p.exit_code)
        task = "" if p.task is None else f", task {p.task}"
        dirty = ", dirty" if p.dirty else ""
        where = f"on {p.supervisor.hostname}{task}, commit {p.commit[:8]}{dirty}"
        rows.append((p.name, f"{p.status} (exit {exit_code}) {where}"))
    return rows


def _code_rows(record: RunRecord) -> list[tuple[str, str]]:
    code = record.code
    return [
        ("commit", code.commit + (" (dirty: patch stored)" if code.dirty else "")),
        ("branch", code.branch or "(detached HEAD)"),
        ("describe", code.describe or "-"),
        *((f"remote {r.name}", r.url) for r in code.remotes),
        *(("dirty", f"{d.state}: {d.path}") for d in code.dirty_paths[:10]),
    ]


def _command_rows(cmd: CommandInfo) -> list[tuple[str, str]]:
    return [
        ("argv", shlex.join(cmd.argv)),
        ("cwd", cmd.cwd),
        ("executable", cmd.executable),
        ("interpreter", _interpreter(cmd)),
    ]


def _param_rows(cmd: CommandInfo) -> list[tuple[str, str]]:
    """The hyperparameters among the arguments, each with where it came from."""
    return [(p.name, f"{p.shown}  ({p.source})") for p in cmd.params or ()]


def _config_rows(record: RunRecord) -> list[tuple[str, str]]:
    rows = [
        (c.path, f"{c.format}, {count(len(c.params), 'parameter')}, blake3 {c.object[:12]}")
        for c in record.configs
    ]
    for c in record.configs:
        rows += [(f"  {k}", json.dumps(v)) for k, v in list(c.params.items())[:20]]
        if len(c.params) > 20:
            rows.append(("  …", f"{len(c.params) - 20} more (repro show --json)"))
    return rows


def _seed_rows(record: RunRecord) -> list[tuple[str, str]]:
    d = record.determinism
    return [
        ("seed", f"{d.seed} ({d.seed_source})"),
        *((f"set {k}", v) for k, v in sorted(d.injected.items())),
        *((f"user's {k}", v) for k, v in sorted(d.user_set.items())),
        *determinism_rows(d),
    ]


def _env_rows(record: RunRecord) -> list[tuple[str, str]]:
    env = record.env
    return [
        ("recorded", f"{len(env.values)} variables with values"),
        ("names only", f"{len(env.names_only)} variables"),
        ("redacted", ", ".join(env.redacted) or "none"),
    ]


def _system_rows(record: RunRecord) -> list[tuple[str, str]]:
    s = record.system
    return [
        ("host", s.hostname),
        ("os", f"{s.os_release} ({s.os} {s.kernel}, {s.machine})"),
        ("python", f"{s.python_implementation} {s.python_version}"),
        ("cpu", f"{s.cpu_model} ({s.cpu_count_logical} logical)"),
        ("memory", format_bytes(s.memory_total)),
        *((f"missing {k}", v) for k, v in s.missing.items()),
    ]


def _package_rows(record: RunRecord) -> list[tuple[str, str]]:
    pk = record.packages
    if isinstance(pk, Unavailable):
        return [("unavailable", pk.reason)]
    return [
        ("count", str(pk.count)),
        ("interpreter", pk.interpreter),
        ("python", pk.python_version),
    ]


def _gpu_rows(record: RunRecord) -> list[tuple[str, str]]:
    g = record.gpu
    if isinstance(g, Unavailable):
        return [("unavailable", g.reason)]
    return [
        ("driver", g.driver_version),
        ("cuda (driver)", g.cuda_driver_version),
        *(
            (
                f"gpu {dev.index}",
                f"{dev.name}, {format_bytes(dev.memory_total)}, sm {dev.compute_capability}",
            )
            for dev in g.devices
        ),
    ]


def _cuda_rows(record: RunRecord) -> list[tuple[str, str]]:
    libs = record.cuda
    if isinstance(libs, Unavailable):
        return [("unavailable", libs.reason)]
    return [
        ("toolkit", libs.cuda_toolkit or "-"),
        ("cudnn", libs.cudnn or "-"),
        ("nccl", libs.nccl or "-"),
    ]


def _resource_rows(record: RunRecord) -> list[tuple[str, str]]:
    p = record.process
    if p is None:
        return []
    rows = [
        ("cpu time", format_duration(p.cpu_time)),
        ("peak rss", format_bytes(p.peak_rss) if p.peak_rss else "-"),
        ("peak gpu memory", format_bytes(p.peak_gpu_memory) if p.peak_gpu_memory else "-"),
        ("output", f"{format_bytes(p.stdout_bytes)} stdout, {format_bytes(p.stderr_bytes)} stderr"),
    ]
    if p.orphans_killed:
        rows.append(("orphans killed", str(p.orphans_killed)))
    return rows


def _group_and_flag_rows(record: RunRecord) -> list[tuple[str, str]]:
    """The run's `--repeat` group, then its flags (dirty, tainted, secret_in_patch), each
    with what it means for a reader of the record."""
    g = record.group
    rows = [("group", f"{g} (repro stats {g}, repro list --group {g})")] if g else []
    rows.append(("flags", ", ".join(["dirty"] * record.code.dirty + [*record.flags]) or "none"))
    if record.code.dirty:
        rows.append(("dirty", "run with uncommitted changes, stored as a patch (see Code)"))
    if TAINTED in record.flags:
        changed = ", ".join(f"{p.path} ({p.state})" for p in record.tainted_paths[:10])
        what_ran = "what ran may differ from the recorded commit and patch"
        rows.append(("tainted", f"the code changed while it ran: {changed or '-'}; {what_ran}"))
    if SECRET_IN_PATCH in record.flags:
        where = ", ".join(f"{f.path}:{f.line} ({f.kind})" for f in record.secret_findings[:10])
        refused = "looks secret; repro export refuses the run"
        rows.append(("secret in patch", f"{where or 'the patch'} {refused}"))
    return rows


_INTERPRETER_SOURCES = {
    "VIRTUAL_ENV": "the active virtual environment, $VIRTUAL_ENV",
    "CONDA_PREFIX": "the active conda environment, $CONDA_PREFIX",
    "PATH": "the first python3 on PATH",
    "repro": "the Python that runs repro",
    "rerun": "the original run's",
}


def _interpreter(cmd: CommandInfo) -> str:
    source = _INTERPRETER_SOURCES.get(cmd.interpreter_source or "")
    return f"{cmd.interpreter} ({source})" if cmd.interpreter and source else cmd.interpreter or "-"


def _tree_rows(trees: Sequence[TreeRef]) -> list[tuple[str, str]]:
    return [
        (
            t.path,
            f"{count(t.files, 'file')}, {format_bytes(t.bytes)}, blake3 {t.digest[:16]}"
            + (f", {len(t.skipped)} skipped" if t.skipped else "")
            + (f" (from {t.origin})" if t.origin else ""),
        )
        for t in trees
    ]


def _not_imported_rows(record: RunRecord) -> list[tuple[str, str]]:
    if not record.outputs or record.imported is None or record.imported.output_files:
        return []
    return [("files", "not imported: the bundle held only their manifests")]


_PREEXISTING_SHOWN = 5


def _preexisting_rows(record: RunRecord) -> list[tuple[str, str]]:
    kept = record.preexisting_outputs
    if kept is None:
        return []
    names = ", ".join(kept.paths[:_PREEXISTING_SHOWN])
    more = kept.count - min(len(kept.paths), _PREEXISTING_SHOWN)
    return [
        (
            "not this run's",
            f"{count(kept.count, 'file')} there before the run and left as they were "
            f"(not archived): {names}" + (f", … and {more} more" if more else ""),
        )
    ]


def _metrics_rows(record: RunRecord) -> list[tuple[str, str]]:
    m = record.metrics
    if m is None:
        return [("file", f"{record.metrics_file} (nothing read)")] if record.metrics_file else []
    several = len(set(m.sources.values())) > 1  # then each metric says where it came from
    return [("source", f"{m.source}, {m.points} values")] + [
        (name, f"{value:.6g} (final" + (f", {m.sources[name]})" if several else ")"))
        for name, value in sorted(m.final.items())
    ]


def _rerun_rows(record: RunRecord) -> list[tuple[str, str]]:
    if record.rerun_of is None:
        return []
    rows = [("rerun of", record.rerun_of)]
    v = record.verdict
    if v is not None:
        rows.append(("verdict", f"{v.outcome}: {v.reason}"))
        rows += [(f"cause {i}", cause) for i, cause in enumerate(v.causes, 1)]
        rows += [("ignored", rule) for rule in v.ignore]  # output files it did not compare
    info = record.rerun
    if info is not None:
        rows += [("data drift", line) for line in info.data_drift]
        rows += [("data remapped", f"{old} -> {new}") for old, new in info.data_remap.items()]
        rows += [("environment", line) for line in info.environment_drift[:10]]
        if info.recreated_env:
            rows.append(("rebuilt env", f"{info.recreated_env} (--recreate-env)"))
        rows += [("not rebuilt", line) for line in info.env_left_out]
        if info.worktree:
            rows.append(("worktree kept", info.worktree))
    return rows


def _finals(metrics: dict[str, float]) -> str:
    return " ".join(f"{name}={value:.4g}" for name, value in sorted(metrics.items()))


def show_json(record: RunRecord, status: str, reruns: Sequence[RunSummary] = ()) -> dict[str, Any]:
    document: dict[str, Any] = to_json_dict(record)
    document["status"] = status
    nodes = nodes_of(record.facts.processes) if record.facts else None
    document["nodes"] = to_json_dict(nodes) if nodes is not None else None
    document["reruns"] = [{"id": r.id, "status": r.status, "verdict": r.verdict} for r in reruns]
    return document


def _short_time(iso: str) -> str:
    return iso.replace("T", " ")[:16]  # to the minute: the ID orders runs of one minute


# --- repro fsck / repro gc ---------------------------------------------------------------
def fsck_lines(report: FsckReport) -> list[str]:
    lines = [f"repaired: {item}" for item in report.repaired]
    lines += [f"note: {item}" for item in report.notes]
    lines += [f"damage: {item}" for item in report.damage]
    lines.append(
        f"checked {report.objects} objects and {report.runs} runs; index rebuilt with "
        f"{report.indexed} runs; {len(report.repaired)} repaired, {len(report.damage)} damaged"
    )
    return lines


def gc_lines(report: GcReport) -> list[str]:
    verb = "would remove" if report.dry_run else "removed"
    lines = [f"{verb} {digest}" for digest in report.removed]
    lines.append(
        f"{verb} {len(report.removed)} unreferenced objects ({format_bytes(report.bytes_freed)}); "
        f"kept {report.kept_referenced} referenced and {report.kept_recent} recent ones"
    )
    if report.joins:
        lines.append(
            f"{verb} {report.joins} join file(s) of groups no supervisor can join any more"
        )
    return lines


def gc_envs_lines(report: EnvsRemoved) -> list[str]:
    verb = "would remove" if report.dry_run else "removed"
    lines = [
        f"{verb} {env.key} ({format_bytes(env.size)}, last used {_span(env.idle)} ago)"
        for env in report.removed
    ]
    lines.append(
        f"{verb} {len(report.removed)} rebuilt environment(s), "
        f"{'would free' if report.dry_run else 'freed'} {format_bytes(report.freed)}; "
        f"kept {len(report.in_use)} in use by a rerun and {len(report.recent)} used within "
        f"{_span(report.grace)} (--grace SECONDS)"
    )
    return lines


def _span(seconds: float) -> str:
    """A time span at the coarsest unit that is at least one: `3 days`, `5 hours`, `0 minutes`."""
    for unit, size in (("day", 86400), ("hour", 3600)):
        if seconds >= size:
            return count(int(seconds // size), unit)
    return count(int(seconds // 60), "minute")
