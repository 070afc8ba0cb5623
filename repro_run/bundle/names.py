"""The member names a bundle may hold: an allow-list, so no name can reach outside staging.

Every name a bundle may carry is one of a handful of fixed names or `objects/<blake3 hex>`;
anything else (`../x`, `/abs`, `C:\\x`, `%2e%2e`, NUL, look-alikes, trailing `/`) is refused.
"""

from __future__ import annotations

import re

from repro_run.core.constants import RUN_FILES, RUN_RECORD_FILENAME
from repro_run.core.errors import BundleError

MANIFEST = "bundle.json"  # always the first member: sizes and hashes of all the others
CODE_PACK = "code/commit.pack"  # a git pack of the recorded commit and its tree (no history)
_RUN_PREFIX = "run/"
_OBJECT = re.compile(r"objects/[0-9a-f]{64}")
_FIXED = frozenset({MANIFEST, CODE_PACK, *(_RUN_PREFIX + name for name in RUN_FILES)})


def run_member(filename: str) -> str:
    return _RUN_PREFIX + filename


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
    if name in _FIXED or _OBJECT.fullmatch(name):
        return name
    raise BundleError(f"the bundle holds a member with an unexpected name {name!r}: refused")
