"""Installed distributions of the interpreter that runs the command, with a stat-keyed cache."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from collections.abc import Mapping

from repro_run.capture import jsoncache, pkgscan
from repro_run.core.constants import SECRET_MASK
from repro_run.core.redaction import looks_secret_value, redact_url
from repro_run.models import (
    DecodeError,
    Package,
    PackageList,
    Unavailable,
    from_json_dict,
    to_json_dict,
)

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

SUBPROCESS_TIMEOUT_S = 10.0
_CACHE_FORMAT = (
    4  # 2: each package's top-level modules; 3: the platform tags; 4: the implementation
)
# Variables that change the interpreter's sys.path, hence what it can import.
_PATH_ENV_VARS = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONSAFEPATH",
)


def capture_packages(interpreter: str) -> tuple[PackageList, str] | Unavailable:
    """The distributions `interpreter` can import, and where the list came from.

    The source is "cache" (nothing installed or removed since the last scan), "importlib" (this
    very interpreter, scanned in-process) or "subprocess" (another interpreter, asked once).
    """
    interp = os.path.abspath(interpreter)
    in_process = _is_current_interpreter(interp)
    env = {name: os.environ.get(name, "") for name in _PATH_ENV_VARS}
    cache_file = _cache_file(interp, env)
    current_stamps = pkgscan.stamps() if in_process else None
    cached = _load_cache(cache_file, interp, env, current_stamps)
    if cached is not None:
        return cached, "cache"

    if in_process:
        try:
            raw: Any = pkgscan.scan()
        except Exception as exc:  # a broken distribution on sys.path must not stop the run
            return Unavailable(f"reading installed distributions failed: {exc!r}")
        source = "importlib"
    else:
        asked = _ask_interpreter(interp)
        if isinstance(asked, Unavailable):
            return asked
        raw, source = asked, "subprocess"

    try:
        packages = _package_list(interp, raw)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Unavailable(f"unexpected scan output from {interp}: {exc!r}")
    _save_cache(cache_file, interp, env, raw["stamps"], packages)
    return packages, source


def _is_current_interpreter(interp: str) -> bool:
    current = os.path.abspath(sys.executable) if sys.executable else ""
    if not current:
        return False
    if interp == current:
        return True
    # A venv's python is a symlink to the base python: same realpath, other prefix. Python finds
    # its prefix (pyvenv.cfg) from the unresolved path's directory, so another name for the same
    # binary in the *same directory* (python3 vs python3.11) is the same environment.
    same_dir = os.path.dirname(interp) == os.path.dirname(current)
    return same_dir and os.path.realpath(interp) == os.path.realpath(current)


def _scanner_source() -> str:
    """pkgscan.py's text: one scanner, imported here and sent to other interpreters."""
    with open(pkgscan.__file__, encoding="utf-8") as f:
        return f.read()


def _ask_interpreter(interp: str) -> dict[str, Any] | Unavailable:
    try:
        done = subprocess.run(
            [interp, "-c", _scanner_source()],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Unavailable(f"{interp} did not list its packages within {SUBPROCESS_TIMEOUT_S:g} s")
    except OSError as exc:
        return Unavailable(f"cannot run {interp}: {exc.strerror or exc}")
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if lines and looks_secret_value(lines[-1]):
            lines[-1] = SECRET_MASK
        return Unavailable(
            f"{interp} exited with {done.returncode} listing its packages: {lines[-1][:200] if lines else ''}"
        )
    try:
        raw = json.loads(done.stdout)
    except ValueError:
        return Unavailable(f"{interp} printed no package list (a sitecustomize writing to stdout?)")
    if not isinstance(raw, dict):
        return Unavailable(f"{interp} printed an unexpected package list")
    return raw


def _package_list(interp: str, raw: Mapping[str, Any]) -> PackageList:
    packages = [_package(d) for d in raw["dists"]]
    packages.sort(key=lambda p: _normalise(p.name))
    return PackageList(
        interpreter=interp,
        python_version=str(raw["python_version"]),
        packages=tuple(packages),
        platform_tags=tuple(str(t) for t in raw.get("platform_tags") or ()),
        python_implementation=str(raw["python_implementation"]),
    )


def _normalise(name: str) -> str:
    # PEP 503 normalisation: https://peps.python.org/pep-0503/#normalized-names
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(dist: Mapping[str, Any]) -> Package:
    name, version = str(dist["name"]), str(dist["version"])
    editable = vcs = url = None
    direct = _json_object(dist.get("direct_url"))
    raw_url = direct.get("url")
    if isinstance(raw_url, str) and raw_url:
        # PEP 610 direct_url.json: https://packaging.python.org/en/latest/specifications/direct-url-data-structure/
        vcs_info, dir_info = direct.get("vcs_info"), direct.get("dir_info")
        if isinstance(vcs_info, dict):
            commit = vcs_info.get("commit_id")
            vcs = f"{vcs_info.get('vcs', 'git')}+{redact_url(raw_url)}"
            vcs += f"@{commit}" if isinstance(commit, str) and commit else ""
        elif isinstance(dir_info, dict) and dir_info.get("editable"):
            editable = _file_url_path(redact_url(raw_url))
        else:
            url = redact_url(raw_url)
    modules = tuple(str(m) for m in dist.get("modules") or ())
    return Package(name, version, editable=editable, vcs=vcs, url=url, modules=modules)


def _json_object(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _file_url_path(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "file":
        return url
    path = urllib.parse.unquote(parsed.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # file:///C:/src on Windows
        path = path[1:]
    return path


# --- cache ------------------------------------------------------------------------------------
def _cache_file(interp: str, env: Mapping[str, str]) -> str | None:
    return jsoncache.cache_file("packages", [interp, env])


def _interpreter_stamp(interp: str) -> list[int] | None:
    try:
        st = os.stat(interp)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def _load_cache(
    path: str | None, interp: str, env: Mapping[str, str], current_stamps: list[list[Any]] | None
) -> PackageList | None:
    """The cached list if nothing it depends on changed; None on a miss or any cache trouble."""
    entry = jsoncache.load_entry(path)
    if entry is None:
        return None
    try:
        if (
            entry.get("format") != _CACHE_FORMAT
            or entry.get("interpreter") != interp
            or entry.get("env") != env
            or entry.get("interpreter_stamp") != _interpreter_stamp(interp)
        ):
            return None
        stamps = entry["stamps"]
        if current_stamps is not None:
            # This interpreter: we know its sys.path now, and it must be the one scanned.
            if stamps != current_stamps:
                return None
        elif any(_stamp(p) != mtime for p, mtime in stamps):
            return None
        return from_json_dict(PackageList, entry["packages"])
    except (ValueError, KeyError, TypeError, AttributeError, DecodeError):
        return None  # from another version: rescan and rewrite


def _stamp(path: str) -> int | None:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return None


def _save_cache(
    path: str | None,
    interp: str,
    env: Mapping[str, str],
    stamps: list[list[Any]],
    packages: PackageList,
) -> None:
    interp_stamp = _interpreter_stamp(interp)
    if interp_stamp is None or jsoncache.is_racy([interp_stamp[0], *(m for _, m in stamps)]):
        return
    entry = {
        "format": _CACHE_FORMAT,
        "interpreter": interp,
        "env": dict(env),
        "interpreter_stamp": interp_stamp,
        "stamps": stamps,
        "packages": to_json_dict(packages),
    }
    jsoncache.save_entry(path, entry)
