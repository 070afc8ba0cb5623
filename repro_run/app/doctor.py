"""`repro doctor`: audit the project and this machine against the sources of irreproducibility.

Findings follow Gundersen et al. 2022 ("Sources of irreproducibility in machine learning: a
review", https://arxiv.org/abs/2204.07610): algorithmic factors (seeds, shuffling, unseeded
generators), implementation factors (code state, dependencies, determinism switches, threads,
hardware) and observation factors (data). Reads only: nothing is written, and nothing is run
but the package scan of the interpreter that `repro run x.py` would use.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from repro_run.app.workspace import Workspace
from repro_run.audit import code, machine, nodes, project, requirements
from repro_run.capture import git, gpu, packages
from repro_run.compare.markers import marker_applies
from repro_run.compare.specifiers import spec_contains
from repro_run.core.constants import PYPROJECT_FILENAME
from repro_run.core.errors import ConfigError, NoCommitsError, NotAGitRepositoryError, StoreError
from repro_run.core.humanize import count
from repro_run.determinism import user_overrides
from repro_run.execute import user_python
from repro_run.models import (
    SEVERITIES,
    ChildFacts,
    DoctorReport,
    Finding,
    GpuInfo,
    NodeTable,
    Unavailable,
    nodes_of,
)
from repro_run.settings import ProjectSettings, load_project_settings

_PAST_RUNS = 20  # recorded runs whose GPUs are compared with this machine's


def doctor(workspace: Workspace) -> DoctorReport:
    findings: list[Finding] = []
    checks: list[str] = []
    root, tracked = _code_state(workspace, findings, checks)
    settings = _settings(root, findings)
    checks.append("dependencies pinned or locked")
    declarations = requirements.declared_requirements(root, tracked)
    findings += project.dependency_findings(declarations, tracked)
    findings += _requirements_met(declarations, checks)
    sources = {rel: _read(root / rel) for rel in tracked if rel.endswith(".py")}
    past, latest, distributed, with_data = _recorded_runs(workspace)
    checks.append("datasets declared ([tool.repro] data, or --data in recorded runs)")
    findings += project.data_findings(
        root,
        settings.data,
        project.data_evidence(root, tracked, sources),
        source=PYPROJECT_FILENAME,
        recorded=with_data,
    )
    checks.append("seed fixed ([tool.repro] seed)")
    findings += machine.seed_findings(settings.seed, PYPROJECT_FILENAME)
    checks.append("environment: determinism variables and thread counts")
    findings += machine.override_findings(user_overrides(os.environ))
    findings += machine.thread_findings(os.environ, os.cpu_count())
    checks.append(f"code: {len(sources)} Python files scanned")
    hits = [h for rel, text in sources.items() for h in code.scan_source(rel, text)]
    checks.append("GPUs: kinds on this machine, and those of recorded runs")
    current = gpu.capture_gpu()
    findings += machine.gpu_findings(current, past)
    if latest is not None:
        checks.append(f"facts recorded inside run {latest[0]}")
        hits += machine.facts_hits(*latest)
    if distributed is not None:
        run_id, table = distributed
        checks.append(
            f"nodes of run {run_id}: {len(table.nodes)} node(s), {table.rank_count} rank(s)"
        )
        findings += nodes.node_findings(run_id, table)
    findings += code.findings(hits)
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order.get(f.severity, len(order)), f.code))
    return DoctorReport(str(root), tuple(checks), tuple(findings))


def _code_state(
    workspace: Workspace, findings: list[Finding], checks: list[str]
) -> tuple[Path, list[str]]:
    checks.append("code: committed, clean work tree")
    cwd = workspace.cwd
    try:
        root = workspace.work_tree()
        status = git.tree_status(root)
    except (NotAGitRepositoryError, NoCommitsError) as exc:
        findings.append(
            Finding(
                "no-commit",
                "high",
                "implementation",
                "the code is not committed: a run cannot name the code it ran",
                (str(exc),),
                "git init, then git add -A && git commit",
            )
        )
        return cwd, [p.relative_to(cwd).as_posix() for p in cwd.glob("*.py")]
    if status.is_dirty:
        findings.append(
            Finding(
                "dirty-tree",
                "high",
                "implementation",
                f"{len(status.dirty)} uncommitted changes: the commit does not describe the code",
                tuple(f"{d.state}: {d.path}" for d in status.dirty[:10]),
                "commit or stash them (repro run refuses a dirty tree unless --allow-dirty)",
            )
        )
    return root, git.tracked_files(root)


def _settings(root: Path, findings: list[Finding]) -> ProjectSettings:
    try:
        return load_project_settings(root)
    except ConfigError as exc:
        findings.append(
            Finding(
                "invalid-config",
                "high",
                "implementation",
                "[tool.repro] cannot be read",
                (str(exc),),
                "fix pyproject.toml",
            )
        )
        return ProjectSettings()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _requirements_met(declarations: requirements.Declarations, checks: list[str]) -> list[Finding]:
    """Each declared requirement against what the interpreter of `repro run x.py` has installed."""
    if not declarations.requirements:
        return []
    python = user_python(os.environ, sys.executable)
    captured = packages.capture_packages(python.path)
    if isinstance(captured, Unavailable):
        checks.append(f"requirements not compared: {captured.reason}")
        return []
    listing = captured[0]
    checks.append(
        f"{count(len(declarations.requirements), 'declared requirement')} met by the packages "
        f"of {python.path} (chosen by {python.source}, as `repro run x.py` would)"
    )
    installed = {requirements.normalise_name(p.name): p.version for p in listing.packages}
    installed.setdefault("python", listing.python_version)  # environment.yml's `python=3.11`
    environment = _marker_environment(listing.python_version)
    unmet = []
    for r in declarations.requirements:
        if r.marker and marker_applies(r.marker, environment) is False:
            continue  # `; python_version < "3.11"` on 3.12: not for this interpreter
        version = installed.get(r.name)
        if version is None and r.kind == "pip":
            unmet.append(f"{r.where}: {r.text} (not installed)")
        elif version is not None and r.spec and spec_contains(r.spec, version) is False:
            unmet.append(f"{r.where}: {r.text} (installed {version})")
    return project.requirement_findings(unmet, python.path)


def _marker_environment(python_version: str) -> dict[str, str]:
    """PEP 508 marker variables: the interpreter's version, and this machine's platform."""
    return {
        "python_version": ".".join(python_version.split(".")[:2]),
        "python_full_version": python_version,
        "os_name": os.name,
        "sys_platform": sys.platform,
        "platform_system": platform.system(),
        "platform_machine": platform.machine(),
    }


def _recorded_runs(
    workspace: Workspace,
) -> tuple[
    list[tuple[str, GpuInfo]], tuple[str, ChildFacts] | None, tuple[str, NodeTable] | None, bool
]:
    """GPUs of recent runs, (id, facts) of the newest with facts, (id, nodes) of the newest
    with ranks, whether any recorded data."""
    if workspace.store_dir is None or not workspace.store_dir.exists():
        return [], None, None, False
    past: list[tuple[str, GpuInfo]] = []
    latest: tuple[str, ChildFacts] | None = None
    distributed: tuple[str, NodeTable] | None = None
    with_data = False
    try:
        store = workspace.store()
        for summary in store.list_runs(limit=_PAST_RUNS):
            record = store.load_record(summary.id)
            if isinstance(record.gpu, GpuInfo):
                past.append((record.id, record.gpu))
            if latest is None and record.facts is not None and record.facts.processes:
                latest = (record.id, record.facts)
            table = nodes_of(record.facts.processes) if record.facts else None
            if distributed is None and table is not None:
                distributed = (record.id, table)
            with_data = with_data or bool(record.data)
    except (StoreError, OSError):
        pass  # a broken store is `repro fsck`'s business, not a reproducibility finding
    return past, latest, distributed, with_data
