"""Output files paired across run and rerun when their names carry run-specific parts (pure).

Hydra writes `outputs/<date>/<time>/`, Lightning `version_N/`, TensorBoard
`events.out.tfevents.<time>.<host>.<pid>.<n>`: the same file under another name in every run.
Each path component matching one of those patterns becomes a placeholder; a file only in the
original and a file only in the rerun are paired when their placeholder paths are equal and
no other file on either side shares it (an ambiguous match pairs nothing). Numbered multirun
jobs (`multirun/<date>/<time>/0/`) keep their number, so jobs pair by number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from repro_run.core.record import Record
from repro_run.core.runparts import normalise
from repro_run.models import ManifestEntry


class Paired(Record):
    removed: tuple[ManifestEntry, ...]  # still only in the original
    added: tuple[ManifestEntry, ...]  # still only in the rerun
    changed: tuple[tuple[ManifestEntry, ManifestEntry], ...]  # paired, content differs
    shown: tuple[tuple[str, str], ...]  # each pairing, up to its last differing component


def pair_renamed(removed: Sequence[ManifestEntry], added: Sequence[ManifestEntry]) -> Paired:
    """Each unambiguous pair of a file only in the original and one only in the rerun."""
    before, after = _by_key(removed), _by_key(added)
    pairs: list[tuple[ManifestEntry, ManifestEntry]] = [
        (before[key][0], after[key][0])
        for key in sorted(before.keys() & after.keys())
        if len(before[key]) == 1 and len(after[key]) == 1
    ]
    paired = {id(entry) for pair in pairs for entry in pair}
    return Paired(
        removed=tuple(e for e in removed if id(e) not in paired),
        added=tuple(e for e in added if id(e) not in paired),
        changed=tuple(
            (old, new)
            for old, new in pairs
            if (old.hash, old.executable, old.link) != (new.hash, new.executable, new.link)
        ),
        shown=tuple(sorted({_shown(old.path, new.path) for old, new in pairs})),
    )


def _by_key(entries: Iterable[ManifestEntry]) -> dict[str, list[ManifestEntry]]:
    grouped: dict[str, list[ManifestEntry]] = defaultdict(list)
    for entry in entries:
        grouped[normalise(entry.path)].append(entry)
    return grouped


def _shown(old: str, new: str) -> tuple[str, str]:
    """The two paths up to their last differing component: a folder ends with `/`."""
    a, b = old.split("/"), new.split("/")
    last = max(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    tail = "" if last == len(a) - 1 else "/"
    return "/".join(a[: last + 1]) + tail, "/".join(b[: last + 1]) + tail
