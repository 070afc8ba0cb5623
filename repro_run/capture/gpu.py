"""NVIDIA GPUs through NVML, and the GPU memory sampler a run polls."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Collection

from repro_run.models import GpuDevice, GpuInfo, Unavailable

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

# The kernel module creates the first, the device nodes the second; WSL2 exposes GPUs via /dev/dxg.
# Checking them costs microseconds; importing pynvml and a failing nvmlInit cost ~50 ms.
_DRIVER_MARKERS = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/dxg")
# CUDA cores per SM by compute capability, for when nvmlDeviceGetAttributes refuses a non-MIG
# handle ("currently only supports MIG device handles"): cuda-samples' _ConvertSMVer2Cores,
# https://github.com/NVIDIA/cuda-samples/blob/master/Common/helper_cuda.h
_CORES_PER_SM = {
    "6.0": 64, "6.1": 128, "6.2": 128, "7.0": 64, "7.2": 64, "7.5": 64, "8.0": 64, "8.6": 128,
    "8.7": 128, "8.9": 128, "9.0": 128, "10.0": 128, "10.1": 128, "10.3": 128, "11.0": 128,
    "12.0": 128, "12.1": 128,
}  # fmt: skip


def nvidia_driver_absent() -> str | None:
    """Why there is certainly no NVIDIA driver here, or None when NVML is worth asking."""
    if sys.platform == "darwin":
        return "macOS has no NVIDIA driver"
    if sys.platform.startswith("linux") and not any(os.path.exists(p) for p in _DRIVER_MARKERS):
        return "neither /proc/driver/nvidia/version nor /dev/nvidiactl exists"
    return None


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _load_nvml() -> Any:
    """pynvml, initialised; the caller must nvmlShutdown. Raises (ImportError, NVMLError)."""
    import pynvml  # lazy: ~24 ms, and only worth it when a driver is present

    pynvml.nvmlInit()
    return pynvml


def _shutdown(nvml: Any) -> None:
    with contextlib.suppress(Exception):
        nvml.nvmlShutdown()


def capture_gpu() -> GpuInfo | Unavailable:
    """Driver, CUDA driver version and each GPU; Unavailable (never an exception) without NVML."""
    absent = nvidia_driver_absent()
    if absent:
        return Unavailable(f"no NVIDIA driver: {absent}")
    try:
        nvml = _load_nvml()
    except Exception as exc:  # ImportError, NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        return Unavailable(f"NVML unavailable: {_reason(exc)}")
    try:
        return _read_gpus(nvml)
    except Exception as exc:  # NVML errors never leak past capture/
        return Unavailable(f"NVML query failed: {_reason(exc)}")
    finally:
        _shutdown(nvml)


def _read_gpus(nvml: Any) -> GpuInfo:
    missing: dict[str, str] = {}

    def get(key: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception as exc:
            missing[key] = _reason(exc)
            return None

    driver = get("driver_version", nvml.nvmlSystemGetDriverVersion)
    # Older nvidia-ml-py releases may lack the _v2 binding; both return e.g. 12040.
    cuda_version = (
        getattr(nvml, "nvmlSystemGetCudaDriverVersion_v2", None)
        or nvml.nvmlSystemGetCudaDriverVersion
    )
    cuda = get("cuda_driver_version", cuda_version)
    count = get("devices", nvml.nvmlDeviceGetCount) or 0
    devices = []
    for index in range(count):
        handle = get(f"gpu{index}", nvml.nvmlDeviceGetHandleByIndex, index)
        if handle is None:
            continue
        key = f"gpu{index}."
        name = get(key + "name", nvml.nvmlDeviceGetName, handle)
        uuid = get(key + "uuid", nvml.nvmlDeviceGetUUID, handle)
        memory = get(key + "memory_total", nvml.nvmlDeviceGetMemoryInfo, handle)
        cc = get(key + "compute_capability", nvml.nvmlDeviceGetCudaComputeCapability, handle)
        capability = f"{cc[0]}.{cc[1]}" if cc else ""
        pci = get(key + "pci_bus_id", nvml.nvmlDeviceGetPciInfo, handle)
        devices.append(
            GpuDevice(
                index=index,
                name=_text(name) if name is not None else "",
                uuid=_text(uuid) if uuid is not None else "",
                memory_total=int(memory.total) if memory is not None else 0,
                compute_capability=capability,
                sm_count=_sm_count(nvml, handle, capability, missing, key + "sm_count"),
                mig_mode=_mig_mode(nvml, handle, missing, key + "mig_mode"),
                pci_bus_id=_text(pci.busId) if pci is not None else None,
            )
        )
    return GpuInfo(
        driver_version=_text(driver) if driver is not None else "",
        cuda_driver_version=f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else "",  # 12040 -> 12.4
        devices=tuple(devices),
        missing=missing,
    )


def _sm_count(
    nvml: Any, handle: Any, capability: str, missing: dict[str, str], key: str
) -> int | None:
    try:
        return int(nvml.nvmlDeviceGetAttributes(handle).multiprocessorCount)
    except Exception as exc:
        first = _reason(exc)
    per_sm = _CORES_PER_SM.get(capability)
    if per_sm is None or not hasattr(nvml, "nvmlDeviceGetNumGpuCores"):
        missing[key] = (
            f"nvmlDeviceGetAttributes: {first}; no cores-per-SM figure for {capability or '?'}"
        )
        return None
    try:
        return int(nvml.nvmlDeviceGetNumGpuCores(handle)) // per_sm
    except Exception as exc:
        missing[key] = f"nvmlDeviceGetAttributes: {first}; nvmlDeviceGetNumGpuCores: {_reason(exc)}"
        return None


def _mig_mode(nvml: Any, handle: Any, missing: dict[str, str], key: str) -> str | None:
    try:
        current, _pending = nvml.nvmlDeviceGetMigMode(handle)
    except Exception as exc:
        if getattr(exc, "value", None) != getattr(nvml, "NVML_ERROR_NOT_SUPPORTED", 3):
            missing[key] = _reason(exc)
        return None  # pre-Ampere GPUs have no MIG: None means "not supported"
    return "enabled" if current == getattr(nvml, "NVML_DEVICE_MIG_ENABLE", 1) else "disabled"


# --- GPU memory sampling ----------------------------------------------------------------------
class GpuMemorySampler:
    """`sampler(pids)` -> bytes of GPU memory those processes use now, or None when unknown.

    NVML is initialised on the first call (off the launch path) and once only; `close()` shuts it
    down. Never raises. Thread-safe, so the sampling thread and the finishing code can share it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._nvml: Any = None
        self._handles: list[Any] = []
        self._closed = False

    def __call__(self, pids: Collection[int]) -> int | None:
        with self._lock:
            if not self._open():
                return None
            try:
                return self._sample(set(pids))
            except Exception:
                return None

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                _shutdown(self._nvml)
            self._nvml, self._handles, self._closed = None, [], True

    def _open(self) -> bool:
        if self._nvml is not None:
            return True
        if self._closed:
            return False
        self._closed = True  # one attempt: a failing nvmlInit costs ~25 ms a time
        try:
            nvml = _load_nvml()
        except Exception:
            return False
        try:
            self._handles = [
                nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())
            ]
        except Exception:
            _shutdown(nvml)
            return False
        self._nvml, self._closed = nvml, False
        return True

    def _sample(self, pids: set[int]) -> int | None:
        total, known, unknown, queried, foreign = 0, False, False, False, False
        getters = (
            self._nvml.nvmlDeviceGetComputeRunningProcesses,
            self._nvml.nvmlDeviceGetGraphicsRunningProcesses,
        )
        for handle in self._handles:
            seen: set[int] = set()  # a process using both APIs is listed twice
            for getter in getters:
                try:
                    processes = getter(handle)
                except Exception:
                    continue
                queried = True
                for process in processes:
                    if process.pid in seen:
                        continue
                    seen.add(process.pid)
                    if process.pid not in pids:
                        foreign = foreign or not _pid_visible(process.pid)
                    elif process.usedGpuMemory is None:  # WDDM, or no permission
                        unknown = True
                    else:
                        total, known = total + int(process.usedGpuMemory), True
        if not queried or (unknown and not known):
            return None
        # In a container NVML reports host pids, which match none of ours: unknown, not zero.
        if not known and foreign:
            return None
        return total


def _pid_visible(pid: int) -> bool:
    return not sys.platform.startswith("linux") or os.path.exists(f"/proc/{pid}")


def gpu_memory_sampler() -> GpuMemorySampler | None:
    """A GPU memory sampler, or None (cheaply) when there is no NVIDIA driver."""
    return None if nvidia_driver_absent() else GpuMemorySampler()
