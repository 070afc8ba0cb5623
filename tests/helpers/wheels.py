"""Tiny wheels written directly as zip files, served to pip and uv as a simple index on disk
(file://, no network), and the user's virtual environment installed from it: the environments
the rebuild tests record and rebuild."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import zipfile
from pathlib import Path


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_wheel(
    folder: Path,
    name: str,
    version: str,
    source: str | None = None,
    *,
    contents: dict[str, bytes] | None = None,
    scripts: dict[str, str] | None = None,
) -> Path:
    """`folder/<name>-<version>-py3-none-any.whl`, a pure-Python wheel of one module `name`
    whose `VERSION` is `version` (or whose text is `source`), or of the files `contents`;
    `scripts`: its console scripts (`name = module:function`)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{name}-{version}.dist-info"
    files = {
        **(contents or {f"{name}/__init__.py": (source or f"VERSION = {version!r}\n").encode()}),
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: repro-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{info}/top_level.txt": f"{name}\n".encode(),
    }
    if scripts:
        lines = "".join(f"{script} = {target}\n" for script, target in scripts.items())
        files[f"{info}/entry_points.txt"] = f"[console_scripts]\n{lines}".encode()
    record = [_record_line(path, data) for path, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return wheel


def simple_index(folder: Path, wheels: Path) -> str:
    """A PEP 503 simple index at `folder` over the wheels in `wheels`; returns its file:// URL.
    https://peps.python.org/pep-0503/"""
    projects: dict[str, list[Path]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        projects.setdefault(wheel.name.split("-")[0].replace("_", "-").lower(), []).append(wheel)
    for project, files in projects.items():
        links = "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in files)
        (folder / project).mkdir(parents=True, exist_ok=True)
        (folder / project / "index.html").write_text(f"<html><body>{links}</body></html>\n")
    names = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
    (folder / "index.html").write_text(f"<html><body>{names}</body></html>\n")
    return folder.as_uri()


def user_env(venv: Path, index_url: str, **extra: str) -> dict[str, str]:
    """The variables of a user working in `venv` (activated) whose pip uses `index_url`, with
    this machine's pip and uv config files out of the way."""
    return {
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PIP_INDEX_URL": index_url,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",  # CI images set it
        "PIP_EXTRA_INDEX_URL": "",
        "UV_NO_CONFIG": "1",
        "UV_HTTP_RETRIES": "0",
        **extra,
    }


def installed_version(python: Path, module: str) -> str:
    done = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.VERSION)"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


# A PEP 517 build backend of the test's own, committed with the project (setuptools or
# hatchling would come from the network): it builds with `write_wheel`, copied beside it.
# https://peps.python.org/pep-0517/#in-tree-build-backends, https://peps.python.org/pep-0660/
_BACKEND = """
import os
from pathlib import Path

from wheels import write_wheel

NAME, VERSION, SCRIPTS, HOOK = {name!r}, {version!r}, {scripts!r}, {hook!r}


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {{
        os.path.relpath(os.path.join(d, n), "src"): Path(d, n).read_bytes()
        for d, _, names in os.walk("src") for n in names if n.endswith(".py")
    }}
    return write_wheel(Path(wheel_directory), NAME, VERSION, contents=files, scripts=SCRIPTS).name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    src = os.path.abspath("src")
    files = {{f"_{{NAME}}.pth": (src + os.linesep).encode()}}
    if HOOK:  # as setuptools' strict mode does: a .pth that runs a module putting src/ on sys.path
        files = {{
            f"_{{NAME}}.pth": f"import _{{NAME}}_finder{{os.linesep}}".encode(),
            f"_{{NAME}}_finder.py": f"import sys{{os.linesep}}sys.path.append({{src!r}}){{os.linesep}}".encode(),
        }}
    return write_wheel(Path(wheel_directory), NAME, VERSION, contents=files, scripts=SCRIPTS).name
"""


def write_project(
    root: Path,
    name: str,
    version: str,
    source: str,
    scripts: dict[str, str],
    *,
    import_hook: bool = False,
) -> None:
    """A Python project at `root` (src layout: `src/<name>/__init__.py` is `source`) that pip
    and uv build with its own backend in `_backend/`, offline; `scripts`: `[project.scripts]`;
    `import_hook`: its editable install runs code from its `.pth` file instead of naming src/."""
    (root / "src" / name).mkdir(parents=True)
    (root / "src" / name / "__init__.py").write_text(source)
    (root / "_backend").mkdir()
    (root / "_backend" / "wheels.py").write_text(Path(__file__).read_text())
    backend = _BACKEND.format(name=name, version=version, scripts=scripts, hook=import_hook)
    (root / "_backend" / "backend.py").write_text(backend.lstrip())
    entries = "".join(f'{script} = "{target}"\n' for script, target in scripts.items())
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["_backend"]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n\n[project.scripts]\n{entries}'
    )


def install_project_editable(venv: Path, root: Path) -> None:
    """`uv pip install --editable ROOT` into `venv`, built by the project's own backend."""
    subprocess.run(
        [uv_bin(), "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "--no-index",
         "--no-deps", "--editable", str(root)],
        check=True,
    )  # fmt: skip


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
