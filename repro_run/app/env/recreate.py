"""The recorded environment of a run, rebuilt for its rerun (or found already built): what it
pins, what cannot be rebuilt, its cache key, and the directories of the project itself.

The project (an editable install inside the work tree) is not installed into the cached
environment, which is shared by every rerun and never changes: its directory in the rerun's
worktree goes first on the child's sys.path instead, which is what its editable install did.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from collections.abc import Iterator
from pathlib import Path

from repro_run.app.env import cache
from repro_run.app.env.build import build_env
from repro_run.app.query import load_package_list
from repro_run.capture.sources import capture_indexes, mark_project
from repro_run.core.errors import EnvironmentNotRebuildableError, PackagesUnavailableError
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
    project_names: tuple[str, ...]  # its distributions: imported from the worktree instead
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
    project = tuple(p.project for p in every if p.project is not None)
    project_names = tuple(p.name for p in every if p.project is not None)
    notes += [
        f"the project ({p.name}) is imported from the rerun's worktree" for p in every if p.project
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
            key, prefix, python_path, reused, project, project_names, tuple(left_out), tuple(notes)
        )


def project_dirs(built: BuiltEnv, tree: Path) -> tuple[str, ...]:
    """The worktree's directories of the project, as its editable install put them on sys.path:
    `src/` when the project has one (the src layout), else the project's own directory."""
    found = []
    for relative in built.project:
        directory = tree / relative
        found.append(str(directory / "src" if (directory / "src").is_dir() else directory))
    return tuple(found)
