"""Pure comparison of two runs (or a run and the current environment), ranked by likely cause.

The API the CLI's `repro diff` and the rerun verdict share:

- `compare_snapshots(old, new, facts) -> RunComparison`: every section, in rank order;
- `likely_causes(comparison)`: the differing cause sections, most likely first;
- `snapshot_of_record(record, packages)`, `tree_pairs(...)`: building the inputs.

`app.diff.compare_records(store, old, new)` does the I/O (objects, git) around these.
"""

from __future__ import annotations

from repro_run.compare.conda import conda_section, container_section, numerics_changed
from repro_run.compare.environment import env_section, gpu_section, packages_section, system_section
from repro_run.compare.fields import not_compared
from repro_run.compare.inputs import (
    code_section,
    command_section,
    config_section,
    determinism_section,
    seed_section,
)
from repro_run.compare.nodes import nodes_section
from repro_run.compare.parts import pair_parts, parts_section
from repro_run.compare.results import (
    framework_section,
    metrics_section,
    resources_section,
    trees_section,
)
from repro_run.compare.snapshot import (
    CodeHistory,
    PairFacts,
    RunFacts,
    Snapshot,
    pair_up,
    snapshot_of_record,
    tree_pairs,
)
from repro_run.core.record import replace
from repro_run.models.comparison import CAUSE, SECTION_NAMES, RunComparison, SectionDiff

__all__ = [
    "CodeHistory",
    "PairFacts",
    "RunFacts",
    "Snapshot",
    "compare_snapshots",
    "likely_causes",
    "pair_parts",
    "pair_up",
    "snapshot_of_record",
    "tree_pairs",
]


def compare_snapshots(
    old: Snapshot, new: Snapshot, facts: PairFacts | None = None
) -> RunComparison:
    """Compare every section of A (`old`) and B (`new`); sections come in rank order."""
    facts = facts or PairFacts()
    sections = [
        trees_section("data", old.data, new.data, facts),
        code_section(old, new, facts.code),
        config_section(old, new),
        packages_section(old, new),
        conda_section(old, new),
        container_section(old, new),
        gpu_section(old, new),
        env_section(old, new),
        system_section(old, new),
    ]
    a, b = old.run, new.run
    if a is not None and b is not None:
        sections += [
            command_section(a.command, b.command),
            seed_section(a.determinism, b.determinism),
            framework_section(a.framework, b.framework),
            nodes_section(a.nodes, b.nodes),
            determinism_section(a.determinism, b.determinism),
            metrics_section(a.metrics, b.metrics),
            trees_section("outputs", a.outputs, b.outputs, facts),
            resources_section(a.status, b.status, a.process, b.process),
            parts_section(a.parts, b.parts, facts.parts),
        ]
    else:
        reason = "only a run has this: the current environment has not run anything"
        for name in (
            "command",
            "seed",
            "framework",
            "nodes",
            "determinism",
            "metrics",
            "outputs",
            "resources",
            "parts",
        ):
            sections.append(not_compared(name, reason))
    ordered = sorted(
        (replace(s, notes=s.notes + tuple(facts.notes.get(s.name, ()))) for s in sections),
        key=lambda s: SECTION_NAMES.index(s.name),
    )
    return RunComparison(old.side, new.side, tuple(ordered))


def likely_causes(comparison: RunComparison) -> tuple[SectionDiff, ...]:
    """The cause sections that differ, most likely to have changed the results first.

    Conda packages rank where their section does when a numerics library (MKL, OpenBLAS, CUDA,
    libstdc++) changed, and last otherwise: an openssl or tzdata update changes no result."""
    causes = [s for s in comparison.sections if s.role == CAUSE and s.differs]
    return tuple(sorted(causes, key=lambda s: s.name == "conda" and not numerics_changed(s)))
