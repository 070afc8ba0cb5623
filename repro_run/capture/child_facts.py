"""Facts recorded inside the child: the hook's files under runs/<id>/facts/, one per process.

Read after the child exits. The files come from the user's processes, so a malformed one is
reported as a problem, never trusted or fatal. Ranks (RANK / SLURM_PROCID) that disagree on a
fact are found here, so `repro show` and `repro diff` need not compare them again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from repro_run.core.constants import RUN_FACTS_DIRNAME
from repro_run.core.record import fields
from repro_run.core.redaction import is_secret_env
from repro_run.models import ChildFacts, DecodeError, ProcessFacts, from_json_dict
from repro_run.models.nodes import PER_PROCESS_FACTS, disagreements

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_MAX_FILES = 4096  # a runaway spawner must not make the record unbounded


def capture_child_facts(run_dir: Path) -> ChildFacts:
    directory = run_dir / RUN_FACTS_DIRNAME
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".json"))
    except FileNotFoundError:
        return ChildFacts()
    except OSError as exc:
        return ChildFacts(problems=(f"{RUN_FACTS_DIRNAME}/ cannot be read: {exc.strerror}",))
    processes: list[ProcessFacts] = []
    problems: list[str] = []
    if len(names) > _MAX_FILES:
        problems.append(f"{len(names)} facts files: only the first {_MAX_FILES} recorded")
    secret: dict[tuple[str, str], bool] = {}  # ranks share most values: each judged once
    for name in names[:_MAX_FILES]:
        try:
            processes.append(_read(directory, name, secret))
        except (OSError, ValueError, DecodeError) as exc:
            problems.append(f"{RUN_FACTS_DIRNAME}/{name} unreadable: {exc}")
    ordered = _first_process_first(processes)
    return ChildFacts(tuple(ordered), disagreements(ordered), tuple(problems))


_FIELDS = frozenset(fields(ProcessFacts))


def _read(directory: Path, name: str, secret: dict[tuple[str, str], bool]) -> ProcessFacts:
    with open(os.path.join(directory, name), "rb") as file:
        document = json.loads(file.read())
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    known = {k: v for k, v in document.items() if k in _FIELDS}
    for key in ("rank", "local_rank", "world_size"):
        if known.get(key) is not None:
            known[key] = str(known[key])
    if isinstance(known.get("launch_env"), dict):
        known["launch_env"] = _without_secrets(known["launch_env"], secret)
    known["file"] = name
    return from_json_dict(ProcessFacts, known)


def _without_secrets(env: dict[Any, Any], secret: dict[tuple[str, str], bool]) -> dict[Any, Any]:
    """The hook keeps values that may be secret off the disk by a simpler rule; the full one,
    capture_env's, decides what reaches the record. What is not text the codec refuses."""
    kept = {}
    for name, value in env.items():
        if type(name) is str and type(value) is str:
            hidden = secret.get((name, value))
            if hidden is None:
                hidden = secret[name, value] = is_secret_env(name, value)
            if hidden:
                value = None
        kept[name] = value
    return kept


def _first_process_first(processes: list[ProcessFacts]) -> list[ProcessFacts]:
    """The run's own process (whose parent recorded nothing) first, then by rank and pid."""
    pids = {p.pid for p in processes}

    def key(p: ProcessFacts) -> tuple[int, int, int]:
        rank = int(p.rank) if p.rank is not None and p.rank.isdigit() else -1
        return (p.ppid in pids, rank, p.pid)

    return sorted(processes, key=key)


def flat_facts(child: ChildFacts | None) -> dict[str, str]:
    """One flat mapping for `repro diff`: the first process's facts, what the hook seeded and
    switched there, and each rank's facts only where they differ from the first process's."""
    if child is None or not child.processes:
        return {}
    first, others = child.processes[0], child.processes[1:]
    flat = {key: _text(value) for key, value in first.facts.items()}
    flat["hook.seeded"] = ", ".join(entry.split("=", 1)[0] for entry in first.seeded)
    flat["hook.switches"] = "; ".join(first.switches)
    for p in others:
        if p.rank is None:
            continue
        for key, value in p.facts.items():
            if key not in PER_PROCESS_FACTS and first.facts.get(key) != value:
                flat[f"rank {p.rank}: {key}"] = _text(value)
    return flat


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
