"""From what the user typed (`a1b2`, `latest`, `@~2`) to a run ID: pure rules and messages."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from repro_run.core.errors import AmbiguousRunIdError, RunNotFoundError

CANDIDATES_SHOWN = 10
_RELATIVE_RE = re.compile(r"@~(\d+)")
# Crockford base32 reads these as the digits they look like; IDs never contain them.
_LOOKALIKES = str.maketrans({"o": "0", "i": "1", "l": "1"})


def normalize_ref(ref: str) -> str:
    return ref.strip().lower().translate(_LOOKALIKES)


def relative_offset(ref: str) -> int | None:
    """`latest` and `@` -> 0, `@~N` -> N (runs before the newest); None for anything else."""
    text = ref.strip().lower()
    if text in ("latest", "@"):
        return 0
    match = _RELATIVE_RE.fullmatch(text)
    return int(match.group(1)) if match else None


def match_prefix(ref: str, run_ids: Iterable[str]) -> list[str]:
    """IDs starting with `ref` (normalized); an ID typed whole names its run alone, even when it
    is also the start of longer ones (a legacy 10-character ID and today's 18, `ids.py`)."""
    if not ref:
        return []
    matches = sorted(run_id for run_id in run_ids if run_id.startswith(ref))
    return [ref] if ref in matches else matches


def abbreviations(run_ids: Iterable[str], shortest: int) -> dict[str, str]:
    """Each ID's shortest prefix of at least `shortest` characters that names it alone, as
    `match_prefix` reads it. Sorted, an ID shares the most with a neighbour: one more character
    than that is unique (a whole ID when another is its prefix, as an exact ID is)."""
    ordered = sorted(set(run_ids))
    shared = [0] * len(ordered)  # with either neighbour, counted only from `shortest` on
    for i in range(1, len(ordered)):
        before, after = ordered[i - 1], ordered[i]
        if before[:shortest] == after[:shortest]:  # rare: most differ sooner
            length = _shared_length(before, after)
            shared[i - 1], shared[i] = max(shared[i - 1], length), max(shared[i], length)
    return {
        run_id: run_id[: max(shortest, n + 1)] for run_id, n in zip(ordered, shared, strict=True)
    }


def _shared_length(a: str, b: str) -> int:
    """How many leading characters `a` and `b` have in common."""
    pairs = enumerate(zip(a, b, strict=False))  # up to the shorter one's end
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))


def not_found(ref: str) -> RunNotFoundError:
    return RunNotFoundError(f"no run matches '{ref}' (repro list shows run IDs)")


def out_of_range(ref: str, visible: int) -> RunNotFoundError:
    runs = "no runs" if visible == 0 else f"only {visible} run{'s' if visible != 1 else ''}"
    return RunNotFoundError(f"no run matches '{ref}': the store has {runs}")


def ambiguous(ref: str, candidates: Sequence[tuple[str, str]], total: int) -> AmbiguousRunIdError:
    """`candidates`: up to CANDIDATES_SHOWN (id, command) pairs, newest first."""
    lines = [f"run ID '{ref}' is ambiguous: {total} runs match; type more of the ID:"]
    lines += [f"  {run_id}  {command}" for run_id, command in candidates[:CANDIDATES_SHOWN]]
    if total > CANDIDATES_SHOWN:
        lines.append(f"  … and {total - CANDIDATES_SHOWN} more")
    return AmbiguousRunIdError("\n".join(lines))
