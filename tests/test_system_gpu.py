"""Host, GPU (NVML) and CUDA library capture.

This machine has no NVIDIA GPU or driver. GPU tests therefore fake NVML at its boundary: a fake
`pynvml` module injected into sys.modules, and the cheap driver check patched to say "present".
The real-NVML test is marked `gpu` (deselected by default; run `pytest -m gpu` on a GPU host).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from repro_run.capture import cuda, gpu
from repro_run.capture.cuda import capture_cuda_libraries
from repro_run.capture.gpu import capture_gpu, gpu_memory_sampler
from repro_run.capture.system import capture_system
from repro_run.core.host import boot_id
from repro_run.models import GpuInfo, Package, PackageList, Unavailable

NOT_SUPPORTED, DRIVER_NOT_LOADED, UNKNOWN = 3, 9, 999


# --- system -----------------------------------------------------------------------------------
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux host facts")
def test_system_fields_populated_on_linux() -> None:
    info = capture_system()
    assert info.missing == {}
    assert info.os == "Linux"
    assert info.hostname and info.os_release and info.kernel and info.machine and info.cpu_model
    assert info.python_version == ".".join(map(str, sys.version_info[:3]))
    assert info.python_implementation == sys.implementation.name
    assert info.cpu_count_logical >= 1
    assert (
        info.cpu_count_physical is not None
        and 1 <= info.cpu_count_physical <= info.cpu_count_logical
    )
    assert info.memory_total > 2**20
    assert info.boot_id == boot_id()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux boot id")
def test_boot_id_is_the_kernel_uuid() -> None:
    value = boot_id()
    assert value is not None and re.fullmatch(r"[0-9a-f-]{36}", value)
    assert value == boot_id()


# --- fake NVML --------------------------------------------------------------------------------
class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {NOT_SUPPORTED: "Not Supported", DRIVER_NOT_LOADED: "Driver Not Loaded"}.get(
            self.value, "Unknown Error"
        )


def _device(index: int, **overrides: Any) -> dict[str, Any]:
    device: dict[str, Any] = {
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": f"GPU-0000000{index}-aaaa-bbbb-cccc-dddddddddddd",
        "memory": 85_520_809_984,
        "cc": (9, 0),
        "sm": 132,
        "cores": 16896,
        "mig": (0, 0),
        "bus_id": f"00000000:{index + 1:02X}:00.0".encode(),
        "compute": [],
        "graphics": [],
    }
    device.update(overrides)
    return device


class FakeNVML(types.ModuleType):
    """Just the pynvml surface gpu.py uses; a dict value that is an int error code raises it."""

    NVMLError = FakeNVMLError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED
    NVML_DEVICE_MIG_ENABLE = 1

    def __init__(
        self, devices: Sequence[dict[str, Any]], *, init_error: int | None = None, **system: Any
    ) -> None:
        super().__init__("pynvml")
        self.devices = list(devices)
        self.init_error = init_error
        self.system = {"driver": "550.54.15", "cuda": 12040, **system}
        self.inits = self.shutdowns = 0

    def _value(self, value: Any) -> Any:
        if isinstance(value, FakeNVMLError):
            raise value
        return value

    def nvmlInit(self) -> None:
        self.inits += 1
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> Any:
        return self._value(self.system["driver"])

    def nvmlSystemGetCudaDriverVersion_v2(self) -> Any:
        return self._value(self.system["cuda"])

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> dict[str, Any]:
        return self.devices[index]

    def nvmlDeviceGetName(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["name"])

    def nvmlDeviceGetUUID(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["uuid"])

    def nvmlDeviceGetMemoryInfo(self, handle: dict[str, Any]) -> Any:
        return types.SimpleNamespace(total=self._value(handle["memory"]), used=0, free=0)

    def nvmlDeviceGetCudaComputeCapability(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["cc"])

    def nvmlDeviceGetAttributes(self, handle: dict[str, Any]) -> Any:
        return types.SimpleNamespace(multiprocessorCount=self._value(handle["sm"]))

    def nvmlDeviceGetNumGpuCores(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["cores"])

    def nvmlDeviceGetMigMode(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["mig"])

    def nvmlDeviceGetPciInfo(self, handle: dict[str, Any]) -> Any:
        return types.SimpleNamespace(busId=self._value(handle["bus_id"]))

    def nvmlDeviceGetComputeRunningProcesses(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["compute"])

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: dict[str, Any]) -> Any:
        return self._value(handle["graphics"])


def _proc(pid: int, used: int | None) -> types.SimpleNamespace:
    return types.SimpleNamespace(pid=pid, usedGpuMemory=used)


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Install a fake pynvml and pretend a driver is present; returns a function making one."""

    def install(devices: Sequence[dict[str, Any]], **kwargs: Any) -> FakeNVML:
        fake = FakeNVML(devices, **kwargs)
        monkeypatch.setitem(sys.modules, "pynvml", fake)
        monkeypatch.setattr(gpu, "nvidia_driver_absent", lambda: None)
        return fake

    return install


