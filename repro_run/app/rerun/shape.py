"""A rerun of a run several supervisors recorded (one per Slurm task): it replays only on a
job step of the same shape (nodes x tasks), each task its own part, judged against that part."""

from __future__ import annotations

from collections.abc import Mapping

from repro_run.capture.cluster import SLURM_JOIN, step_shape
from repro_run.core.errors import AllocationShapeError
from repro_run.models import RunRecord
from repro_run.store import Store


def part_to_replay(store: Store, original: RunRecord, environ: Mapping[str, str]) -> RunRecord:
    """What this rerun replays and is judged against: a plain run itself; a part of a Slurm
    step's run, the part of this task (SLURM_PROCID) in a step of the same shape, refused in
    any other place (AllocationShapeError: the one line names the shape it needs)."""
    part = original.part
    if part is None or not part.join.startswith(SLURM_JOIN):
        return original  # a torchrun rendezvous or --join: the command itself says its shape
    needed = (part.nodes, part.tasks)
    here = step_shape(environ)
    if here != needed:
        nodes = part.nodes or 1
        where = "no Slurm job step" if here is None else f"a step of {_shape(*here)}"
        raise AllocationShapeError(
            f"run {original.id} ran as {_shape(*needed)} ({part.join}), one repro per task; "
            f"this is {where}: rerun it as srun -N {nodes} -n {part.tasks} repro rerun "
            f"{original.id}"
        )
    task = environ.get("SLURM_PROCID")
    for record in store.part_records(original):
        if record.part is not None and str(record.part.task) == task:
            return record
    return original  # this task's part was never recorded: judged against the first part


def _shape(nodes: int | None, tasks: int | None) -> str:
    return f"{nodes or '?'} node(s) x {tasks or '?'} task(s)"
