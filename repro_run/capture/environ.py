"""Environment variables of the run: an allow-list of those that steer computation, secrets redacted."""

from __future__ import annotations

from collections.abc import Mapping

from repro_run.core.redaction import is_secret_env
from repro_run.models import EnvCapture

# Values are recorded only for variables that change what a training run computes or where it
# finds its code and libraries; everything else is recorded by name only, because an unknown
# variable is as likely to hold a credential as a setting. Why each family is here:
# - math libraries and their thread pools: OMP_, MKL_, OPENBLAS_, KMP_, VECLIB_, NUMEXPR_
# - CUDA and its libraries: CUDA_ (CUDA_VISIBLE_DEVICES, CUDA_LAUNCH_BLOCKING), CUBLAS_
#   (CUBLAS_WORKSPACE_CONFIG, needed for deterministic cuBLAS), CUDNN_, NCCL_, NVIDIA_, NVTE_
#   (Transformer Engine), FLASH_ATTENTION_
# - frameworks: PYTHON* (PYTHONHASHSEED, PYTHONPATH), TORCH_, TF_, XLA_, JAX_, HF_,
#   TRANSFORMERS_, TOKENIZERS_, PL_ (Lightning), ACCELERATE_, DS_ (DeepSpeed), HOROVOD_, HCCL_
# - the scheduler and the distributed launch: SLURM_, MASTER_ADDR/PORT, RANK, WORLD_SIZE, ...
# - the interpreter and loader: CONDA_, VIRTUAL_ENV, PATH, LD_LIBRARY_PATH, LD_PRELOAD
# - locale and time zone, which change parsing and formatting: LANG, LC_ALL, TZ
# - the date written into files (plots, archives): SOURCE_DATE_EPOCH
# - repro's own settings: REPRO_
# HOME and PWD are personal paths that change nothing about the result: name only.
# Deny beats allow: HF_TOKEN is allow-listed by prefix but is a secret (reliability scenario A2).
ALLOWED_PREFIXES = (
    "CUDA_", "NCCL_", "OMP_", "MKL_", "OPENBLAS_", "PYTHON", "TF_", "XLA_", "JAX_", "TORCH_",
    "SLURM_", "CONDA_", "CUBLAS_", "CUDNN_", "NVIDIA_", "HF_", "TRANSFORMERS_", "TOKENIZERS_",
    "KMP_", "VECLIB_", "NUMEXPR_", "PL_", "ACCELERATE_", "DS_", "NVTE_", "HOROVOD_", "HCCL_",
    "FLASH_ATTENTION_", "REPRO_",
)  # fmt: skip
ALLOWED_NAMES = frozenset(
    {
        "MASTER_ADDR", "MASTER_PORT", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE",
        "VIRTUAL_ENV", "PATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "LANG", "LC_ALL", "TZ",
        "SOURCE_DATE_EPOCH",
    }
)  # fmt: skip


def is_allowed(name: str) -> bool:
    """Whether the value of `name` is worth recording (before the secret check)."""
    return name in ALLOWED_NAMES or name.startswith(ALLOWED_PREFIXES)


def capture_env(environ: Mapping[str, str]) -> EnvCapture:
    """Split `environ` into recorded values, names only, and redacted names; all sorted."""
    values: dict[str, str] = {}
    names_only: list[str] = []
    redacted: list[str] = []
    for name in sorted(environ):
        value = environ[name]
        if is_secret_env(name, value):
            redacted.append(name)
        elif is_allowed(name):
            values[name] = value
        else:
            names_only.append(name)
    return EnvCapture(values=values, names_only=tuple(names_only), redacted=tuple(redacted))
