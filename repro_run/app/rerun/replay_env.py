"""The environment and argv a rerun replays: recorded values back, secrets from the current env.

Recorded values of computation-relevant variables (the capture's allow-list: threads, CUDA,
framework switches, PYTHONHASHSEED, locale...) are put back; an allow-listed variable set now
but not in the original run is removed. Variables that describe this launch rather than the
computation (PATH, the virtualenv, the scheduler's job, the distributed rendezvous, repro's own)
keep their current values. Secrets were never recorded: they come from the current env.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from repro_run.capture.environ import is_allowed
from repro_run.core.constants import SECRET_MASK
from repro_run.core.errors import MaskedArgumentError, UsageError
from repro_run.models import RunRecord

_LAUNCH_PREFIXES = ("REPRO_", "SLURM_", "CONDA_")
_LAUNCH_NAMES = frozenset(
    {"PATH", "VIRTUAL_ENV", "MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE",
     "LOCAL_WORLD_SIZE"}
)  # fmt: skip


def replayed(name: str) -> bool:
    return is_allowed(name) and not describes_launch(name)


def describes_launch(name: str) -> bool:
    """A variable a rerun takes from where it runs by design (the scheduler's job, the
    rendezvous, PATH, repro's own): never replayed, so never why a rerun differs."""
    return name in _LAUNCH_NAMES or name.startswith(_LAUNCH_PREFIXES)


_PROBE_TIMEOUT_S = 30.0


def checkout_paths(python: str | None, root: Path, tree: Path) -> tuple[str, ...]:
    """The worktree's copies of the directories of the user's checkout that the command's
    Python puts on sys.path by itself: an editable install's .pth file names `<root>/src`, and
    the rerun would import the checkout's code, not the recorded commit's. Asked of that
    interpreter (`-I`: no PYTHONPATH, which `replay_environ` remaps already)."""
    if not python or not os.path.exists(python):
        return ()
    try:
        probe = subprocess.run(
            [python, "-I", "-c", "import sys; print('\\0'.join(sys.path))"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            cwd=tree,
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    found: list[str] = []
    for entry in probe.stdout.rstrip("\n").split("\0") if probe.returncode == 0 else ():
        mapped = _worktree_copy(entry, root, tree)
        if mapped is not None and mapped not in found:
            found.append(mapped)
    return tuple(found)


def _worktree_copy(directory: str, root: Path, tree: Path) -> str | None:
    """The worktree's copy of a directory of the checkout, when the commit has it (an
    untracked `.venv/bin` has none); None for a directory outside the checkout."""
    if directory != str(root) and not directory.startswith(f"{root}/"):
        return None
    mapped = str(tree / os.path.relpath(directory, root))
    return mapped if os.path.isdir(mapped) else None


def _checkout_entries(search_path: str, root: Path, tree: Path) -> str:
    """`search_path` with each directory inside the checkout replaced by the worktree's copy,
    where the commit has one (an untracked .venv/bin stays the checkout's)."""
    entries = search_path.split(os.pathsep) if search_path else []
    return os.pathsep.join(_worktree_copy(entry, root, tree) or entry for entry in entries)


def replay_environ(
    record: RunRecord,
    current: Mapping[str, str],
    root: Path,
    tree: Path,
    checkout: Sequence[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """(the child's base environment, what differs from the current one, for the user).
    `checkout`: directories (from `checkout_paths`) put first on PYTHONPATH."""
    env = dict(current)
    notes: list[str] = []
    # PYTHONPATH=/repo/src must name the worktree's copy, not the user's checkout.
    in_repo = re.compile(re.escape(str(root)) + r"(?=$|[/:])")
    for name, value in sorted(record.env.values.items()):
        if not replayed(name):
            continue
        value = in_repo.sub(lambda _: str(tree), value)
        if env.get(name) != value:
            notes.append(f"{name}={value}" + (f" (here: {env[name]})" if name in env else ""))
        env[name] = value
    known = set(record.env.values) | set(record.env.names_only) | set(record.env.redacted)
    for name in sorted(env):
        if replayed(name) and name not in known:
            notes.append(f"{name} unset (the original run did not have it)")
            del env[name]
    path = _checkout_entries(env.get("PATH", ""), root, tree)
    if path != env.get("PATH", ""):  # a tool of the repository found on PATH: the commit's copy
        notes.append(f"PATH: the repository's directories as the worktree's ({tree})")
        env["PATH"] = path
    if checkout:
        env["PYTHONPATH"] = os.pathsep.join(
            [*checkout, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
        )
        notes.append(
            f"PYTHONPATH starts with {os.pathsep.join(checkout)}: the interpreter's .pth files "
            "(an editable install) name the checkout, and the rerun imports the commit's copy"
        )
    missing = [name for name in record.env.redacted if name not in current]
    if missing:
        notes.append(f"secret variables of the original run not set here: {', '.join(missing)}")
    return env, notes


def parse_pairs(items: Sequence[str], option: str) -> dict[str, str]:
    """`OLD=NEW` values of a repeatable option; UsageError names a malformed one."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{option} {item!r}: expected NAME=VALUE")
        pairs[key] = value
    return pairs


def fill_masked_argv(
    argv: Sequence[str], run_id: str, secret_args: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[str, ...]:
    """The recorded argv with each masked secret taken from the environment variable the user
    named (`--secret-arg hub_token=HF_TOKEN`); MaskedArgumentError for any left masked.

    A masked element is keyed by its flag without dashes (`--hub_token ***`, `--password=***`,
    `db.password=***`), or `#N` (its position) when no flag names it.
    """
    filled: list[str] = []
    unresolved: list[str] = []
    for index, arg in enumerate(argv):
        if SECRET_MASK not in arg:
            filled.append(arg)
            continue
        name, sep, rest = arg.partition("=")
        if sep and rest == SECRET_MASK:
            key = name.lstrip("-")
        elif arg == SECRET_MASK and index and argv[index - 1].startswith("-"):
            key = argv[index - 1].lstrip("-").partition("=")[0]
        else:
            key = f"#{index}"
        variable = secret_args.get(key)
        if variable is None:
            unresolved.append(f"{key} (in {' '.join(argv[max(index - 1, 0) : index + 1])})")
            filled.append(arg)
        elif variable not in environ:
            raise MaskedArgumentError(f"--secret-arg {key}={variable}: {variable} is not set")
        else:
            filled.append(arg.replace(SECRET_MASK, environ[variable]))
    if unresolved:
        raise MaskedArgumentError(
            f"run {run_id}'s command had secret arguments, which repro never stores: "
            f"{'; '.join(unresolved)}. Give each from an environment variable: "
            f"repro rerun {run_id} --secret-arg {unresolved[0].split(' ')[0]}=ENV_VAR"
        )
    unused = sorted(key for key in secret_args if not _used(key, argv))
    if unused:
        raise UsageError(f"--secret-arg {unused[0]}: the recorded command has no such argument")
    return tuple(filled)


def _used(key: str, argv: Sequence[str]) -> bool:
    if key.startswith("#"):
        return key[1:].isdigit() and int(key[1:]) < len(argv)
    return any(arg.lstrip("-").partition("=")[0] == key for arg in argv)


def rewrite_paths(argv: Sequence[str], moved: Mapping[str, str]) -> tuple[str, ...]:
    """Arguments naming a moved absolute data path (`--data OLD=NEW`) name NEW instead."""
    out = []
    for arg in argv:
        name, sep, value = arg.rpartition("=") if "=" in arg else ("", "", arg)
        for old, new in moved.items():
            if value == old or value.startswith(old.rstrip("/") + "/"):
                value = new + value[len(old) :]
                break
        out.append(f"{name}{sep}{value}")
    return tuple(out)
