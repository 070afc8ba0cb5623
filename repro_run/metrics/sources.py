"""Where a run's metrics come from when it names none: metrics files it wrote under its outputs
or the usual log folders, `--metrics-file` globs, and each metric's source.

Only files written during the run count (modified since it started): a `version_0` folder an
earlier run left beside this run's `version_1` is not this run's. Walks are bounded in depth,
entries and files, never follow symlinks and skip hidden folders (`.git`, `.repro`, `.hydra`).
"""

from __future__ import annotations

import glob
import itertools
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from repro_run.metrics.read import TENSORBOARD, TRAINER_STATE, metrics_format
from repro_run.metrics.series import Series

LOG_FOLDERS = ("lightning_logs", "runs", "logs")  # Lightning, SummaryWriter's default, others
# Formats found without being named: JSON documents are left out (configs, predictions).
_DISCOVERED = frozenset({TENSORBOARD, TRAINER_STATE, "jsonl", "csv"})
MAX_DEPTH = 8
MAX_ENTRIES = 20_000
MAX_FILES = 64
# A file's mtime comes from the kernel's coarse clock, which may lag `time.time_ns()` by a tick
# (1-10 ms): a file written as the run starts must not look older than the run.
_CLOCK_SLACK_NS = 50_000_000


def written_since(path: Path, since_ns: int) -> bool:
    """A regular file (not a symlink) modified since `since_ns`."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_mtime_ns >= since_ns - _CLOCK_SLACK_NS


def expand_metrics_file(cwd: Path, pattern: str, since_ns: int) -> tuple[list[Path], list[str]]:
    """The files `--metrics-file` names: the path itself, or a glob's matches written during
    the run (`logs/**/metrics.csv`, `runs/*/events.out.tfevents.*`), sorted."""
    if not glob.has_magic(pattern):
        return [cwd / pattern], []
    matches = glob.iglob(pattern, root_dir=cwd, recursive=True)
    found = sorted(cwd / m for m in itertools.islice(matches, MAX_ENTRIES))
    written = [p for p in found if written_since(p, since_ns)][:MAX_FILES]
    if not written:
        return [], [f"--metrics-file {pattern}: no file matching it was written during the run"]
    return written, []


def discover_metrics_files(
    cwd: Path, outputs: Sequence[Path], since_ns: int
) -> list[tuple[Path, str]]:
    """(path, format) of the metrics files the run wrote under its outputs and the usual log
    folders, sorted; of several Hugging Face `trainer_state.json` (one per checkpoint), the
    newest, which holds the whole log history."""
    found: dict[Path, str] = {}
    for root in dict.fromkeys([*outputs, *(cwd / name for name in LOG_FOLDERS)]):
        for path in _walk(root):
            fmt = metrics_format(path.name)
            if fmt in _DISCOVERED and written_since(path, since_ns):
                found[path] = fmt
    states = [p for p, fmt in found.items() if fmt == TRAINER_STATE]
    for older in sorted(states, key=lambda p: os.lstat(p).st_mtime_ns)[:-1]:
        del found[older]
    return sorted(found.items())[:MAX_FILES]


def _walk(root: Path) -> Iterable[Path]:
    """Regular files under `root` (or `root` itself), breadth first, bounded."""
    if os.path.isfile(root) and not os.path.islink(root):
        yield root
        return
    entries = 0
    level = [root]
    for _ in range(MAX_DEPTH):
        below = []
        for folder in level:
            try:
                with os.scandir(folder) as it:
                    children = list(itertools.islice(it, MAX_ENTRIES - entries))
            except OSError:
                continue
            entries += len(children)
            for entry in children:
                if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
                    below.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)
            if entries >= MAX_ENTRIES:
                return
        level = sorted(below)


def source_label(fmt: str, path: Path, cwd: Path) -> str:
    """`tensorboard:runs/exp/events.out.tfevents.…`: the format and the path from the run's cwd."""
    try:
        shown = path.relative_to(cwd)
    except ValueError:
        shown = path
    return f"{fmt}:{shown}"


def merge_series(
    series: Series, sources: dict[str, str], found: Series, label: str, folder: str
) -> None:
    """Add `found` (from the source `label`, in `folder`) to `series`: the first source of a
    name keeps it; a later one's same name is qualified by its folder (`SummaryWriter`'s
    `add_scalars` writes each curve's tag into its own folder), and dropped if that is taken."""
    for name, points in found.items():
        for candidate in (name, f"{folder}/{name}"):
            if candidate not in series:
                series[candidate] = points
                sources[candidate] = label
                break
