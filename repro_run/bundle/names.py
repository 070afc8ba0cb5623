"""The member names a bundle may hold: an allow-list, so no name can reach outside staging.

Every name a bundle may carry is one of a handful of fixed names, `objects/<blake3 hex>`, or,
for a run several supervisors recorded, `run/parts/<part>.json` and `run/parts/<part>/<file>`
with a part name that is a plain file name (`models.is_part_name`); anything else (`../x`,
`/abs`, `C:\\x`, `%2e%2e`, NUL, look-alikes, trailing `/`) is refused.
"""

from __future__ import annotations

import re

from repro_run.core.constants import PART_FILES, PARTS_DIRNAME, RUN_FILES, RUN_RECORD_FILENAME
from repro_run.core.errors import BundleError
from repro_run.models import is_part_name

MANIFEST = "bundle.json"  # always the first member: sizes and hashes of all the others
CODE_PACK = "code/commit.pack"  # a git pack of the recorded commit and its tree (no history)
_RUN_PREFIX = "run/"
_PARTS_PREFIX = f"{_RUN_PREFIX}{PARTS_DIRNAME}/"
_RECORD_SUFFIX = ".json"
_OBJECT = re.compile(r"objects/[0-9a-f]{64}")
_FIXED = frozenset({MANIFEST, CODE_PACK, *(_RUN_PREFIX + name for name in RUN_FILES)})


def run_member(filename: str) -> str:
    return _RUN_PREFIX + filename


def part_member(part: str, filename: str | None = None) -> str:
    """The member of part `part`'s record (`filename` None) or of one of its PART_FILES."""
    base = _PARTS_PREFIX + part
    return base + _RECORD_SUFFIX if filename is None else f"{base}/{filename}"


def part_of_member(name: str) -> tuple[str, str | None] | None:
    """(part, filename) of a part's member, filename None for its record; None for any other
    name, or one whose part name could not be a part's."""
    rest = name.removeprefix(_PARTS_PREFIX)
    if rest == name:
        return None
    part, slash, filename = rest.partition("/")
    if not slash and part.endswith(_RECORD_SUFFIX):
        part = part.removesuffix(_RECORD_SUFFIX)
        return (part, None) if is_part_name(part) else None
    return (part, filename) if filename in PART_FILES and is_part_name(part) else None


def object_member(digest: str) -> str:
    return f"objects/{digest}"


def member_order(name: str) -> tuple[int, str]:
    """Where a member goes in a bundle: the run record first (an import decides early whether
    the run is already there), the other run files, the code, then the objects."""
    if name == run_member(RUN_RECORD_FILENAME):
        return (0, name)
    if name.startswith(_RUN_PREFIX):
        return (1, name)
    return (2, name) if name == CODE_PACK else (3, name)


def check_member_name(name: str) -> str:
    """`name` if a bundle may hold it, else BundleError (the name shown escaped)."""
    if name in _FIXED or _OBJECT.fullmatch(name) or part_of_member(name) is not None:
        return name
    raise BundleError(f"the bundle holds a member with an unexpected name {name!r}: refused")
