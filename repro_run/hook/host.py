"""Where one process of a run ran, read at its start: host, code commit, package set, launch
variables; and at exit, the GPU it computed on (NVML, only in a process that used CUDA).

Each reader is cheap (no subprocess, no hashing module, no `re`): these run in every Python
process of a run. A node whose facts differ from the others' is what `repro show` flags.
"""

from __future__ import annotations

import os
import sys
import time

from . import ENV_PACKAGES_DIGEST

TYPE_CHECKING = False  # `typing` costs milliseconds at every interpreter start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Read = Callable[[str, Callable[[], Any]], None]

# Variables that say how the process was launched and how its collectives run: NCCL's
# settings (NCCL_ALGO=Ring is how Megatron pins its reductions), torchrun's, and the Slurm
# variables that place a task (a job sets ~80; the supervisor's record has them all, and a
# record of 1,000 ranks must stay small enough to read in a fraction of a second).
LAUNCH_PREFIXES = ("NCCL_", "TORCH_NCCL_", "TORCHELASTIC_")
LAUNCH_NAMES = frozenset(
    {
        "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
        "ROLE_RANK", "ROLE_NAME", "ROLE_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
        "CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "SLURM_STEP_ID", "SLURM_PROCID",
        "SLURM_LOCALID", "SLURM_NODEID", "SLURM_NTASKS", "SLURM_NNODES", "SLURM_JOB_NODELIST",
        "SLURM_STEP_NODELIST", "SLURM_TASKS_PER_NODE", "SLURM_CPUS_PER_TASK", "SLURM_GPUS_ON_NODE",
        "SLURM_JOB_PARTITION", "SLURM_CLUSTER_NAME", "SLURMD_NODENAME", "SLURM_JOB_NAME",
        "SLURM_JOB_COMMENT", "SLURM_RESTART_COUNT",
    }
)  # fmt: skip
# core/redaction.py's secret name words and glued infixes (a test keeps them in step): a
# variable so named is recorded by name only, before its value can reach the disk.
SECRET_WORDS = frozenset(
    {
        "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PW",
        "PASSPHRASE", "PWD", "KEY", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "SECRETKEY",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "AUTH", "AUTHORIZATION", "COOKIE", "COOKIES",
        "SESSION", "SIGNATURE", "SIG", "DSN", "WEBHOOK", "JWT", "BEARER", "PAT", "SALT",
    }
)  # fmt: skip
SECRET_INFIXES = (
    "PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "CREDENTIAL", "APIKEY", "ACCESSKEY",
    "PRIVATEKEY", "AUTHTOKEN", "APITOKEN", "ACCESSTOKEN", "REFRESHTOKEN",
)  # fmt: skip
# Launchers write numbers, host names, node lists ("node[01-04]"), ports and device lists:
# a value with any other character (quotes, braces, "@", spaces) may carry a credential.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._,:/+=()[]-")
_TOKEN_RUN = 16  # a run this long of letters and digits mixed looks like a token
# The fixed prefixes of core/redaction.py's credential shapes (GitHub, AWS, JWT, Slack,
# Hugging Face, OpenAI-style, GitLab, Stripe, Google, npm).
SECRET_PREFIXES = (
    "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "AKIA", "ASIA", "eyJ", "xoxa-",
    "xoxb-", "xoxp-", "xoxr-", "xoxs-", "hf_", "sk-", "glpat-", "sk_live_", "rk_live_", "AIza",
    "npm_",
)  # fmt: skip
# The largest prime below 2**128: the package set's digest is its text as one integer modulo
# this prime, a change detector computed without importing a hashing module (~0.3 ms).
_PRIME = 2**128 - 159


def start_facts() -> dict[str, Any]:
    """Host, commit, package set and launch variables: written as soon as the process starts,
    so a rank killed later is still known by where it ran."""
    return {
        "hostname": os.uname().nodename,
        "commit": code_commit(_code_directory()),
        "packages_digest": packages_digest(sys.path, os.environ.get(ENV_PACKAGES_DIGEST)),
        "launch_env": launch_env(os.environ),
    }


def _code_directory() -> str:
    script = sys.argv[0] if sys.argv else ""
    if script and script not in ("-c", "-m") and os.path.isfile(script):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


def code_commit(directory: str) -> str | None:
    """The commit checked out where the code lives: HEAD of the repository (or worktree)
    around `directory`, read from `.git` itself (a git subprocess costs milliseconds)."""
    while True:
        dotgit = os.path.join(directory, ".git")
        if os.path.exists(dotgit):
            return _head(_git_dir(dotgit))
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def _git_dir(dotgit: str) -> str:
    if os.path.isdir(dotgit):
        return dotgit
    with open(dotgit, encoding="utf-8") as file:  # a worktree's or submodule's "gitdir: X"
        target = file.read().strip().partition("gitdir:")[2].strip()
    return os.path.normpath(os.path.join(os.path.dirname(dotgit), target))


def _head(git_dir: str) -> str | None:
    head = _read(os.path.join(git_dir, "HEAD"))
    if head is None or not head.startswith("ref:"):
        return head  # a detached HEAD is the commit itself
    ref = head[4:].strip()
    common = _read(os.path.join(git_dir, "commondir"))  # a worktree's refs live there
    root = os.path.normpath(os.path.join(git_dir, common)) if common else git_dir
    for where in (git_dir, root):
        value = _read(os.path.join(where, ref))
        if value:
            return value
    packed = _read(os.path.join(root, "packed-refs")) or ""
    for line in packed.splitlines():
        commit, _, name = line.partition(" ")
        if name == ref:
            return commit
    return None  # an unborn branch


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().strip()
    except OSError:
        return None


