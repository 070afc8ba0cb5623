"""`repro doctor`: audit the project and this machine against the sources of irreproducibility.

Findings follow Gundersen et al. 2022 ("Sources of irreproducibility in machine learning: a
review", https://arxiv.org/abs/2204.07610): algorithmic factors (seeds, shuffling, unseeded
generators), implementation factors (code state, dependencies, determinism switches, threads,
hardware) and observation factors (data). Reads only: nothing is written, nothing is run.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from repro_run.audit import code, machine, project
from repro_run.capture import git, gpu
from repro_run.constants import PYPROJECT_FILENAME, STORE_DIRNAME
from repro_run.determinism import user_overrides
from repro_run.errors import ConfigError, NoCommitsError, NotAGitRepositoryError, StoreError
from repro_run.models import SEVERITIES, ChildFacts, DoctorReport, Finding, GpuInfo
from repro_run.project import ProjectSettings, load_project_settings
from repro_run.store import Store, find_store_dir

_PAST_RUNS = 20  # recorded runs whose GPUs are compared with this machine's


def doctor(cwd: Path, warn: Callable[[str], None] | None = None) -> DoctorReport:
    cwd = cwd.resolve()
    findings: list[Finding] = []
    checks: list[str] = []
    root, tracked = _code_state(cwd, findings, checks)
    settings = _settings(root, findings)
    checks.append("dependencies pinned or locked")
    findings += project.dependency_findings(root, tracked)
    past, latest, with_data = _recorded_runs(root, warn)
    checks.append("datasets declared ([tool.repro] data, or --data in recorded runs)")
    findings += project.data_findings(
        root,
        settings.data,
        _data_candidates(root, tracked),
        source=PYPROJECT_FILENAME,
        recorded=with_data,
    )
    checks.append("seed fixed ([tool.repro] seed)")
    findings += machine.seed_findings(settings.seed, PYPROJECT_FILENAME)
    checks.append("environment: determinism variables and thread counts")
    findings += machine.override_findings(user_overrides(os.environ))
    findings += machine.thread_findings(os.environ, os.cpu_count())
    checks.append(f"code: {sum(p.endswith('.py') for p in tracked)} Python files scanned")
    hits = [h for rel in tracked if rel.endswith(".py") for h in _scan(root, rel)]
    checks.append("GPUs: kinds on this machine, and those of recorded runs")
    current = gpu.capture_gpu()
    findings += machine.gpu_findings(current, past)
    if latest is not None:
        checks.append(f"facts recorded inside run {latest[0]}")
        hits += machine.facts_hits(*latest)
    findings += code.findings(hits)
    order = {severity: i for i, severity in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order.get(f.severity, len(order)), f.code))
    return DoctorReport(str(root), tuple(checks), tuple(findings))


def _code_state(cwd: Path, findings: list[Finding], checks: list[str]) -> tuple[Path, list[str]]:
    checks.append("code: committed, clean work tree")
    try:
        root = git.find_work_tree(cwd)
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


def _scan(root: Path, rel: str) -> list[code.Hit]:
    try:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return code.scan_source(rel, text)


def _data_candidates(root: Path, tracked: list[str]) -> list[str]:
    """Top-level directories named like data that git does not track."""
    tracked_tops = {p.split("/", 1)[0] for p in tracked}
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    return [
        e.name
        for e in entries
        if e.is_dir()
        and "data" in e.name.lower()
        and e.name not in tracked_tops
        and e.name != STORE_DIRNAME
    ]


def _recorded_runs(
    root: Path, warn: Callable[[str], None] | None
) -> tuple[list[tuple[str, GpuInfo]], tuple[str, ChildFacts] | None, bool]:
    """GPUs of recent runs, (id, facts) of the newest with facts, whether any recorded data."""
    store_dir = find_store_dir(root)
    if store_dir is None or not store_dir.exists():
        return [], None, False
    past: list[tuple[str, GpuInfo]] = []
    latest: tuple[str, ChildFacts] | None = None
    with_data = False
    try:
        store = Store.open(store_dir, warn=warn)
        for summary in store.list_runs(limit=_PAST_RUNS):
            record = store.load_record(summary.id)
            if isinstance(record.gpu, GpuInfo):
                past.append((record.id, record.gpu))
            if latest is None and record.facts is not None and record.facts.processes:
                latest = (record.id, record.facts)
            with_data = with_data or bool(record.data)
    except (StoreError, OSError):
        pass  # a broken store is `repro fsck`'s business, not a reproducibility finding
    return past, latest, with_data
