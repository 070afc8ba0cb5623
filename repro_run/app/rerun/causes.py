"""Likely causes of a divergence: `repro diff`'s ranked comparison of the two records.

The verdict lists the cause sections that differ (data, code, config, command, seed, packages,
framework, GPU/CUDA, determinism, env, system), in `comparison.SECTIONS` order, one line each.
What a rerun does not replay by design (`replay_env.describes_launch`: SLURM_*, RANK, PATH...)
differs on every rerun elsewhere, so it is never a cause; `repro diff` still shows it.
"""

from __future__ import annotations

from pathlib import Path

from repro_run.app.diff import compare_records
from repro_run.app.rerun.replay_env import describes_launch
from repro_run.compare import likely_causes as ranked_causes
from repro_run.compare.fields import summarize
from repro_run.models import RunRecord
from repro_run.models.comparison import FieldChange, SectionDiff
from repro_run.store import Store


def likely_causes(
    store: Store, original: RunRecord, rerun: RunRecord, root: Path
) -> tuple[str, ...]:
    """ "section: what differs" for each differing cause section, most likely first."""
    comparison = compare_records(store, original, rerun, root=root)
    causes = []
    for section in ranked_causes(comparison):
        differences = [f for f in section.differences if _can_cause(section, f)]
        if differences:
            causes.append(f"{section.name}: {summarize(differences)}")
    return tuple(causes)


def _can_cause(section: SectionDiff, field: FieldChange) -> bool:
    return not (section.name == "env" and describes_launch(field.key))
