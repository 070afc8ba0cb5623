"""Likely causes of a divergence: `repro diff`'s ranked comparison of the two records.

The verdict lists the cause sections that differ (data, code, config, command, seed, packages,
conda, container, framework, GPU/CUDA, determinism, env, system), in `compare.likely_causes`
order, one line each, less what cannot have caused it:
- what a rerun does not replay by design (`replay_env.describes_launch`: SLURM_*, RANK, PATH)
  differs on every rerun elsewhere;
- a package that differs between the two records is a cause only when a process of either
  run imported one of its modules (the hook records them at exit): a PyYAML upgraded under a
  program that never imports `yaml` changed nothing it computed. Where either run's modules
  are not known (no hook, an older record) or a package's are not, the package stays. The
  CUDA libraries frameworks load without an import (the `nvidia-*` wheels: cuBLAS, cuDNN,
  NCCL) count as imported with the framework.
`repro diff` still shows every difference.
"""

from __future__ import annotations

from pathlib import Path

from repro_run.app.diff import compare_records
from repro_run.app.query import load_package_list
from repro_run.app.rerun.replay_env import describes_launch
from repro_run.compare import likely_causes as ranked_causes
from repro_run.compare.environment import normalise_name
from repro_run.compare.fields import summarize
from repro_run.models import PackageList, RunRecord
from repro_run.models.comparison import FieldChange
from repro_run.store import Store


def likely_causes(
    store: Store, original: RunRecord, rerun: RunRecord, root: Path
) -> tuple[str, ...]:
    """ "section: what differs" for each differing cause section, most likely first."""
    comparison = compare_records(store, original, rerun, root=root)
    causes = []
    for section in ranked_causes(comparison):
        differences = list(section.differences)
        if section.name == "env":
            differences = [f for f in differences if not describes_launch(f.key)]
        elif section.name == "packages":
            differences = _imported(store, original, rerun, differences)
        if section.name == "nodes" and differences:  # its summary reads "X differs between nodes"
            causes.append(f"{section.name}: {section.summary}")
        elif differences:
            causes.append(f"{section.name}: {summarize(differences)}")
    return tuple(causes)


# Wheels of native libraries a framework loads by path, never by import, and the frameworks.
_NATIVE_PREFIXES = ("nvidia-",)
_LOADS_NATIVE = {"torch", "jax", "jaxlib", "tensorflow", "cupy"}


def _imported(
    store: Store, original: RunRecord, rerun: RunRecord, differences: list[FieldChange]
) -> list[FieldChange]:
    """The package differences whose modules either run imported (all, where unknown)."""
    imported: set[str] = set()
    for record in (original, rerun):
        processes = record.facts.processes if record.facts else ()
        if not processes or any(p.modules is None for p in processes):
            return differences
        imported.update(m for p in processes for m in p.modules or ())
    modules: dict[str, set[str]] = {}
    for packages in (load_package_list(store, original), load_package_list(store, rerun)):
        if isinstance(packages, PackageList):
            for p in packages.packages:
                modules.setdefault(normalise_name(p.name), set()).update(p.modules)
    native = bool(imported & _LOADS_NATIVE)
    return [
        f
        for f in differences
        if not modules.get(f.key)
        or modules[f.key] & imported
        or (native and f.key.startswith(_NATIVE_PREFIXES))
    ]
