"""Seed resolution and the variables injected into the child before it starts (pure).

Several knobs are read once at interpreter or library start (PYTHONHASHSEED: "fixes str/bytes
hash salt", https://docs.python.org/3/using/cmdline.html#envvar-PYTHONHASHSEED), so they must
be in the child's environment before exec; nothing here can be decided after launch.
Every knob below names the document it comes from (../shared/reference/determinism-knobs.md
collects them). The switches that only exist as framework calls (`torch.manual_seed`,
`cudnn.benchmark = False`, ...) are made inside the child by the hook (`repro_run/hook`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from repro_run.core.constants import (
    ENV_DETERMINISTIC,
    ENV_PACKAGES_DIGEST,
    ENV_PYTHONHASHSEED,
    ENV_PYTHONPATH,
    ENV_PYTHONUNBUFFERED,
    ENV_RUN_DIR,
    ENV_RUN_ID,
    ENV_SEED,
    ENV_SOURCE_DATE_EPOCH,
    ENV_THREADS,
    MAX_SEED,
)
from repro_run.core.errors import UsageError
from repro_run.core.record import Record
from repro_run.models import Determinism


class Knob(Record):
    """One environment variable repro sets, the value, and the document that says why."""

    name: str
    value: str
    source: str


# Read at process or library start: only the environment before exec can set them.
DETERMINISM_KNOBS = (
    # cuBLAS: bit-wise identical only with a fixed workspace per stream; PyTorch raised for
    # deterministic algorithms without it before pytorch/pytorch#161749.
    Knob(
        "CUBLAS_WORKSPACE_CONFIG",
        ":4096:8",
        "https://docs.nvidia.com/cuda/cublas/#results-reproducibility"
        " ; https://github.com/pytorch/pytorch/issues/41377",
    ),
    # TensorFlow 2.1-2.7 op determinism, and 1.14-2.0 cuDNN determinism (also old XLA).
    Knob(
        "TF_DETERMINISTIC_OPS",
        "1",
        "https://github.com/NVIDIA/framework-reproducibility/blob/master/doc/d9m/tensorflow.md",
    ),
    Knob(
        "TF_CUDNN_DETERMINISTIC",
        "1",
        "https://github.com/NVIDIA/framework-reproducibility/blob/master/doc/d9m/tensorflow.md",
    ),
    # TensorFlow on CPU: oneDNN kernels change the order of floating-point reductions.
    Knob(
        "TF_ENABLE_ONEDNN_OPTS",
        "0",
        "https://github.com/tensorflow/tensorflow/blob/master/tensorflow/core/util/port.cc",
    ),
    # Horovod's tensor fusion reorders reductions.
    Knob(
        "HOROVOD_FUSION_THRESHOLD",
        "0",
        "https://github.com/NVIDIA/framework-reproducibility/blob/master/doc/d9m/tensorflow.md",
    ),
    # Megatron-Core's deterministic mode: Ring's reduction order is fixed by topology; NVLS is
    # "known to be less deterministic" (NVIDIA/nccl#1497); Transformer Engine's algorithms.
    Knob(
        "NCCL_ALGO",
        "Ring",
        "https://docs.nvidia.com/megatron-core/developer-guide/nightly/user-guide/"
        "deterministic-training.html",
    ),
    Knob("NCCL_NVLS_ENABLE", "0", "https://github.com/NVIDIA/nccl/issues/1497"),
    Knob(
        "NVTE_ALLOW_NONDETERMINISTIC_ALGO",
        "0",
        "https://docs.nvidia.com/megatron-core/developer-guide/nightly/user-guide/"
        "deterministic-training.html",
    ),
    # Set by transformers' enable_full_determinism; its effect depends on the kernel.
    Knob(
        "FLASH_ATTENTION_DETERMINISTIC",
        "1",
        "https://github.com/huggingface/transformers/blob/main/src/transformers/trainer_utils.py",
    ),
    # Ascend HCCL: deterministic reductions (AllReduce, ReduceScatter, Reduce).
    Knob(
        "HCCL_DETERMINISTIC",
        "true",
        "https://www.hiascend.com/document/detail/zh/canncommercial/latest/maintenref/envvar/"
        "envref_07_0099.html",
    ),
    # oneMKL conditional numerical reproducibility; "equivalent to calling mkl_cbwr_set", which
    # "must be called only once, before any other oneMKL functions".
    Knob(
        "MKL_CBWR",
        "AUTO",
        "https://www.intel.com/content/www/us/en/docs/onemkl/developer-reference-c/2026-0/"
        "mkl-cbwr-set.html",
    ),
)

# Always set, to the recorded commit's committer time: writers that stamp a date into their
# files (matplotlib's PDF/PS/SVG/PNG metadata, archives, docs) use it instead of "now", so two
# runs of one commit write the same bytes. The value is per run; this row says where it is from.
SOURCE_DATE_EPOCH = Knob(
    ENV_SOURCE_DATE_EPOCH,
    "<the commit's committer time>",
    "https://reproducible-builds.org/specs/source-date-epoch/",
)

# Merged into XLA_FLAGS (a list of flags), read before XLA's backend starts.
XLA_FLAGS = "XLA_FLAGS"
XLA_DETERMINISTIC_FLAG = Knob(
    "--xla_gpu_deterministic_ops", "true", "https://github.com/openxla/xla/issues/12520"
)

_OPENMP = "https://www.openmp.org/spec-html/5.2/openmpch21.html"  # read at program start
_MKL = (
    "https://www.intel.com/content/www/us/en/docs/onemkl/developer-guide-linux/2024-0/"
    "reproducibility-conditions.html"
)


def thread_knobs(threads: int) -> tuple[Knob, ...]:
    """--threads N: reductions split by thread count give thread-count-dependent bits."""
    n = str(threads)
    return (
        Knob("OMP_NUM_THREADS", n, _OPENMP),
        Knob("MKL_NUM_THREADS", n, _MKL),
        # OpenBLAS README, "Setting the number of threads using environment variables".
        Knob("OPENBLAS_NUM_THREADS", n, "https://github.com/OpenMathLib/OpenBLAS#usage"),
        Knob(
            "NUMEXPR_NUM_THREADS",
            n,
            "https://numexpr.readthedocs.io/en/latest/user_guide.html#threadpool-configuration",
        ),
        # Apple Accelerate (vecLib), NumPy's BLAS on macOS: Apple documents it only in the
        # vecLib man page; threadpoolctl's list of thread-pool variables names it.
        Knob("VECLIB_MAXIMUM_THREADS", n, "https://github.com/joblib/threadpoolctl"),
        # MKL and OpenMP must not change the thread count at run time (oneMKL reproducibility
        # conditions: "set MKL_DYNAMIC and OMP_DYNAMIC to FALSE").
        Knob("OMP_DYNAMIC", "FALSE", _MKL),
        Knob("MKL_DYNAMIC", "FALSE", _MKL),
    )


def resolve_seed(cli_seed: int | None, project_seed: int | None) -> tuple[int, str]:
    """(seed, where it came from): --seed, then [tool.repro] seed, then a fresh random one."""
    for seed, source in ((cli_seed, "cli"), (project_seed, "pyproject")):
        if seed is not None:
            if not 0 <= seed <= MAX_SEED:
                raise UsageError(f"seed {seed} is out of range: use 0..{MAX_SEED}")
            return seed, source
    return int.from_bytes(os.urandom(4), "big"), "random"  # uniform over 0..MAX_SEED


def child_environment(
    base: Mapping[str, str],
    *,
    seed: int,
    seed_source: str,
    run_id: str,
    run_dir: str,
    deterministic: bool = False,
    threads: int | None = None,
    hook_dir: str | None = None,
    source_date_epoch: str | None = None,
    packages_digest: str | None = None,
) -> tuple[dict[str, str], Determinism]:
    """The child's full environment and the record of what repro set in it.

    repro's own variables always win; a knob the user already set keeps the user's value and
    is recorded as theirs, never silently overwritten. `hook_dir` (the seeding hook's
    `sitecustomize` directory) goes first on PYTHONPATH, before the user's own entries.
    `source_date_epoch`: the commit's committer time (None: unknown, not set).
    `packages_digest`: what the hook's ranks may take instead of listing the site directories
    (hook/host.py `handed_digest`); only with the hook.
    """
    ours = {ENV_SEED: str(seed), ENV_RUN_ID: run_id, ENV_RUN_DIR: run_dir}
    defaults = {
        ENV_PYTHONHASHSEED: str(seed),
        # Unbuffered output makes a Python child's log arrive line by line through the pipe.
        ENV_PYTHONUNBUFFERED: "1",
    }
    if source_date_epoch is not None:
        defaults[SOURCE_DATE_EPOCH.name] = source_date_epoch
    if deterministic:
        defaults.update({knob.name: knob.value for knob in DETERMINISM_KNOBS})
    if threads is not None:
        defaults.update({knob.name: knob.value for knob in thread_knobs(threads)})
        ours[ENV_THREADS] = str(threads)
    if hook_dir is not None:
        ours[ENV_DETERMINISTIC] = "1" if deterministic else "0"
        if packages_digest is not None:
            ours[ENV_PACKAGES_DIGEST] = packages_digest
    user_set = {name: base[name] for name in defaults if name in base}
    injected = {**{k: v for k, v in defaults.items() if k not in base}, **ours}
    if deterministic:
        _merge_xla_flags(base, injected, user_set)
    if hook_dir is not None:
        user_path = base.get(ENV_PYTHONPATH, "")
        injected[ENV_PYTHONPATH] = os.pathsep.join(p for p in (hook_dir, user_path) if p)
    env = {**base, **injected}
    record = Determinism(
        seed,
        seed_source,
        injected,
        user_set,
        deterministic=deterministic,
        threads=threads,
        hook=hook_dir is not None,
    )
    return env, record


def _merge_xla_flags(
    base: Mapping[str, str], injected: dict[str, str], user_set: dict[str, str]
) -> None:
    """Add the deterministic-ops flag to XLA_FLAGS unless the user's flags already name it."""
    flag = XLA_DETERMINISTIC_FLAG
    current = base.get(XLA_FLAGS, "")
    if any(word.split("=", 1)[0] == flag.name for word in current.split()):
        user_set[XLA_FLAGS] = current  # the user's own setting of the flag wins
        return
    injected[XLA_FLAGS] = f"{current} {flag.name}={flag.value}".strip()


def user_overrides(base: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(name, the user's value, repro's value) for each knob the user set to something else.

    With `repro run`, the user's value wins: `repro doctor` reports these.
    """
    knobs = (
        Knob(ENV_PYTHONHASHSEED, "<the seed>", "https://docs.python.org/3/using/cmdline.html"),
        *DETERMINISM_KNOBS,
    )
    found = []
    for knob in knobs:
        value = base.get(knob.name)
        if value is None or value == knob.value:
            continue
        if knob.name == ENV_PYTHONHASHSEED and value.isdigit():
            continue  # a fixed hash seed of the user's own is deterministic too
        found.append((knob.name, value, knob.value))
    flags = base.get(XLA_FLAGS, "").split()
    wanted = f"{XLA_DETERMINISTIC_FLAG.name}={XLA_DETERMINISTIC_FLAG.value}"
    for word in flags:
        if word.split("=", 1)[0] == XLA_DETERMINISTIC_FLAG.name and word != wanted:
            found.append((XLA_FLAGS, word, wanted))
    return found
