"""Tiny wheels written directly as zip files, and a local folder of them served to pip and uv
as `--find-links` (file://, no network): the environments the rebuild tests install."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(folder: Path, name: str, version: str, source: str | None = None) -> Path:
    """`folder/<name>-<version>-py3-none-any.whl`, a pure-Python wheel of one module `name`
    whose `VERSION` is `version` (or whose text is `source`)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": (source or f"VERSION = {version!r}\n").encode(),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: repro-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{name}\n".encode(),
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


def uv_bin() -> str:
    import uv

    return str(uv.find_uv_bin())


def make_venv(path: Path, python: str, wheels: Path, *pins: str) -> Path:
    """A virtual environment at `path` (uv venv) with `pins` installed from the wheels folder
    only (no index); returns its python."""
    subprocess.run([uv_bin(), "venv", "-q", "--python", python, str(path)], check=True)
    venv_python = path / "bin" / "python"
    install(venv_python, wheels, *pins)
    return venv_python


def install(python: Path, wheels: Path, *pins: str) -> None:
    """`uv pip install PINS` into `python`'s environment from the wheels folder only."""
    subprocess.run(
        [uv_bin(), "pip", "install", "-q", "--python", str(python), "--no-index",
         "--find-links", str(wheels), *pins],
        check=True,
    )  # fmt: skip
