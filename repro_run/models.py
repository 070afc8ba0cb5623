"""Frozen records for everything repro captures, and their JSON round trip.

Every capture facet returns one of these records, or `Unavailable(reason)` when it could not
run at all. A facet that ran but missed a field says so in its `missing` map (field -> why).
`to_json_dict` / `from_json_dict` are the only (de)serialisers: one generic codec driven by the
type hints, so a new field needs no hand-written conversion. Fields added later get defaults,
so records written by an older schema still load.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar, Union

from repro_run.record import Record, field, fields, has_default, is_record, items

SCHEMA_VERSION = 1

# Run statuses. `crashed` is never written: it is what a `running` record whose supervisor is
# gone reads as (see store.liveness).
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
INTERRUPTED = "interrupted"  # SIGINT (Ctrl-C)
TERMINATED = "terminated"  # SIGTERM / SIGHUP to repro
ARCHIVE_FAILED = "archive_failed"  # the command ran, but its outputs could not be archived
CRASHED = "crashed"
UNKNOWN_REMOTE = "unknown (remote)"  # supervised on another host: its flock is not ours
FAILED_TO_START = "failed_to_start"  # the command could not be executed after all (126/127)
PRESUMED_DEAD = "presumed dead"  # supervised on another host whose heartbeat has stopped
FINAL_STATUSES = (SUCCEEDED, FAILED, INTERRUPTED, TERMINATED, ARCHIVE_FAILED, FAILED_TO_START)
# Record flags: facts about a finished run that a reader (and `repro export`) must heed.
SECRET_IN_PATCH = "secret_in_patch"  # the --allow-dirty patch holds what looks like a secret
TAINTED = "tainted"  # tracked files or HEAD changed between the dirty check and the run's end


class Unavailable(Record):
    """A facet that could not be captured at all, and why."""

    reason: str


# --- code --------------------------------------------------------------------------------
class Remote(Record):
    name: str
    url: str  # credentials stripped


class DirtyPath(Record):
    path: str  # POSIX, relative to the repository root
    state: str  # "modified" | "staged" | "deleted" | "untracked" | "submodule" | "renamed" | ...


class TreeStatus(Record):
    """What the dirty check found: the result of one `git status` call."""

    root: str  # absolute path of the work tree
    commit: str
    branch: str | None  # None on a detached HEAD
    dirty: tuple[DirtyPath, ...]

    @property
    def is_dirty(self) -> bool:
        return bool(self.dirty)


class CodeState(Record):
    commit: str
    branch: str | None
    describe: str | None
    remotes: tuple[Remote, ...]
    dirty: bool
    dirty_paths: tuple[DirtyPath, ...] = ()
    patch_object: str | None = None  # BLAKE3 of the binary patch (also runs/<id>/patch.diff)
    is_shallow: bool = False
    missing: dict[str, str] = field(default_factory=dict)


# --- command and config ----------------------------------------------------------------
class CommandInfo(Record):
    argv: tuple[str, ...]  # as the user typed it after repro's options; secrets masked
    exec_argv: tuple[str, ...]  # what was executed (interpreter prepended for *.py); masked
    cwd: str  # POSIX, relative to the repository root ("." at the root)
    executable: str  # resolved absolute path of exec_argv[0]
    interpreter: str | None  # the Python that runs the command, when there is one


class ConfigFile(Record):
    path: str  # as given on the command line
    format: str  # "yaml" | "json" | "toml"
    object: str  # BLAKE3 of the file's bytes; the bytes are in the object store
    params: dict[str, Any]  # flattened to dotted keys


# --- data and outputs --------------------------------------------------------------------
class ManifestEntry(Record):
    path: str  # POSIX, relative to the tree root
    size: int
    hash: str | None  # BLAKE3 hex of the content; None for a symlink
    executable: bool = False
    link: str | None = None  # symlink target text, never followed


class TreeRef(Record):
    """A fingerprinted directory or file: a dataset, or an archived output."""

    path: str  # as given (relative to the repository root when inside it)
    digest: str  # BLAKE3 of the canonical manifest
    files: int
    bytes: int
    manifest_object: str  # the manifest, stored as an object
    skipped: tuple[str, ...] = ()  # entries not recorded, with the reason ("fifo: a/b")
    origin: str = ""  # datasets: how repro found it ("--data", "argument --data-dir", ...)


class FingerprintReport(Record):
    """`repro fingerprint PATH`: a dataset's digest and counts (and, for --json, its manifest)."""

    path: str  # as given
    root: str  # resolved: a symlinked root is followed
    digest: str
    files: int
    bytes: int
    seconds: float
    hashed_files: int  # read this time
    hashed_bytes: int
    cached_files: int  # vouched for by the stat cache: unchanged since they were hashed
    skipped: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    entries: tuple[ManifestEntry, ...] = ()