def packages_digest(path: list[str], handed: str | None = None) -> str:
    """The installed distributions (their `*.dist-info` names: name and version) in the
    site directories on `path`, as 32 hex digits; equal sets, equal digests on every node.

    `handed`: the supervisor's `handed_digest` (REPRO_PACKAGES_DIGEST), taken when this
    process's site directories are the ones it listed, unchanged since (the same stat stamp):
    a stat each instead of listing them, in every rank. On another node, or after an install,
    the stamp differs and the process lists them itself.
    """
    directories = _site_directories(path)
    if handed is not None:
        digest, _, stamp = handed.partition(" ")
        if len(digest) == 32 and stamp == _stamp(directories)[0]:
            return digest
    return _listed_digest(directories)


def handed_digest(path: list[str]) -> str | None:
    """What the supervisor hands its ranks: the digest of `path`'s site directories and their
    stamp. None while one of them changed in the last seconds: a change within the same
    timestamp tick as the stamp would leave it equal (git's "racy" case)."""
    directories = _site_directories(path)
    stamp, newest = _stamp(directories)  # before listing: a later change changes the stamp
    if time.time_ns() - newest < _RACY_NS:
        return None
    return f"{_listed_digest(directories)} {stamp}"


_RACY_NS = 2_000_000_000


def _site_directories(path: list[str]) -> list[str]:
    return [p for p in path if p.endswith(("site-packages", "dist-packages"))]


def _stamp(directories: list[str]) -> tuple[str, int]:
    """The directories' identity and last change (inode, mtime, ctime), and the newest mtime.
    Adding or removing a distribution's `*.dist-info` changes its directory's mtime."""
    parts, newest = [], 0
    for directory in directories:
        try:
            st = os.stat(directory)
        except OSError:
            parts.append(f"{directory}:-")
            continue
        parts.append(f"{directory}:{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}")
        newest = max(newest, st.st_mtime_ns)
    return " ".join(parts), newest


def _listed_digest(directories: list[str]) -> str:
    names: list[str] = []
    for directory in directories:
        try:
            names += [n for n in os.listdir(directory) if n.endswith(".dist-info")]
        except OSError:
            continue
    text = "\n".join(sorted(names)).encode("utf-8")
    return "%032x" % (int.from_bytes(b"\x01" + text, "little") % _PRIME)


def launch_env(environ: dict[str, str] | os._Environ[str]) -> dict[str, str | None]:
    """NCCL, Slurm and torchrun variables; None where the value may hold a secret."""
    found: dict[str, str | None] = {}
    for name, value in environ.items():
        if name in LAUNCH_NAMES or name.startswith(LAUNCH_PREFIXES):
            found[name] = value if _plain(name, value) else None
    return found


def _plain(name: str, value: str) -> bool:
    normal = name.upper().replace("-", "_")
    if any(w in SECRET_WORDS or w.endswith("TOKEN") for w in normal.split("_")):
        return False
    if any(infix in normal for infix in SECRET_INFIXES):  # none holds "_": within one word
        return False
    if not _PLAIN.issuperset(value) or any(prefix in value for prefix in SECRET_PREFIXES):
        return False
    return len(value) < _TOKEN_RUN or not _has_token_run(value)  # most values are short


def _has_token_run(value: str) -> bool:
    run = letters = digits = 0
    for char in value:
        if char.isalnum():
            run += 1
            letters += char.isalpha()
            digits += char.isdigit()
            if run >= _TOKEN_RUN and letters and digits:
                return True
        else:
            run = letters = digits = 0
    return False


def gpu_facts(read: Read) -> None:
    """The GPU this process computed on, from NVML, once the process used CUDA: a script that
    initialised CUDA through torch, or loaded NVML's library itself (a GPU monitor). NVML is
    never loaded otherwise (torch imports pynvml, but loads its library only when asked)."""
    torch = sys.modules.get("torch")
    cuda_used = torch is not None and torch.cuda.is_initialized()
    loaded = getattr(sys.modules.get("pynvml"), "nvmlLib", None) is not None
    if not cuda_used and not loaded:
        return
    import importlib

    # nvidia-ml-py from the user's environment, where it has one: never the hook's dependency
    pynvml: Any = importlib.import_module("pynvml")
    pynvml.nvmlInit()
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(_device_index(torch if cuda_used else None))
        read("gpu.driver", lambda: _text(pynvml.nvmlSystemGetDriverVersion()))
        read("gpu.name", lambda: _text(pynvml.nvmlDeviceGetName(handle)))
        read("gpu.uuid", lambda: _text(pynvml.nvmlDeviceGetUUID(handle)))
        read("gpu.sm_count", lambda: _sm_count(pynvml, handle, torch if cuda_used else None))
        read("gpu.mig_mode", lambda: _mig(pynvml, handle))
    finally:
        pynvml.nvmlShutdown()


def _device_index(torch: Any) -> int:
    """NVML's index of the device this process used: CUDA_VISIBLE_DEVICES maps CUDA's."""
    current = torch.cuda.current_device() if torch is not None else 0
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
    chosen = visible[current].strip() if current < len(visible) else ""
    return int(chosen) if chosen.isdigit() else current


def _sm_count(nvml: Any, handle: Any, torch: Any) -> int:
    if torch is not None:  # NVML answers this for MIG handles only; CUDA always does
        return int(
            torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count
        )
    return int(nvml.nvmlDeviceGetAttributes(handle).multiprocessorCount)


def _mig(nvml: Any, handle: Any) -> str:
    current, _ = nvml.nvmlDeviceGetMigMode(handle)
    return "enabled" if current == nvml.NVML_DEVICE_MIG_ENABLE else "disabled"


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
