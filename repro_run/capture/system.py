"""The host: name, OS, kernel, C library, Python, CPU model and counts, memory, boot id."""

from __future__ import annotations

import os
import subprocess
import sys

from repro_run.capture.pkgscan import glibc_version
from repro_run.core import host
from repro_run.models import SystemInfo

_OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")  # man 5 os-release
_CPUINFO_PATH = "/proc/cpuinfo"
_SYSCTL_TIMEOUT_S = 2.0


def capture_system() -> SystemInfo:
    """Describe this host; a field that cannot be read is left empty with its reason in `missing`."""
    missing: dict[str, str] = {}
    if hasattr(os, "uname"):  # what platform reads on POSIX, without importing it (~2 ms)
        uname = os.uname()
        system, kernel, machine = uname.sysname, uname.release, uname.machine
    else:
        import platform

        system, kernel, machine = platform.system(), platform.release(), platform.machine()

    hostname = host.hostname()
    if not hostname:
        missing["hostname"] = "platform.node() returned nothing"
    os_release = _os_release(system, missing)
    cpu_model = _cpu_model(system, missing)
    logical, physical, memory = (
        _linux_counts(missing) if system == "Linux" else _psutil_counts(missing)
    )
    boot = host.boot_id()
    if boot is None:
        missing["boot_id"] = (
            f"{host.BOOT_ID_PATH} not readable"
            if system == "Linux"
            else f"not available on {system}"
        )

    return SystemInfo(
        hostname=hostname,
        os=system,
        os_release=os_release,
        kernel=kernel,
        machine=machine,
        python_version=sys.version.split()[0],  # platform.python_version()
        python_implementation=sys.implementation.name,
        cpu_model=cpu_model,
        cpu_count_logical=logical,
        cpu_count_physical=physical,
        memory_total=memory,
        boot_id=boot,
        missing=missing,
        glibc=glibc_version(),  # its libm's results can differ between versions
    )


def _os_release(system: str, missing: dict[str, str]) -> str:
    if system == "Darwin":
        import platform  # not on Linux's path

        version = platform.mac_ver()[0]
        if version:
            return f"macOS {version}"
        missing["os_release"] = "platform.mac_ver() returned nothing"
        return ""
    if system != "Linux":
        import platform

        return platform.platform()
    for path in _OS_RELEASE_PATHS:
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.strip().partition("=")
                    if key == "PRETTY_NAME":
                        return value.strip().strip("\"'")
        except (OSError, UnicodeDecodeError):
            continue
    missing["os_release"] = "no PRETTY_NAME in /etc/os-release"
    return ""


def _cpu_model(system: str, missing: dict[str, str]) -> str:
    if system == "Linux":
        try:
            with open(_CPUINFO_PATH, encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    # x86 says "model name"; some ARM kernels only give "Hardware" / "Processor".
                    if key.strip() in ("model name", "Hardware", "Processor", "cpu model"):
                        return value.strip()
        except OSError as exc:
            missing["cpu_model"] = f"{_CPUINFO_PATH}: {exc.strerror}"
            return ""
        missing["cpu_model"] = f"no model name in {_CPUINFO_PATH}"
        return ""
    if system == "Darwin":
        try:
            done = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=_SYSCTL_TIMEOUT_S,
                check=True,
            )
            return done.stdout.strip()
        except (OSError, subprocess.SubprocessError) as exc:
            missing["cpu_model"] = f"sysctl machdep.cpu.brand_string failed: {exc}"
            return ""
    import platform

    model = platform.processor()
    if not model:
        missing["cpu_model"] = "platform.processor() returned nothing"
    return model


def _linux_counts(missing: dict[str, str]) -> tuple[int, int | None, int]:
    """CPU counts and memory from /proc and /sys, as psutil reads them, without its import."""
    logical = os.cpu_count() or 0
    if not logical:
        missing["cpu_count_logical"] = "os.cpu_count() returned None"
    cores: set[str] = set()
    base = "/sys/devices/system/cpu"
    try:
        for name in os.listdir(base):
            if name.startswith("cpu") and name[3:].isdigit():
                for siblings in ("core_cpus_list", "thread_siblings_list"):
                    try:
                        with open(f"{base}/{name}/topology/{siblings}", encoding="ascii") as f:
                            cores.add(f.read().strip())
                        break
                    except OSError:
                        continue
    except OSError as exc:
        missing["cpu_count_physical"] = f"{base}: {exc.strerror}"
    if not cores and "cpu_count_physical" not in missing:
        missing["cpu_count_physical"] = f"no CPU topology under {base}"
    memory = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    memory = int(line.split()[1]) * 1024  # kB
                    break
    except (OSError, ValueError, IndexError) as exc:
        missing["memory_total"] = f"/proc/meminfo: {exc}"
    if not memory and "memory_total" not in missing:
        missing["memory_total"] = "no MemTotal in /proc/meminfo"
    return logical, len(cores) or None, memory


def _psutil_counts(missing: dict[str, str]) -> tuple[int, int | None, int]:
    logical = os.cpu_count() or 0
    try:
        import psutil  # lazy: ~20 ms, only paid here and by the process sampler
    except ImportError as exc:
        missing["cpu_count_physical"] = missing["memory_total"] = f"psutil not importable: {exc}"
        return logical, None, 0
    try:
        logical = psutil.cpu_count(logical=True) or logical
    except Exception as exc:  # psutil raises OSError subclasses and its own errors
        missing["cpu_count_logical"] = f"psutil.cpu_count: {exc}"
    physical: int | None = None
    try:
        physical = psutil.cpu_count(logical=False)
        if physical is None:
            missing["cpu_count_physical"] = "psutil could not determine physical cores"
    except Exception as exc:
        missing["cpu_count_physical"] = f"psutil.cpu_count(logical=False): {exc}"
    memory = 0
    try:
        memory = int(psutil.virtual_memory().total)
    except Exception as exc:
        missing["memory_total"] = f"psutil.virtual_memory: {exc}"
    if not logical:
        missing["cpu_count_logical"] = "os.cpu_count() returned None"
    return logical, physical, memory