def test_capture_gpu_reads_every_device_field(fake_nvml: Any) -> None:
    fake = fake_nvml(
        [_device(0), _device(1, mig=(1, 1), name=b"NVIDIA A100-SXM4-80GB", cc=(8, 0), sm=108)]
    )
    info = capture_gpu()
    assert isinstance(info, GpuInfo)
    assert info.missing == {}
    assert (info.driver_version, info.cuda_driver_version) == ("550.54.15", "12.4")
    first, second = info.devices
    assert first.name == "NVIDIA H100 80GB HBM3" and first.uuid.startswith("GPU-00000000")
    assert (first.memory_total, first.compute_capability, first.sm_count) == (
        85_520_809_984,
        "9.0",
        132,
    )
    assert (first.mig_mode, first.pci_bus_id) == ("disabled", "00000000:01:00.0")
    assert (second.index, second.name, second.compute_capability, second.mig_mode) == (
        1,
        "NVIDIA A100-SXM4-80GB",
        "8.0",
        "enabled",
    )
    assert (fake.inits, fake.shutdowns) == (1, 1)


def test_sm_count_from_cores_when_attributes_need_a_mig_handle(fake_nvml: Any) -> None:
    """nvmlDeviceGetAttributes "currently only supports MIG device handles"."""
    fake_nvml([_device(0, sm=FakeNVMLError(NOT_SUPPORTED), cores=16896, cc=(9, 0))])
    info = capture_gpu()
    assert isinstance(info, GpuInfo)
    assert info.devices[0].sm_count == 132
    assert info.missing == {}


def test_failing_fields_become_missing_reasons(fake_nvml: Any) -> None:
    fake = fake_nvml(
        [
            _device(0, mig=FakeNVMLError(NOT_SUPPORTED)),
            _device(1, uuid=FakeNVMLError(UNKNOWN), sm=FakeNVMLError(NOT_SUPPORTED), cc=(7, 3)),
        ],
        driver=FakeNVMLError(UNKNOWN),
    )
    info = capture_gpu()
    assert isinstance(info, GpuInfo)
    assert info.driver_version == "" and info.missing["driver_version"] == "Unknown Error"
    assert info.devices[0].mig_mode is None and "gpu0.mig_mode" not in info.missing
    assert info.devices[1].uuid == "" and info.missing["gpu1.uuid"] == "Unknown Error"
    assert info.devices[1].sm_count is None and "Not Supported" in info.missing["gpu1.sm_count"]
    assert fake.shutdowns == 1


def test_nvml_init_failure_is_unavailable(fake_nvml: Any) -> None:
    fake = fake_nvml([], init_error=DRIVER_NOT_LOADED)
    assert capture_gpu() == Unavailable("NVML unavailable: Driver Not Loaded")
    assert fake.shutdowns == 0


def test_unexpected_nvml_answer_is_unavailable_and_shuts_down(fake_nvml: Any) -> None:
    fake = fake_nvml([_device(0)], cuda="garbage")
    result = capture_gpu()
    assert isinstance(result, Unavailable) and result.reason.startswith("NVML query failed")
    assert fake.shutdowns == 1


def test_missing_pynvml_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # None in sys.modules makes import fail
    monkeypatch.setattr(gpu, "nvidia_driver_absent", lambda: None)
    result = capture_gpu()
    assert isinstance(result, Unavailable) and "NVML unavailable" in result.reason


