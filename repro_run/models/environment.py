"""Where a run ran: env vars, packages, system, GPU and CUDA, the seed and determinism
settings, and the facts the hook recorded inside the child."""

from __future__ import annotations

from repro_run.core.record import Record, field
from repro_run.models.codec import ANY_SIZE, Limit

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any, ClassVar


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
    modules: tuple[str, ...] = ()  # its top-level import names; empty: not known
    # The editable install is the project itself: its directory relative to the work tree's
    # root ("." or "src/pkg"); a rebuild installs it from the rerun's worktree. None: not the
    # project, or not recorded (older records).
    project: str | None = None


class PackageIndexes(Record):
    """The package indexes in effect where a run ran (pip's and uv's settings), credentials
    removed: where its distributions without a direct reference came from."""

    index_url: str | None = None  # the default index; None: PyPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()  # where each setting was found: "PIP_INDEX_URL", a file


class PackageList(Record):
    """Installed distributions of one interpreter (stored as an object, not in run.json)."""

    interpreter: str
    python_version: str
    packages: tuple[Package, ...]
    # Its most specific wheel tags, as packaging.tags.sys_tags() begins: "cp311-cp311-linux_x86_64",
    # "cp311-cp311-manylinux_2_35_x86_64". Empty: not recorded (repro < 18).
    platform_tags: tuple[str, ...] = ()
    python_implementation: str | None = None  # "CPython", "PyPy"; None: not recorded
    indexes: PackageIndexes | None = None  # None: not recorded (older records)


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
    glibc: str | None = None  # "2.35" (os.confstr); None: another C library, or repro < 18


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


# --- conda and containers ---------------------------------------------------------------------
class CondaPackage(Record):
    """One record of `$CONDA_PREFIX/conda-meta/`: what conda linked into the environment."""

    name: str
    version: str
    build: str  # "h84fe81f_50496"
    channel: str  # as conda-meta gives it (a URL or a name), credentials and tokens removed
    subdir: str = ""  # "linux-64", "noarch"
    fn: str = ""  # the archive's file name: "mkl-2023.2.0-h84fe81f_50496.conda"
    url: str | None = None  # where conda fetched it from, credentials and tokens removed
    md5: str | None = None
    depends: tuple[str, ...] = ()  # the names of what it depends on (conda's link order)


class CondaList(Record):
    """The conda packages of one environment (stored as an object, not in run.json)."""

    prefix: str
    packages: tuple[CondaPackage, ...]  # sorted by name
    problems: tuple[str, ...] = ()  # conda-meta files that could not be read, and why


class CondaRef(Record):
    prefix: str  # $CONDA_PREFIX
    count: int
    object: str  # the CondaList, stored as an object
    source: str  # "conda-meta" (read) | "cache" (conda-meta unchanged since the last read)


class ContainerInfo(Record):
    """The container the run ran in, as far as its runtime lets a process inside know."""

    runtime: str  # "docker" | "podman" | "apptainer" | "singularity" | the `container` variable
    image: str | None = None  # a reference ("docker.io/library/python:3.12") or an image file
    image_id: str | None = None  # the image's ID or digest, where the runtime gives one
    labels: dict[str, str] = field(default_factory=dict)  # Apptainer's labels.json
    evidence: tuple[str, ...] = ()  # what told: "/.dockerenv", "APPTAINER_CONTAINER"
    missing: dict[str, str] = field(default_factory=dict)  # field -> why it is not known


# --- seed and determinism ------------------------------------------------------------------
class Determinism(Record):
    seed: int
    # "cli" | "pyproject" | "random" | "env" | "rerun" | "group" (drawn
    # from the ID of a run of several supervisors, so that all its parts draw the same)
    seed_source: str
    injected: dict[str, str]  # variables repro put into the child's environment
    user_set: dict[str, str]  # variables repro would set but the user already had (theirs win)
    deterministic: bool = False  # --deterministic: framework switches set (older records: off)
    threads: int | None = None  # --threads N
    hook: bool = False  # the seeding hook was on the child's PYTHONPATH (off: --no-auto-seed)

    __limits__: ClassVar[dict[str, Limit]] = {"seed": ANY_SIZE}


# --- facts recorded inside the child (the hook, issue 4) -----------------------------------
STARTED = "started"  # the hook's runtime.STARTED


class ProcessFacts(Record):
    """What one Python process of the run had in effect, written by the hook as it exited."""

    file: str  # its file under runs/<id>/facts/
    pid: int
    ppid: int
    rank: str | None = None  # RANK, else SLURM_PROCID
    local_rank: str | None = None  # LOCAL_RANK
    world_size: str | None = None  # WORLD_SIZE, else SLURM_NTASKS
    # "exit" | "SIGTERM" | "KeyboardInterrupt" | "uncaught <Type>"; "started": it wrote its
    # start facts and never its exit facts (killed, os._exit), or has not exited yet
    event: str = "exit"
    seed: int | None = None
    seeded: tuple[str, ...] = ()  # what the hook seeded: "random", "numpy", "torch", ...
    switches: tuple[str, ...] = ()  # determinism switches the hook applied
    facts: dict[str, Any] = field(default_factory=dict)  # flat: "torch.version" -> "2.13.0"
    # The top-level modules it imported, not the stdlib's; None: not recorded (older hooks).
    modules: tuple[str, ...] | None = None
    errors: tuple[str, ...] = ()  # what failed inside the hook (never raised into the script)
    # Where it ran, read by the hook at its start (None: an older hook).
    hostname: str | None = None
    commit: str | None = None  # HEAD of the repository its script (or cwd) is in
    packages_digest: str | None = None  # its site directories' *.dist-info names (hook/host.py)
    # NCCL_*, SLURM_*, torchrun's variables; None: a value that may hold a secret, not recorded
    launch_env: dict[str, str | None] = field(default_factory=dict)
    started: float | None = None  # seconds since the epoch
    ended: float | None = None  # None: no exit facts
    # What it exited with where the hook saw it: sys.exit(n), 1 for an uncaught exception,
    # 128+N for a signal; None: it returned or raised SystemExit itself
    exit_code: int | None = None

    __limits__: ClassVar[dict[str, Limit]] = {
        "seed": ANY_SIZE,  # what the script passed to random.seed, of any size
        "exit_code": Limit(0, 255),
    }

    @property
    def label(self) -> str:
        return f"rank {self.rank} (pid {self.pid})" if self.rank is not None else f"pid {self.pid}"

    @property
    def exited(self) -> bool:
        return self.event != STARTED


class ChildFacts(Record):
    processes: tuple[ProcessFacts, ...] = ()  # the run's first process first
    # fact -> {process label: value}, for facts on which the ranks disagree
    disagreements: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # facts files that could not be read
