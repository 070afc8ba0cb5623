"""Environment and hardware checks: overridden knobs, thread counts, GPUs, facts of past runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from repro_run.audit.code import Hit
from repro_run.models import ChildFacts, Finding, GpuInfo, Unavailable

CUBLAS = "https://docs.nvidia.com/cuda/cublas/#results-reproducibility"


def override_findings(overrides: Sequence[tuple[str, str, str]]) -> list[Finding]:
    """Knobs the user's environment sets to another value: under repro the user's value wins."""
    if not overrides:
        return []
    return [
        Finding(
            "determinism-overridden",
            "medium",
            "implementation",
            "your environment overrides determinism settings (repro keeps your values)",
            tuple(f"{name}={mine} (repro would set {ours})" for name, mine, ours in overrides),
            "unset them (or set repro's value) before `repro run`",
        )
    ]


def thread_findings(env: Mapping[str, str], cpu_count: int | None) -> list[Finding]:
    if "OMP_NUM_THREADS" in env:
        return []
    return [
        Finding(
            "threads-not-fixed",
            "low",
            "implementation",
            "thread counts follow the machine: reductions split by thread give other bits "
            "on a machine with another core count",
            (f"OMP_NUM_THREADS is not set; this machine has {cpu_count or '?'} CPUs",),
            "`repro run --threads N` fixes the OpenMP, MKL, OpenBLAS, torch and TensorFlow pools",
        )
    ]


def seed_findings(project_seed: int | None, source: str) -> list[Finding]:
    if project_seed is not None:
        return []
    return [
        Finding(
            "seed-not-fixed",
            "low",
            "algorithmic",
            "no fixed seed: each run draws a fresh one (recorded, so it can be reused)",
            (f"no [tool.repro] seed in {source}",),
            "set [tool.repro] seed = 0 in pyproject.toml, or pass --seed N",
        )
    ]


def gpu_findings(
    current: GpuInfo | Unavailable, past: Sequence[tuple[str, GpuInfo]]
) -> list[Finding]:
    """Mixed GPUs on this machine; GPUs or drivers that differ from those of recorded runs."""
    found = []
    if isinstance(current, GpuInfo):
        kinds = {(d.name, d.sm_count, d.compute_capability) for d in current.devices}
        mig = [d for d in current.devices if d.mig_mode == "enabled"]
        if len(kinds) > 1 or (mig and len(mig) < len(current.devices)):
            found.append(
                Finding(
                    "mixed-gpus",
                    "high",
                    "implementation",
                    "GPUs of different kinds: results differ with the GPU a rank lands on",
                    tuple(
                        f"gpu {d.index}: {d.name}, {d.sm_count or '?'} SMs, "
                        f"sm {d.compute_capability}" + (", MIG" if d.mig_mode == "enabled" else "")
                        for d in current.devices
                    ),
                    "pin runs to one kind (CUDA_VISIBLE_DEVICES); cuBLAS is bit-wise "
                    f"reproducible only for the same architecture and SM count: {CUBLAS}",
                )
            )
        differing = [
            f"run {run_id}: {_describe(gpu)}; now {_describe(current)}"
            for run_id, gpu in past
            if _signature(gpu) != _signature(current)
        ]
        if differing:
            found.append(
                Finding(
                    "gpus-differ-from-runs",
                    "medium",
                    "implementation",
                    "recorded runs used other GPUs or another driver than this machine",
                    tuple(differing[:10]),
                    "compare results only between runs on the same GPU model, SM count, driver "
                    f"and CUDA toolkit: {CUBLAS}",
                )
            )
    return found


def facts_hits(run_id: str, child: ChildFacts) -> list[Hit]:
    """What a run actually had in effect on CUDA (recorded by the hook), as code-scan hits."""
    hits: list[Hit] = []
    for p in child.processes:
        if not str(p.facts.get("torch.devices", "")).startswith("cuda"):
            continue
        where = f"run {run_id}, {p.label}"
        if p.facts.get("torch.cudnn.benchmark") is True:
            hits.append(Hit("cudnn-benchmark", f"{where}: cudnn.benchmark was True"))
        for key in ("torch.matmul.allow_tf32", "torch.cudnn.allow_tf32"):
            if p.facts.get(key) is True:
                hits.append(Hit("tf32-on", f"{where}: {key} was True"))
        if p.facts.get("torch.deterministic_algorithms") is False:
            hits.append(Hit("determinism-off", f"{where}: deterministic algorithms were off"))
    return hits


def _signature(gpu: GpuInfo) -> tuple[str, tuple[tuple[str, int | None], ...]]:
    return gpu.driver_version, tuple(sorted((d.name, d.sm_count) for d in gpu.devices))


def _describe(gpu: GpuInfo) -> str:
    names = sorted({f"{d.name} ({d.sm_count or '?'} SMs)" for d in gpu.devices})
    return f"driver {gpu.driver_version}, " + (", ".join(names) or "no GPU")
