"""What was really in effect in this process, read at exit, and the file it goes to.

Only frameworks the script imported are looked at (`sys.modules`): reading facts never imports
a framework, and never initialises CUDA or a JAX backend that the script did not start. Every
value is a JSON scalar under a flat dotted key, so facts of two processes compare key by key.
"""

from __future__ import annotations

import os
import sys

from . import host

# `typing` costs milliseconds at every interpreter start: annotations only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # annotations only: collections.abc generics fail at run time on Python 3.8
    from collections.abc import Callable
    from typing import Any

    Read = Callable[[str, Callable[[], Any]], None]

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "OMP_DYNAMIC",
    "MKL_DYNAMIC",
)


def collect() -> tuple[dict[str, Any], list[str]]:
    """(facts, errors): each fact read on its own, so one failure loses one fact."""
    facts: dict[str, Any] = {}
    errors: list[str] = []

    def read(key: str, get: Callable[[], Any]) -> None:
        try:
            value = get()
        except Exception as exc:
            errors.append(f"fact {key}: {type(exc).__name__}: {exc}")
            return
        facts[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)

    read("python.version", lambda: ".".join(str(n) for n in sys.version_info[:3]))
    read("python.executable", lambda: sys.executable)
    read("python.hash_seed", lambda: os.environ.get("PYTHONHASHSEED"))
    facts.update({f"env.{n}": os.environ[n] for n in THREAD_VARIABLES if n in os.environ})
    if hasattr(os, "sched_getaffinity"):
        read("cpu.usable", lambda: len(os.sched_getaffinity(0)))
    for name, reader in (
        ("numpy", _numpy),
        ("torch", _torch),
        ("tensorflow", _tensorflow),
        ("jax", _jax),
    ):
        module = sys.modules.get(name)
        if module is not None:
            reader(module, read)
    try:
        host.gpu_facts(read)
    except Exception as exc:  # no NVML binding, no driver: the GPU facts are what is lost
        errors.append(f"gpu: {type(exc).__name__}: {exc}")
    return facts, errors


def _numpy(np: Any, read: Read) -> None:
    read("numpy.version", lambda: np.__version__)

    def blas() -> str:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # NumPy >= 1.25
        return f"{blas.get('name')} {blas.get('version')}"

    read("numpy.blas", blas)


