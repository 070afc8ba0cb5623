"""Names in one place: environment variables, store file names, limits."""

from __future__ import annotations

# --- environment variables repro reads -------------------------------------------------
ENV_HOME = "REPRO_HOME"  # store location override (default: <repo root>/.repro)
ENV_DEBUG = "REPRO_DEBUG"  # 1: show tracebacks of unexpected errors
ENV_KILL_GRACE = "REPRO_KILL_GRACE"  # seconds between forwarded SIGTERM and SIGKILL
ENV_DRAIN_TIMEOUT = "REPRO_DRAIN_TIMEOUT"  # seconds to drain pipes after the child exits
ENV_CACHE_DIR = "REPRO_CACHE_DIR"  # per-user cache (package lists, stat cache)
# The image a container runs, for runtimes that do not tell the container (Docker):
# `docker run -e REPRO_CONTAINER_IMAGE=name@sha256:... IMAGE`.
ENV_CONTAINER_IMAGE = "REPRO_CONTAINER_IMAGE"

# --- environment variables repro injects into the child ----------------------------------
ENV_SEED = "REPRO_SEED"
MAX_SEED = 2**32 - 1  # PYTHONHASHSEED's range and NumPy's legacy seed range
ENV_RUN_ID = "REPRO_RUN_ID"
ENV_RUN_DIR = "REPRO_RUN_DIR"
ENV_PYTHONHASHSEED = "PYTHONHASHSEED"
ENV_PYTHONUNBUFFERED = "PYTHONUNBUFFERED"
ENV_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
ENV_METRICS = "REPRO_METRICS"  # the JSONL file `repro_run.log_metrics` appends to
# "<digest> <stamp>": the package set's digest of repro's own site directories and their stat
# stamp; a rank whose directories have that stamp takes the digest instead of listing them
ENV_PACKAGES_DIGEST = "REPRO_PACKAGES_DIGEST"

# --- store layout ----------------------------------------------------------------------
STORE_DIRNAME = ".repro"
RUNS_DIRNAME = "runs"
OBJECTS_DIRNAME = "objects"
TMP_DIRNAME = "tmp"
INDEX_FILENAME = "index.sqlite"
INDEX_LOCK_FILENAME = "index.lock"
STORE_META_FILENAME = "store.json"  # {"store_version": N}
# .repro/digest.key: the key of secret parameters' digests (keyed, so that a short password
# cannot be found from its digest by trying a dictionary); made on first use, never exported.
DIGEST_KEY_FILENAME = "digest.key"
DIGEST_KEY_BYTES = 64  # BLAKE2b's longest key
GITIGNORE_FILENAME = ".gitignore"
RUN_RECORD_FILENAME = "run.json"
GROUP_PREFIX = "grp-"  # `repro run --repeat`'s group IDs: grp-<10 hex digits>
RUN_LOG_FILENAME = "output.log"
RUN_LOCK_FILENAME = "lock"
PARTS_DIRNAME = "parts"  # runs/<id>/parts/<name>.json and parts/<name>/: one per supervisor
JOINS_DIRNAME = (
    "joins"  # joins/<digest>.json: which run a Slurm step, rendezvous or --join name made
)
ENV_JOIN_WINDOW = "REPRO_JOIN_WINDOW"  # seconds a multi-part run accepts new parts (default 1 h)
RUN_PATCH_FILENAME = "patch.diff"
RUN_METRICS_FILENAME = "metrics.jsonl"  # what REPRO_METRICS names
# A run record from elsewhere (a bundle, a remote) is read into memory: refused over this.
# What repro writes is kilobytes: a long argv or thousands of metrics stay far below.
RECORD_MAX_BYTES = 4 * 1024 * 1024
# The files of a run that travel with it (bundles, remotes); `lock` and `facts/` stay.
RUN_FILES = (RUN_RECORD_FILENAME, RUN_LOG_FILENAME, RUN_METRICS_FILENAME, RUN_PATCH_FILENAME)
PART_FILES = RUN_FILES[1:]  # a part's own files beside its record (its facts are in the record)

# --- project configuration -------------------------------------------------------------
PYPROJECT_FILENAME = "pyproject.toml"
TOOL_TABLE = "repro"  # [tool.repro]

# --- limits ----------------------------------------------------------------------------
DIRTY_PATHS_SHOWN = 10  # paths listed in the dirty-tree refusal
DEFAULT_KILL_GRACE_S = 10.0
DEFAULT_DRAIN_TIMEOUT_S = 2.0
CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
CONFIG_FLAGS = ("--config", "-c", "--cfg")
# A config's flattened parameters (recorded in run.json) are bounded: YAML aliases can make a
# few lines stand for billions of values. Real configs stay far below (issue 14, item 9).
CONFIG_MAX_DEPTH = 100
CONFIG_MAX_VALUES = 100_000
CONFIG_MAX_FLAT_CHARS = 8 * 1024 * 1024
SECRET_MASK = "***"

