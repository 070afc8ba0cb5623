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


def likely_causes(
    store: Store, original: RunRecord, rerun: RunRecord, root: Path
) -> tuple[str, ...]:
    """ "section: what differs" for each differing cause section, most likely first."""
    comparison = compare_records(store, original, rerun, root=root)
    return tuple(f"{s.name}: {summarize(s.differences)}" for s in ranked_causes(comparison))