# --- environment ------------------------------------------------------------------------
class EnvCapture(Record):
    values: dict[str, str]  # allow-listed names with their (non-secret) values
    names_only: tuple[str, ...]  # present, value not recorded (not on the allow-list)
    redacted: tuple[str, ...]  # allow-listed or not, the name or value looked secret


class Package(Record):
    name: str
    version: str
    editable: str | None = None  # source directory of an editable install
    vcs: str | None = None  # "git+https://host/repo@<commit>" (credentials stripped)
    url: str | None = None  # direct URL of a non-VCS direct reference (credentials stripped)


class PackageList(Record):
    """Installed distributions of one interpreter (stored as an object, not in run.json)."""

    interpreter: str
    python_version: str
    packages: tuple[Package, ...]


class PackagesRef(Record):
    interpreter: str
    python_version: str
    count: int
    object: str  # the PackageList, stored as an object
    source: str  # "importlib" | "cache" | "subprocess"


class SystemInfo(Record):
    hostname: str
    os: str  # platform.system()
    os_release: str  # e.g. "Debian GNU/Linux 12 (bookworm)"
    kernel: str
    machine: str
    python_version: str
    python_implementation: str
    cpu_model: str
    cpu_count_logical: int
    cpu_count_physical: int | None
    memory_total: int  # bytes
    boot_id: str | None = None
    missing: dict[str, str] = field(default_factory=dict)


class GpuDevice(Record):
    index: int
    name: str
    uuid: str
    memory_total: int  # bytes
    compute_capability: str  # "9.0"
    sm_count: int | None = None
    mig_mode: str | None = None  # "enabled" | "disabled" | None (not supported)
    pci_bus_id: str | None = None


class GpuInfo(Record):
    driver_version: str
    cuda_driver_version: str  # the CUDA version the driver supports, e.g. "12.4"
    devices: tuple[GpuDevice, ...]
    missing: dict[str, str] = field(default_factory=dict)


class CudaLibraries(Record):
    """CUDA toolkit, cuDNN and NCCL versions found without importing a framework."""

    cuda_toolkit: str | None
    cudnn: str | None
    nccl: str | None
    sources: dict[str, str] = field(default_factory=dict)  # library -> where it was found
    missing: dict[str, str] = field(default_factory=dict)  # library -> why not found


# --- seed and determinism ------------------------------------------------------------------
class Determinism(Record):
    seed: int
    seed_source: str  # "cli" | "pyproject" | "random" | "env"
    injected: dict[str, str]  # variables repro put into the child's environment
    user_set: dict[str, str]  # variables repro would set but the user already had (theirs win)
    deterministic: bool = False  # --deterministic: framework switches set (older records: off)
    threads: int | None = None  # --threads N
    hook: bool = False  # the seeding hook was on the child's PYTHONPATH (off: --no-auto-seed)


