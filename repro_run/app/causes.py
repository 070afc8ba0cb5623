"""Likely causes of a divergence: what differs between two run records, most likely first.

MERGE NOTE (issue 6): `likely_causes` is the one stand-in for `repro_run.compare`'s ranked
comparison of two records. Replace its body with a call to that API (keeping the signature:
two records in, ranked "facet: detail" strings out); the verdict only consumes the ranking.
"""

from __future__ import annotations

from repro_run.models import GpuInfo, RunRecord, TreeRef, Unavailable

# Run-specific variables that differ between any two runs: never a cause.
_PER_RUN = {"REPRO_RUN_ID", "REPRO_RUN_DIR", "REPRO_METRICS"}
_THREAD_PREFIXES = ("OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_", "VECLIB_", "KMP_")


def likely_causes(original: RunRecord, rerun: RunRecord) -> tuple[str, ...]:
    """Ranked as `repro diff` ranks sections: data; code/patch; config/args; seed; packages
    and framework versions; CUDA/cuDNN/driver/GPU; determinism settings and threads."""
    causes: list[str] = []
    a, b = original, rerun
    data = _data(a.data, b.data)
    if data:
        causes.append(f"data: {data}")
    if a.code.commit != b.code.commit:
        causes.append(f"code: commit {a.code.commit[:12]} -> {b.code.commit[:12]}")
    elif a.code.patch_object != b.code.patch_object:
        causes.append("code: the uncommitted patch differs")
    if a.command.argv != b.command.argv:
        causes.append(f"config/args: argv {list(a.command.argv)} -> {list(b.command.argv)}")
    if a.command.cwd != b.command.cwd:
        causes.append(f"config/args: working directory {a.command.cwd} -> {b.command.cwd}")
    old_params = {(c.path, k): v for c in a.configs for k, v in c.params.items()}
    new_params = {(c.path, k): v for c in b.configs for k, v in c.params.items()}
    changed = sorted(
        k for k in old_params.keys() | new_params.keys() if old_params.get(k) != new_params.get(k)
    )
    if changed:
        causes.append("config/args: " + ", ".join(f"{p}:{k}" for p, k in changed[:5]))
    if a.determinism.seed != b.determinism.seed:
        causes.append(f"seed: {a.determinism.seed} -> {b.determinism.seed}")
    packages = _packages(a, b)
    if packages:
        causes.append(f"packages: {packages}")
    if _gpu(a.gpu) != _gpu(b.gpu) or _cuda(a) != _cuda(b):
        causes.append(f"cuda/gpu: {_gpu(a.gpu)} {_cuda(a)} -> {_gpu(b.gpu)} {_cuda(b)}")
    settings = _determinism(a) ^ _determinism(b)
    if settings:
        names = sorted({name for name, _ in settings})
        causes.append(f"determinism/threads: {', '.join(names)}")
    return tuple(causes)


def _data(old: tuple[TreeRef, ...], new: tuple[TreeRef, ...]) -> str:
    before = {d.path: d.digest for d in old}
    after = {d.path: d.digest for d in new}
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    return ", ".join(
        f"{p} {(before.get(p) or 'none')[:12]} -> {(after.get(p) or 'none')[:12]}" for p in changed
    )


def _packages(a: RunRecord, b: RunRecord) -> str:
    pa, pb = a.packages, b.packages
    if isinstance(pa, Unavailable) or isinstance(pb, Unavailable):
        return ""
    if pa.python_version != pb.python_version:
        return f"python {pa.python_version} -> {pb.python_version}"
    if pa.object != pb.object:
        return f"the installed packages differ ({pa.count} -> {pb.count})"
    return ""


def _gpu(gpu: GpuInfo | Unavailable) -> str:
    if isinstance(gpu, Unavailable):
        return "no GPU"
    names = ",".join(d.name for d in gpu.devices)
    return f"{names} driver {gpu.driver_version} cuda {gpu.cuda_driver_version}"


def _cuda(record: RunRecord) -> str:
    libs = record.cuda
    if isinstance(libs, Unavailable):
        return ""
    return f"toolkit {libs.cuda_toolkit} cudnn {libs.cudnn} nccl {libs.nccl}"


def _determinism(record: RunRecord) -> set[tuple[str, str]]:
    """Settings in effect: repro's injected knobs, the user's own, and thread-count variables.

    MERGE NOTE (issue 4): add the determinism settings issue 4 records (deterministic flag,
    threads, auto-seed, framework facts) here, or let issue 6's comparison cover them.
    """
    d = record.determinism
    settings = {(k, v) for k, v in d.injected.items() if k not in _PER_RUN}
    settings |= {(k, v) for k, v in d.user_set.items()}
    settings |= {(k, v) for k, v in record.env.values.items() if k.startswith(_THREAD_PREFIXES)}
    for name in ("REPRO_SEED", "PYTHONHASHSEED"):  # the seed is its own cause
        settings.discard((name, str(d.seed)))
    return settings
