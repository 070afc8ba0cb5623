"""The project's dependency declarations: each requirement, and the file and line stating it.

Read: requirements*.txt/.in at the root and under requirements/ (following `-r` within the
repository), pyproject.toml [project] dependencies and optional-dependencies, setup.cfg
install_requires, environment.yml (conda entries and its `pip:` list), Pipfile [packages].
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from repro_run.core import toml
from repro_run.core.record import Record

_REQUIREMENTS_NAME = re.compile(r"requirements[\w.-]*\.(txt|in)")
# PEP 508 without URLs: name, extras, then a version specifier (maybe in parentheses).
_REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*"
    r"(?:(?P<url>@.*)|\(?(?P<spec>[\s\w.*+!<>=~,-]*?)\)?)\s*"
)
_CONDA = re.compile(r"(?:[\w.-]+::)?(?P<name>[A-Za-z0-9][\w.-]*)\s*(?P<rest>.*)")
_INCLUDE = re.compile(r"(?:-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(?P<path>\S+)")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2")
_MAX_FILES = 64  # requirement files read, `-r` includes included: a cycle or a fan-out stops
_MAX_BYTES = 1 << 20  # of each file: declarations are small; a huge one is not read whole


class Requirement(Record):
    name: str  # normalised (PEP 503): `Foo_Bar` -> `foo-bar`
    spec: str  # PEP 440 specifier set; "" for any version
    marker: str  # PEP 508 environment marker; "" for everywhere
    where: str  # "requirements.txt:3"
    text: str  # as written
    pinned: bool  # an exact version or a direct reference: a fresh install gets the same
    # "pip" (must be installed), "extra" (an optional group), "conda" (maybe not Python)
    kind: str = "pip"


class Declarations(Record):
    files: tuple[str, ...]  # the files that declare dependencies, in the order read
    requirements: tuple[Requirement, ...]


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements(root: Path, tracked: Iterable[str]) -> Declarations:
    paths = sorted(set(tracked))
    files: list[str] = []
    found: list[Requirement] = []
    queue = [
        p
        for p in paths
        if (_REQUIREMENTS_NAME.fullmatch(p) or p.startswith("requirements/"))
        and p.endswith((".txt", ".in"))
    ]
    seen: set[str] = set()
    while queue and len(seen) < _MAX_FILES:
        rel = queue.pop(0)
        if rel in seen:
            continue
        seen.add(rel)
        files.append(rel)
        requirements, includes = _requirements_file(rel, _read(root / rel))
        found += requirements
        queue += [i for i in (_inside(root, rel, p) for p in includes) if i is not None]
    readers = {
        "pyproject.toml": _pyproject,
        "setup.cfg": _setup_cfg,
        "environment.yml": _environment_yml,
        "environment.yaml": _environment_yml,
        "Pipfile": _pipfile,
    }
    for name, reader in readers.items():
        if name in paths:
            requirements = reader(name, _read(root / name))
            if requirements:
                files.append(name)
                found += requirements
    return Declarations(tuple(files), tuple(found))


def parse_requirement(text: str, where: str, kind: str = "pip") -> Requirement | None:
    """One PEP 508 requirement; None for what is not one (a path, a URL, an option)."""
    requirement, _, marker = text.partition(";")
    match = _REQUIREMENT.fullmatch(requirement)
    if match is None or (match["url"] is None and requirement.strip().endswith(_ARCHIVES)):
        return None  # a local file or directory, installed by path
    spec = " ".join((match["spec"] or "").split())
    return Requirement(
        normalise_name(match["name"]),
        spec.replace(" ", ""),
        marker.strip(),
        where,
        text.strip(),
        match["url"] is not None or "==" in spec,
        kind,
    )


def _requirements_file(rel: str, text: str) -> tuple[list[Requirement], list[str]]:
    """pip's format: `\\` continues a line, ` #` starts a comment, `-r FILE` includes one."""
    found: list[Requirement] = []
    includes: list[str] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start, line = number + 1, lines[number]
        while line.endswith("\\") and number + 1 < len(lines):
            number += 1
            line = line[:-1] + lines[number]
        number += 1
        line = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        include = _INCLUDE.fullmatch(line)
        if include is not None:
            includes.append(include["path"])
        elif line and not line.startswith("-"):  # -c, -e, --index-url...: not requirements
            line = re.split(r"\s--?[a-z]", line, maxsplit=1)[0]  # per-line --hash options
            requirement = parse_requirement(line, f"{rel}:{start}")
            if requirement is not None:
                found.append(requirement)
    return found, includes


