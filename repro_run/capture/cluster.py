"""Whether this `repro run` is one of several supervisors of one launch, and which one.

`srun -n 2 repro run train.py` starts one supervisor per Slurm task; `repro run -- torchrun
--nnodes 2 ...` on each node starts one per node; `--join NAME` names the group outright. Those
of one Slurm job step, one torchrun rendezvous or one name record one run, each its own part.
Pure: reads the arguments and the environment it is given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from repro_run.core.record import Record
from repro_run.models import PartInfo

# torchrun options that take no value (torch/distributed/run.py); every other one takes one.
_TORCHRUN_FLAGS = frozenset(
    {"--standalone", "--no-python", "--no_python", "--run-path", "--run_path", "-m", "--module"}
    | {"--virtual-local-rank", "--virtual_local_rank"}
)
_TORCHRUN_MODULES = ("torch.distributed.run", "torch.distributed.launch")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
SLURM_JOIN = "slurm step"  # how a run joined by its Slurm step says so


class Joined(Record):
    """A supervisor's group: the key all of them compute alike, and this one's part."""

    key: str
    part: PartInfo
    # A Slurm step's key is never used again, so its run takes parts until all its tasks
    # came, however early one ends; a rendezvous ID or a --join name may be used again
    # tomorrow, so their run closes once a part has ended.
    reused: bool = True


def joined_part(
    argv: Sequence[str], environ: Mapping[str, str], hostname: str, join: str | None = None
) -> Joined | None:
    """This supervisor's group and part, or None when it records a run alone."""
    slurm = _slurm_step(environ)
    task = _int(environ.get("SLURM_PROCID")) if slurm else None
    name = _NAME_UNSAFE.sub("_", f"{hostname}-{task if task is not None else os.getpid()}")
    if join is not None:
        return Joined(key=f"join:{join}", part=PartInfo(name, f"--join {join}", task=task))
    if slurm is not None:
        key, label, nodes, tasks = slurm
        part = PartInfo(name, label, task, nodes, tasks, expected=tasks)
        return Joined(key=key, part=part, reused=False)
    torchrun = _torchrun_rendezvous(argv)
    if torchrun is None:
        return None
    key, label, nodes, nproc = torchrun
    in_all = nodes * nproc if nodes is not None and nproc is not None else None
    return Joined(key=key, part=PartInfo(name, label, None, nodes, in_all, expected=nodes))


# Programs that start ranks (processes with RANK or SLURM_PROCID), and what says this
# supervisor is inside a Slurm job or is a rank itself.
_RANK_LAUNCHERS = frozenset(
    {"torchrun", "srun", "mpirun", "mpiexec", "deepspeed", "accelerate", "horovodrun"}
)
_RANK_VARIABLES = ("SLURM_JOB_ID", "SLURM_PROCID", "RANK")


def may_start_ranks(argv: Sequence[str], environ: Mapping[str, str]) -> bool:
    """Whether the command may start ranks: a launcher on its command line (torchrun, srun,
    `python -m torch.distributed.run`, ...), or repro inside a Slurm job or a rank itself.
    Only then are the ranks handed what they would each read alike (hook/host.py)."""
    if any(name in environ for name in _RANK_VARIABLES):
        return True
    return any(os.path.basename(arg) in _RANK_LAUNCHERS or arg in _TORCHRUN_MODULES for arg in argv)


def group_seed(run_id: str) -> int:
    """The seed every part of a run draws alike when none is given: from the run's ID, whose
    random part makes it differ from run to run as a random seed does."""
    import zlib  # a small C module; only a run of several supervisors needs it

    return zlib.crc32(run_id.encode())


def step_shape(environ: Mapping[str, str]) -> tuple[int | None, int] | None:
    """(nodes, tasks) of the Slurm job step this process is a task of; None outside one (a
    batch script or `salloc` shell is no step: `srun` starts one)."""
    if not environ.get("SLURM_JOB_ID") or environ.get("SLURM_STEP_ID") is None:
        return None
    tasks = _int(environ.get("SLURM_STEP_NUM_TASKS") or environ.get("SLURM_NTASKS"))
    nodes = _int(environ.get("SLURM_STEP_NUM_NODES") or environ.get("SLURM_NNODES"))
    return None if tasks is None else (nodes, tasks)


def _slurm_step(environ: Mapping[str, str]) -> tuple[str, str, int | None, int] | None:
    """(key, label, nodes, tasks) of the Slurm job step this supervisor is a task of, when the
    step has more than one task (`srun -n 1 repro run` records a run alone)."""
    shape = step_shape(environ)
    if shape is None or shape[1] < 2:
        return None
    job, step = environ["SLURM_JOB_ID"], environ["SLURM_STEP_ID"]
    cluster = environ.get("SLURM_CLUSTER_NAME", "")
    return f"slurm:{cluster}:{job}.{step}", f"{SLURM_JOIN} {job}.{step}", *shape


def _torchrun_rendezvous(argv: Sequence[str]) -> tuple[str, str, int | None, int | None] | None:
    """(key, label, nodes, processes per node) of a multi-node torchrun agent's rendezvous."""
    options = _torchrun_options(argv)
    if options is None:
        return None
    nodes = options.get("nnodes", "1")
    endpoint = options.get("rdzv-endpoint")
    if nodes == "1" or endpoint is None:  # one node, or no rendezvous shared with others
        return None
    rdzv_id = options.get("rdzv-id", "none")  # torchrun's own default
    per_node = options.get("nproc-per-node")
    return (
        f"torchrun:{rdzv_id}@{endpoint}",
        f"torchrun rendezvous {rdzv_id}",
        _int(nodes),
        _int(per_node) if per_node is not None else 1,
    )


def _torchrun_options(argv: Sequence[str]) -> dict[str, str] | None:
    """torchrun's own options (before the script), `_` spelled `-`; None: not torchrun."""
    for start, arg in enumerate(argv):
        if os.path.basename(arg) == "torchrun":
            break
        if arg in _TORCHRUN_MODULES and start > 0 and argv[start - 1] == "-m":
            break
    else:
        return None
    options: dict[str, str] = {}
    args = iter(argv[start + 1 :])
    for arg in args:
        if not arg.startswith("-") or arg == "--":
            break  # the training script: what follows is its own
        if arg in _TORCHRUN_FLAGS:
            continue
        name, sep, value = arg.lstrip("-").partition("=")
        options[name.replace("_", "-")] = value if sep else next(args, "")
    return options


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
