"""Where recorded distributions came from (the indexes in effect, the project) and the
requirement files written from them (`repro show --packages --format`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.cli import repro, store_bytes
from helpers.repos import MakeRepo

from repro_run.capture.sources import capture_indexes, mark_project
from repro_run.models import Package, PackageIndexes, PackageList, from_json_dict
from repro_run.models.requirements import FORMATS, requirements_lines, uv_lines


def _listed(*packages: Package, indexes: PackageIndexes | None = None) -> PackageList:
    return PackageList(
        "/venv/bin/python", "3.11.7", packages, python_implementation="CPython", indexes=indexes
    )


def test_pip_config_file_index_is_recorded_without_its_credentials(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text(
        "[global]\nindex-url = https://user:s3cret@pypi.example.com/simple\n"
        "[install]\nextra-index-url =\n  https://download.pytorch.org/whl/cpu\n"
    )
    found = capture_indexes({"PIP_CONFIG_FILE": str(config)}, str(tmp_path), tmp_path)
    assert found.index_url == "https://pypi.example.com/simple"
    assert found.extra_index_urls == ("https://download.pytorch.org/whl/cpu",)
    assert found.origins == (str(config),)
    assert "s3cret" not in repr(found)


def test_pip_environment_variables_win_over_its_config_files(tmp_path: Path) -> None:
    config = tmp_path / "pip.conf"
    config.write_text("[global]\nindex-url = https://files.example.com/simple\n")
    environ = {
        "PIP_CONFIG_FILE": str(config),
        "PIP_INDEX_URL": "https://env.example.com/simple",
        "PIP_FIND_LINKS": "/wheels",
    }
    found = capture_indexes(environ, str(tmp_path), tmp_path)
    assert found.index_url == "https://env.example.com/simple"
    assert found.find_links == ("/wheels",)
    assert set(found.origins) == {"PIP_INDEX_URL", "PIP_FIND_LINKS"}


def test_uv_indexes_of_the_project_and_the_environment_are_recorded(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.uv]\n[[tool.uv.index]]\nname = "pytorch"\nurl = "https://download.pytorch.org/whl/cu130"\n'
    )
    environ = {
        "PIP_CONFIG_FILE": "/dev/null",
        "UV_INDEX": "internal=https://tok@idx.example.com/simple",
    }
    found = capture_indexes(environ, str(tmp_path), tmp_path)
    assert found.index_url is None  # PyPI
    assert found.extra_index_urls == (
        "https://idx.example.com/simple",
        "https://download.pytorch.org/whl/cu130",
    )


def test_an_editable_install_inside_the_work_tree_is_marked_as_the_project(tmp_path: Path) -> None:
    listed = _listed(
        Package("mine", "0.1", editable=str(tmp_path / "pkgs" / "mine")),
        Package("other", "1.0", editable="/elsewhere/other"),
    )
    marked = mark_project(listed, tmp_path)
    assert [p.project for p in marked.packages] == ["pkgs/mine", None]


def test_requirements_format_has_the_indexes_the_pins_and_why_some_cannot_be_rebuilt() -> None:
    indexes = PackageIndexes(
        "https://pypi.example.com/simple", ("https://download.pytorch.org/whl/cpu",)
    )
    listed = _listed(
        Package("torch", "2.5.1+cpu"),
        Package("lib", "1.0", vcs="git+https://github.com/o/lib@0123abcd"),
        Package("mine", "0.1", editable="/src/mine", project="."),
        Package("blob", "0.3", url="file:///tmp/blob-0.3-py3-none-any.whl"),
    )
    assert requirements_lines(_listed(*listed.packages, indexes=indexes)) == [
        "--index-url https://pypi.example.com/simple",
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        "# blob==0.3 cannot be rebuilt: installed from a local file (file:///tmp/blob-0.3-py3-none-any.whl)",
        "lib @ git+https://github.com/o/lib@0123abcd",
        "# mine==0.1 cannot be rebuilt: the project itself",
        "torch==2.5.1+cpu",
    ]


def test_uv_format_names_the_recorded_python_and_the_index_strategy() -> None:
    lines = uv_lines(_listed(Package("numpy", "2.1.0"), indexes=PackageIndexes()))
    assert lines[:2] == [
        "# uv venv --python cpython@3.11.7 ENV",
        "# uv pip install --python ENV --no-deps --index-strategy unsafe-best-match -r THIS_FILE",
    ]
    assert lines[2:] == ["numpy==2.1.0"]


def test_a_package_list_without_sources_still_loads_and_says_pypi() -> None:
    old = {"interpreter": "/venv/bin/python", "python_version": "3.11.7",
           "packages": [{"name": "numpy", "version": "1.26.4"}]}  # fmt: skip
    listed = from_json_dict(PackageList, old)
    assert listed.indexes is None and listed.python_implementation is None
    assert requirements_lines(listed)[0].startswith("# no package indexes recorded")


def test_show_offers_exactly_the_package_formats_there_are() -> None:
    from repro_run.cli.views import PACKAGE_FORMATS

    assert set(PACKAGE_FORMATS) == {*FORMATS, "conda"}  # conda: the conda list, not pip's


def test_a_broken_uv_is_a_one_line_build_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """uv's wheel without its binary (a fake only of the lost file: find_uv_bin's own error)."""
    import uv

    from repro_run.app.env.build import uv_binary
    from repro_run.core.errors import EnvironmentBuildError

    def lost() -> str:
        raise FileNotFoundError("uv")

    monkeypatch.setattr(uv, "find_uv_bin", lost)
    with pytest.raises(EnvironmentBuildError, match=r"uv is not usable .*reinstall repro-run"):
        uv_binary()


def test_a_crafted_package_name_never_becomes_an_option_line() -> None:
    lines = requirements_lines(_listed(Package("--index-url https://evil.example/simple x", "1.0")))
    assert not any(line.startswith("-") for line in lines)
    assert lines[-1].endswith("cannot be rebuilt: not a valid distribution name and version")


def test_an_anaconda_token_in_a_pip_index_url_never_reaches_the_record(
    make_repo: MakeRepo,
) -> None:
    root = make_repo({"train.py": "print('trained')\n"})
    token = "acme-readonly"  # not random-looking: only its place in the URL says it is a token
    index = f"https://pypi.anaconda.org/t/{token}/acme/simple"
    done = repro(root, "run", "train.py", env={"PIP_EXTRA_INDEX_URL": index})
    assert done.returncode == 0, done.stderr
    assert token.encode() not in store_bytes(root)
    listed = repro(root, "show", "--packages", "--format", "requirements", "@").stdout
    assert "--extra-index-url https://pypi.anaconda.org/acme/simple" in listed.splitlines()