# --- facts recorded inside the child (the hook, issue 4) -----------------------------------
class ProcessFacts(Record):
    """What one Python process of the run had in effect, written by the hook as it exited."""

    file: str  # its file under runs/<id>/facts/
    pid: int
    ppid: int
    rank: str | None = None  # RANK, else SLURM_PROCID
    local_rank: str | None = None  # LOCAL_RANK
    world_size: str | None = None  # WORLD_SIZE, else SLURM_NTASKS
    event: str = "exit"  # "exit" | "SIGTERM" | "KeyboardInterrupt" | "uncaught <Type>"
    seed: int | None = None
    seeded: tuple[str, ...] = ()  # what the hook seeded: "random", "numpy", "torch", ...
    switches: tuple[str, ...] = ()  # determinism switches the hook applied
    facts: dict[str, Any] = field(default_factory=dict)  # flat: "torch.version" -> "2.13.0"
    errors: tuple[str, ...] = ()  # what failed inside the hook (never raised into the script)

    @property
    def label(self) -> str:
        return f"rank {self.rank} (pid {self.pid})" if self.rank is not None else f"pid {self.pid}"


class ChildFacts(Record):
    processes: tuple[ProcessFacts, ...] = ()  # the run's first process first
    # fact -> {process label: value}, for facts on which the ranks disagree
    disagreements: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # facts files that could not be read


# --- the process ---------------------------------------------------------------------------
class ProcessResult(Record):
    exit_code: int  # the child's code; 128+N when a signal N ended it
    signal: str | None  # "SIGSEGV" when a signal ended it
    wall_time: float  # seconds
    cpu_time: float  # user + system seconds of the child and its reaped descendants
    peak_rss: int | None  # bytes, whole process tree, sampled
    peak_gpu_memory: int | None  # bytes, sampled through NVML when a GPU is present
    stdout_bytes: int
    stderr_bytes: int
    stop_reason: str | None = None  # "SIGINT" | "SIGTERM" | ... when repro was asked to stop
    orphans_killed: int = 0  # descendants still alive after the child exited


class Supervisor(Record):
    """Who is running the run: enough to tell a live run from a crashed one."""

    pid: int
    start_time: float  # process start time (psutil create_time)
    hostname: str
    boot_id: str | None
    # Seconds between touches of runs/<id>/lock: a reader on another host (a shared store)
    # presumes the run dead once the lock's mtime is older than 3 intervals.
    heartbeat_interval: float = 30.0
    # Linux: start time in clock ticks since boot (/proc/<pid>/stat); unlike start_time it does
    # not move when the wall clock is stepped, so pid reuse is told apart exactly.
    start_ticks: int | None = None


class SecretFinding(Record):
    """Where something secret-looking was found (never the value itself)."""

    path: str  # the file, as named in the patch
    line: int  # 1-based line number in the patched file
    kind: str  # what it looks like: "assignment", "credential shape", "known secret value"


# --- metrics --------------------------------------------------------------------------------
class MetricsRef(Record):
    """The metrics a run logged: every point stored as an object, final values in the record."""

    source: str  # "REPRO_METRICS" (logged through the protocol) or the --metrics-file path
    object: str  # the canonical series (see metrics.series), stored as an object
    points: int
    final: dict[str, float]  # the last value of each metric


# --- rerun -----------------------------------------------------------------------------------
VERDICT_IDENTICAL = "IDENTICAL"
VERDICT_WITHIN_TOLERANCE = "WITHIN TOLERANCE"
VERDICT_DIVERGED = "DIVERGED"
VERDICT_FAILED = "FAILED"


class RerunInfo(Record):
    """How a rerun was launched: what it accepted or changed to run at all."""

    data_drift: tuple[str, ...] = ()  # data that differed from the record (--allow-data-drift)
    data_remap: dict[str, str] = field(default_factory=dict)  # recorded path -> path used
    environment_drift: tuple[str, ...] = ()  # "numpy: 1.26.4 -> 2.0.0"
    worktree: str | None = None  # kept with --keep-worktree


