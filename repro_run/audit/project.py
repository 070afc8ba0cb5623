"""Project checks: dependencies pinned or locked, datasets declared."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from repro_run import tomlread
from repro_run.formatting import count
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
_REQUIREMENTS = re.compile(r"requirements[\w.-]*\.(txt|in)")
_CONDA_PIN = re.compile(r"[^<>!~=]=[^=]")  # `numpy=1.26` pins in environment.yml
_EVIDENCE = 10


def dependency_findings(root: Path, tracked: Iterable[str]) -> list[Finding]:
    names = {PurePosixPath(p).name: p for p in tracked}
    locks = [n for n in names if n in LOCK_FILES or n.endswith((".lock", "-lock.yml"))]
    if locks:
        return []
    requirements = sorted(p for n, p in names.items() if _REQUIREMENTS.fullmatch(n))
    declared = [*requirements]
    unpinned: list[str] = []
    for rel in requirements:
        unpinned += _unpinned_requirements(rel, _read(root / rel))
    if "pyproject.toml" in names and (root / "pyproject.toml").exists():
        text = _read(root / "pyproject.toml")
        entries = _pyproject_dependencies(text)
        if entries:
            declared.append("pyproject.toml")
            unpinned += [
                f"pyproject.toml:{_line_of(text, e)}: {e}"
                for e in entries
                if "==" not in e and "@" not in e
            ]
    for name in ("environment.yml", "environment.yaml"):
        if name in names:
            declared.append(names[name])
            unpinned += _unpinned_conda(names[name], _read(root / names[name]))
    if not declared:
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
    evidence = (
        f"no [tool.repro] data in {source}",
        *(f"{c}/ looks like data and is not in git" for c in candidates),
    )
    return [
        Finding(
            "undeclared-data",
            "medium" if candidates else "low",
            "observation",
            "no dataset declared: runs record no fingerprint of their data",
            evidence,
            'declare it once: [tool.repro] data = ["data"] in pyproject.toml '
            "(or `repro run --data PATH`), so every run fingerprints it",
        )
    ]


def _unpinned_requirements(rel: str, text: str) -> list[str]:
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue  # comments, -r/-c/-e and index options
        if "==" not in line and "@" not in line:
            found.append(f"{rel}:{number}: {line}")
    return found


def _unpinned_conda(rel: str, text: str) -> list[str]:
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("- ") or line.endswith(":"):
            continue
        spec = line[2:].strip()
        if spec and "==" not in spec and not _CONDA_PIN.search(spec):
            found.append(f"{rel}:{number}: {spec}")
    return found


def _pyproject_dependencies(text: str) -> list[str]:
    try:
        project = tomlread.loads(text).get("project", {})
    except (tomlread.TOMLDecodeError, AttributeError):
        return []
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    return [d for d in dependencies if isinstance(d, str)]


def _line_of(text: str, entry: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if entry in line:
            return number
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _evidence(items: list[str]) -> tuple[str, ...]:
    extra = [f"... {len(items) - _EVIDENCE} more"] if len(items) > _EVIDENCE else []
    return tuple(items[:_EVIDENCE] + extra)
