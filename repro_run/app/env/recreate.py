"""The recorded environment of a run, rebuilt for its rerun (or found already built): what it
pins, what cannot be rebuilt, its cache key; and the project itself, installed from the
rerun's worktree.

The project (an editable install inside the work tree) is not installed into the cached
environment, which every rerun shares and nothing changes. Each rerun installs it, editable
as it was, from its worktree into an overlay of its own beside the worktree (`uv pip install
--target`, removed with the worktree): its metadata, entry points, console scripts and
compiled extensions are then what its install gave the original run. Python reads `.pth`
files only in site directories, not on PYTHONPATH, so the directories the overlay's `.pth`
files name go on PYTHONPATH ahead of the overlay itself, as `site` would put them on sys.path;
a `.pth` that runs code (an import-hook editable install: setuptools' strict mode,
meson-python) cannot be honoured that way, and the project is then installed as a wheel.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

from repro_run.app.env import cache
from repro_run.app.env.build import build_env, install_project
from repro_run.app.query import load_package_list
from repro_run.capture.sources import capture_indexes, mark_project
from repro_run.core.errors import (
    EnvironmentNotRebuildableError,
    PackagesUnavailableError,
    UnsafeRecordError,
)
from repro_run.core.record import Record, replace
from repro_run.models import RunRecord, Unavailable
from repro_run.models.requirements import index_options, pins, uv_python
from repro_run.store import Store


class BuiltEnv(Record):
    key: str  # the digest of (pins, indexes, Python, platform): its directory's name
    prefix: Path  # the environment (a virtual environment)
    python: str  # its interpreter
    reused: bool  # built by an earlier rerun
    project: tuple[str, ...]  # the project's directories, relative to the work tree's root
    project_names: tuple[str, ...]  # its distributions: installed from the worktree instead
    index_args: tuple[str, ...]  # the recorded indexes, as uv's options (the project's build)
    left_out: tuple[str, ...]  # "name==version: why" not rebuilt (--allow-partial-env)
    notes: tuple[str, ...]  # for the user: an older record, where the project comes from


@contextlib.contextmanager
def recreated_env(
    store: Store, original: RunRecord, root: Path, *, allow_partial: bool
) -> Iterator[BuiltEnv]:
    """The environment `original` ran in, built with uv unless already cached, and held (no
    `repro gc --envs` removes it) until the block ends."""
    listed = load_package_list(store, original)
    if isinstance(listed, Unavailable):
        raise PackagesUnavailableError(
            f"run {original.id} has no package list to rebuild: {listed.reason}"
        )
    notes: list[str] = []
    if listed.indexes is None:
        users = os.environ.get("VIRTUAL_ENV") or sys.prefix  # the user's venv: its pip.conf
        listed = replace(listed, indexes=capture_indexes(os.environ, users, root))
        where = ", ".join(index_options(listed.indexes)) or "PyPI"
        notes.append(
            f"run {original.id}'s record has no package sources (an older repro): its pins are "
            f"installed by name from the indexes configured here ({where})"
        )
    listed = mark_project(listed, root)
    every = pins(listed)
    left_out = [f"{p.name}=={p.version}: {p.why_not}" for p in every if p.why_not and not p.project]
    if left_out and not allow_partial:
        raise EnvironmentNotRebuildableError(
            f"run {original.id}'s package {left_out[0]} cannot be rebuilt"
            + (f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else "")
            + ": --allow-partial-env rebuilds the rest and reports it as a difference"
        )
    requirements = [p.requirement for p in every if p.requirement is not None]
    index_args = [part for option in index_options(listed.indexes) for part in option.split(" ", 1)]
    python = uv_python(listed)
    here = f"{sys.platform}-{platform.machine()}"
    digest = json.dumps([requirements, index_args, python, here]).encode()
    key = hashlib.sha256(digest).hexdigest()[:32]
    project = tuple(_inside(p.project, original.id) for p in every if p.project is not None)
    project_names = tuple(p.name for p in every if p.project is not None)
    notes += [
        f"the project ({p.name}) is installed from the rerun's worktree" for p in every if p.project
    ]
    with cache.in_use(key):
        prefix = cache.published(key)
        reused = prefix is not None
        if prefix is None:
            marker = {"python": python, "platform": here, "index_args": index_args,
                      "requirements": requirements, "built_for": original.id}  # fmt: skip
            prefix = cache.publish(
                key, lambda staging: build_env(staging, python, requirements, index_args, marker)
            )
        python_path = str(prefix / "bin" / "python")
        yield BuiltEnv(
            key, prefix, python_path, reused, project, project_names, tuple(index_args),
            tuple(left_out), tuple(notes),
        )  # fmt: skip


def _inside(relative: str, run_id: str) -> str:
    """The project's directory, refused when a (crafted) record puts it outside the work tree:
    building it would run whatever build code lies there."""
    normal = os.path.normpath(relative)
    if os.path.isabs(normal) or normal == ".." or normal.startswith(f"..{os.sep}"):
        raise UnsafeRecordError(
            f"run {run_id}'s project directory {relative!r} is outside the repository"
        )
    return normal


class ProjectOverlay(Record):
    """The project installed for one rerun: what goes first on its PYTHONPATH and PATH."""

    python_path: tuple[str, ...]  # the directories the `.pth` files name, then the overlay
    bin: str | None  # the project's console scripts


def install_overlay(built: BuiltEnv, tree: Path, overlay: Path) -> ProjectOverlay:
    """The project's directories of the worktree `tree` installed into `overlay`, editable
    when each `.pth` it writes only names directories, else as a wheel (module docstring)."""
    if not built.project:
        return ProjectOverlay((), None)
    for editable in (True, False):
        shutil.rmtree(overlay, ignore_errors=True)
        for relative in built.project:
            install_project(built.python, tree / relative, overlay, built.index_args,
                            editable=editable)  # fmt: skip
        named = _pth_directories(overlay)
        if named is not None:
            break
    scripts = overlay / "bin"
    return ProjectOverlay(
        (*(named or ()), str(overlay)), str(scripts) if scripts.is_dir() else None
    )


def _pth_directories(site: Path) -> list[str] | None:
    """The directories the `.pth` files of `site` add to sys.path, as `site.addsitedir` reads
    them (https://docs.python.org/3/library/site.html); None when one runs code."""
    found: list[str] = []
    for pth in sorted(site.glob("*.pth")):
        for line in pth.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(("import ", "import\t")):
                return None
            if line.strip() and not line.startswith("#"):
                directory = os.path.normpath(site / line.rstrip())
                if os.path.isdir(directory) and directory not in found:
                    found.append(directory)
    return found
