"""One environment built with uv: `uv venv` at the recorded Python (uv fetches it when it is
not installed), then `uv pip install` of the exact pins from the recorded indexes.

- `--no-deps`: the record is the whole installed set; nothing is resolved anew.
- `--index-strategy unsafe-best-match`: a pin is taken from whichever recorded index serves
  that exact version, so `torch==2.5.1+cpu` comes from the PyTorch index listed as an extra
  one even when PyPI has `torch` too (uv's default stops at the first index naming it).
  https://docs.astral.sh/uv/concepts/indexes/#searching-across-multiple-indexes
- `--no-config` and no UV_* index variables: the record's indexes, not this machine's.
- `--relocatable`: the environment is built in a directory of its own and renamed into place.
- `--compile-bytecode`: nothing is written into the environment when it runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from repro_run.app.env.cache import MARKER
from repro_run.core.constants import SECRET_MASK
from repro_run.core.errors import EnvironmentBuildError
from repro_run.core.redaction import looks_secret_value, redact_url

# What would make uv use another index, or resolve differently, than the record says.
_UV_OVERRIDES = (
    "UV_INDEX",
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_CONFIG_FILE",
    "UV_PYTHON",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)
_BUILD_TIMEOUT_S = 3600.0  # uv bounds each request itself; this bounds a wedged uv


def uv_binary() -> str:
    """uv's binary, shipped in its wheel (a dependency of repro); a broken one is one line."""
    try:
        import uv

        binary = str(uv.find_uv_bin())
    except (ImportError, OSError) as exc:  # FileNotFoundError: the wheel lost its binary
        raise EnvironmentBuildError(f"uv is not usable ({exc}): reinstall repro-run") from None
    return binary


def build_env(
    prefix: Path,
    python: str,
    requirements: Sequence[str],
    index_args: Sequence[str],
    marker: Mapping[str, object],
) -> None:
    """Build the environment at `prefix` (an empty directory); EnvironmentBuildError names
    the index and the package uv could not get."""
    uv = uv_binary()
    environ = _uv_environ()
    _uv(uv, ["venv", "--quiet", "--relocatable", "--no-config", "--allow-existing",
             "--python", python, str(prefix)], environ, f"Python {python}", index_args)  # fmt: skip
    listed = prefix / "requirements.txt"
    listed.write_text("".join(f"{line}\n" for line in requirements), encoding="utf-8")
    if requirements:
        _uv(uv, ["pip", "install", "--quiet", "--no-config", "--python", str(prefix / "bin" / "python"),
                 "--no-deps", "--compile-bytecode", "--index-strategy", "unsafe-best-match",
                 *index_args, "-r", str(listed)], environ, requirements, index_args)  # fmt: skip
    (prefix / MARKER).write_text(json.dumps(dict(marker), indent=1), encoding="utf-8")


def install_project(
    python: str, source: Path, target: Path, index_args: Sequence[str], *, editable: bool
) -> None:
    """The project at `source` (a directory of the rerun's worktree) installed by itself into
    `target` for `python`: its metadata, entry points and console scripts (`target/bin`), its
    compiled extensions; built with its own build backend, fetched from the recorded indexes."""
    what = f"the project at {source}"
    _uv(uv_binary(), ["pip", "install", "--quiet", "--no-config", "--python", python, "--no-deps",
                      "--index-strategy", "unsafe-best-match", *index_args, "--target", str(target),
                      *(["--editable"] if editable else []), str(source)],
        _uv_environ(), what, index_args)  # fmt: skip


def _uv_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _UV_OVERRIDES}


def _uv(
    uv: str,
    args: Sequence[str],
    environ: Mapping[str, str],
    wanted: str | Sequence[str],
    index_args: Sequence[str],
) -> None:
    try:
        done = subprocess.run(
            [uv, *args],
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=_BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(
            f"uv did not finish building the environment within {_BUILD_TIMEOUT_S:g} s"
        ) from None
    except OSError as exc:
        raise EnvironmentBuildError(
            f"uv cannot run ({exc.strerror or exc}): reinstall repro-run"
        ) from None
    if done.returncode != 0:
        raise EnvironmentBuildError(_failure(done.stderr, wanted, index_args))


def _failure(stderr: str, wanted: str | Sequence[str], index_args: Sequence[str]) -> str:
    """One line: what uv could not get (the first pin its message names), from where (the
    index its message names, else the recorded ones), and uv's innermost cause."""
    lines = [_scrub(line.strip()) for line in stderr.splitlines() if line.strip()]
    causes = [line.partition("cause:")[2].strip() for line in lines if "cause:" in line]
    reason = (causes or lines or ["uv failed without a message"])[-1]
    if isinstance(wanted, str):
        return f"uv cannot make an environment with {wanted}: {reason}"
    names = [re.split(r"[=@ ]", pin, maxsplit=1)[0] for pin in wanted]
    named = [n for n in names if re.search(rf"\b{re.escape(n)}\b", stderr, re.IGNORECASE)]
    package = next((pin for pin in wanted if named and pin.startswith(named[0])), None)
    urls = [a for a in index_args if "://" in a or os.sep in a]
    index = next((u for u in urls if u.rstrip("/") in stderr), None)
    where = index or (", ".join(urls) if urls else "PyPI (no index was recorded)")
    what = package or f"the {len(wanted)} recorded packages"
    return f"cannot install {what} from {where}: {reason}"


def _scrub(line: str) -> str:
    """uv's message with URLs' credentials removed and a secret-looking line masked."""
    line = re.sub(r"\w+://\S+", lambda m: redact_url(m.group(0)), line)
    return SECRET_MASK if looks_secret_value(line) else line[:300]
