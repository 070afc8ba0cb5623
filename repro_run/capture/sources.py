"""Where a run's distributions came from: the package indexes in effect (pip's and uv's
settings: config files, then environment variables; credentials removed) and which editable
install is the project itself. Read in the capture thread, never at launch.

pip: https://pip.pypa.io/en/stable/topics/configuration/ (files global, user, site, then
PIP_CONFIG_FILE; `[install]` over `[global]`; PIP_* variables over files).
uv: https://docs.astral.sh/uv/concepts/configuration-files/ (system, user, then the project's
uv.toml or pyproject.toml `[tool.uv]`; UV_* variables over files).
Which of the two installed a distribution is not known, so the indexes of both are recorded.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from repro_run.core import toml
from repro_run.core.record import replace
from repro_run.core.redaction import redact_url
from repro_run.models import PackageIndexes, PackageList

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# (kind, url, origin); kind: "index" (the default one), "extra" or "links"
_Setting = tuple[str, str, str]


def with_sources(packages: PackageList, environ: Mapping[str, str], root: Path) -> PackageList:
    """`packages` with the indexes in effect and the project marked (`mark_project`)."""
    prefix = os.path.dirname(os.path.dirname(packages.interpreter))
    return replace(mark_project(packages, root), indexes=capture_indexes(environ, prefix, root))


def mark_project(packages: PackageList, root: Path) -> PackageList:
    """`packages` with each editable install inside the work tree at `root` marked as the
    project (its directory relative to `root`)."""
    marked = []
    for package in packages.packages:
        if package.editable is not None and package.project is None:
            relative = os.path.relpath(package.editable, root)
            if relative != ".." and not relative.startswith(f"..{os.sep}"):
                package = replace(package, project=relative)
        marked.append(package)
    return replace(packages, packages=tuple(marked))


def capture_indexes(environ: Mapping[str, str], prefix: str, project: Path) -> PackageIndexes:
    """The indexes pip and uv would use for the interpreter at `prefix` in `project`."""
    found = _pip_settings(environ, prefix) + _uv_settings(environ, project)
    default = next((s for s in found if s[0] == "index"), None)
    extras: list[str] = []
    links: list[str] = []
    for kind, url, _ in found:
        target = links if kind == "links" else extras
        if (default is None or url != default[1]) and url not in target:
            target.append(url)
    origins = dict.fromkeys(origin for _, _, origin in found)
    return PackageIndexes(
        index_url=default[1] if default else None,
        extra_index_urls=tuple(extras),
        find_links=tuple(links),
        origins=tuple(origins),
    )


def _pip_settings(environ: Mapping[str, str], prefix: str) -> list[_Setting]:
    config_file = environ.get("PIP_CONFIG_FILE")
    files: list[str] = []
    if config_file != os.devnull:
        xdg_dirs = environ.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files += [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs.split(os.pathsep) if d]
        files.append("/etc/pip.conf")
        home = environ.get("HOME", "")
        xdg_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        if home:
            files.append(os.path.join(home, ".pip", "pip.conf"))
        files.append(os.path.join(xdg_home, "pip", "pip.conf"))
        files.append(os.path.join(prefix, "pip.conf"))
        if config_file:
            files.append(config_file)
    values: dict[str, tuple[str, str]] = {}  # option -> (value, origin): the last one wins
    files = [path for path in files if os.path.isfile(path)]
    if files:  # configparser costs ~1 ms to import, at every run; most machines have no pip.conf
        import configparser
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue  # pip would refuse it too; nothing to record from it
        for section in ("global", "install"):
            for option in ("index-url", "extra-index-url", "find-links"):
                if parser.has_option(section, option):
                    values[option] = (parser.get(section, option), path)
    for option in ("index-url", "extra-index-url", "find-links"):
        variable = "PIP_" + option.upper().replace("-", "_")
        if environ.get(variable):
            values[option] = (environ[variable], variable)
    kinds = {"index-url": "index", "extra-index-url": "extra", "find-links": "links"}
    return [
        (kinds[option], redact_url(url), origin)
        for option, (value, origin) in values.items()
        for url in value.split()
    ]


def _uv_settings(environ: Mapping[str, str], project: Path) -> list[_Setting]:
    home = environ.get("HOME", "")
    xdg_home = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = [Path("/etc/uv/uv.toml"), Path(xdg_home, "uv", "uv.toml")]
    if environ.get("UV_CONFIG_FILE"):
        files = [Path(environ["UV_CONFIG_FILE"])]
    elif (project / "uv.toml").is_file():
        files.append(project / "uv.toml")
    else:
        files.append(project / "pyproject.toml")
    found: list[_Setting] = []
    if not environ.get("UV_NO_CONFIG"):
        for path in files:
            found += _uv_file(path)
    for variable, kind, separator in (
        ("UV_INDEX_URL", "index", None),
        ("UV_DEFAULT_INDEX", "index", None),
        ("UV_EXTRA_INDEX_URL", "extra", None),
        ("UV_INDEX", "extra", None),
        ("UV_FIND_LINKS", "links", ","),
    ):
        for value in (environ.get(variable) or "").split(separator):
            if value.strip():  # UV_INDEX entries may be named: "pytorch=https://..."
                url = value.strip().partition("=")[2] if "=" in value.split("://")[0] else value
                found.insert(0, (kind, redact_url(url.strip()), variable))
    return found


def _uv_file(path: Path) -> list[_Setting]:
    try:
        document: dict[str, Any] = toml.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, toml.TOMLDecodeError):
        return []
    settings = document if path.name == "uv.toml" else document.get("tool", {}).get("uv", {})
    if not isinstance(settings, dict):
        return []
    found: list[_Setting] = []
    for entry in settings.get("index") or ():
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            found.append(("index" if entry.get("default") else "extra", entry["url"], str(path)))
    for key, kind in (
        ("index-url", "index"),
        ("extra-index-url", "extra"),
        ("find-links", "links"),
    ):
        value = settings.get(key)
        for url in [value] if isinstance(value, str) else value if isinstance(value, list) else ():
            if isinstance(url, str):
                found.append((kind, url, str(path)))
    return [(kind, redact_url(url), origin) for kind, url, origin in found]
