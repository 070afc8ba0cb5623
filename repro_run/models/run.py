"""The run record and what it ends with: the process, metrics, the rerun verdict, a summary."""

from __future__ import annotations

from repro_run.core.record import Record, field
from repro_run.models.base import (
    SCHEMA_VERSION,
    Unavailable,
)
from repro_run.models.codec import NON_FINITE, Limit
from repro_run.models.environment import (
    ChildFacts,
    CondaRef,
    ContainerInfo,
    CudaLibraries,
    Determinism,
    EnvCapture,
    GpuInfo,
    PackagesRef,
    SystemInfo,
)
from repro_run.models.inputs import (
    CodeState,
    CommandInfo,
    ConfigFile,
    DirtyPath,
    TreeRef,
)

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import ClassVar


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

    # A wait status gives 0..255 (128+N for a signal), and no time is negative (codec.Limit).
    __limits__: ClassVar[dict[str, Limit]] = {
        "exit_code": Limit(0, 255),
        "wall_time": Limit(0),
        "cpu_time": Limit(0),
    }


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


class PartInfo(Record):
    """Where one supervisor stands in a run that several record together (issue 20): those of
    one Slurm job step, of one torchrun rendezvous, or given one `--join` name. The first to
    arrive creates the run; each writes its own part."""

    name: str  # "<host>-<task>": runs/<id>/parts/<name>.json, its files in parts/<name>/
    join: str  # what joined them: "slurm step 12.0", "torchrun rendezvous X", "--join NAME"
    task: int | None = None  # SLURM_PROCID; None outside a Slurm step
    nodes: int | None = None  # the launch's shape: nodes (SLURM_STEP_NUM_NODES, --nnodes)
    tasks: int | None = None  # ... and tasks in all (SLURM_STEP_NUM_TASKS); None: unknown
    expected: int | None = None  # how many supervisors the launch starts; None: unknown


PART_NAME_MAX = 200  # characters: "<name>.json" stays within a file name's 255 bytes
_PART_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def is_part_name(name: str) -> bool:
    """Whether `name` may name a part: it is used as a file name in runs/<id>/parts/ (and in
    bundles), so no separator, no hidden name or `..`, none ending `.json` (a part's record's)."""
    return (
        0 < len(name) <= PART_NAME_MAX
        and set(name) <= _PART_NAME_CHARS
        and not name.startswith(".")
        and ".." not in name
        and not name.endswith(".json")
    )


class PartSummary(Record):
    """One part as the run's record lists it: enough to show it and judge its liveness."""

    name: str
    status: str  # as its supervisor wrote it; a reader judges liveness from `supervisor`
    supervisor: Supervisor
    commit: str
    dirty: bool
    task: int | None = None
    exit_code: int | None = None


class SecretFinding(Record):
    """Where something secret-looking was found (never the value itself)."""

    path: str  # the file, as named in the patch
    line: int  # 1-based line number in the patched file
    kind: str  # what it looks like: "assignment", "credential shape", "known secret value"


# --- metrics --------------------------------------------------------------------------------
class MetricsRef(Record):
    """The metrics a run logged: every point stored as an object, final values in the record."""

    source: str  # the sources, " + "-joined: "REPRO_METRICS", "stdout", "<format>:<path>"
    object: str  # the canonical series (see metrics.series), stored as an object
    points: int
    final: dict[str, float]  # the last value of each metric
    sources: dict[str, str] = field(default_factory=dict)  # metric -> its source (as `source`)

    __limits__: ClassVar[dict[str, Limit]] = {"final": NON_FINITE}  # a diverged loss is NaN


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
    # --recreate-env: the rebuilt environment (its cache key) and what it left out
    recreated_env: str | None = None
    env_left_out: tuple[str, ...] = ()  # "name==version: why" (--allow-partial-env)


class MetricDivergence(Record):
    """Where two metric curves part: the first step (in step order) beyond tolerance."""

    metric: str
    step: int | None
    original: float | None  # None: the original has no value there
    rerun: float | None

    __limits__: ClassVar[dict[str, Limit]] = {"original": NON_FINITE, "rerun": NON_FINITE}


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
    # Files paired across the runs by names with run-specific parts (a Hydra date folder):
    # "outputs/2026-12-07/20-47-39/ ↔ outputs/2026-12-07/20-49-02/"
    outputs_paired: tuple[str, ...] = ()
    # Files whose bytes differ only where their writer varies them on every run (a date):
    # "plots/loss.pdf: equal but for its creation date"; counted as equal.
    outputs_equal_but: tuple[str, ...] = ()
    # Ignore patterns in force and their source ("--ignore logs/**", "[tool.repro] ignore
    # *.log"), and the output files they set aside that differ ("logs/a.txt (--ignore logs/**)").
    ignore: tuple[str, ...] = ()
    outputs_ignored: tuple[str, ...] = ()
    logs_equal: bool | None = None  # after masking timings; None: a log is missing
    log_difference: LogDifference | None = None
    causes: tuple[str, ...] = ()  # what differs between the two records, most likely first
    last_log_line: str | None = None  # FAILED: the rerun's last words (its error, usually)

    __limits__: ClassVar[dict[str, Limit]] = {
        "rtol": NON_FINITE,
        "atol": NON_FINITE,
    }  # --rtol inf accepts any value


# --- the run record ----------------------------------------------------------------------
class PreexistingFiles(Record):
    """Files under the output paths before the run that it left as they were: not its outputs,
    never archived, compared or credited to it."""

    count: int
    paths: tuple[str, ...]  # the first few, sorted (as the output paths are shown)


class Imported(Record):
    """A run added by `repro import`: what its bundle carried besides the record and the
    objects every bundle holds (configs, package list, manifests, metrics)."""

    output_files: bool  # False: exported without --with-outputs; only the outputs' manifests came


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
    imported: Imported | None = None  # None: made in this store (or imported by repro < 14)
    preexisting_outputs: PreexistingFiles | None = None  # None: none (or repro < 16 archived all)
    conda: CondaRef | Unavailable | None = None  # None: no CONDA_PREFIX (or repro < 18)
    container: ContainerInfo | Unavailable | None = None  # None: none seen (or repro < 18)
    # A run several supervisors record (one per node or Slurm task, issue 20): run.json is its
    # first part's record, with the status of them all and every part seen so far.
    part: PartInfo | None = None
    parts: tuple[PartSummary, ...] = ()

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
    flags: tuple[str, ...] = ()  # the record's flags: SECRET_IN_PATCH, TAINTED
    group: str | None = None  # `repro run --repeat`: the group the run belongs to
    # A run several supervisors recorded: each part's status (effective where `list` judges
    # liveness), by name, in order of task.
    parts: dict[str, str] = field(default_factory=dict)
