"""The nodes of a distributed run side by side, built from its ranks' facts.

`nodes_of(processes)` is a pure function of the facts the hook wrote (one `ProcessFacts` per
Python process): one supervisor's `runs/<id>/facts/`, or the parts of several supervisors put
together. A node is a host, or a host and its node rank (`GROUP_RANK`, `SLURM_NODEID`) where
several nodes share one host. Each cell is text, so a reader compares cells by equality; a
column whose cells differ between nodes is named in `differing`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from repro_run.core.record import Record
from repro_run.models.environment import ChildFacts, ProcessFacts

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# Facts that differ between ranks by design (the hook's facts.PER_PROCESS).
PER_PROCESS_FACTS = ("torch.cuda.current_device", "torch.distributed.rank", "gpu.uuid")

COLUMNS = ("gpus", "driver", "cuda", "nccl", "packages", "commit", "exit")
TITLES = {
    "gpus": "GPUs",
    "driver": "driver",
    "cuda": "CUDA",
    "nccl": "NCCL",
    "packages": "packages",
    "commit": "commit",
    "exit": "exit",
}
NODE_RANK_VARIABLES = ("GROUP_RANK", "SLURM_NODEID")  # torchrun's, Slurm's
NCCL_PREFIXES = ("NCCL_", "TORCH_NCCL_")
NONE = "-"  # not recorded (no GPU used, an older hook)
SECRET = "(not recorded: may be secret)"
NO_EXIT = "no exit facts"
_SHORT = 12  # digits of a commit or digest shown


class NodeEntry(Record):
    node: str  # the host name, "host (node 1)" where several nodes share a host
    ranks: tuple[str, ...]  # sorted by number
    cells: dict[str, str]  # column (COLUMNS) -> text
    env: dict[str, str]  # NCCL_* -> text (values of this node's ranks)


class MissingRank(Record):
    rank: str
    node: str | None  # where it started, when it did
    reason: str


class NodeTable(Record):
    nodes: tuple[NodeEntry, ...]  # ordered by their lowest rank
    world_sizes: tuple[str, ...]  # the distinct WORLD_SIZE (SLURM_NTASKS) the ranks saw
    missing: tuple[MissingRank, ...]
    differing: tuple[str, ...]  # columns, then NCCL_* names, whose cells differ between nodes

    @property
    def rank_count(self) -> int:
        return sum(len(n.ranks) for n in self.nodes)


def nodes_of(processes: Sequence[ProcessFacts]) -> NodeTable | None:
    """The node table of the ranked processes (RANK or SLURM_PROCID set); None: none is."""
    ranked = [p for p in processes if p.rank is not None]
    if not ranked:
        return None
    groups: dict[tuple[str, str | None], list[ProcessFacts]] = {}
    for p in ranked:
        groups.setdefault((p.hostname or "unknown host", _node_rank(p)), []).append(p)
    shared = {host for host, _ in groups if sum(1 for h, _ in groups if h == host) > 1}
    names = {key: f"{key[0]} (node {key[1]})" if key[0] in shared else key[0] for key in groups}
    nccl_names = sorted({n for p in ranked for n in p.launch_env if n.startswith(NCCL_PREFIXES)})
    entries = sorted(
        (_entry(names[key], members, nccl_names) for key, members in groups.items()),
        key=lambda e: _rank_key(e.ranks[0]),
    )
    differing = [c for c in COLUMNS if len({e.cells[c] for e in entries}) > 1]
    differing += [n for n in nccl_names if len({e.env[n] for e in entries}) > 1]
    world_sizes = tuple(sorted({p.world_size for p in ranked if p.world_size is not None}))
    missing = _missing(ranked, names, world_sizes)
    return NodeTable(tuple(entries), world_sizes, missing, tuple(differing))


def _node_rank(p: ProcessFacts) -> str | None:
    for name in NODE_RANK_VARIABLES:
        value = p.launch_env.get(name)
        if value is not None:
            return value
    return None


def _entry(node: str, members: list[ProcessFacts], nccl_names: list[str]) -> NodeEntry:
    members = sorted(members, key=lambda p: _rank_key(p.rank or ""))
    cells = {
        "gpus": _distinct(_gpu(p) for p in members),
        "driver": _distinct(_fact(p, "gpu.driver") for p in members),
        "cuda": _distinct(_fact(p, "torch.version.cuda") for p in members),
        "nccl": _distinct(_fact(p, "torch.nccl.version") for p in members),
        "packages": _distinct((p.packages_digest or NONE)[:_SHORT] for p in members),
        "commit": _distinct((p.commit or NONE)[:_SHORT] for p in members),
        "exit": _exits(members),
    }
    env = {n: _distinct(_env(p, n) for p in members) for n in nccl_names}
    return NodeEntry(node, tuple(p.rank or "" for p in members), cells, env)


def _gpu(p: ProcessFacts) -> str:
    name = p.facts.get("gpu.name")
    if name is None:
        return NONE
    sms = p.facts.get("gpu.sm_count")
    mig = ", MIG" if p.facts.get("gpu.mig_mode") == "enabled" else ""
    return f"{name} ({sms if sms is not None else '?'} SMs{mig})"


def _fact(p: ProcessFacts, key: str) -> str:
    value = p.facts.get(key)
    return NONE if value is None else str(value)


def _env(p: ProcessFacts, name: str) -> str:
    if name not in p.launch_env:
        return "unset"
    value = p.launch_env[name]
    return SECRET if value is None else value


def _distinct(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(values))


def _exits(members: list[ProcessFacts]) -> str:
    by_status: dict[str, list[str]] = {}
    for p in members:
        by_status.setdefault(exit_text(p), []).append(p.rank or "")
    if len(by_status) == 1:
        return next(iter(by_status))
    return "; ".join(f"{status} (rank {rank_ranges(r)})" for status, r in by_status.items())


def exit_text(p: ProcessFacts) -> str:
    """How one process ended, as the hook saw it."""
    if not p.exited:
        return NO_EXIT
    if p.exit_code is None:
        return "exited"
    return str(p.exit_code) if p.event in ("exit", "") else f"{p.exit_code} ({p.event})"


def _missing(
    ranked: list[ProcessFacts],
    names: dict[tuple[str, str | None], str],
    world_sizes: tuple[str, ...],
) -> tuple[MissingRank, ...]:
    found = [
        MissingRank(
            p.rank or "",
            names[(p.hostname or "unknown host", _node_rank(p))],
            "no exit facts: it started but never exited through Python (killed by a signal it "
            "could not handle, out of memory, os._exit), or it was still running",
        )
        for p in ranked
        if not p.exited
    ]
    present = {p.rank for p in ranked}
    sizes = [int(w) for w in world_sizes if w.isdigit()]
    for rank in range(max(sizes, default=0)):
        if str(rank) not in present:
            found.append(
                MissingRank(
                    str(rank),
                    None,
                    f"wrote no facts: the world size is {max(sizes)}, yet no file holds rank "
                    f"{rank} (killed before Python started, or its node cannot write the run "
                    "directory: REPRO_HOME must be on a filesystem every node shares)",
                )
            )
    return tuple(sorted(found, key=lambda m: _rank_key(m.rank)))


def _rank_key(rank: str) -> tuple[int, str]:
    return (int(rank), "") if rank.isdigit() else (-1, rank)


def rank_ranges(ranks: Sequence[str]) -> str:
    """ "0-3, 8": numeric ranks in runs, others as they are."""
    numbers = sorted({int(r) for r in ranks if r.isdigit()})
    parts: list[str] = []
    start = previous = None
    for n in [*numbers, None]:
        if n is not None and previous is not None and n == previous + 1:
            previous = n
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = n
    return ", ".join([*parts, *sorted({r for r in ranks if not r.isdigit()})])


def combined_facts(parts: Sequence[tuple[str, ChildFacts | None]]) -> ChildFacts | None:
    """The facts of a run several supervisors recorded, from each part's (name, facts): every
    process of every part, so ranks are compared across nodes as within one."""
    present = [(name, facts) for name, facts in parts if facts is not None]
    if not present:
        return None
    processes = [p for _, facts in present for p in facts.processes]
    problems = tuple(f"{name}: {problem}" for name, facts in present for problem in facts.problems)
    return ChildFacts(tuple(processes), disagreements(processes), problems)


def disagreements(processes: Sequence[ProcessFacts]) -> dict[str, dict[str, Any]]:
    """Facts on which the ranked processes differ: fact -> {process label: value}.

    A fact one rank has and another lacks (a framework imported on one rank only) counts.
    """
    ranked = [p for p in processes if p.rank is not None]
    if len(ranked) < 2:
        return {}
    keys = sorted({k for p in ranked for k in p.facts} - set(PER_PROCESS_FACTS))
    found: dict[str, dict[str, Any]] = {}
    for key in keys:
        first = ranked[0].facts.get(key)
        # Ranks mostly agree: a scalar every rank has, of one type, is told equal without
        # labels or stand-ins (1,000 ranks: bench/ranks.py).
        if type(first) in _SCALARS and all(
            type(v := p.facts.get(key)) is type(first) and v == first for p in ranked
        ):
            continue
        values = {p.label: p.facts.get(key) for p in ranked}
        if len({_comparable(v) for v in values.values()}) > 1:
            found[key] = values
    return found


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _comparable(value: Any) -> Any:
    """A hashable stand-in equal for equal JSON values (1, 1.0 and true differ)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return (type(value).__name__, value)
    return json.dumps(value, sort_keys=True)
