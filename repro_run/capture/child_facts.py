"""Facts recorded inside the child: the hook's files under runs/<id>/facts/, one per process.

Read after the child exits. The files come from the user's processes, so a malformed one is
reported as a problem, never trusted or fatal. Ranks (RANK / SLURM_PROCID) that disagree on a
fact are found here, so `repro show` and `repro diff` need not compare them again.
"""

from __future__ import annotations

import json
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
        paths = sorted(p for p in directory.iterdir() if p.suffix == ".json")
    except FileNotFoundError:
        return ChildFacts()
    except OSError as exc:
        return ChildFacts(problems=(f"{RUN_FACTS_DIRNAME}/ cannot be read: {exc.strerror}",))
    processes: list[ProcessFacts] = []
    problems: list[str] = []
    if len(paths) > _MAX_FILES:
        problems.append(f"{len(paths)} facts files: only the first {_MAX_FILES} recorded")
    secret: dict[tuple[str, str], bool] = {}  # ranks share most values: each judged once
    for path in paths[:_MAX_FILES]:
        try:
            processes.append(_read(path, secret))
        except (OSError, ValueError, DecodeError) as exc:
            problems.append(f"{RUN_FACTS_DIRNAME}/{path.name} unreadable: {exc}")
    ordered = _first_process_first(processes)
    return ChildFacts(tuple(ordered), disagreements(ordered), tuple(problems))


def _read(path: Path, secret: dict[tuple[str, str], bool]) -> ProcessFacts:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    known = {k: v for k, v in document.items() if k in fields(ProcessFacts)}
    for key in ("rank", "local_rank", "world_size"):
        if known.get(key) is not None:
            known[key] = str(known[key])
    if isinstance(known.get("launch_env"), dict):
        known["launch_env"] = _without_secrets(known["launch_env"], secret)
    return from_json_dict(ProcessFacts, {**known, "file": path.name})


def _without_secrets(env: dict[Any, Any], secret: dict[tuple[str, str], bool]) -> dict[Any, Any]:
    """The hook keeps values that may be secret off the disk by a simpler rule; the full one,
    capture_env's, decides what reaches the record. What is not text the codec refuses."""
    kept = {}
    for name, value in env.items():
        if isinstance(name, str) and isinstance(value, str):
            if (name, value) not in secret:
                secret[name, value] = is_secret_env(name, value)
            value = None if secret[name, value] else value
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
