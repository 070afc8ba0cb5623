"""What the hook does to each framework at the moment the script imports it.

Seeds, determinism switches and thread counts that exist only as framework calls. Each function
gets the imported module; the caller catches and records any exception. Sources:
PyTorch https://docs.pytorch.org/docs/stable/notes/randomness.html (seeds, cuDNN, deterministic
algorithms); NumPy https://numpy.org/doc/stable/reference/random/generated/numpy.random.seed.html;
TensorFlow https://www.tensorflow.org/api_docs/python/tf/config/experimental/enable_op_determinism.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` costs milliseconds at every interpreter start
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

# The modules the hook acts on when imported. NumPy's global RNG lives in numpy.random, which
# NumPy 2 loads only on first use (30 ms): a script that never touches it never pays for it.
# JAX has no global RNG (explicit keys): it is only observed at exit.
# Python's `random` is seeded the same way, when imported (most scripts never import it).
SEEDED = ("random", "numpy.random", "torch", "tensorflow")


def label(name: str) -> str:
    return name.split(".")[0]


def seed(name: str, module: ModuleType, value: int) -> None:
    """Seed the global RNG that module `name` holds."""
    fw: Any = module
    if name == "random":
        fw.seed(value)
    elif name == "numpy.random":
        # The legacy global RandomState only: Generators made by default_rng() are not seeded
        # by it (NEP 19); `repro doctor` points at unseeded default_rng() calls.
        fw.seed(value)
    elif name == "torch":
        fw.manual_seed(value)  # the CPU generator and every CUDA device's
    elif name == "tensorflow":
        fw.random.set_seed(value)


def determinism_switches(name: str, module: ModuleType) -> list[str]:
    """Turn on the framework's deterministic mode; returns what was switched."""
    fw: Any = module
    if name == "torch":
        # warn_only: an op without a deterministic implementation warns instead of raising,
        # so a script that ran before still runs.
        fw.use_deterministic_algorithms(True, warn_only=True)
        fw.backends.cudnn.deterministic = True
        fw.backends.cudnn.benchmark = False  # no per-run autotuning of convolution algorithms
        return [
            "torch.use_deterministic_algorithms(True, warn_only=True)",
            "torch.backends.cudnn.deterministic = True",
            "torch.backends.cudnn.benchmark = False",
        ]
    if name == "tensorflow":
        enable = getattr(fw.config.experimental, "enable_op_determinism", None)  # TF >= 2.8
        if enable is None:
            return []  # older TensorFlow reads TF_DETERMINISTIC_OPS from the environment
        enable()
        return ["tf.config.experimental.enable_op_determinism()"]
    return []


def set_threads(name: str, module: ModuleType, threads: int) -> list[str]:
    """--threads N for the framework's own thread pools (OpenMP's are set by environment)."""
    fw: Any = module
    if name == "torch":
        fw.set_num_threads(threads)
        done = [f"torch.set_num_threads({threads})"]
        # Possible only before the first inter-op parallel work, which is why it happens at
        # import; a script that set it itself first keeps its own value.
        fw.set_num_interop_threads(threads)
        return [*done, f"torch.set_num_interop_threads({threads})"]
    if name == "tensorflow":
        fw.config.threading.set_intra_op_parallelism_threads(threads)
        fw.config.threading.set_inter_op_parallelism_threads(threads)
        return [f"tf.config.threading.set_*_op_parallelism_threads({threads})"]
    return []
