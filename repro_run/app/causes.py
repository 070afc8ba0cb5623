"""Likely causes of a divergence: `repro diff`'s ranked comparison of the two records.

The verdict lists the cause sections that differ (data, code, config, command, seed, packages,
framework, GPU/CUDA, determinism, env, system), in `comparison.SECTIONS` order, one line each.
"""

from __future__ import annotations

from pathlib import Path

from repro_run.app.diff import compare_records
from repro_run.compare import likely_causes as ranked_causes
from repro_run.compare.fields import summarize
from repro_run.models import RunRecord
from repro_run.store import Store

# A rerun runs on a detached worktree: its branch and `git describe` say nothing about results.
_NOT_A_CAUSE = frozenset({("code", "branch"), ("code", "describe")})


def likely_causes(
    store: Store, original: RunRecord, rerun: RunRecord, root: Path
) -> tuple[str, ...]:
    """ "section: what differs" for each differing cause section, most likely first."""
    causes = []
    for section in ranked_causes(compare_records(store, original, rerun, root=root)):
        kept = [f for f in section.differences if (section.name, f.key) not in _NOT_A_CAUSE]
        if kept:
            causes.append(f"{section.name}: {summarize(kept)}")
    return tuple(causes)
