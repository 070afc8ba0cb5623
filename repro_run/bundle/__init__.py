"""Run bundles: one deterministic `.tar.gz` file that `repro export` writes (streaming each
member from its file) and `repro import` reads back safely into a staging directory
(scenarios B11-B18)."""

from __future__ import annotations

from repro_run.bundle.archive import (
    Member,
    MemberChangedError,
    file_member,
    temp_files,
    write_bundle,
)
from repro_run.bundle.names import (
    CODE_PACK,
    MANIFEST,
    check_member_name,
    object_member,
    run_member,
)
from repro_run.bundle.unpack import BundleReader, Limits, Listed, open_bundle

__all__ = [
    "CODE_PACK",
    "MANIFEST",
    "BundleReader",
    "Limits",
    "Listed",
    "Member",
    "MemberChangedError",
    "check_member_name",
    "file_member",
    "object_member",
    "open_bundle",
    "run_member",
    "temp_files",
    "write_bundle",
]
