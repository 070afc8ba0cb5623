"""A conda environment's `conda-meta/` as conda writes it: one prefix record per linked package.

No conda here: the files are written with every field conda's `PrefixRecord` has (CEP "conda
environments", `conda-meta/<name>-<version>-<build>.json`: build, build_number, channel with its
subdir, constrains, depends, extracted_package_dir, files, fn, link, md5, paths_data,
requested_spec, sha256, size, subdir, timestamp, url, ...), sorted keys, indent 2, as
`conda.gateways.disk.create.write_as_json_to_file` does.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

CONDA_FORGE = "https://conda.anaconda.org/conda-forge"
OLD_MTIME_NS = 1_600_000_000 * 10**9  # older than any racy window: a cache may trust it


def link_package(
    prefix: Path,
    name: str,
    version: str,
    build: str,
    *,
    depends: tuple[str, ...] = (),
    channel: str = CONDA_FORGE,
    subdir: str = "linux-64",
    files: tuple[str, ...] = (),
) -> Path:
    """Write the prefix record conda writes when it links `name-version-build` into `prefix`."""
    fn = f"{name}-{version}-{build}.conda"
    pkgs = prefix.parent / "pkgs"
    md5 = hashlib.md5(fn.encode()).hexdigest()
    files = files or (f"lib/lib{name}.so",)
    record = {
        "build": build,
        "build_number": int(build.rpartition("_")[2] or 0) if build[-1:].isdigit() else 0,
        "channel": f"{channel}/{subdir}",
        "constrains": [],
        "depends": list(depends),
        "extracted_package_dir": str(pkgs / fn.removesuffix(".conda")),
        "features": "",
        "files": list(files),
        "fn": fn,
        "license": "BSD-3-Clause",
        "link": {"source": str(pkgs / fn.removesuffix(".conda")), "type": 1},
        "md5": md5,
        "name": name,
        "package_tarball_full_path": str(pkgs / fn),
        "paths_data": {
            "paths": [
                {
                    "_path": f,
                    "path_type": "hardlink",
                    "sha256": hashlib.sha256(f.encode()).hexdigest(),
                    "size_in_bytes": 1024,
                }
                for f in files
            ],
            "paths_version": 1,
        },
        "requested_spec": "None",
        "sha256": hashlib.sha256(fn.encode()).hexdigest(),
        "size": 123456,
        "subdir": subdir,
        "timestamp": 1698350798000,
        "track_features": "",
        "url": f"{channel}/{subdir}/{fn}",
        "version": version,
    }
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    path = meta / f"{name}-{version}-{build}.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=True))
    return path


def unlink_package(prefix: Path, name: str) -> None:
    """Remove `name`'s prefix record, as `conda remove` does last."""
    for path in (prefix / "conda-meta").glob(f"{name}-*.json"):
        if json.loads(path.read_text())["name"] == name:
            path.unlink()


def age(prefix: Path) -> None:
    """Date conda-meta and its records back, as an environment installed long ago is."""
    meta = prefix / "conda-meta"
    for path in [*meta.iterdir(), meta]:
        os.utime(path, ns=(OLD_MTIME_NS, OLD_MTIME_NS))
