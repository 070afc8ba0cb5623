"""The current environment and working tree as one side of `repro diff A`.

Captured by the same modules as `repro run` (git, packages, system, GPU, CUDA libraries, env),
with the run's own config files re-read and its datasets re-fingerprinted where they are now.
Nothing is written to the store.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from blake3 import blake3

from repro_run.capture import config as config_capture
from repro_run.capture import git
from repro_run.compare import Snapshot
from repro_run.core.errors import ReproError
from repro_run.core.paths import user_cache_dir
from repro_run.core.record import Record, field
from repro_run.fingerprint.engine import fingerprint
from repro_run.models import (
    ConfigFile,
    PackagesRef,
    RunRecord,
    TreeRef,
    Unavailable,
)
from repro_run.models.comparison import CURRENT, Side


class CurrentSide(Record):
    snapshot: Snapshot
    manifests: dict[str, bytes]  # digest -> encoded manifest of each dataset as it is now
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # section -> what is missing


def capture_current(root: Path, run: RunRecord, *, with_data: bool = True) -> CurrentSide:
    """Everything `run` recorded that can be observed again now, without running anything.

    `with_data=False` skips re-fingerprinting the datasets (the data section is not wanted).
    """
    from repro_run.capture import conda, container, cuda, environ, gpu, packages, system

    status = git.tree_status(root)
    with ThreadPoolExecutor(max_workers=4) as pool:
        system_f = pool.submit(system.capture_system)
        gpu_f = pool.submit(gpu.capture_gpu)
        packages_f = pool.submit(packages.capture_packages, _interpreter(run))
        conda_f = pool.submit(conda.capture_conda_list, os.environ)
        data_f = pool.submit(_fingerprint_data, root, run.data if with_data else ())
        # The uncommitted changes, hashed like the patch a run stores: equal when they match.
        patch = blake3(git.dirty_patch(root)).hexdigest() if status.is_dirty else None
        code = git.capture_code(root, status, patch)
        configs, config_notes = _read_configs(root / run.command.cwd, run.configs)
        captured = packages_f.result()
        data, manifests, data_notes = data_f.result()
        package_list = captured if isinstance(captured, Unavailable) else captured[0]
        libraries = cuda.capture_cuda_libraries(
            None if isinstance(package_list, Unavailable) else package_list
        )
        snapshot = Snapshot(
            side=Side(CURRENT),
            code=code,
            configs=configs,
            data=data,
            packages=package_list,
            system=system_f.result(),
            gpu=gpu_f.result(),
            cuda=libraries,
            env=environ.capture_env(os.environ),
            run=None,
            conda=conda_f.result(),
            container=container.capture_container(os.environ),
        )
    notes = {name: tuple(n) for name, n in (("config", config_notes), ("data", data_notes)) if n}
    return CurrentSide(snapshot, manifests, notes)


def _interpreter(run: RunRecord) -> str:
    """The Python the run's packages came from, when it still exists; else this one."""
    recorded = run.packages
    if isinstance(recorded, PackagesRef) and os.path.exists(recorded.interpreter):
        return recorded.interpreter
    return sys.executable


def _read_configs(
    cwd: Path, recorded: tuple[ConfigFile, ...]
) -> tuple[tuple[ConfigFile, ...], list[str]]:
    configs, notes = [], []
    for c in recorded:
        try:
            parsed = config_capture.parse_config(cwd / c.path, c.path)
        except ReproError as exc:
            notes.append(f"{c.path}: {exc}")
            continue
        digest = blake3(parsed.content).hexdigest()
        configs.append(ConfigFile(parsed.path, parsed.format, digest, parsed.params))
    return tuple(configs), notes


def _fingerprint_data(
    root: Path, recorded: tuple[TreeRef, ...]
) -> tuple[tuple[TreeRef, ...], dict[str, bytes], list[str]]:
    refs, manifests, notes = [], {}, []
    for t in recorded:
        path = Path(t.path) if os.path.isabs(t.path) else root / t.path
        try:
            fp = fingerprint(path, cache_dir=user_cache_dir())  # the per-machine stat cache
        except ReproError as exc:
            notes.append(f"{t.path}: {exc}")
            continue
        manifests[fp.digest] = fp.manifest
        refs.append(TreeRef(t.path, fp.digest, fp.files, fp.bytes, fp.digest, fp.skipped, t.origin))
    return tuple(refs), manifests, notes
