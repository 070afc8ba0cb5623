"""The conda packages of the run's environment, read from `$CONDA_PREFIX/conda-meta/*.json`
(no `conda` subprocess) and cached by the stat keys of that directory and its files.

conda writes one JSON file per linked package (`<name>-<version>-<build>.json`: name, version,
build, build_number, channel, subdir, fn, url, md5, depends, files, paths_data, ...; the
prefix record of https://github.com/conda/ceps, "conda-meta"). Only what names and fetches the
package is kept: the files lists make these files large, so a cache hit reads none of them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from repro_run.capture import jsoncache
from repro_run.core.record import Record
from repro_run.core.redaction import redact_url
from repro_run.models import CondaList, CondaPackage, Unavailable, from_json_dict, to_json_dict

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

CONDA_META = "conda-meta"
_CACHE_FORMAT = 1  # {prefix, key, count, document}
# A prefix record is a few MB at most (its files list); one larger is not conda's, and is
# named in the list's problems rather than read whole into memory.
_MAX_RECORD_BYTES = 64 * 1024 * 1024


class CondaCapture(Record):
    """A conda environment's package list as the JSON document the store keeps: a cache hit
    decodes nothing (300 packages take ~100 ms to decode, more than the rest of a launch)."""

    prefix: str
    count: int
    document: str  # the CondaList, canonical JSON
    source: str  # "conda-meta" (read) | "cache" (no file there changed since it was read)

    def listing(self) -> CondaList:
        return from_json_dict(CondaList, json.loads(self.document))


def capture_conda(environ: Mapping[str, str]) -> CondaCapture | Unavailable | None:
    """The packages of the conda environment `CONDA_PREFIX` names; None outside conda."""
    prefix = environ.get("CONDA_PREFIX")
    if not prefix:
        return None
    meta = os.path.join(prefix, CONDA_META)
    try:
        key = _stat_key(meta)
    except OSError as exc:
        return Unavailable(f"CONDA_PREFIX is {prefix}, but {meta} cannot be read: {exc.strerror}")
    cache_file = jsoncache.cache_file("conda", prefix)
    entry = jsoncache.load_entry(cache_file)
    if entry is not None and entry.get("format") == _CACHE_FORMAT and entry.get("key") == key:
        count, document = entry.get("count"), entry.get("document")
        if entry.get("prefix") == prefix and type(count) is int and isinstance(document, str):
            return CondaCapture(prefix, count, document, "cache")
    listed = _read_prefix(prefix, [name for name, *_ in key[1:]])
    document = json.dumps(to_json_dict(listed), sort_keys=True)
    if not jsoncache.is_racy(stamp[1] for stamp in key):
        entry = {"format": _CACHE_FORMAT, "prefix": prefix, "key": key}
        entry.update(count=len(listed.packages), document=document)
        jsoncache.save_entry(cache_file, entry)
    return CondaCapture(prefix, len(listed.packages), document, CONDA_META)


def capture_conda_list(environ: Mapping[str, str]) -> CondaList | Unavailable | None:
    """The conda packages decoded, for a comparison (`repro diff` against now, a rerun's
    drift check); None outside conda."""
    captured = capture_conda(environ)
    return captured.listing() if isinstance(captured, CondaCapture) else captured


def _stat_key(meta: str) -> list[list[Any]]:
    """[directory inode, mtime] then [name, mtime, size] of each record: linking, unlinking or
    rewriting a package changes one of them."""
    st = os.stat(meta)
    key: list[list[Any]] = [[st.st_ino, st.st_mtime_ns]]
    with os.scandir(meta) as entries:
        for entry in entries:
            if entry.name.endswith(".json"):
                try:
                    est = entry.stat()
                except OSError:
                    continue  # unlinked while listed: the directory's mtime moved too
                key.append([entry.name, est.st_mtime_ns, est.st_size])
    key[1:] = sorted(key[1:])
    return key


def _read_prefix(prefix: str, names: list[str]) -> CondaList:
    packages: list[CondaPackage] = []
    problems: list[str] = []
    for name in names:
        path = os.path.join(prefix, CONDA_META, name)
        try:
            if os.path.getsize(path) > _MAX_RECORD_BYTES:
                problems.append(f"{name}: larger than {_MAX_RECORD_BYTES >> 20} MiB, not read")
                continue
            with open(path, "rb") as f:
                packages.append(_package(json.load(f)))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            problems.append(f"{name}: {exc}")
    packages.sort(key=lambda p: p.name)
    return CondaList(prefix=prefix, packages=tuple(packages), problems=tuple(problems))


def _package(record: dict[str, Any]) -> CondaPackage:
    def text(key: str) -> str:
        value = record.get(key)
        return value if isinstance(value, str) else ""

    for required in ("name", "version", "build"):
        if not text(required):
            raise KeyError(f"no {required!r}")
    depends = record.get("depends")
    return CondaPackage(
        name=text("name"),
        version=text("version"),
        build=text("build"),
        channel=redact_url(text("channel")),
        subdir=text("subdir"),
        fn=text("fn"),
        url=redact_url(text("url")) or None,
        md5=text("md5") or None,
        # A match spec is "name [version [build]]"; the name alone orders the links.
        depends=tuple(
            sorted({d.split()[0] for d in depends if isinstance(d, str) and d.strip()})
            if isinstance(depends, list)
            else ()
        ),
    )