def _torch(torch: Any, read: Read) -> None:
    read("torch.version", lambda: torch.__version__)
    read("torch.version.cuda", lambda: torch.version.cuda)
    read("torch.cudnn.version", lambda: torch.backends.cudnn.version())
    if hasattr(torch._C, "_nccl_version"):  # absent from CPU builds
        read("torch.nccl.version", lambda: _dotted(torch.cuda.nccl.version()))
    read("torch.deterministic_algorithms", lambda: torch.are_deterministic_algorithms_enabled())
    read(
        "torch.deterministic_algorithms.warn_only",
        lambda: torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    read("torch.cudnn.enabled", lambda: torch.backends.cudnn.enabled)
    read("torch.cudnn.deterministic", lambda: torch.backends.cudnn.deterministic)
    read("torch.cudnn.benchmark", lambda: torch.backends.cudnn.benchmark)
    read("torch.cudnn.allow_tf32", lambda: torch.backends.cudnn.allow_tf32)
    read("torch.matmul.allow_tf32", lambda: torch.backends.cuda.matmul.allow_tf32)
    read("torch.float32_matmul_precision", lambda: torch.get_float32_matmul_precision())
    read("torch.num_threads", lambda: torch.get_num_threads())
    read("torch.num_interop_threads", lambda: torch.get_num_interop_threads())
    cuda = torch.cuda
    if cuda.is_initialized():  # only a script that used CUDA: never start it here
        read("torch.devices", lambda: f"cuda ({cuda.device_count()} visible)")
        read("torch.cuda.current_device", lambda: cuda.current_device())
        read("torch.cuda.device_name", lambda: cuda.get_device_name())
        read("torch.cuda.capability", lambda: ".".join(map(str, cuda.get_device_capability())))
    else:
        read("torch.devices", lambda: "cpu")
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        read("torch.distributed.backend", lambda: str(dist.get_backend()))
        read("torch.distributed.world_size", lambda: dist.get_world_size())
        read("torch.distributed.rank", lambda: dist.get_rank())


def _dotted(version: Any) -> str:
    """(2, 21, 5) as "2.21.5"; older PyTorch answers one integer (2708)."""
    return ".".join(map(str, version)) if isinstance(version, tuple) else str(version)


def _tensorflow(tf: Any, read: Read) -> None:
    read("tensorflow.version", lambda: tf.__version__)
    experimental = tf.config.experimental
    read("tensorflow.op_determinism", lambda: experimental.is_op_determinism_enabled())
    read("tensorflow.tf32", lambda: experimental.tensor_float_32_execution_enabled())
    threading = tf.config.threading
    read("tensorflow.intra_op_threads", lambda: threading.get_intra_op_parallelism_threads())
    read("tensorflow.inter_op_threads", lambda: threading.get_inter_op_parallelism_threads())
    build = tf.sysconfig.get_build_info
    read("tensorflow.cuda", lambda: build().get("cuda_version"))
    read("tensorflow.cudnn", lambda: build().get("cudnn_version"))
    read(
        "tensorflow.devices",
        lambda: ", ".join(d.name for d in tf.config.list_physical_devices()),
    )


def _jax(jax: Any, read: Read) -> None:
    read("jax.version", lambda: jax.__version__)
    read("jaxlib.version", lambda: sys.modules["jaxlib"].__version__)
    read("jax.default_matmul_precision", lambda: jax.config.jax_default_matmul_precision)
    read("jax.enable_x64", lambda: jax.config.jax_enable_x64)
    bridge = sys.modules.get("jax._src.xla_bridge")
    if bridge is not None and getattr(bridge, "_backends", None):  # a backend was started
        read("jax.devices", lambda: ", ".join(str(d) for d in jax.devices()))


def imported_modules() -> list[str]:
    """The top-level modules this process imported, less the standard library's (where Python
    lists it, 3.10+): a package none of them belongs to cannot have changed what it computed."""
    stdlib = set(getattr(sys, "stdlib_module_names", ())) | set(sys.builtin_module_names)
    return sorted({name.partition(".")[0] for name in list(sys.modules)} - stdlib)


def rank_environment() -> dict[str, str | None]:
    """The launcher's rank variables (torchrun, torch.distributed.launch, Slurm)."""
    env = os.environ
    return {
        "rank": env.get("RANK", env.get("SLURM_PROCID")),
        "local_rank": env.get("LOCAL_RANK", env.get("SLURM_LOCALID")),
        "world_size": env.get("WORLD_SIZE", env.get("SLURM_NTASKS")),
    }


def write(directory: str, document: dict[str, Any]) -> str:
    """Write one process's facts atomically: `rank<R>-<pid>.json`, or `proc-<pid>.json`."""
    rank = document.get("rank")
    stem = f"rank{rank}" if rank is not None else "proc"
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"{stem}-{document['pid']}.json")
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(to_json(document))
    os.replace(temporary, path)
    return path


def to_json(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, default=str)` for the facts document's types.

    Not `json` itself: it imports `re` and `enum`, ~4 ms at the exit of every Python process
    of a run (a test checks that the two agree).
    """
    if isinstance(value, dict):
        items = sorted(((str(k), v) for k, v in value.items()), key=lambda item: item[0])
        return "{" + ", ".join(f"{_string(k)}: {to_json(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return _string(value if isinstance(value, str) else str(value))


def _string(text: str) -> str:
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        # what json writes for it, without loading _json (a shared library: ~0.4 ms in
        # every process) for the common text that needs no escape
        return f'"{text}"'
    try:
        from _json import encode_basestring_ascii  # the C function json itself uses
    except ImportError:  # pragma: no cover - a Python without the accelerator
        from json.encoder import py_encode_basestring_ascii as encode_basestring_ascii
    return str(encode_basestring_ascii(text))
