"""What a comparison compares: two snapshots (a run, or the current environment) and the facts
that only a look at both sides gives (file-level manifest changes, commits between them).

`app` builds these from the store, git and the capture modules; everything in `compare` is a
pure function of them.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from repro_run.core.record import Record, field
from repro_run.models import (
    CodeState,
    CommandInfo,
    CondaList,
    ConfigFile,
    ContainerInfo,
    CudaLibraries,
    Determinism,
    EnvCapture,
    GpuInfo,
    NodeTable,
    PackageList,
    PartSummary,
    ProcessResult,
    RunRecord,
    SystemInfo,
    TreeRef,
    Unavailable,
    nodes_of,
)
from repro_run.models.comparison import FileChanges, FileStat, RunComparison, Side


class RunFacts(Record):
    """What only a run has: the current environment has run nothing."""

    command: CommandInfo
    determinism: Determinism
    outputs: tuple[TreeRef, ...]
    process: ProcessResult | None
    status: str
    framework: Mapping[str, str] = field(default_factory=dict)  # facts from inside the child
    metrics: Mapping[str, float] = field(default_factory=dict)  # final value per metric
    nodes: NodeTable | None = None  # its ranks' nodes (None: no ranked process)
    parts: tuple[PartSummary, ...] = ()  # a run several supervisors recorded: each one's part


class Snapshot(Record):
    side: Side
    code: CodeState
    configs: tuple[ConfigFile, ...]
    data: tuple[TreeRef, ...]
    packages: PackageList | Unavailable
    system: SystemInfo
    gpu: GpuInfo | Unavailable
    cuda: CudaLibraries | Unavailable
    env: EnvCapture
    run: RunFacts | None  # None for the current environment
    conda: CondaList | Unavailable | None = None  # None: not a conda environment
    container: ContainerInfo | Unavailable | None = None  # None: no container seen


class CodeHistory(Record):
    """Commits between the two sides, from git (both commits must exist to have a stat)."""

    missing_commits: tuple[str, ...] = ()  # not in this repository (rebased, force-pushed)
    stat: tuple[FileStat, ...] | None = None  # `git diff --numstat A B`, None when not asked
    unavailable: str | None = None  # why git could not be asked at all


class PairFacts(Record):
    # (old manifest digest, new manifest digest) -> file changes, or why they are unknown
    trees: Mapping[tuple[str, str], FileChanges | str] = field(default_factory=dict)
    code: CodeHistory = field(default_factory=CodeHistory)
    # section name -> what the caller could not gather ("configs/a.yaml is missing now")
    notes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # (part of A, part of B) -> the comparison of their records, or why there is none
    parts: Mapping[tuple[str, str], RunComparison | str] = field(default_factory=dict)


def snapshot_of_record(
    record: RunRecord,
    packages: PackageList | Unavailable,
    *,
    conda: CondaList | Unavailable | None = None,
    status: str | None = None,
    framework: Mapping[str, str] | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Snapshot:
    """A run's side; `packages` is the PackageList its `PackagesRef` points to (from the store),
    `conda` the CondaList its `CondaRef` does."""
    return Snapshot(
        side=Side(
            label=record.id,
            created=record.created,
            command=shlex.join(record.command.argv),
            status=status or record.status,
        ),
        code=record.code,
        configs=record.configs,
        data=record.data,
        packages=packages,
        system=record.system,
        gpu=record.gpu,
        cuda=record.cuda,
        env=record.env,
        conda=conda,
        container=record.container,
        run=RunFacts(
            command=record.command,
            determinism=record.determinism,
            outputs=record.outputs,
            process=record.process,
            status=status or record.status,
            framework=dict(framework or {}),
            metrics=dict(metrics or {}),
            nodes=nodes_of(record.facts.processes) if record.facts else None,
            parts=record.parts,
        ),
    )


T = TypeVar("T")


def pair_up(
    old: Sequence[T],
    new: Sequence[T],
    *,
    key: str = "path",
    name: Callable[[str], str] = str,
) -> list[tuple[str, T | None, T | None]]:
    """Match items by their path (as `name` gives it); one unmatched item on each side is taken
    as the same thing moved (`--data data/v1` then `--data data/v2`), keyed "old → new"."""
    before = {name(str(getattr(item, key))): item for item in old}
    after = {name(str(getattr(item, key))): item for item in new}
    only_old = [p for p in before if p not in after]
    only_new = [p for p in after if p not in before]
    pairs: list[tuple[str, T | None, T | None]] = []
    if len(only_old) == 1 and len(only_new) == 1:
        moved_from, moved_to = only_old[0], only_new[0]
        pairs.append((f"{moved_from} → {moved_to}", before[moved_from], after[moved_to]))
        only_old, only_new = [], []
    for p in before:
        if p in after:
            pairs.append((p, before[p], after[p]))
    pairs += [(p, before[p], None) for p in only_old]
    pairs += [(p, None, after[p]) for p in only_new]
    return pairs


def tree_pairs(old: Sequence[TreeRef], new: Sequence[TreeRef]) -> list[tuple[TreeRef, TreeRef]]:
    """The trees (datasets or outputs) paired across the sides whose digests differ: those a
    comparison shows file-level changes for (`PairFacts.trees`, keyed by the two digests)."""
    return [
        (a, b)
        for _, a, b in pair_up(old, new)
        if a is not None and b is not None and a.digest != b.digest
    ]
