"""Records of a comparison between two runs: what `compare` builds and `ui_diff` renders.

A leaf, like `models`: the renderers may import it. The section table below is the one ranking
of "how likely is this to change the results" that `repro diff` orders its sections by and the
rerun verdict lists its likely causes by.
"""

from __future__ import annotations

import struct

from repro_run.core.humanize import count, format_bytes
from repro_run.core.record import Record, field

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# --- what happened to one field ------------------------------------------------------------
ADDED = "added"  # only in B
REMOVED = "removed"  # only in A
CHANGED = "changed"
UPGRADED = "upgraded"  # packages: B's version is newer
DOWNGRADED = "downgraded"
EQUAL = "equal"

# --- the state of one section --------------------------------------------------------------
DIFFERS = "differs"
SAME = "equal"
NOT_COMPARED = "not_compared"  # one side cannot have it (the current environment ran nothing)

CAUSE = "cause"  # what went into a run
RESULT = "result"  # what came out of it

CURRENT = "current"  # the label of the current environment and working tree


class SectionInfo(Record):
    name: str  # what `--section` and the JSON use
    title: str
    role: str  # CAUSE | RESULT
    about: str  # one line for `--help` and the docs


# Ranked: causes first, most likely to change a result first (data beats code beats config ...);
# then the results. The rerun verdict's "likely causes" use the same order.
SECTIONS: tuple[SectionInfo, ...] = (
    SectionInfo("data", "Data", CAUSE, "dataset digests and the files that changed"),
    SectionInfo("code", "Code", CAUSE, "commits, git diff --stat between them, patches"),
    SectionInfo("config", "Config", CAUSE, "hyperparameters, flattened to dotted keys"),
    SectionInfo("command", "Command", CAUSE, "arguments, working directory, executable"),
    SectionInfo("seed", "Seed", CAUSE, "the injected seed"),
    SectionInfo("packages", "Packages", CAUSE, "added, removed, upgraded, downgraded"),
    # Conda packages rank here when a numerics library (MKL, OpenBLAS, CUDA, libstdc++) is
    # among the changes, last among the causes otherwise (`compare.likely_causes`).
    SectionInfo("conda", "Conda packages", CAUSE, "conda-meta: version, build, channel"),
    SectionInfo("container", "Container", CAUSE, "runtime, image, image ID, labels"),
    SectionInfo("framework", "Framework", CAUSE, "facts recorded inside the child"),
    SectionInfo("gpu", "GPU and CUDA", CAUSE, "GPU, driver, CUDA, cuDNN, NCCL"),
    SectionInfo(
        "nodes", "Nodes", CAUSE, "world size; GPUs, driver, NCCL and its settings per node"
    ),
    SectionInfo("determinism", "Determinism", CAUSE, "determinism settings and threads"),
    SectionInfo("env", "Environment", CAUSE, "env vars (secret ones by name only)"),
    SectionInfo("system", "System", CAUSE, "Python, OS, kernel, glibc, CPU, memory"),
    SectionInfo("metrics", "Metrics", RESULT, "final values and deltas"),
    SectionInfo("outputs", "Outputs", RESULT, "output files that differ"),
    SectionInfo("resources", "Resources", RESULT, "status, exit code, duration, peak memory"),
    SectionInfo("parts", "Parts", RESULT, "each part of a run of several supervisors vs its own"),
)
SECTION_NAMES: tuple[str, ...] = tuple(s.name for s in SECTIONS)


def section_info(name: str) -> SectionInfo:
    for info in SECTIONS:
        if info.name == name:
            return info
    raise KeyError(name)


def rank_of(name: str) -> int:
    """1 for the section most likely to change results."""
    return SECTION_NAMES.index(name) + 1


def bitwise_equal(a: float, b: float) -> bool:
    """Same IEEE-754 bits, the rule for metric values everywhere: NaN equals the same NaN,
    0.0 differs from -0.0."""
    return struct.pack("<d", a) == struct.pack("<d", b)


# --- inputs that only a look at both sides can give ----------------------------------------
class DirectoryCount(Record):
    directory: str  # "" for the tree's top level
    added: int
    removed: int
    modified: int
    bytes_added: int
    bytes_removed: int


