"""Package capture: agreement with pip, the stat-keyed cache, direct URLs without credentials."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from repro_run.capture import packages as packages_module
from repro_run.capture.packages import capture_packages
from repro_run.core.constants import SECRET_MASK
from repro_run.models import PackageList, Unavailable

CANARY = "c4nary-Secret-9f3b2a71"
PY_DIR = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _captured(interpreter: str) -> tuple[PackageList, str]:
    result = capture_packages(interpreter)
    assert not isinstance(result, Unavailable), result
    return result


def _make_venv(root: Path) -> tuple[str, Path]:
    """A throwaway venv (no pip: ~60 ms) and its site-packages, aged out of the racy window."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = root / "lib" / PY_DIR / "site-packages"
    _age(root / "pyvenv.cfg", site)
    return str(root / "bin" / "python"), site


def _age(*paths: Path) -> None:
    """Backdate mtimes, as if the last install was a minute ago (the cache skips fresh dirs)."""
    old = time.time_ns() - 60_000_000_000
    for path in paths:
        os.utime(path, ns=(old, old))


def _add_dist(
    where: Path, name: str, version: str, direct_url: dict[str, object] | None = None
) -> Path:
    info = where / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong text.\n"
    )
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url))
    return info


def _pip_freeze(interpreter: str, cwd: Path) -> tuple[dict[str, str | None], dict[str, str]]:
    """name -> version from `pip freeze --all`, None where pip prints no version; and
    name -> URL of each direct reference that is not editable.

    An editable install appears as a comment "(name==version)" followed by "-e <location>",
    or, when its checkout has a remote, as "-e git+<url>@<sha>#egg=<name>" with no version;
    one installed from an archive file or URL as "name @ <url>#sha256=...", with no version.
    """
    out = subprocess.run(
        [interpreter, "-m", "pip", "freeze", "--all"],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found: dict[str, str | None] = {}
    urls: dict[str, str] = {}
    for line in out.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", line) or re.search(
            r"\((\S+)==(\S+)\)", line
        )
        egg = re.search(r"#egg=([A-Za-z0-9._-]+)", line)
        if match:
            found[_normalise(match.group(1))] = match.group(2)
        elif line.startswith("-e ") and egg:
            found.setdefault(_normalise(egg.group(1)), None)
        elif direct := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*) @ ([^#\s]+)", line):
            found[_normalise(direct.group(1))] = None
            urls[_normalise(direct.group(1))] = direct.group(2)
        elif " @ " in line:
            pytest.fail(f"unexpected direct reference in pip freeze: {line}")
    return found, urls


def _assert_agrees(
    captured: PackageList, frozen: tuple[dict[str, str | None], dict[str, str]]
) -> None:
    versions, urls = frozen
    ours = {_normalise(p.name): p.version for p in captured.packages}
    assert ours.keys() == versions.keys()
    assert {k: v for k, v in ours.items() if versions[k] is not None} == {
        k: v for k, v in versions.items() if v is not None
    }
    assert {_normalise(p.name): p.url or p.vcs for p in captured.packages if p.url or p.vcs} == urls


def test_current_interpreter_agrees_with_pip_freeze(tmp_path: Path) -> None:
    captured, source = _captured(sys.executable)
    assert source == "importlib"
    _assert_agrees(captured, _pip_freeze(sys.executable, tmp_path))


def test_other_interpreter_agrees_with_pip_freeze(tmp_path: Path) -> None:
    """This venv reached through a symlinked directory is another path, so it is asked."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("not running from a venv")
    link = tmp_path / "venv-link"
    link.symlink_to(sys.prefix, target_is_directory=True)
    python = str(link / "bin" / Path(sys.executable).name)
    captured, source = _captured(python)
    assert source == "subprocess"
    assert captured.interpreter == python
    _assert_agrees(captured, _pip_freeze(python, tmp_path))


def test_editable_install_records_its_source_directory(tmp_path: Path) -> None:
    """In a fresh interpreter: under pytest the checkout's own *.egg-info is on sys.path first."""
    script = (
        "import sys; from repro_run.capture.packages import capture_packages; "
        "print([p.editable for p in capture_packages(sys.executable)[0].packages if p.name == 'repro-run'][0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    editable = done.stdout.strip()
    if editable == "None":
        pytest.skip("repro-run is not installed in editable mode here")
    assert Path(editable, "repro_run", "capture", "packages.py").is_file()


def test_packages_sorted_by_normalised_name() -> None:
    captured, _ = _captured(sys.executable)
    names = [_normalise(p.name) for p in captured.packages]
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_second_capture_is_a_cache_hit_without_importlib_metadata(tmp_path: Path) -> None:
    """Run in fresh interpreters, so that sys.modules shows what the cache hit imported."""
    script = (
        "import sys, json; from repro_run.capture.packages import capture_packages; "
        "r = capture_packages(sys.executable); "
        "print(json.dumps([r[1], len(r[0].packages), 'importlib.metadata' in sys.modules]))"
    )
    env = {**os.environ, "REPRO_CACHE_DIR": str(tmp_path)}
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(2)
    ]
    assert runs[0][0] == "importlib"
    assert runs[1] == ["cache", runs[0][1], False]


def test_cache_reflects_an_install_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra-site"
    extra.mkdir()
    _age(extra)
    # sys.path[0] is the launcher's own directory and is not scanned: insert after it.
    monkeypatch.setattr(sys, "path", [sys.path[0], str(extra), *sys.path[1:]])
    assert _captured(sys.executable)[1] == "importlib"
    assert _captured(sys.executable)[1] == "cache"

    _add_dist(extra, "freshly-installed", "1.2.3")
    captured, source = _captured(sys.executable)
    assert source == "importlib"
    assert ("freshly-installed", "1.2.3") in {(p.name, p.version) for p in captured.packages}


def test_cache_reflects_an_install_in_another_interpreter(tmp_path: Path) -> None:
    python, site = _make_venv(tmp_path / "venv")
    first, source = _captured(python)
    assert source == "subprocess"
    assert first.packages == ()
    assert _captured(python) == (first, "cache")

    _add_dist(site, "newpkg", "2.0")
    after, source = _captured(python)
    assert source == "subprocess"
    assert [(p.name, p.version) for p in after.packages] == [("newpkg", "2.0")]

    _age(site)  # the next scan is cacheable again
    assert _captured(python)[1] == "subprocess"
    assert _captured(python) == (after, "cache")


def test_corrupt_cache_is_ignored_and_rewritten(tmp_path: Path) -> None:
    python, _ = _make_venv(tmp_path / "venv")
    _captured(python)
    (cache_file,) = Path(os.environ["REPRO_CACHE_DIR"], "packages").glob("*.json")
    cache_file.write_text("{not json")
    assert _captured(python)[1] == "subprocess"
    assert (
        json.loads(cache_file.read_text())["format"] == 4
    )  # 4: with the tags and the implementation
    assert _captured(python)[1] == "cache"


def test_unwritable_cache_does_not_fail_capture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("REPRO_CACHE_DIR", str(blocker))
    assert _captured(sys.executable)[1] == "importlib"


def test_direct_urls_are_stored_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario A8: `pkg @ git+https://u:<canary>@host/r.git` keeps its commit, loses userinfo."""
    python, _ = _make_venv(tmp_path / "venv")
    extra = tmp_path / "on-pythonpath"
    _add_dist(
        extra,
        "vcspkg",
        "0.1",
        {
            "url": f"https://u:{CANARY}@host/r.git",
            "vcs_info": {"vcs": "git", "commit_id": "abc123"},
        },
    )
    _add_dist(
        extra, "archpkg", "1.0", {"url": f"https://host/a.whl?token={CANARY}", "archive_info": {}}
    )
    _add_dist(
        extra, "devpkg", "0.0.1", {"url": "file:///src/dev%20pkg", "dir_info": {"editable": True}}
    )
    monkeypatch.setenv("PYTHONPATH", str(extra))

    captured, source = _captured(python)
    assert source == "subprocess"
    by_name = {p.name: p for p in captured.packages}
    assert by_name["vcspkg"].vcs == "git+https://host/r.git@abc123"
    assert by_name["archpkg"].url == f"https://host/a.whl?token={SECRET_MASK}"
    assert by_name["devpkg"].editable == "/src/dev pkg"
    cache_text = "".join(p.read_text() for p in Path(os.environ["REPRO_CACHE_DIR"]).rglob("*.json"))
    assert CANARY not in cache_text
    assert CANARY not in repr(captured)


def test_first_distribution_on_sys_path_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python, site = _make_venv(tmp_path / "venv")
    _add_dist(site, "Dup_Pkg", "1.0")
    front = tmp_path / "front"
    _add_dist(front, "dup-pkg", "2.0")
    monkeypatch.setenv("PYTHONPATH", str(front))
    captured, _ = _captured(python)
    assert [(p.name, p.version) for p in captured.packages] == [("dup-pkg", "2.0")]


def test_base_interpreter_of_a_venv_is_another_interpreter() -> None:
    """A venv's python is a symlink to the base python: same realpath, different packages."""
    real = os.path.realpath(sys.executable)
    if real == os.path.abspath(sys.executable):
        pytest.skip("not running from a venv")
    result = capture_packages(real)
    assert not isinstance(result, Unavailable), result
    assert result[1] == "subprocess"


def test_missing_interpreter_is_unavailable(tmp_path: Path) -> None:
    result = capture_packages(str(tmp_path / "no-such-python"))
    assert isinstance(result, Unavailable)
    assert "no-such-python" in result.reason


def test_failing_interpreter_is_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'boom' >&2\nexit 3\n")
    fake.chmod(0o755)
    result = capture_packages(str(fake))
    assert isinstance(result, Unavailable)
    assert "exited with 3" in result.reason and "boom" in result.reason


def test_hanging_interpreter_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexec sleep 10\n")
    fake.chmod(0o755)
    monkeypatch.setattr(packages_module, "SUBPROCESS_TIMEOUT_S", 0.3)
    result = capture_packages(str(fake))
    assert isinstance(result, Unavailable)
    assert "within" in result.reason


def test_the_package_list_records_the_interpreters_most_specific_wheel_tags(
    tmp_path: Path,
) -> None:
    from packaging.tags import sys_tags  # the reference implementation pip and uv agree with

    venv_python, _ = _make_venv(tmp_path / "venv")  # asked in a subprocess
    supported = [str(tag) for tag in sys_tags()]
    for interpreter in (sys.executable, venv_python):
        tags = _captured(interpreter)[0].platform_tags
        assert tags[0] == supported[0]  # cp311-cp311-linux_x86_64
        assert tags[1] in supported and tags[1].split("-")[2].startswith("manylinux_")
        assert f"_{str(os.confstr('CS_GNU_LIBC_VERSION')).split()[1].replace('.', '_')}_" in tags[1]