def _inside(root: Path, including: str, target: str) -> str | None:
    """`-r target` seen in `including`, relative to the root; None when outside the repository."""
    resolved = (root / PurePosixPath(including).parent / target).resolve()
    try:
        rel = resolved.relative_to(root.resolve())
    except ValueError:
        return None
    return rel.as_posix() if resolved.is_file() else None


def _pyproject(rel: str, text: str) -> list[Requirement]:
    try:
        project = toml.loads(text).get("project", {})
    except (toml.TOMLDecodeError, AttributeError):
        return []
    if not isinstance(project, dict):
        return []
    groups: list[tuple[str, object]] = [("pip", project.get("dependencies", []))]
    extras = project.get("optional-dependencies", {})
    if isinstance(extras, dict):
        groups += [("extra", entries) for entries in extras.values()]
    found = []
    for kind, entries in groups:
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, str):
                found.append(parse_requirement(entry, f"{rel}:{_line_of(text, entry)}", kind))
    return [r for r in found if r is not None]


def _setup_cfg(rel: str, text: str) -> list[Requirement]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
        value = parser.get("options", "install_requires", fallback="")
    except configparser.Error:
        return []
    entries = [line.strip() for line in value.splitlines()]
    found = [
        parse_requirement(e, f"{rel}:{_line_of(text, e)}")
        for e in entries
        if e and not e.startswith("#")
    ]
    return [r for r in found if r is not None]


def _environment_yml(rel: str, text: str) -> list[Requirement]:
    """The `dependencies:` list, line by line (for line numbers): conda specs, then `pip:`."""
    found: list[Requirement | None] = []
    in_dependencies, pip_indent = False, -1
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if not item:
            continue
        if indent == 0:
            in_dependencies, pip_indent = item == "dependencies:", -1
            continue
        if not in_dependencies or not item.startswith("- "):
            continue
        spec = item[2:].strip().strip("\"'")
        if spec == "pip:":
            pip_indent = indent
        elif 0 <= pip_indent < indent:
            found.append(parse_requirement(spec, f"{rel}:{number}"))
        else:
            pip_indent = -1
            found.append(_conda_requirement(spec, f"{rel}:{number}"))
    return [r for r in found if r is not None]


def _conda_requirement(text: str, where: str) -> Requirement | None:
    """A conda match spec: `numpy=1.26` means 1.26.*, `numpy==1.26` and `numpy 1.26` exact."""
    match = _CONDA.fullmatch(text)
    if match is None:
        return None
    rest = match["rest"].strip()
    if rest[:1].isdigit() or re.match(r"=[^=]", rest):  # `numpy 1.26`, `numpy=1.26=build`
        version = re.split(r"[=\s]", rest.lstrip("="))[0]
        fuzzy = rest.startswith("=") or version.endswith("*")
        spec = f"=={version.rstrip('.*')}.*" if fuzzy else f"=={version}"
    else:  # `>=1.2,<2`, `==1.2=build`: conda's build string is not a version
        spec = re.sub(r"(?<=[\d*])=[^,|]*$", "", rest.split()[0]) if rest else ""
    pinned = spec.startswith("==")
    return Requirement(normalise_name(match["name"]), spec, "", where, text, pinned, "conda")


def _pipfile(rel: str, text: str) -> list[Requirement]:
    try:
        packages = toml.loads(text).get("packages", {})
    except (toml.TOMLDecodeError, AttributeError):
        return []
    found = []
    for name, value in packages.items() if isinstance(packages, dict) else []:
        key = re.compile(rf"\s*[\"']?{re.escape(name)}[\"']?\s*=")
        number = next((n for n, line in enumerate(text.splitlines(), 1) if key.match(line)), 0)
        table = value if isinstance(value, dict) else {"version": value}
        version = table.get("version", "*")
        marker = table.get("markers", "")
        direct = any(k in table for k in ("git", "path", "file", "ref"))
        spec = "" if direct or version == "*" or not isinstance(version, str) else version
        found.append(
            Requirement(
                normalise_name(name),
                spec.replace(" ", ""),
                marker if isinstance(marker, str) else "",
                f"{rel}:{number}",
                f"{name}{spec}",
                direct or "==" in spec,
            )
        )
    return found


def _line_of(text: str, entry: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if entry in line:
            return number
    return 0


def _read(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return f.read(_MAX_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""
