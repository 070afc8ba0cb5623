"""Environment drift: what differs between the environment a run recorded and this one (pure).

Compared: Python, OS and kernel, CPU, GPU models, driver, CUDA (driver, toolkit, cuDNN, NCCL)
and installed packages. The hostname is not drift: the same setup on another machine is the
point of a rerun.
"""

from __future__ import annotations

from collections.abc import Sequence

from repro_run.models import CudaLibraries, GpuInfo, PackageList, SystemInfo, Unavailable

PACKAGES_LISTED = 10


def system_drift(old: SystemInfo, new: SystemInfo) -> list[str]:
    pairs = [
        ("python", _python(old), _python(new)),
        (
            "os",
            f"{old.os_release} (kernel {old.kernel})",
            f"{new.os_release} (kernel {new.kernel})",
        ),
        ("machine", old.machine, new.machine),
        ("cpu", _cpu(old), _cpu(new)),
    ]
    return [f"{name}: {a} -> {b}" for name, a, b in pairs if a != b]


def gpu_drift(old: GpuInfo | Unavailable, new: GpuInfo | Unavailable) -> list[str]:
    if isinstance(old, Unavailable) and isinstance(new, Unavailable):
        return []
    if isinstance(old, Unavailable) or isinstance(new, Unavailable):
        return [f"gpu: {_gpus(old)} -> {_gpus(new)}"]
    pairs = [
        ("gpu", _gpus(old), _gpus(new)),
        ("driver", old.driver_version, new.driver_version),
        ("cuda (driver)", old.cuda_driver_version, new.cuda_driver_version),
    ]
    return [f"{name}: {a} -> {b}" for name, a, b in pairs if a != b]


def cuda_drift(old: CudaLibraries | Unavailable, new: CudaLibraries | Unavailable) -> list[str]:
    def versions(libs: CudaLibraries | Unavailable) -> dict[str, str | None]:
        if isinstance(libs, Unavailable):
            return {"cuda toolkit": None, "cudnn": None, "nccl": None}
        return {"cuda toolkit": libs.cuda_toolkit, "cudnn": libs.cudnn, "nccl": libs.nccl}

    a, b = versions(old), versions(new)
    return [f"{k}: {a[k] or 'none'} -> {b[k] or 'none'}" for k in a if a[k] != b[k]]


def package_drift(old: PackageList | None, new: PackageList | None) -> list[str]:
    """`numpy: 1.26.4 -> 2.0.0`, `+ torch 2.1.0`, `- scipy 1.11.0` (first few, then a count)."""
    if old is None or new is None:
        return [] if old is new else [f"packages: {_count(old)} -> {_count(new)}"]
    before = {p.name.lower(): p for p in old.packages}
    after = {p.name.lower(): p for p in new.packages}
    lines = [
        f"{name}: {_version(before[name])} -> {_version(after[name])}"
        for name in sorted(before.keys() & after.keys())
        if _version(before[name]) != _version(after[name])
    ]
    lines += [
        f"+ {after[n].name} {_version(after[n])}" for n in sorted(after.keys() - before.keys())
    ]
    lines += [
        f"- {before[n].name} {_version(before[n])}" for n in sorted(before.keys() - after.keys())
    ]
    if len(lines) > PACKAGES_LISTED:
        lines = [*lines[:PACKAGES_LISTED], f"... and {len(lines) - PACKAGES_LISTED} more packages"]
    return lines


def summarize_drift(lines: Sequence[str], limit: int = 6) -> str:
    shown = "; ".join(lines[:limit])
    return shown + (f"; ... ({len(lines) - limit} more)" if len(lines) > limit else "")


def _python(info: SystemInfo) -> str:
    return f"{info.python_implementation} {info.python_version}"


def _cpu(info: SystemInfo) -> str:
    return f"{info.cpu_model} ({info.cpu_count_logical} logical)"


def _gpus(info: GpuInfo | Unavailable) -> str:
    if isinstance(info, Unavailable):
        return "none"
    return ", ".join(d.name for d in info.devices) or "none"


def _version(package: object) -> str:
    version = str(getattr(package, "version", ""))
    vcs = getattr(package, "vcs", None)
    return f"{version} ({vcs})" if vcs else version


def _count(packages: PackageList | None) -> str:
    return "unavailable" if packages is None else f"{len(packages.packages)} packages"
