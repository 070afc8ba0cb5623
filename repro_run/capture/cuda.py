"""CUDA toolkit, cuDNN and NCCL versions, read from the files on disk (pip wheels first)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence

from repro_run.core.record import Record
from repro_run.models import CudaLibraries, PackageList

_NVCC_TIMEOUT_S = 5.0
# Where distribution packages (libcudnn9-dev, libnccl-dev) put headers and libraries; Debian
# and Ubuntu add a multiarch directory (x86_64-linux-gnu).
_MULTIARCH = getattr(sys.implementation, "_multiarch", "")
SYSTEM_INCLUDE_DIRS = ("/usr/include", *([f"/usr/include/{_MULTIARCH}"] if _MULTIARCH else []))
SYSTEM_LIB_DIRS = (*([f"/usr/lib/{_MULTIARCH}"] if _MULTIARCH else []), "/usr/lib64", "/usr/lib")


class _Library(Record):
    key: str  # the CudaLibraries field
    dist_prefix: str  # pip wheels: nvidia-cudnn-cu12, nvidia-nccl-cu12
    headers: tuple[str, ...]
    macros: tuple[str, str, str]  # major, minor, patch
    lib_prefix: str  # libcudnn.so.9.1.0


_LIBRARIES = (
    _Library("cudnn", "nvidia-cudnn-cu", ("cudnn_version.h", "cudnn.h"), ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"), "libcudnn.so."),
    _Library("nccl", "nvidia-nccl-cu", ("nccl.h",), ("NCCL_MAJOR", "NCCL_MINOR", "NCCL_PATCH"), "libnccl.so."),
)  # fmt: skip


def capture_cuda_libraries(
    packages: PackageList | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    toolkit_roots: Sequence[str] | None = None,
) -> CudaLibraries:
    """CUDA toolkit, cuDNN and NCCL versions, read from files: no framework import, no ldconfig.

    `packages` (the run interpreter's list) finds the pip wheels (nvidia-cudnn-cu12, ...) that
    PyPI builds of PyTorch/JAX load in preference to system copies, so they are checked first.
    """
    env = os.environ if environ is None else environ
    roots = _toolkit_roots(env) if toolkit_roots is None else list(toolkit_roots)
    found: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    missing: dict[str, str] = {}

    toolkit = _toolkit_version(roots, env)
    found["cuda_toolkit"] = toolkit[0] if toolkit else None
    if toolkit:
        sources["cuda_toolkit"] = toolkit[1]
    else:
        missing["cuda_toolkit"] = (
            f"no version.json, version.txt or include/cuda.h in {roots}; no nvcc on PATH"
        )

    include_dirs, lib_dirs = _search_dirs(roots, env)
    listings: dict[str, list[str]] = {}
    for lib in _LIBRARIES:
        hit = (
            _from_packages(packages, lib.dist_prefix)
            or _from_headers(include_dirs, lib.headers, lib.macros)
            or _from_lib_names(lib_dirs, lib.lib_prefix, listings)
        )
        found[lib.key] = hit[0] if hit else None
        if hit:
            sources[lib.key] = hit[1]
        else:
            missing[lib.key] = (
                f"no {lib.dist_prefix}* package, {'/'.join(lib.headers)} or {lib.lib_prefix}* found"
            )
    return CudaLibraries(
        cuda_toolkit=found["cuda_toolkit"],
        cudnn=found["cudnn"],
        nccl=found["nccl"],
        sources=sources,
        missing=missing,
    )


def _search_dirs(roots: Sequence[str], env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Header and library directories, in the order the compiler and the loader would look."""
    conda = env.get("CONDA_PREFIX", "")
    include_dirs = [os.path.join(r, "include") for r in roots]
    include_dirs += [os.path.join(conda, "include") if conda else "", *SYSTEM_INCLUDE_DIRS]
    lib_dirs = env.get("LD_LIBRARY_PATH", "").split(os.pathsep)
    lib_dirs += [os.path.join(r, d) for r in roots for d in ("lib64", "lib")]
    lib_dirs += [os.path.join(conda, "lib") if conda else "", *SYSTEM_LIB_DIRS]
    return _unique(include_dirs), _unique(lib_dirs)


def _unique(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(p for p in paths if p))


def _toolkit_roots(env: Mapping[str, str]) -> list[str]:
    return _unique([env.get("CUDA_HOME", ""), env.get("CUDA_PATH", ""), "/usr/local/cuda"])


def _read(path: str, limit: int = 1 << 16) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit)  # the version macros sit in the first KB of 1 MB headers
    except OSError:
        return None


def _toolkit_version(roots: Sequence[str], env: Mapping[str, str]) -> tuple[str, str] | None:
    for root in roots:
        for name, parse in (
            ("version.json", _parse_version_json),
            ("version.txt", _parse_version_txt),
            ("include/cuda.h", _parse_cuda_h),
        ):
            path = os.path.join(root, name)
            text = _read(path)
            version = parse(text) if text is not None else None
            if version:
                return version, path
    import shutil  # lazy: only this fallback needs it

    nvcc = shutil.which("nvcc", path=env.get("PATH", os.defpath))
    if nvcc is None:
        return None
    try:
        done = subprocess.run(
            [nvcc, "--version"],
            capture_output=True,
            text=True,
            timeout=_NVCC_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"release (\d+\.\d+)", done.stdout)
    return (match.group(1), f"nvcc --version ({nvcc})") if match else None


def _parse_version_json(text: str) -> str | None:
    try:
        version = json.loads(text).get("cuda", {}).get("version")
    except (ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def _parse_version_txt(text: str) -> str | None:
    match = re.search(r"CUDA Version\s+(\d+(?:\.\d+)+)", text)
    return match.group(1) if match else None


def _parse_cuda_h(text: str) -> str | None:
    match = re.search(r"#define\s+CUDA_VERSION\s+(\d+)", text)
    return f"{int(match.group(1)) // 1000}.{int(match.group(1)) % 1000 // 10}" if match else None


def _from_packages(packages: PackageList | None, prefix: str) -> tuple[str, str] | None:
    for package in packages.packages if packages else ():
        if re.sub(r"[-_.]+", "-", package.name).lower().startswith(prefix):
            return package.version, f"package {package.name}"
    return None


def _from_headers(
    dirs: Sequence[str], names: Sequence[str], fields: Sequence[str]
) -> tuple[str, str] | None:
    for directory in dirs:
        for name in names:
            path = os.path.join(directory, name)
            text = _read(path)
            if text is None:
                continue
            parts = [re.search(rf"#define\s+{field}\s+(\d+)", text) for field in fields]
            if all(parts):
                return ".".join(m.group(1) for m in parts if m), path
    return None


def _from_lib_names(
    dirs: Sequence[str], prefix: str, listings: dict[str, list[str]]
) -> tuple[str, str] | None:
    for directory in dirs:  # in search order, as the dynamic loader would
        if directory not in listings:  # /usr/lib/<multiarch> holds ~1000 names: list it once
            try:
                listings[directory] = os.listdir(directory)
            except OSError:
                listings[directory] = []
        versions = [
            (tuple(int(x) for x in name[len(prefix) :].split(".")), name)
            for name in listings[directory]
            if name.startswith(prefix) and re.fullmatch(r"\d+(?:\.\d+)*", name[len(prefix) :])
        ]
        if versions:  # libcudnn.so.9 and libcudnn.so.9.1.0: the most precise name wins
            version, name = max(versions)
            return ".".join(map(str, version)), os.path.join(directory, name)
    return None