@pytest.mark.skipif(gpu.nvidia_driver_absent() is None, reason="an NVIDIA driver is present")
def test_no_driver_is_fast_and_never_imports_pynvml() -> None:
    """Real check on this machine, in a fresh interpreter so that sys.modules is meaningful."""
    script = (
        "import json, sys, time; from repro_run.capture.gpu import capture_gpu; "
        "t = time.perf_counter(); r = capture_gpu(); dt = time.perf_counter() - t; "
        "print(json.dumps([type(r).__name__, r.reason, dt, 'pynvml' in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    kind, reason, seconds, imported = json.loads(done.stdout)
    assert kind == "Unavailable" and reason.startswith("no NVIDIA driver")
    assert seconds < 0.020
    assert imported is False


@pytest.mark.skipif(gpu.nvidia_driver_absent() is None, reason="an NVIDIA driver is present")
def test_no_driver_means_no_memory_sampler() -> None:
    assert gpu_memory_sampler() is None


@pytest.mark.gpu
def test_real_nvml_lists_devices() -> None:
    info = capture_gpu()
    assert isinstance(info, GpuInfo), info
    assert (
        info.devices and info.driver_version and re.fullmatch(r"\d+\.\d+", info.cuda_driver_version)
    )
    assert all(d.uuid.startswith(("GPU-", "MIG-")) and d.memory_total > 0 for d in info.devices)
    sampler = gpu_memory_sampler()
    assert sampler is not None
    assert sampler({os.getpid()}) is not None
    sampler.close()


# --- GPU memory sampler -----------------------------------------------------------------------
def test_sampler_sums_the_tree_across_devices(fake_nvml: Any) -> None:
    mine, other = os.getpid(), os.getppid()
    fake = fake_nvml(
        [
            _device(
                0, compute=[_proc(mine, 1000), _proc(other, 5000)], graphics=[_proc(mine, 1000)]
            ),
            _device(1, compute=[_proc(mine, 300)]),
        ]
    )
    sampler = gpu_memory_sampler()
    assert sampler is not None
    assert sampler({mine}) == 1300  # listed by both APIs on device 0: counted once
    assert sampler({mine, other}) == 6300
    assert sampler({12345678}) == 0
    sampler.close()
    assert (fake.inits, fake.shutdowns) == (1, 1)
    assert sampler({mine}) is None


def test_sampler_unknown_memory_is_none(fake_nvml: Any) -> None:
    fake_nvml([_device(0, compute=[_proc(os.getpid(), None)])])
    sampler = gpu_memory_sampler()
    assert sampler is not None and sampler({os.getpid()}) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pid visibility through /proc")
def test_sampler_host_pids_from_a_container_are_none(fake_nvml: Any) -> None:
    """Inside a PID namespace NVML lists host pids that match nothing here: unknown, not 0."""
    fake_nvml([_device(0, compute=[_proc(4_000_000, 2**30)])])
    sampler = gpu_memory_sampler()
    assert sampler is not None and sampler({os.getpid()}) is None


def test_sampler_init_failure_is_none_and_not_retried(fake_nvml: Any) -> None:
    fake = fake_nvml([], init_error=DRIVER_NOT_LOADED)
    sampler = gpu_memory_sampler()
    assert sampler is not None
    assert sampler({1}) is None and sampler({1}) is None
    assert fake.inits == 1


def test_sampler_query_errors_are_none(fake_nvml: Any) -> None:
    fake_nvml([_device(0, compute=FakeNVMLError(UNKNOWN), graphics=FakeNVMLError(UNKNOWN))])
    sampler = gpu_memory_sampler()
    assert sampler is not None and sampler({1}) is None


# --- CUDA libraries ---------------------------------------------------------------------------
@pytest.fixture
def no_system_dirs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the toolkit roots and variables a test gives are searched."""
    monkeypatch.setattr(cuda, "SYSTEM_INCLUDE_DIRS", ())
    monkeypatch.setattr(cuda, "SYSTEM_LIB_DIRS", ())


def _write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "text", "version"),
    [
        ("version.json", '{"cuda": {"name": "CUDA SDK", "version": "12.4.1"}}', "12.4.1"),
        ("version.txt", "CUDA Version 11.8.89\n", "11.8.89"),
        ("include/cuda.h", "#ifndef X\n#define CUDA_VERSION 12040\n", "12.4"),
    ],
)
@pytest.mark.usefixtures("no_system_dirs")
def test_toolkit_version_from_files(tmp_path: Path, name: str, text: str, version: str) -> None:
    source = _write(tmp_path / "cuda" / name, text)
    found = capture_cuda_libraries(environ={"CUDA_HOME": str(tmp_path / "cuda")})
    assert (found.cuda_toolkit, found.sources["cuda_toolkit"]) == (version, str(source))


@pytest.mark.usefixtures("no_system_dirs")
def test_toolkit_version_from_nvcc(tmp_path: Path) -> None:
    nvcc = _write(
        tmp_path / "bin" / "nvcc",
        "#!/bin/sh\necho 'Cuda compilation tools, release 12.4, V12.4.131'\n",
    )
    nvcc.chmod(0o755)
    found = capture_cuda_libraries(environ={"PATH": str(nvcc.parent)}, toolkit_roots=[])
    assert found.cuda_toolkit == "12.4"
    assert found.sources["cuda_toolkit"] == f"nvcc --version ({nvcc})"


@pytest.mark.usefixtures("no_system_dirs")
def test_nothing_found_says_why(tmp_path: Path) -> None:
    found = capture_cuda_libraries(environ={"PATH": str(tmp_path)}, toolkit_roots=[])
    assert (found.cuda_toolkit, found.cudnn, found.nccl, found.sources) == (None, None, None, {})
    assert set(found.missing) == {"cuda_toolkit", "cudnn", "nccl"}
    assert "libcudnn.so" in found.missing["cudnn"]


@pytest.mark.usefixtures("no_system_dirs")
def test_cudnn_and_nccl_from_toolkit_headers(tmp_path: Path) -> None:
    root = tmp_path / "cuda"
    _write(
        root / "include" / "cudnn_version.h",
        "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 0\n",
    )
    _write(
        root / "include" / "nccl.h",
        "#define NCCL_MAJOR 2\n#define NCCL_MINOR 21\n#define NCCL_PATCH 5\n",
    )
    found = capture_cuda_libraries(environ={"PATH": ""}, toolkit_roots=[str(root)])
    assert (found.cudnn, found.nccl) == ("9.1.0", "2.21.5")
    assert found.sources["cudnn"] == str(root / "include" / "cudnn_version.h")


@pytest.mark.usefixtures("no_system_dirs")
def test_cudnn_and_nccl_from_library_names_in_search_order(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for name in ("libcudnn.so", "libcudnn.so.9", "libcudnn.so.9.1.0", "libnccl.so.2.19.3"):
        _write(first / name)
    _write(second / "libcudnn.so.9.9.9")
    found = capture_cuda_libraries(
        environ={"LD_LIBRARY_PATH": f"{first}:{second}", "PATH": ""}, toolkit_roots=[]
    )
    assert (found.cudnn, found.nccl) == ("9.1.0", "2.19.3")
    assert found.sources["cudnn"] == str(first / "libcudnn.so.9.1.0")


@pytest.mark.usefixtures("no_system_dirs")
def test_pip_wheels_in_the_package_list_win(tmp_path: Path) -> None:
    _write(
        tmp_path / "cuda" / "include" / "nccl.h",
        "#define NCCL_MAJOR 2\n#define NCCL_MINOR 1\n#define NCCL_PATCH 0\n",
    )
    wheels = (Package("nvidia-cudnn-cu12", "9.1.0.70"), Package("nvidia_nccl_cu12", "2.20.5"))
    found = capture_cuda_libraries(
        PackageList("/venv/bin/python", "3.11.7", wheels),
        environ={"PATH": ""},
        toolkit_roots=[str(tmp_path / "cuda")],
    )
    assert (found.cudnn, found.nccl) == ("9.1.0.70", "2.20.5")
    assert found.sources == {
        "cudnn": "package nvidia-cudnn-cu12",
        "nccl": "package nvidia_nccl_cu12",
    }


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="no nvcc on this machine")
def test_this_machines_toolkit_matches_nvcc() -> None:
    nvcc = subprocess.run(["nvcc", "--version"], check=True, capture_output=True, text=True).stdout
    match = re.search(r"release (\d+\.\d+)", nvcc)
    assert match is not None
    found = capture_cuda_libraries()
    assert found.cuda_toolkit is not None and found.cuda_toolkit.startswith(match.group(1))


def test_the_glibc_version_is_recorded() -> None:
    kind, version = str(os.confstr("CS_GNU_LIBC_VERSION")).split()  # this machine: glibc
    assert (kind, capture_system().glibc) == ("glibc", version)
