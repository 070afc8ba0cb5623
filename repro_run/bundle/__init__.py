"""Run bundles: one deterministic `.tar.gz` file that `repro export` writes and `repro import`
reads back, safely (scenarios B11-B18)."""

from __future__ import annotations

from repro_run.bundle.archive import BundleContents, read_bundle, write_bundle
from repro_run.bundle.names import (
    CODE_PACK,
    MANIFEST,
    RUN_FILES,
    check_member_name,
    object_member,
)

__all__ = [
    "CODE_PACK",
    "MANIFEST",
    "RUN_FILES",
    "BundleContents",
    "check_member_name",
    "object_member",
    "read_bundle",
    "write_bundle",
]
