"""Sections about what Python's package list does not show: the conda packages (the native
libraries that change numerics) and the container the run ran in."""

from __future__ import annotations

from collections import Counter

from repro_run.compare.fields import change, not_compared, section, summarize
from repro_run.compare.snapshot import Snapshot
from repro_run.compare.versions import compare_versions
from repro_run.models import CondaList, CondaPackage, ContainerInfo, Unavailable
from repro_run.models.comparison import (
    ADDED,
    CHANGED,
    DOWNGRADED,
    REMOVED,
    UPGRADED,
    FieldChange,
    SectionDiff,
)

# Conda packages whose change can change a result bit for bit: BLAS/LAPACK and their OpenMP
# runtimes, the CUDA libraries, the C/C++/Fortran runtimes, and the frameworks conda builds
# against them (a new build string of the same version may link another BLAS).
_NUMERICS = frozenset(
    {
        "mkl", "mkl-service", "intel-openmp", "llvm-openmp", "_openmp_mutex", "libgomp", "tbb",
        "openblas", "libopenblas", "blas", "libblas", "libcblas", "liblapack", "liblapacke",
        "blis", "fftw", "magma", "cudatoolkit", "cudnn", "nccl", "libstdcxx", "libstdcxx-ng",
        "libgcc", "libgcc-ng", "libgfortran", "libgfortran-ng", "libgfortran5", "numpy",
        "scipy", "pytorch", "tensorflow", "jaxlib",
    }
)  # fmt: skip
_NUMERICS_PREFIXES = ("cuda-", "libcu", "libnv", "libnccl", "libcudnn", "mkl-", "pytorch-")


def is_numerics(name: str) -> bool:
    return name in _NUMERICS or name.startswith(_NUMERICS_PREFIXES)


def numerics_changed(conda: SectionDiff) -> bool:
    """Whether a numerics library is among the section's differences."""
    return any(is_numerics(f.key) for f in conda.differences)


# --- conda -----------------------------------------------------------------------------------
def conda_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    a, b = old.conda, new.conda
    if isinstance(a, Unavailable) or isinstance(b, Unavailable):
        missing = [
            f"{label}: {c.reason}"
            for label, c in (("A", a), ("B", b))
            if isinstance(c, Unavailable)
        ]
        return not_compared("conda", "conda packages not read — " + "; ".join(missing))
    before, after = _by_name(a), _by_name(b)
    fields = [
        _package_change(name, before.get(name), after.get(name))
        for name in sorted({*before, *after}, key=lambda n: (not is_numerics(n), n))
    ]
    kinds = Counter(f.change for f in fields if f.differs)
    order = (UPGRADED, DOWNGRADED, ADDED, REMOVED, CHANGED)
    counts = ", ".join(f"{kinds[k]} {k}" for k in order if kinds[k])
    notes = [f"{label}: not a conda environment" for label, c in (("A", a), ("B", b)) if c is None]
    summary = f"{counts}: {summarize(fields)}" if kinds else None
    return section("conda", fields, notes=notes if len(notes) == 1 else (), summary=summary)


def _by_name(listed: CondaList | None) -> dict[str, CondaPackage]:
    return {p.name: p for p in listed.packages} if listed is not None else {}


def _package_change(name: str, a: CondaPackage | None, b: CondaPackage | None) -> FieldChange:
    # The channel shows only where the two sides' differ: it would crowd out the build.
    channels_differ = a is not None and b is not None and _channel(a) != _channel(b)
    old, new = (_describe(p, channels_differ) if p else None for p in (a, b))
    if a is None or b is None or old == new:
        return change(name, old, new)
    order = compare_versions(a.version, b.version)
    kind = {1: UPGRADED, -1: DOWNGRADED}.get(order or 0, CHANGED)
    return change(name, old, new, kind=kind)


def _describe(p: CondaPackage, with_channel: bool) -> str:
    pinned = f"{p.version}={p.build}"  # conda's own spelling of an exact build
    return f"{pinned} ({_channel(p)})" if with_channel else pinned


def _channel(p: CondaPackage) -> str:
    """ "conda-forge" for https://conda.anaconda.org/conda-forge/linux-64: the channel's name."""
    channel = p.channel.rstrip("/")
    if p.subdir and channel.endswith(f"/{p.subdir}"):
        channel = channel[: -len(p.subdir) - 1]
    return channel.rsplit("/", 1)[-1] if "://" in channel else channel


# --- container -------------------------------------------------------------------------------
def container_section(old: Snapshot, new: Snapshot) -> SectionDiff:
    a, b = old.container, new.container
    if isinstance(a, Unavailable) or isinstance(b, Unavailable):
        reasons = [
            f"{label}: {c.reason}"
            for label, c in (("A", a), ("B", b))
            if isinstance(c, Unavailable)
        ]
        return not_compared("container", "container not read — " + "; ".join(reasons))
    fields = [
        change("runtime", _runtime(a), _runtime(b)),
        change("image", _get(a, "image"), _get(b, "image"), none_text="not known"),
        change("image id", _get(a, "image_id"), _get(b, "image_id"), none_text="not known"),
    ]
    labels_a, labels_b = (c.labels if c is not None else {} for c in (a, b))
    fields += [
        change(f"label {key}", labels_a.get(key), labels_b.get(key))
        for key in sorted({*labels_a, *labels_b})
    ]
    return section("container", fields)


def _runtime(c: ContainerInfo | None) -> str:
    return c.runtime if c is not None else "none"


def _get(c: ContainerInfo | None, attr: str) -> str | None:
    return getattr(c, attr) if c is not None else None
