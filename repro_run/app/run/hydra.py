"""Hydra's composed config and overrides, as each job of the run wrote them, recorded as the
run's config files (what the program really ran with, per job for a multirun).

Hydra writes `outputs/<date>/<time>/.hydra/` (a multirun: `multirun/<date>/<time>/<n>/.hydra/`)
under the directory it ran in, unless `hydra.run.dir` moves it into a declared output path.
Only files modified since the run started count: an earlier run's folders are not this one's.
"""

from __future__ import annotations

import glob
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from repro_run.capture import config as config_capture
from repro_run.core.errors import ConfigError
from repro_run.core.redaction import mask_text
from repro_run.metrics.sources import written_since
from repro_run.models import ConfigFile
from repro_run.store import Store

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

HYDRA_FOLDERS = ("outputs", "multirun")  # Hydra's defaults, under the run's cwd
HYDRA_FILES = ("config.yaml", "overrides.yaml")  # the composed config, then the overrides
MAX_JOBS = 100  # a sweep of more jobs records its first hundred configs
_MAX_DEPTH = 4  # multirun/<date>/<time>/<n>/.hydra
_MAX_MATCHES = 10_000


def hydra_configs(
    store: Store, cwd: Path, outputs: Sequence[Path], started: str, secrets: Sequence[str]
) -> tuple[tuple[ConfigFile, ...], list[str]]:
    """Each job's `config.yaml` and `overrides.yaml` written since `started` (ISO 8601),
    stored with `secrets` masked (a `db.password=...` override is in both), with their paths
    from `cwd`; and the problems reading them."""
    from datetime import datetime  # after the run: off the launch path (tests/test_entry.py)

    since_ns = int(datetime.fromisoformat(started).timestamp() * 1e9)
    configs: list[ConfigFile] = []
    problems: list[str] = []
    for folder in _job_folders(cwd, outputs, since_ns):
        for name in HYDRA_FILES:
            path = folder / name
            shown = os.path.relpath(path, cwd)
            if not os.path.isfile(path):
                continue
            try:
                parsed = config_capture.parse_config(path, Path(shown).as_posix())
            except ConfigError as exc:
                problems.append(f"Hydra's config not recorded: {exc}")
                continue
            text = parsed.content.decode("utf-8")  # parse_config checked it is UTF-8
            content = mask_text(text, secrets).encode()
            params = parsed.params if content == parsed.content else _masked(parsed.params, secrets)
            configs.append(ConfigFile(parsed.path, parsed.format, store.put_bytes(content), params))
    return tuple(configs), problems


def _masked(params: dict[str, Any], secrets: Sequence[str]) -> dict[str, Any]:
    """The parameters with secret values masked in every string (a list's too)."""

    def mask(value: Any) -> Any:
        if isinstance(value, str):
            return mask_text(value, secrets)
        return [mask(v) for v in value] if isinstance(value, list) else value

    return {key: mask(value) for key, value in params.items()}


def _job_folders(cwd: Path, outputs: Sequence[Path], since_ns: int) -> list[Path]:
    """The `.hydra` folders whose composed config was written since `since_ns`, sorted."""
    found: set[Path] = set()
    for root in dict.fromkeys([*outputs, *(cwd / name for name in HYDRA_FOLDERS)]):
        if not os.path.isdir(root):
            continue
        patterns = (f"{'*/' * depth}.hydra/config.yaml" for depth in range(_MAX_DEPTH + 1))
        matches = itertools.chain.from_iterable(glob.iglob(p, root_dir=root) for p in patterns)
        for match in itertools.islice(matches, _MAX_MATCHES):
            config = root / match
            if written_since(config, since_ns):
                found.add(config.parent)
    return sorted(found)[:MAX_JOBS]
