"""Sections about where a run ran: packages, GPU and CUDA libraries, env vars, the system."""

from __future__ import annotations

import re
from collections import Counter

from repro_run.compare.fields import change, not_compared, section, summarize
from repro_run.compare.snapshot import Snapshot
from repro_run.compare.versions import compare_versions
from repro_run.models import (
    CudaLibraries,
    EnvCapture,
    GpuDevice,
    GpuInfo,
    Package,
    Unavailable,
)
from repro_run.models.comparison import (
    ADDED,
    CHANGED,
    DOWNGRADED,
    EQUAL,
    REMOVED,
    UPGRADED,
    FieldChange,
    SectionDiff,
)

_NOT_RECORDED = "(set; value not recorded)"
_SECRET = "(secret; by name only)"


# --- packages --------------------------------------------------------------------------------
def packages_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    a, b = old.packages, new.packages
    if isinstance(a, Unavailable) or isinstance(b, Unavailable):
        missing = [
            f"{label}: {p.reason}"
            for label, p in (("A", a), ("B", b))
            if isinstance(p, Unavailable)
        ]
        return not_compared("packages", "package list not captured — " + "; ".join(missing))
    before = {normalise_name(p.name): p for p in a.packages}
    after = {normalise_name(p.name): p for p in b.packages}
    fields = [
        _package_change(name, before.get(name), after.get(name))
        for name in sorted({*before, *after})
    ]
    kinds = Counter(f.change for f in fields if f.differs)
    order = (UPGRADED, DOWNGRADED, ADDED, REMOVED, CHANGED)
    counts = ", ".join(f"{kinds[k]} {k}" for k in order if kinds[k])
    return section("packages", fields, summary=f"{counts}: {summarize(fields)}" if kinds else None)


def normalise_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _package_change(name: str, a: Package | None, b: Package | None) -> FieldChange:
    old, new = (_describe_package(p) if p else None for p in (a, b))
    if a is None or b is None or old == new:
        return change(name, old, new)
    order = compare_versions(a.version, b.version)
    kind = {1: UPGRADED, -1: DOWNGRADED}.get(order or 0, CHANGED)
    return change(name, old, new, kind=kind)


def _describe_package(p: Package) -> str:
    """The version, and where it came from when not an index (a VCS commit, a URL, editable)."""
    if p.vcs:
        return f"{p.version} ({p.vcs})"
    if p.url:
        return f"{p.version} ({p.url})"
    # An editable install's directory differs per checkout; that it is editable is what counts.
    return f"{p.version} (editable)" if p.editable else p.version


# --- GPU, driver, CUDA libraries ---------------------------------------------------------------
def gpu_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    return section("gpu", [*_gpu_fields(old.gpu, new.gpu), *_cuda_fields(old.cuda, new.cuda)])


def _gpu_fields(a: GpuInfo | Unavailable, b: GpuInfo | Unavailable) -> list[FieldChange]:
    if isinstance(a, Unavailable) or isinstance(b, Unavailable):
        reasons = [
            f"{label}: {g.reason}"
            for label, g in (("A", a), ("B", b))
            if isinstance(g, Unavailable)
        ]
        return [change("gpus", _gpus_text(a), _gpus_text(b), details=reasons)]
    fields = [
        change("driver", a.driver_version, b.driver_version),
        change("cuda (driver)", a.cuda_driver_version, b.cuda_driver_version),
        change("gpus", _gpus_text(a), _gpus_text(b)),
    ]
    before = {d.index: _device_text(d) for d in a.devices}
    after = {d.index: _device_text(d) for d in b.devices}
    fields += [change(f"gpu {i}", before.get(i), after.get(i)) for i in sorted({*before, *after})]
    return fields


def _gpus_text(g: GpuInfo | Unavailable) -> str:
    if isinstance(g, Unavailable):
        return "unavailable"
    names = Counter(d.name for d in g.devices)
    return ", ".join(f"{n} x {name}" for name, n in names.items()) or "none"


def _device_text(d: GpuDevice) -> str:
    parts = [d.name, f"{d.memory_total / 1e9:.1f} GB", f"sm {d.compute_capability}"]
    if d.sm_count is not None:
        parts.append(f"{d.sm_count} SMs")
    if d.mig_mode == "enabled":
        parts.append("MIG")
    return ", ".join(parts)


def _cuda_fields(
    a: CudaLibraries | Unavailable, b: CudaLibraries | Unavailable
) -> list[FieldChange]:
    if isinstance(a, Unavailable) or isinstance(b, Unavailable):
        reasons = [
            f"{label}: {c.reason}"
            for label, c in (("A", a), ("B", b))
            if isinstance(c, Unavailable)
        ]
        state = ["unavailable" if isinstance(c, Unavailable) else "found" for c in (a, b)]
        return [change("cuda libraries", state[0], state[1], details=reasons)]
    return [
        change(key, getattr(a, attr), getattr(b, attr), none_text="not found")
        for key, attr in (("cuda toolkit", "cuda_toolkit"), ("cudnn", "cudnn"), ("nccl", "nccl"))
    ]


# --- env vars --------------------------------------------------------------------------------
def env_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    """Recorded values compare by value; names without a value compare by presence only."""
    a, b = _env_view(old.env), _env_view(new.env)
    fields = []
    for name in sorted({*a, *b}):
        va, vb = a.get(name), b.get(name)
        opaque = va in (_NOT_RECORDED, _SECRET) and va == vb
        fields.append(change(name, va, vb, kind=EQUAL if opaque else None))
    return section("env", fields)


def _env_view(env: EnvCapture) -> dict[str, str]:
    view = {name: _NOT_RECORDED for name in env.names_only}
    view.update({name: _SECRET for name in env.redacted})
    view.update(env.values)
    return view


# --- system ----------------------------------------------------------------------------------
def system_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    a, b = old.system, new.system
    python_a = f"{a.python_implementation} {a.python_version}"
    python_b = f"{b.python_implementation} {b.python_version}"
    fields = [
        change("python", python_a, python_b),
        change("os", a.os_release, b.os_release),
        change("kernel", f"{a.os} {a.kernel}", f"{b.os} {b.kernel}"),
        # Older records did not say: unknown on one side is no difference.
        *([change("glibc", a.glibc, b.glibc)] if a.glibc and b.glibc else []),
        change("machine", a.machine, b.machine),
        change("cpu", a.cpu_model, b.cpu_model),
        change("cpu count", a.cpu_count_logical, b.cpu_count_logical),
        change("memory", a.memory_total, b.memory_total, unit="bytes"),
        change("host", a.hostname, b.hostname),
    ]
    return section("system", fields)
