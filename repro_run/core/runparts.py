"""Run-specific parts of output names: the date and time Hydra names its folders by (and the
`%Y%m%d-%H%M%S` of TensorFlow's tutorials), Lightning's `version_N`, TensorBoard's
`events.out.tfevents.<time>.<host>.<pid>.<n>`.

Each becomes a placeholder, so that the same file of two runs has one name (`verdict.pairing`
pairs output files by it; `compare` pairs Hydra's per-job config files). Numbers that name a
multirun job (`multirun/<date>/<time>/3/`) are kept: jobs pair by number.
"""

from __future__ import annotations

import re

_PARTS = (
    # `%Y%m%d-%H%M%S` (TensorFlow's and many tutorials' log folders): a compact date only with
    # a time of day beside it, as eight digits alone may be any number.
    (
        re.compile(
            r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])([-_T])"
            r"(?:[01]\d|2[0-3])[0-5]\d[0-5]\d(?!\d)"
        ),
        r"<yyyymmdd>\1<hhmmss>",
    ),
    (re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)"), "<date>"),
    (re.compile(r"(?<!\d)\d{2}[-:]\d{2}[-:]\d{2}(?:[.,]\d+)?(?!\d)"), "<time>"),
)
_WHOLE = (
    (re.compile(r"version_\d+"), "version_<n>"),
    (re.compile(r"events\.out\.tfevents\..+"), "events.out.tfevents.<run>"),
)
# Each placeholder as a glob: the same file of another run, found on disk.
_GLOBS = {
    "<yyyymmdd>": "[0-9]" * 8,
    "<hhmmss>": "[0-9]" * 6,
    "<date>": "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
    "<time>": "[0-9][0-9]?[0-9][0-9]?[0-9][0-9]*",
    "version_<n>": "version_*",
    "events.out.tfevents.<run>": "events.out.tfevents.*",
}


def normalise(path: str) -> str:
    """`outputs/2026-12-07/20-47-39/a.txt` -> `outputs/<date>/<time>/a.txt`."""
    return "/".join(_component(part) for part in path.split("/"))


def _component(part: str) -> str:
    for pattern, placeholder in _WHOLE:
        if pattern.fullmatch(part):
            return placeholder
    return mask_run_parts(part)


def mask_run_parts(text: str) -> str:
    """`text` with each date and time of day a placeholder, as in a paired path."""
    for pattern, placeholder in _PARTS:
        text = pattern.sub(placeholder, text)
    return text


def as_glob(path: str) -> str | None:
    """`logs/version_1/metrics.csv` -> `logs/version_*/metrics.csv`; None: no run-specific part.
    Only for a path without glob characters of its own."""
    parts = [_component(part) for part in path.split("/")]
    if parts == path.split("/"):
        return None
    for placeholder, pattern in _GLOBS.items():
        parts = [part.replace(placeholder, pattern) for part in parts]
    return "/".join(parts)