# --- hardening (issue 7) -----------------------------------------------------------------
ENV_CRASH_AT = "REPRO_CRASH_AT"  # tests: os._exit at the k-th durable step of this process
CRASH_AT_EXIT_CODE = 99  # the exit status of a process stopped by REPRO_CRASH_AT
ENV_HEARTBEAT_INTERVAL = "REPRO_HEARTBEAT_INTERVAL"  # seconds between touches of runs/<id>/lock
DEFAULT_HEARTBEAT_INTERVAL_S = 30.0
HEARTBEAT_STALE_FACTOR = 3  # a remote run whose heartbeat is older than 3 intervals: presumed dead
QUARANTINE_DIRNAME = "quarantine"  # objects/quarantine/: corrupt objects set aside by fsck
TEMP_GRACE_S = 2.0  # an unlocked, empty temp file younger than this may still be starting
INCOMPLETE_RUN_GRACE_S = 3600.0  # a run dir without run.json nor a lock ever taken: removed after
GC_GRACE_S = 3600.0  # gc keeps unreferenced objects younger than this (a run may be archiving)
GC_ENVS_GRACE_S = 7 * 24 * 3600.0  # gc --envs keeps environments a rerun used within this
GC_LOCK_FILENAME = "gc.lock"  # .repro/gc.lock: held by the one gc at work
SET_ASIDE_PREFIX = "gc-"  # objects/tmp/gc-<digest>: an object gc set aside before removing it

# --- repro rerun -------------------------------------------------------------------------
RERUN_TMP_PREFIX = "repro-rerun-"  # <TMPDIR>/repro-rerun-<id>-XXXX/{tree,lock,keep}
RERUN_TREE_DIRNAME = "tree"
RERUN_LOCK_FILENAME = "lock"  # flock held while the rerun lives: a free one marks a crashed rerun
RERUN_KEEP_FILENAME = "keep"  # --keep-worktree: never pruned
DEFAULT_RTOL = 1e-5  # numpy.isclose's defaults
DEFAULT_ATOL = 1e-8
# The exit code of `repro rerun` says the verdict (IDENTICAL exits 0).
VERDICT_EXIT_CODES = {"IDENTICAL": 0, "WITHIN TOLERANCE": 20, "DIVERGED": 21, "FAILED": 22}
# What a timing in a log becomes (`12.3 ms/step` -> `<time>`): the verdict compares logs so
# masked, and printed metrics are read from them.
TIME_MASK = "<time>"

# --- determinism and the seeding hook (issue 4) ---------------------------------------------
# The hook (repro_run/hook, stdlib only) keeps its own copy of these names;
# tests/test_hook.py checks that the two agree.
ENV_DETERMINISTIC = "REPRO_DETERMINISTIC"  # "1": the hook applies the framework switches
ENV_THREADS = "REPRO_THREADS"  # --threads N: the hook sets framework thread counts
ENV_PYTHONPATH = "PYTHONPATH"
HOOK_MODULE_NAME = "_repro_hook"  # the name the sitecustomize loads the hook package under
RUN_FACTS_DIRNAME = "facts"  # runs/<id>/facts/<rank>-<pid>.json: one file per process

# --- dataset fingerprints (issue 3) -------------------------------------------------------
STAT_CACHE_DIRNAME = "fingerprints"  # under the user cache dir: one stat cache per dataset root
STAT_CACHE_MAX_ROOTS = 64  # caches of the least recently fingerprinted roots are pruned
RACY_MARGIN_NS = 1_000_000_000  # a file touched this recently (plus the timestamp tick) is rehashed
LARGE_FILE_BYTES = 8 * 1024 * 1024  # hashed in chunks by BLAKE3's threads (in the workers)
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
    | {"tensorboard", "wandb", "mlruns", "cache", "tmp", "outf"}
)
# Whole names (`_` for `-`, the last dotted part of a config key) of where runs write, whose
# words alone would not say so: `--work-dir` (mmdetection), `--exp-dir`, `--model-dir`
# (TensorFlow's Estimator writes its checkpoints there), `--run-dir`.
AUTO_DATA_OUTPUT_NAMES = frozenset(
    {"work_dir", "workdir", "exp_dir", "expdir", "model_dir", "modeldir", "run_dir", "rundir"}
)
# A Hydra override or config key under `hydra.` configures Hydra itself: `hydra.run.dir` and
# `hydra.sweep.dir` are where Hydra writes the job's outputs, never the job's data.
AUTO_DATA_OUTPUT_PREFIXES = ("hydra.",)

# --- repro export / repro import (issue 8) -----------------------------------------------
BUNDLE_SUFFIX = ".repro.tar.gz"  # repro export's default file: <id>.repro.tar.gz
ENV_IMPORT_MAX_BYTES = "REPRO_IMPORT_MAX_BYTES"  # override the uncompressed size limit
DEFAULT_IMPORT_MAX_BYTES = 16 * 1024**3
IMPORT_MAX_RATIO = 200.0  # uncompressed / compressed: more is refused as a decompression bomb
IMPORT_STAGING_PREFIX = "import-"  # <store>/import-XXXX/: a bundle unpacked before its renames
DATA_STAGING_PREFIX = "data-"  # <store>/data-XXXX/: bundled data being materialised
PULL_STAGING_PREFIX = "pull-"  # <store>/pull-XXXX/: a run fetched from a remote, verified
# fsck removes abandoned ones
STAGING_PREFIXES = (IMPORT_STAGING_PREFIX, DATA_STAGING_PREFIX, PULL_STAGING_PREFIX)
DATA_DIRNAME = "data"  # <store>/data/<digest>/: a dataset imported --with-data, materialised

# --- the team store on object storage (issue 19) ----------------------------------------------
ENV_REMOTE = "REPRO_REMOTE"  # the remote's URL: s3://bucket/prefix, gs://..., az://..., file:///...
ENV_REMOTE_RETRY_TIMEOUT = (
    "REPRO_REMOTE_RETRY_TIMEOUT"  # seconds a request is retried (default 120)
)
