"""Names in one place: environment variables, store file names, limits."""

from __future__ import annotations

# --- environment variables repro reads -------------------------------------------------
ENV_HOME = "REPRO_HOME"  # store location override (default: <repo root>/.repro)
ENV_DEBUG = "REPRO_DEBUG"  # 1: show tracebacks of unexpected errors
ENV_KILL_GRACE = "REPRO_KILL_GRACE"  # seconds between forwarded SIGTERM and SIGKILL
ENV_DRAIN_TIMEOUT = "REPRO_DRAIN_TIMEOUT"  # seconds to drain pipes after the child exits
ENV_CACHE_DIR = "REPRO_CACHE_DIR"  # per-user cache (package lists, stat cache)

# --- environment variables repro injects into the child ----------------------------------
ENV_SEED = "REPRO_SEED"
ENV_RUN_ID = "REPRO_RUN_ID"
ENV_RUN_DIR = "REPRO_RUN_DIR"
ENV_PYTHONHASHSEED = "PYTHONHASHSEED"
ENV_PYTHONUNBUFFERED = "PYTHONUNBUFFERED"

# --- store layout ----------------------------------------------------------------------
STORE_DIRNAME = ".repro"
RUNS_DIRNAME = "runs"
OBJECTS_DIRNAME = "objects"
TMP_DIRNAME = "tmp"
INDEX_FILENAME = "index.sqlite"
INDEX_LOCK_FILENAME = "index.lock"
STORE_META_FILENAME = "store.json"  # {"store_version": N}
GITIGNORE_FILENAME = ".gitignore"
RUN_RECORD_FILENAME = "run.json"
RUN_LOG_FILENAME = "output.log"
RUN_LOCK_FILENAME = "lock"
RUN_PATCH_FILENAME = "patch.diff"

# --- project configuration -------------------------------------------------------------
PYPROJECT_FILENAME = "pyproject.toml"
TOOL_TABLE = "repro"  # [tool.repro]

# --- limits ----------------------------------------------------------------------------
DIRTY_PATHS_SHOWN = 10  # paths listed in the dirty-tree refusal
DEFAULT_KILL_GRACE_S = 10.0
DEFAULT_DRAIN_TIMEOUT_S = 2.0
CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
CONFIG_FLAGS = ("--config", "-c", "--cfg")
SECRET_MASK = "***"

# --- dataset fingerprints (issue 3) -------------------------------------------------------
STAT_CACHE_DIRNAME = "fingerprints"  # under the user cache dir: one stat cache per dataset root
STAT_CACHE_MAX_ROOTS = 64  # caches of the least recently fingerprinted roots are pruned
RACY_MARGIN_NS = 1_000_000_000  # a file touched this recently (plus the timestamp tick) is rehashed
LARGE_FILE_BYTES = 8 * 1024 * 1024  # hashed by BLAKE3's threads in the main process
# Never taken for data when an argument names them (a dataset is never a whole system area).
AUTO_DATA_VIRTUAL_ROOTS = ("/proc", "/sys", "/dev", "/run")
AUTO_DATA_SYSTEM_DIRS = frozenset(
    {"/", "/bin", "/boot", "/etc", "/home", "/lib", "/lib64", "/opt", "/root", "/sbin", "/tmp"}
    | {"/usr", "/var", "/var/tmp", "/mnt", "/media", "/private", "/private/tmp", "/Users"}
)
# An argument or config key with one of these words names where a run writes, not data.
AUTO_DATA_OUTPUT_WORDS = frozenset(
    {"out", "output", "outputs", "outdir", "save", "savedir", "log", "logs", "logdir", "ckpt"}
    | {"ckpts", "checkpoint", "checkpoints", "dump", "export", "result", "results", "dest"}
    | {"tensorboard", "wandb", "mlruns", "cache", "tmp"}
)
