"""Project checks: dependencies pinned or locked, datasets declared."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from repro_run.audit.requirements import Declarations
from repro_run.core.humanize import count
from repro_run.models import Finding

LOCK_FILES = (
    "uv.lock",
    "poetry.lock",
    "pdm.lock",
    "Pipfile.lock",
    "pixi.lock",
    "conda-lock.yml",
    "requirements.lock",
)
_EVIDENCE = 10
_DATA_NAME = re.compile(r"data", re.IGNORECASE)
_DATA_SUFFIXES = (
    *(".csv", ".tsv", ".parquet", ".jsonl", ".npy", ".npz", ".h5", ".hdf5", ".arrow"),
    *(".feather", ".tfrecord", ".tfrecords", ".zarr", ".lmdb", ".mat"),
)
# A relative path in quotes; one starting with "." (.venv, .repro, ../) is not the project's data.
_LITERAL = re.compile(r"""["']([\w.][\w./-]{0,200})["']""")
_MAX_WALK = 1000


def dependency_findings(declarations: Declarations, tracked: Iterable[str]) -> list[Finding]:
    names = {PurePosixPath(p).name for p in tracked}
    if any(n in LOCK_FILES or n.endswith((".lock", "-lock.yml")) for n in names):
        return []
    if not declarations.files:
        return [
            Finding(
                "no-dependencies-declared",
                "medium",
                "implementation",
                "no dependency list: the packages a run used cannot be installed again",
                ("no requirements*.txt, [project] dependencies, environment.yml or lock file",),
                "write the exact versions: `pip freeze > requirements.txt`, or `uv lock`",
            )
        ]
    unpinned = [
        f"{r.where}: {r.text}"
        for r in declarations.requirements
        if not r.pinned and r.kind != "extra"
    ]
    if not unpinned:
        return []
    return [
        Finding(
            "unpinned-dependencies",
            "medium",
            "implementation",
            f"{count(len(unpinned), 'dependency', 'dependencies')} without an exact version "
            "and no lock file",
            _evidence(unpinned),
            "pin with == or commit a lock file (uv lock, pip-compile, pip freeze); repro "
            "records what was installed, but a fresh install may resolve newer releases",
        )
    ]


def requirement_findings(unmet: Sequence[str], interpreter: str) -> list[Finding]:
    """`unmet`: "file:line: requirement (installed X)" for each requirement not met."""
    if not unmet:
        return []
    return [
        Finding(
            "requirement-not-met",
            "high",
            "implementation",
            f"{count(len(unmet), 'declared requirement')} not met by the packages of "
            f"{interpreter}: runs use other versions than the project declares",
            _evidence(list(unmet)),
            "install what the project declares (pip install -r requirements.txt, or "
            "pip install -e .), or correct the declaration",
        )
    ]


def data_evidence(root: Path, tracked: Sequence[str], code: Mapping[str, str]) -> list[str]:
    """Signs of data that git does not track: a data-like directory that holds files, or a
    data-like path that the code names and that exists. A project without either has no data
    to declare."""
    tracked_set = set(tracked)
    tracked_dirs = {p.split("/", 1)[0] for p in tracked}
    evidence = []
    try:
        tops = sorted(e for e in root.iterdir() if e.is_dir())
    except OSError:
        tops = []
    for top in tops:
        if _DATA_NAME.search(top.name) and top.name not in tracked_dirs and _holds_files(top):
            evidence.append(f"{top.name}/ looks like data and is not in git")
    for rel, text in code.items():
        for number, line in enumerate(text.splitlines(), 1):
            for literal in _LITERAL.findall(line):
                path = re.sub(r"^(?:\./)+", "", literal).strip("/")
                data_like = _DATA_NAME.search(path.split("/", 1)[0]) or path.endswith(
                    _DATA_SUFFIXES
                )
                if not data_like or path.startswith(".") or not (root / path).exists():
                    continue
                if path not in tracked_set and not any(t.startswith(f"{path}/") for t in tracked):
                    evidence.append(f"{rel}:{number} names {path}, which is not in git")
    return evidence


def _holds_files(directory: Path) -> bool:
    """Whether any file lies within `directory`, looking at a bounded number of entries."""
    for seen, path in enumerate(directory.rglob("*")):
        if seen >= _MAX_WALK:
            return True  # that many entries: something is there
        if path.is_file():
            return True
    return False


def data_findings(
    root: Path,
    declared: Sequence[str],
    candidates: Sequence[str],
    *,
    source: str,
    recorded: bool = False,
) -> list[Finding]:
    """Datasets: declared in `[tool.repro] data` (or given with --data to the recorded runs)."""
    if not declared and recorded:
        return []  # the runs fingerprint their data through --data
    if declared:
        missing = [d for d in declared if not (root / d).exists()]
        if not missing:
            return []
        return [
            Finding(
                "missing-data",
                "high",
                "observation",
                "a declared dataset is missing",
                tuple(f"{source}: {d} (not found)" for d in missing),
                "fix the path in [tool.repro] data, or fetch the data",
            )
        ]
    if not candidates:
        return []  # no sign of data: nothing to declare
    return [
        Finding(
            "undeclared-data",
            "medium",
            "observation",
            "no dataset declared: runs record no fingerprint of their data",
            (f"no [tool.repro] data in {source}", *_evidence(list(candidates))),
            'declare it once: [tool.repro] data = ["data"] in pyproject.toml '
            "(or `repro run --data PATH`), so every run fingerprints it",
        )
    ]


def _evidence(items: list[str]) -> tuple[str, ...]:
    extra = [f"... {len(items) - _EVIDENCE} more"] if len(items) > _EVIDENCE else []
    return tuple(items[:_EVIDENCE] + extra)
