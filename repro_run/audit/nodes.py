"""`repro doctor` on the latest distributed run: nodes that differ, ranks that left no facts."""

from __future__ import annotations

from repro_run.models import Finding, NodeTable
from repro_run.models.nodes import TITLES

_EVIDENCE = 12  # lines of evidence per finding


def node_findings(run_id: str, table: NodeTable) -> list[Finding]:
    found: list[Finding] = []
    evidence = [
        f"{TITLES.get(key, key)}: "
        + "; ".join(
            f"{n.node} {n.cells[key] if key in n.cells else n.env.get(key, 'unset')}"
            for n in table.nodes
        )
        for key in table.differing
    ]
    if len(table.world_sizes) > 1:
        evidence.insert(0, f"world size: {', '.join(table.world_sizes)}")
    if evidence:
        found.append(
            Finding(
                "nodes-differ",
                "high",
                "implementation",
                f"the nodes of run {run_id} differ: the same program computes other bits on "
                "another GPU model, driver, NCCL or NCCL setting",
                tuple(evidence[:_EVIDENCE]),
                "run on nodes of one kind (Slurm: --constraint or --nodelist), set NCCL_* in "
                "the job script for every node, and check out one commit everywhere",
            )
        )
    if table.missing:
        found.append(
            Finding(
                "ranks-missing",
                "medium",
                "observation",
                f"{len(table.missing)} rank(s) of run {run_id} left no (exit) facts",
                tuple(
                    f"rank {m.rank}{f' on {m.node}' if m.node else ''}: {m.reason}"
                    for m in table.missing[:_EVIDENCE]
                ),
                "keep REPRO_HOME on a filesystem every node shares; a killed rank's cause is "
                "in the scheduler's accounting (sacct) or the kernel log (out of memory)",
            )
        )
    return found
