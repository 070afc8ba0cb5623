"""Hydra's bookkeeping in the outputs compared with what differs in every run masked (pure).

A job's `.hydra/hydra.yaml` names its output folder (a date and time) and the directory it ran
in (a rerun runs in a worktree elsewhere); its job log starts each line with a timestamp
(`[2026-12-07 20:47:39,123][__main__][INFO] - ...`). Both are equal across identical runs once
those are masked; any other difference (a logged value, a changed config) still differs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from repro_run.core.runparts import mask_run_parts
from repro_run.verdict.logs import normalize_log

HYDRA_CAP = 8 << 20  # per file: Hydra's yaml files are kilobytes; a longer job log is bytes only
SET_ASIDE = "its timestamps and run folder"
# Hydra's own config (`hydra.yaml`, a sweep's `multirun.yaml`) names absolute directories:
# where the job ran, its output folder, its config folder. Where, not what: masked.
_SETTINGS = ("hydra.yaml", "multirun.yaml")
_ABSOLUTE = re.compile(r"^(\s*(?:- )?[\w.]+: )/.*$")
_JOB_LOG = re.compile(rb"\[\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}\]\[")


def may_be_hydra(path: str) -> bool:
    """Whether the path is one of a job's `.hydra/` folder, a sweep's `multirun.yaml`, or a
    log (then `is_hydra_file`)."""
    return _hydra_named(path) or path.endswith(".log")


def _hydra_named(path: str) -> bool:
    *folders, name = path.split("/")
    return ".hydra" in folders or name == "multirun.yaml"


def is_hydra_file(path: str, head: bytes) -> bool:
    """A file under a job's `.hydra/` folder, a sweep's `multirun.yaml`, or a log in Hydra's
    line format."""
    return _hydra_named(path) or (path.endswith(".log") and _JOB_LOG.match(head) is not None)


def hydra_equal(
    path: str, old: bytes, new: bytes, new_replacements: Sequence[tuple[str, str]] = ()
) -> bool:
    """Whether the two files at `path` are equal once timestamps and run folders are masked;
    `new_replacements` turn the rerun's own directories into the original's first."""
    settings = path.rsplit("/", 1)[-1] in _SETTINGS
    return _masked(old, (), settings) == _masked(new, new_replacements, settings)


def _masked(data: bytes, replacements: Sequence[tuple[str, str]], settings: bool) -> list[str]:
    lines = [mask_run_parts(line) for line in normalize_log(data, replacements)]
    return [_ABSOLUTE.sub(r"\1<path>", line) for line in lines] if settings else lines
