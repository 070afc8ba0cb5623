"""The package scanner: imported by repro for its own interpreter, and its source sent with
`python -c` to another one (`repro run -- /other/venv/bin/python train.py`).

So it is stdlib only, Python 3.8 syntax, and cheap to import: the cache check needs only the
mtimes of sys.path (`stamps`); a scan imports what it needs when it runs. It records the mtimes
*before* reading the directories: installing or removing a distribution changes the mtime of
the directory holding its .dist-info, so an unchanged set of mtimes means an unchanged list.
"""

from __future__ import annotations

import os
import site
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importlib.metadata import Distribution
    from typing import Any


def watch_paths() -> tuple[list[str], list[str]]:
    """(the sys.path entries to scan, those plus the files whose change means a rescan)."""
    paths = list(sys.path)
    if paths and not getattr(sys.flags, "safe_path", False):
        paths = paths[1:]  # the launcher's own directory (or "" for -c), not the environment's
    paths = [p for p in paths if p]
    extra = [os.path.join(sys.prefix, "pyvenv.cfg")]
    if getattr(site, "ENABLE_USER_SITE", False):
        extra.append(site.getusersitepackages())  # watched even while absent: --user installs
    return paths, paths + [p for p in extra if p not in paths]


def stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def stamps() -> list[list[Any]]:
    return [[p, stamp(p)] for p in watch_paths()[1]]


def name_version(dist: Distribution) -> tuple[str | None, str | None]:
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or dist.read_text("") or ""
    found: dict[str, str] = {}
    for line in text.splitlines():  # the headers only: email.parser reads whole descriptions
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if sep and key in ("name", "version") and key not in found:
            found[key] = value.strip()
    return found.get("name"), found.get("version")


def top_level(dist: Distribution) -> list[str]:
    """The names a distribution can be imported by: `top_level.txt` (setuptools), else the
    first part of each module path in its RECORD (`yaml/__init__.py`, `_yaml.cpython-311...so`)."""
    try:
        listed = dist.read_text("top_level.txt")
        if listed is not None:
            return sorted({line.strip() for line in listed.splitlines() if line.strip()})
        record = dist.read_text("RECORD") or ""
    except Exception:
        return []
    names = set()
    for line in record.splitlines():
        first = line.partition(",")[0].split("/")[0]
        if first.endswith((".dist-info", ".data", ".pth")) or first in ("", "..", "__pycache__"):
            continue
        if "/" in line.partition(",")[0] or first.endswith((".py", ".so", ".pyd")):
            names.add(first.partition(".")[0])
    return sorted(names)


def platform_tags() -> list[str]:
    """This interpreter's most specific wheel tags, as packaging.tags.sys_tags() begins
    (packaging >= 26.3): its own ABI on the native platform, then on manylinux at this glibc."""
    import sysconfig

    name = sys.implementation.name
    short = {"cpython": "cp", "pypy": "pp"}.get(name, name)
    interp = f"{short}{sys.version_info[0]}{sys.version_info[1]}"
    if name == "cpython":  # packaging.tags._cpython_abis
        gil = "t" if sysconfig.get_config_var("Py_GIL_DISABLED") else ""
        abi = interp + gil + ("d" if sysconfig.get_config_var("Py_DEBUG") else "")
    else:  # packaging.tags._generic_abi: ".pypy310-pp73-x86_64-linux-gnu.so" -> pypy310_pp73
        soabi = (sysconfig.get_config_var("EXT_SUFFIX") or "..").split(".")[1]
        abi = "_".join(soabi.split("-")[:2]) or "none"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    if plat == "linux_x86_64" and sys.maxsize <= 2**32:
        plat = "linux_i686"  # a 32-bit interpreter on a 64-bit kernel
    plats = [plat]
    libc = glibc_version()
    if plat.startswith("linux_") and libc:
        major, _, minor = libc.partition(".")
        plats.append(f"manylinux_{major}_{minor.partition('.')[0]}_{plat[6:]}")
    abi = abi.replace("-", "_").replace(".", "_")
    return [f"{interp}-{abi}-{p}" for p in plats]


def glibc_version() -> str | None:
    """ "2.35" where the C library is glibc (os.confstr); None for musl, macOS, Windows."""
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None
    kind, _, version = (found or "").partition(" ")
    return version if kind == "glibc" and version else None


def scan() -> dict[str, Any]:
    import platform
    import re
    from importlib import metadata

    paths = watch_paths()[0]
    before = stamps()
    seen: set[str] = set()
    dists: list[dict[str, Any]] = []
    for dist in metadata.distributions(path=paths):  # in sys.path order: first one wins
        try:
            name, version = name_version(dist)
            if not name:
                continue
            key = re.sub(r"[-_.]+", "-", name).lower()
            if key in seen:
                continue
            seen.add(key)
            direct_url = dist.read_text("direct_url.json")
        except Exception:
            continue
        dists.append(
            {
                "name": name,
                "version": version or "",
                "direct_url": direct_url,
                "modules": top_level(dist),
            }
        )
    return {
        "python_version": platform.python_version(),
        "platform_tags": platform_tags(),
        "python_implementation": platform.python_implementation(),
        "stamps": before,
        "dists": dists,
    }


if __name__ == "__main__":
    import json

    json.dump(scan(), sys.stdout)
