"""Data paths found without flags: arguments and config values that name existing paths.

`repro run train.py --train-dir data/train` fingerprints `data/train` because it exists and
git does not track it: code is recorded by the commit; what git does not hold is data.
These functions only propose candidates (pure, but for `stat`); the caller asks git, in one
call, which of them are tracked (`capture.git.tracked_paths`) and drops those.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from repro_run.core.constants import (
    AUTO_DATA_OUTPUT_NAMES,
    AUTO_DATA_OUTPUT_PREFIXES,
    AUTO_DATA_OUTPUT_WORDS,
    AUTO_DATA_SYSTEM_DIRS,
    AUTO_DATA_VIRTUAL_ROOTS,
)
from repro_run.core.record import Record

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

_MAX_VALUE_LENGTH = 4096
# A Hydra override's key (`db.path`, `+data.x`, `~key`, `model/encoder@enc`): no leading dash.
_OVERRIDE_KEY = re.compile(r"[+~]{0,2}[A-Za-z_][\w.@/-]*")


class Candidate(Record):
    path: Path  # absolute and normalised, not resolved (a symlinked dataset keeps its name)
    origin: str  # "argument --train-dir", "configs/a.yaml: data.root"


def from_arguments(argv: Sequence[str], cwd: Path) -> list[Candidate]:
    """Arguments after the program that name existing files or directories."""
    found = []
    args = list(argv[1:])
    for i, arg in enumerate(args):
        flag, sep, value = arg.partition("=")
        if sep and _OVERRIDE_KEY.fullmatch(flag):  # Hydra's `data.root=...`, `+db.dir=...`
            flag = flag.lstrip("+~")
        elif not (sep and flag.startswith("-")):
            if arg.startswith("-"):
                continue
            previous = args[i - 1] if i else ""
            flag = previous if previous.startswith("-") and "=" not in previous else ""
            value = arg
        if output_like(flag):
            continue
        origin = f"argument {flag}" if flag else f"argument {i + 1}"
        path = _existing(value, cwd)
        if path is not None:
            found.append(Candidate(path, origin))
    return found


def from_config(display: str, params: Mapping[str, Any], cwd: Path) -> list[Candidate]:
    """String values of a parsed config (lists included) that name existing paths."""
    found = []
    for key, value in params.items():
        if output_like(key):
            continue
        for text in _strings(value):
            path = _existing(text, cwd)
            if path is not None:
                found.append(Candidate(path, f"{display}: {key}"))
    return found


def output_like(name: str) -> bool:
    """`--output-dir`, `save_path`, `train.log_dir`, `--work-dir`, `hydra.run.dir`: where a
    run writes, not what it reads."""
    name = name.lower().lstrip("-+~").replace("-", "_")
    if name.startswith(AUTO_DATA_OUTPUT_PREFIXES):
        return True
    if name.rpartition(".")[2] in AUTO_DATA_OUTPUT_NAMES:
        return True
    return any(word in AUTO_DATA_OUTPUT_WORDS for word in re.split(r"[^a-z0-9]+", name))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _existing(value: str, cwd: Path) -> Path | None:
    if not value or len(value) > _MAX_VALUE_LENGTH or "\n" in value or "://" in value:
        return None
    if "\0" in value:
        return None
    path = Path(os.path.normpath(cwd / os.path.expanduser(value)))
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return path if stat.S_ISDIR(mode) or stat.S_ISREG(mode) else None


def plausible(
    candidates: Iterable[Candidate], *, keep_out: Sequence[Path], never_above: Sequence[Path]
) -> list[Candidate]:
    """Drop what cannot be a dataset: system directories, what holds the project itself
    (`never_above`: the repository root, the working directory, the home directory), and
    anything equal to, inside or containing a path in `keep_out` (the script, the configs,
    `.git`, the store, the outputs). The first candidate for a path wins."""
    kept: list[Candidate] = []
    seen: set[Path] = set()
    for candidate in candidates:
        real = Path(os.path.realpath(candidate.path))
        if real in seen or _system(real):
            continue
        if any(real == p or real in p.parents for p in never_above):
            continue
        if any(_overlap(real, Path(os.path.realpath(p))) for p in keep_out):
            continue
        seen.add(real)
        kept.append(candidate)
    return kept


def _system(path: Path) -> bool:
    text = str(path)
    if any(text == root or text.startswith(root + "/") for root in AUTO_DATA_VIRTUAL_ROOTS):
        return True
    return text in AUTO_DATA_SYSTEM_DIRS


def _overlap(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def untracked(
    candidates: Iterable[Candidate], root: Path, tracked: Iterable[str]
) -> list[Candidate]:
    """Candidates git does not track. `tracked`: `git ls-files` output for the candidates.

    A directory counts as tracked when git tracks anything in it but dot-files: a `.gitkeep`
    or `.gitignore` in an otherwise ignored `data/` does not make it code.
    """
    substantive = {t for t in tracked if not os.path.basename(t).startswith(".")}
    kept = []
    for candidate in candidates:
        rel = repository_path(candidate.path, root)
        if rel is None:
            kept.append(candidate)  # outside the repository: git cannot track it
            continue
        prefix = rel + "/"
        if rel in substantive or any(t.startswith(prefix) for t in substantive):
            continue
        kept.append(candidate)
    return kept


def repository_path(path: Path, root: Path) -> str | None:
    """Where git would see `path` (links resolved: a committed `data -> /mnt/x` link is not
    the data), relative to the repository root; None when it lies outside."""
    try:
        return Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return None


def nested(candidate: Path, chosen: Iterable[Path]) -> bool:
    """True when `candidate` is one of `chosen` or lies inside one of them."""
    real = Path(os.path.realpath(candidate))
    return any(real == (c := Path(os.path.realpath(p))) or c in real.parents for p in chosen)
