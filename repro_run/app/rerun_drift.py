"""The environment drift check before a rerun: capture this environment, compare with the record."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from repro_run.capture import cuda, gpu, packages, system
from repro_run.errors import ReproError, StoreError
from repro_run.execute import resolve_command
from repro_run.models import DecodeError, PackageList, RunRecord, Unavailable, from_json_dict
from repro_run.store import Store
from repro_run.verdict.drift import cuda_drift, gpu_drift, package_drift, system_drift


def environment_drift(
    store: Store, original: RunRecord, environ: Mapping[str, str], python: str, cwd: Path
) -> list[str]:
    """Differences in Python, OS, CPU, GPU, driver, CUDA libraries and packages, one per line."""
    interpreter = _interpreter(original, environ, python, cwd)
    with ThreadPoolExecutor(max_workers=2) as pool:
        system_f = pool.submit(system.capture_system)
        gpu_f = pool.submit(gpu.capture_gpu)
        captured = packages.capture_packages(interpreter)
        now_system, now_gpu = system_f.result(), gpu_f.result()
    now_packages = None if isinstance(captured, Unavailable) else captured[0]
    lines = system_drift(original.system, now_system)
    lines += gpu_drift(original.gpu, now_gpu)
    lines += cuda_drift(original.cuda, cuda.capture_cuda_libraries(now_packages))
    lines += package_drift(_recorded_packages(store, original), now_packages)
    return lines


def _interpreter(original: RunRecord, environ: Mapping[str, str], python: str, cwd: Path) -> str:
    """The Python the rerun's command will run under, found as `repro run` finds it."""
    path = environ.get("PATH")
    try:
        command = resolve_command(original.command.argv, cwd=cwd, path=path, python=python)
    except ReproError:
        return python
    return command.interpreter or shutil.which("python", path=path) or sys.executable


def _recorded_packages(store: Store, original: RunRecord) -> PackageList | None:
    ref = original.packages
    if isinstance(ref, Unavailable):
        return None
    try:
        return from_json_dict(PackageList, json.loads(store.get_bytes(ref.object)))
    except (StoreError, ValueError, DecodeError):
        return None
