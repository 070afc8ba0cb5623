"""Frozen records for everything repro captures, and their JSON round trip.

Every capture facet returns one of these records, or `Unavailable(reason)` when it could not
run at all. A facet that ran but missed a field says so in its `missing` map (field -> why).
`to_json_dict` / `from_json_dict` are the only (de)serialisers: one generic codec driven by the
type hints, so a new field needs no hand-written conversion. Fields added later get defaults,
so records written by an older schema still load.

One package, imported as `repro_run.models`, in modules by what they describe: `base`
(statuses, flags, `Unavailable`), `inputs` (code, command, config, data), `environment`
(env vars, packages, system, GPU, determinism, facts from inside the child), `params` (the
hyperparameters among a command's arguments), `run` (the run
record, the process, the verdict), `codec` (the JSON round trip) and `reports` (fsck, gc,
doctor, stats).
"""

from __future__ import annotations

from repro_run.models.base import (
    ARCHIVE_FAILED,
    CRASHED,
    FAILED,
    FAILED_TO_START,
    FINAL_STATUSES,
    INTERRUPTED,
    LISTED_STATUSES,
    PRESUMED_DEAD,
    RUNNING,
    SCHEMA_VERSION,
    SECRET_IN_PATCH,
    SUCCEEDED,
    TAINTED,
    TERMINATED,
    UNKNOWN_REMOTE,
    Unavailable,
)
from repro_run.models.codec import MAX_TEXT, DecodeError, from_json_dict, to_json_dict
from repro_run.models.environment import (
    ChildFacts,
    CudaLibraries,
    Determinism,
    EnvCapture,
    GpuDevice,
    GpuInfo,
    Package,
    PackageList,
    PackagesRef,
    ProcessFacts,
    SystemInfo,
)
from repro_run.models.inputs import (
    CodeState,
    CommandInfo,
    ConfigFile,
    DirtyPath,
    FingerprintReport,
    ManifestEntry,
    Remote,
    TreeRef,
    TreeStatus,
    canonical_name,
    local_name,
)
from repro_run.models.params import Param
from repro_run.models.reports import (
    FACTORS,
    SEVERITIES,
    DoctorReport,
    Finding,
    FsckReport,
    GcReport,
    MetricStats,
)
from repro_run.models.run import (
    VERDICT_DIVERGED,
    VERDICT_FAILED,
    VERDICT_IDENTICAL,
    VERDICT_WITHIN_TOLERANCE,
    Imported,
    LogDifference,
    MetricDivergence,
    MetricsRef,
    ProcessResult,
    RerunInfo,
    RunRecord,
    RunSummary,
    SecretFinding,
    Supervisor,
    Verdict,
)

__all__ = [
    "ARCHIVE_FAILED",
    "CRASHED",
    "FACTORS",
    "FAILED",
    "FAILED_TO_START",
    "FINAL_STATUSES",
    "INTERRUPTED",
    "LISTED_STATUSES",
    "MAX_TEXT",
    "PRESUMED_DEAD",
    "RUNNING",
    "SCHEMA_VERSION",
    "SECRET_IN_PATCH",
    "SEVERITIES",
    "SUCCEEDED",
    "TAINTED",
    "TERMINATED",
    "UNKNOWN_REMOTE",
    "VERDICT_DIVERGED",
    "VERDICT_FAILED",
    "VERDICT_IDENTICAL",
    "VERDICT_WITHIN_TOLERANCE",
    "ChildFacts",
    "CodeState",
    "CommandInfo",
    "ConfigFile",
    "CudaLibraries",
    "DecodeError",
    "Determinism",
    "DirtyPath",
    "DoctorReport",
    "EnvCapture",
    "Finding",
    "FingerprintReport",
    "FsckReport",
    "GcReport",
    "GpuDevice",
    "GpuInfo",
    "Imported",
    "LogDifference",
    "ManifestEntry",
    "MetricDivergence",
    "MetricStats",
    "MetricsRef",
    "Package",
    "PackageList",
    "PackagesRef",
    "Param",
    "ProcessFacts",
    "ProcessResult",
    "Remote",
    "RerunInfo",
    "RunRecord",
    "RunSummary",
    "SecretFinding",
    "Supervisor",
    "SystemInfo",
    "TreeRef",
    "TreeStatus",
    "Unavailable",
    "Verdict",
    "canonical_name",
    "from_json_dict",
    "local_name",
    "to_json_dict",
]
