"""What a recorded package list pins, as the lines pip and uv consume: one requirement per
distribution (`name==version` from an index, `name @ URL` for a direct URL or a VCS commit),
the recorded indexes as options, and why a distribution cannot be rebuilt.

One piece of code for `repro show --packages --format` and `repro rerun --recreate-env`.
Requirement syntax: https://pip.pypa.io/en/stable/reference/requirements-file-format/
"""

from __future__ import annotations

import re

from repro_run.core.humanize import printable
from repro_run.core.record import Record
from repro_run.models.environment import Package, PackageIndexes, PackageList

# "cpython" is uv's name for it: `uv venv --python cpython@3.12.3`
_UV_IMPLEMENTATIONS = {"CPython": "cpython", "PyPy": "pypy", "GraalVM": "graalpy"}


# https://packaging.python.org/en/latest/specifications/name-normalization/ and the characters
# of a PEP 440 version (local labels included: 2.5.1+cpu)
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_VERSION = re.compile(r"[A-Za-z0-9.+!_-]+")


class Pin(Record):
    """One recorded distribution, as a rebuild sees it."""

    name: str
    version: str
    requirement: str | None  # the line pip and uv install it from; None: not rebuildable so
    why_not: str | None = None  # why it cannot be rebuilt (a local directory, a local file)
    project: str | None = None  # the project itself, at this directory of the work tree


def pins(packages: PackageList) -> tuple[Pin, ...]:
    """Each distribution of `packages`, sorted by name, with how to install it again."""
    return tuple(_pin(p) for p in sorted(packages.packages, key=lambda p: p.name.lower()))


def _pin(p: Package) -> Pin:
    name, version = _one_line(p.name), _one_line(p.version)
    if not _NAME.fullmatch(p.name) or not _VERSION.fullmatch(p.version):
        # A crafted record (an imported bundle) must not pass options to pip or uv.
        return Pin(name, version, None, "not a valid distribution name and version")
    if p.project is not None:
        return Pin(name, version, None, "the project itself", project=p.project)
    if p.editable is not None:
        return Pin(name, version, None, f"an editable install of {_one_line(p.editable)}")
    reference = p.vcs or p.url
    if reference is not None and reference.startswith("file:"):
        return Pin(name, version, None, f"installed from a local file ({_one_line(reference)})")
    if reference is not None and not any(c.isspace() for c in reference):
        return Pin(name, version, f"{name} @ {reference}")
    if reference is not None:
        return Pin(name, version, None, f"a reference with spaces ({_one_line(reference)})")
    return Pin(name, version, f"{name}=={version}")


def index_options(indexes: PackageIndexes | None) -> list[str]:
    """The recorded indexes as requirement-file options (pip's and uv's spelling)."""
    if indexes is None:
        return []
    options = [f"--index-url {_one_line(indexes.index_url)}"] if indexes.index_url else []
    options += [f"--extra-index-url {_one_line(url)}" for url in indexes.extra_index_urls]
    options += [f"--find-links {_one_line(url)}" for url in indexes.find_links]
    return options


def requirements_lines(packages: PackageList) -> list[str]:
    """A requirements.txt for `pip install -r` (`--format requirements`): the index options,
    then the pins; what cannot be rebuilt is a comment saying why."""
    lines = index_options(packages.indexes)
    if packages.indexes is None:
        lines.append("# no package indexes recorded (an older record): the pins come from PyPI")
    for pin in pins(packages):
        if pin.requirement is not None:
            lines.append(pin.requirement)
        else:
            lines.append(f"# {pin.name}=={pin.version} cannot be rebuilt: {pin.why_not}")
    return lines


def uv_lines(packages: PackageList) -> list[str]:
    """`--format uv`: the requirements with the `uv` commands that build them exactly: the
    recorded Python, each pin from whichever recorded index serves it (`+cpu` builds)."""
    python = uv_python(packages)
    return [
        f"# uv venv --python {python} ENV",
        "# uv pip install --python ENV --no-deps --index-strategy unsafe-best-match -r THIS_FILE",
        *requirements_lines(packages),
    ]


def uv_python(packages: PackageList) -> str:
    """The recorded interpreter as uv requests it: `cpython@3.12.3` (the version alone when
    the implementation was not recorded)."""
    version = _one_line(packages.python_version)
    implementation = _UV_IMPLEMENTATIONS.get(packages.python_implementation or "")
    return f"{implementation}@{version}" if implementation else version


def freeze_lines(packages: PackageList) -> list[str]:
    """The list as `pip freeze --all` writes one: sorted by name, case-insensitively;
    `name==version`, `name @ URL` for a direct URL or VCS reference, and an editable install
    as `-e LOCATION` after a comment naming its version (whether the location is under version
    control was not recorded, so pip's `-e git+URL` form is not used).
    https://pip.pypa.io/en/stable/cli/pip_freeze/
    """
    return [
        line
        for package in sorted(packages.packages, key=lambda p: p.name.lower())
        for line in _freeze(package)
    ]


def _freeze(p: Package) -> list[str]:
    pinned = f"{_one_line(p.name)}=={_one_line(p.version)}"
    if p.editable is not None:
        return [f"# Editable install ({pinned})", f"-e {_one_line(p.editable)}"]
    reference = p.vcs or p.url
    return [f"{_one_line(p.name)} @ {_one_line(reference)}" if reference else pinned]


# `repro show --packages --format NAME` of the pip list (`conda` writes the conda list).
FORMATS = {"freeze": freeze_lines, "requirements": requirements_lines, "uv": uv_lines}


def _one_line(value: str) -> str:
    """Recorded text kept on its line: a newline in a hostile direct_url.json must not make a
    requirement line of its own; other control characters are escaped as everywhere."""
    return printable(value).replace("\n", "\\x0a").replace("\t", "\\x09")