class MetricDivergence(Record):
    """Where two metric curves part: the first step (in step order) beyond tolerance."""

    metric: str
    step: int | None
    original: float | None  # None: the original has no value there
    rerun: float | None


class LogDifference(Record):
    line: int  # 1-based, in the log after masking
    original: str
    rerun: str


class Verdict(Record):
    """Whether a rerun reproduced its original, on what evidence, and if not, why."""

    outcome: str  # VERDICT_*
    reason: str  # one line
    judged_on: tuple[str, ...]  # "outputs", "metrics", "log"
    rtol: float
    atol: float
    metrics_compared: int = 0  # values compared
    metrics_differ: tuple[str, ...] = ()  # metrics with any value not bitwise equal
    first_divergence: MetricDivergence | None = None
    outputs_compared: int = 0  # files compared
    outputs_differ: tuple[str, ...] = ()  # "+ out/new.bin", "- out/gone.bin", "~ out/model.npz"
    logs_equal: bool | None = None  # after masking timings; None: a log is missing
    log_difference: LogDifference | None = None
    causes: tuple[str, ...] = ()  # what differs between the two records, most likely first
    last_log_line: str | None = None  # FAILED: the rerun's last words (its error, usually)


# --- the run record ----------------------------------------------------------------------
class RunRecord(Record):
    id: str
    status: str
    created: str  # ISO 8601 UTC
    repro_version: str
    supervisor: Supervisor
    code: CodeState
    command: CommandInfo
    determinism: Determinism
    env: EnvCapture
    system: SystemInfo
    packages: PackagesRef | Unavailable
    gpu: GpuInfo | Unavailable
    cuda: CudaLibraries | Unavailable
    configs: tuple[ConfigFile, ...] = ()
    data: tuple[TreeRef, ...] = ()
    outputs: tuple[TreeRef, ...] = ()
    output_paths: tuple[str, ...] = ()  # what --outputs asked for (archived at the end)
    started: str | None = None
    ended: str | None = None
    process: ProcessResult | None = None
    problems: tuple[str, ...] = ()  # what went wrong around the run (e.g. archiving)
    metrics_file: str | None = None  # --metrics-file, as given (relative to the run's cwd)
    metrics: MetricsRef | None = None
    rerun_of: str | None = None  # the run this one replays
    rerun: RerunInfo | None = None
    verdict: Verdict | None = None  # a rerun's verdict against `rerun_of`
    schema_version: int = SCHEMA_VERSION
    flags: tuple[str, ...] = ()  # SECRET_IN_PATCH, TAINTED
    secret_findings: tuple[SecretFinding, ...] = ()  # where the patch looks secret
    tainted_paths: tuple[DirtyPath, ...] = ()  # tracked files changed while the run ran
    facts: ChildFacts | None = None  # recorded inside the child by the hook (None: hook off)
    group: str | None = None  # `repro run --repeat N`: the runs started together (issue 8)

    @property
    def duration(self) -> float | None:
        return self.process.wall_time if self.process else None


class RunSummary(Record):
    """One line of `repro list`."""

    id: str
    created: str
    status: str  # effective: a `running` run whose supervisor is gone is `crashed`
    duration: float | None
    command: str  # shlex-joined argv, secrets already masked in the record
    commit: str
    seed: int
    exit_code: int | None
    dirty: bool
    rerun_of: str | None = None
    verdict: str | None = None  # the outcome of a rerun's verdict
    metrics: dict[str, float] = field(default_factory=dict)  # final values


# --- the generic codec -------------------------------------------------------------------
T = TypeVar("T")
_UNAVAILABLE_KEY = "unavailable"


class DecodeError(ValueError):
    """A JSON document does not have the shape of the record it should hold."""


