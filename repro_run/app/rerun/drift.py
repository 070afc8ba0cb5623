"""The environment drift check before a rerun: this environment against the record, compared
by `repro diff`'s sections (packages, conda packages, container, GPU and CUDA, system)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from repro_run.app.diff import run_snapshot
from repro_run.capture import conda, container, cuda, gpu, packages, system
from repro_run.compare import compare_snapshots
from repro_run.compare.environment import normalise_name
from repro_run.compare.fields import describe
from repro_run.core.errors import ReproError
from repro_run.core.record import replace
from repro_run.execute import resolve_command
from repro_run.models import RunRecord, Unavailable
from repro_run.models.comparison import CURRENT, Side
from repro_run.store import Store

_DRIFT_SECTIONS = ("packages", "conda", "container", "gpu", "system")
# Another host, or memory, does not change what a program computes; the rest may.
_NOT_DRIFT = frozenset({("system", "host"), ("system", "memory")})
PACKAGES_LISTED = 10


def environment_drift(
    store: Store,
    original: RunRecord,
    environ: Mapping[str, str],
    python: str,
    cwd: Path,
    *,
    ignore_packages: Sequence[str] = (),
) -> list[str]:
    """Differences in Python, OS, CPU, GPU, driver, CUDA libraries, packages, conda packages
    (numerics libraries first) and the container, one per line, as the rerun will see them;
    `ignore_packages`: distributions that are not looked for (the project, when a rebuilt
    environment imports it from the worktree)."""
    ignored = {("packages", normalise_name(name)) for name in ignore_packages}
    interpreter = _interpreter(original, environ, python, cwd)
    with ThreadPoolExecutor(max_workers=3) as pool:
        system_f = pool.submit(system.capture_system)
        gpu_f = pool.submit(gpu.capture_gpu)
        conda_f = pool.submit(conda.capture_conda_list, environ)
        captured = packages.capture_packages(interpreter)
        now_system, now_gpu = system_f.result(), gpu_f.result()
    package_list = captured if isinstance(captured, Unavailable) else captured[0]
    recorded = run_snapshot(store, original)
    now = replace(
        recorded,
        side=Side(CURRENT),
        packages=package_list,
        system=now_system,
        gpu=now_gpu,
        conda=conda_f.result(),
        container=container.capture_container(environ),
        cuda=cuda.capture_cuda_libraries(
            None if isinstance(package_list, Unavailable) else package_list
        ),
        run=None,
    )
    comparison = compare_snapshots(recorded, now).only(_DRIFT_SECTIONS)
    lines = []
    for section in comparison.sections:
        changed = [
            f for f in section.differences if (section.name, f.key) not in _NOT_DRIFT | ignored
        ]
        shown = changed[:PACKAGES_LISTED]
        lines += [f"{section.name}: {describe(f)}" for f in shown]
        if len(changed) > len(shown):
            lines.append(f"{section.name}: ... and {len(changed) - len(shown)} more")
    return lines


def _interpreter(original: RunRecord, environ: Mapping[str, str], python: str, cwd: Path) -> str:
    """The Python the rerun's command will run under, found as `repro run` finds it."""
    path = environ.get("PATH")
    try:
        command = resolve_command(original.command.argv, cwd=cwd, path=path, python=python)
    except ReproError:
        return python
    return command.interpreter or shutil.which("python", path=path) or sys.executable