class FileChanges(Record):
    """File-level summary of two manifests of one dataset or output."""

    added: int
    removed: int
    modified: int
    bytes_added: int
    bytes_removed: int
    by_directory: tuple[DirectoryCount, ...]
    first_paths: tuple[str, ...]  # "+ path", "- path", "~ path", sorted by path


class FileStat(Record):
    """One line of `git diff --numstat`: lines added and deleted (None for a binary file)."""

    path: str
    added: int | None
    deleted: int | None


# --- the result ----------------------------------------------------------------------------
class FieldChange(Record):
    key: str
    change: str  # ADDED | REMOVED | CHANGED | UPGRADED | DOWNGRADED | EQUAL
    old: Any = None  # a JSON value (None when A has no such field)
    new: Any = None
    unit: str | None = None  # "bytes" | "seconds" when `old`/`new` are such numbers
    old_text: str = ""  # `old` as shown to a person (digests shortened, bytes in MB)
    new_text: str = ""
    details: tuple[str, ...] = ()  # human lines: manifest summary, git diff --stat, ...
    extra: dict[str, Any] = field(default_factory=dict)  # machine-readable details

    @property
    def differs(self) -> bool:
        return self.change != EQUAL


class SectionDiff(Record):
    name: str
    title: str
    rank: int
    role: str
    status: str  # DIFFERS | SAME | NOT_COMPARED
    summary: str  # one line: "2 parameters changed: optim.lr 0.1 → 0.05, ..."
    fields: tuple[FieldChange, ...]  # every field compared, equal ones included
    notes: tuple[str, ...] = ()

    @property
    def differs(self) -> bool:
        return self.status == DIFFERS

    @property
    def differences(self) -> tuple[FieldChange, ...]:
        return tuple(f for f in self.fields if f.differs)


class Side(Record):
    label: str  # a run ID, or CURRENT
    created: str | None = None  # ISO 8601 for a run
    command: str | None = None  # the run's argv, shell-quoted
    status: str | None = None  # the run's effective status

    @property
    def is_current(self) -> bool:
        return self.label == CURRENT


class RunComparison(Record):
    old: Side  # A
    new: Side  # B
    sections: tuple[SectionDiff, ...]  # ranked, most likely cause first

    @property
    def differs(self) -> bool:
        return any(s.differs for s in self.sections)

    def section(self, name: str) -> SectionDiff:
        for s in self.sections:
            if s.name == name:
                return s
        raise KeyError(name)

    def only(self, names: tuple[str, ...]) -> RunComparison:
        """The same comparison restricted to `names` (rank order kept)."""
        return RunComparison(self.old, self.new, tuple(s for s in self.sections if s.name in names))


DIRECTORIES_SHOWN = 5


def file_change_lines(c: FileChanges, directories_shown: int = DIRECTORIES_SHOWN) -> list[str]:
    """`train/: +3,201 files (+412.0 MB)` for the directories with the most changes, then the
    first changed paths (`+ train/a.png`), each list ending in how many more there are."""
    lines = []
    for d in c.by_directory[:directories_shown]:
        counts = [
            f"+{count(d.added, 'file')}" if d.added else "",
            f"-{count(d.removed, 'file')}" if d.removed else "",
            f"~{d.modified:,} modified" if d.modified else "",
        ]
        sizes = [
            f"+{format_bytes(d.bytes_added)}" if d.bytes_added else "",
            f"-{format_bytes(d.bytes_removed)}" if d.bytes_removed else "",
        ]
        size_text = ", ".join(s for s in sizes if s)
        where = f"{d.directory}/" if d.directory else "./"
        lines.append(
            f"{where}: {', '.join(s for s in counts if s)}"
            + (f" ({size_text})" if size_text else "")
        )
    if len(c.by_directory) > directories_shown:
        more = len(c.by_directory) - directories_shown
        lines.append(f"… and {more:,} more director{'y' if more == 1 else 'ies'}")
    lines += list(c.first_paths)
    total = c.added + c.removed + c.modified
    if total > len(c.first_paths):
        lines.append(f"… and {count(total - len(c.first_paths), 'more file')}")
    return lines