def to_json_dict(obj: Any) -> Any:
    """Turn a record (or anything inside one) into JSON-ready builtins."""
    if isinstance(obj, Unavailable):
        return {_UNAVAILABLE_KEY: obj.reason}
    if isinstance(obj, Record):
        return {name: to_json_dict(value) for name, value in items(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_json_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_json_dict(v) for k, v in obj.items()}
    return obj


def from_json_dict(cls: type[T], data: Any) -> T:
    """Build a `cls` record from what `to_json_dict` produced; raises DecodeError."""
    return typing.cast(T, _decode(cls, data, cls.__name__))


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _decode(tp: Any, value: Any, where: str) -> Any:
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return _decode_union(typing.get_args(tp), value, where)
    if isinstance(tp, type) and is_record(tp):
        return _decode_record(tp, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise DecodeError(f"{where}: expected a list")
        (item,) = (a for a in typing.get_args(tp) if a is not Ellipsis)
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise DecodeError(f"{where}: expected an object")
        _, item = typing.get_args(tp)
        return {k: _decode(item, v, f"{where}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(tp, type) and not isinstance(value, tp):
        raise DecodeError(f"{where}: expected {tp.__name__}, got {type(value).__name__}")
    return value


def _decode_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    if isinstance(value, dict) and _UNAVAILABLE_KEY in value and Unavailable in args:
        return Unavailable(str(value[_UNAVAILABLE_KEY]))
    candidates = [a for a in args if a is not type(None) and a is not Unavailable]
    errors = []
    for candidate in candidates:
        try:
            return _decode(candidate, value, where)
        except DecodeError as exc:
            errors.append(str(exc))
    raise DecodeError("; ".join(errors) or f"{where}: unexpected null")


def _decode_record(cls: type[Record], value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise DecodeError(f"{where}: expected an object")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name in fields(cls):
        if name in value:
            kwargs[name] = _decode(hints[name], value[name], f"{where}.{name}")
        elif not has_default(cls, name):
            raise DecodeError(f"{where}: missing field {name!r}")
    return cls(**kwargs)


# --- maintenance reports (repro fsck, repro gc) --------------------------------------------
class FsckReport(Record):
    objects: int  # objects whose content was hashed against their name
    runs: int  # run records read
    indexed: int  # rows of the rebuilt index
    repaired: tuple[str, ...]  # what fsck changed (temp files removed, corrupt objects set aside)
    damage: tuple[str, ...]  # what it cannot repair: unreadable records, missing objects
    notes: tuple[str, ...] = ()  # facts worth knowing: crashed runs, runs still starting

    @property
    def ok(self) -> bool:
        return not self.damage


class GcReport(Record):
    dry_run: bool
    removed: tuple[str, ...]  # digests removed (or that would be, with --dry-run)
    bytes_freed: int
    kept_referenced: int  # objects some run references
    kept_recent: int  # unreferenced, but younger than the grace period: a run may be archiving


# --- repro doctor (issue 4) ------------------------------------------------------------------
SEVERITIES = ("high", "medium", "low")
# Gundersen et al. 2022, "Sources of irreproducibility in machine learning: a review".
FACTORS = ("algorithmic", "implementation", "observation")


class Finding(Record):
    code: str  # stable name: "dirty-tree", "cudnn-benchmark", ...
    severity: str  # one of SEVERITIES
    factor: str  # one of FACTORS
    title: str
    evidence: tuple[str, ...]  # "train.py:12: torch.backends.cudnn.benchmark = True", ...
    fix: str


class DoctorReport(Record):
    root: str
    checks: tuple[str, ...]  # what was examined
    findings: tuple[Finding, ...]


# --- variance over repeated runs (repro stats, issue 8) -------------------------------------
class MetricStats(Record):
    """One final metric over a set of runs: n, mean, sample std, range, 95% CI of the mean."""

    metric: str
    n: int
    mean: float
    std: float | None  # None for a single run
    minimum: float
    maximum: float
    ci95_low: float | None  # Student's t interval of the mean; None for a single run
    ci95_high: float | None
