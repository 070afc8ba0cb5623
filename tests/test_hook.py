"""The seeding hook in real child interpreters: PYTHONPATH as `repro run` sets it, no repro.

Each test starts a fresh Python with the hook's `sitecustomize` first on PYTHONPATH and the
variables `repro run` injects, then reads what the child printed and the facts it wrote.
"""

from __future__ import annotations

import ast
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers.repos import MakeRepo, commit_all, git
from hypothesis import given
from hypothesis import strategies as st

from repro_run import hook
from repro_run.core import constants
from repro_run.hook import facts as facts_module
from repro_run.hook import host

HOOK_DIR = Path(hook.__file__).parent
FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax")


def python(
    tmp_path: Path,
    code: str,
    *,
    env: dict[str, str] | None = None,
    pythonpath: str = "",
    interpreter: str = sys.executable,
    args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [interpreter, *args, "-c", code],
        cwd=tmp_path,
        env=_child_env(tmp_path, env, pythonpath),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _child_env(tmp_path: Path, env: dict[str, str] | None, pythonpath: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("REPRO_", "PYTHON"))}
    return {
        **base,
        "PYTHONPATH": os.pathsep.join(p for p in (hook.BOOT_DIR, pythonpath) if p),
        "REPRO_SEED": "7",
        "REPRO_RUN_DIR": str(tmp_path / "run"),
        "REPRO_DETERMINISTIC": "1",
        **(env or {}),
    }


def facts(tmp_path: Path) -> list[dict[str, Any]]:
    directory = tmp_path / "run" / "facts"
    paths = sorted(directory.glob("*.json")) if directory.exists() else []
    return [{**json.loads(p.read_text()), "file": p.name} for p in paths]


def test_random_is_seeded_at_start(tmp_path: Path) -> None:
    done = python(tmp_path, "import random; print(random.random())")
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == random.Random(7).random()
    (document,) = facts(tmp_path)
    assert document["seeded"] == ["random=7"] and document["errors"] == []


def test_a_script_importing_no_framework_loads_none_even_at_exit(tmp_path: Path) -> None:
    probe = f"import sys, json; print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))"
    done = python(tmp_path, probe, args=("-X", "importtime"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    # -X importtime logs every import, the hook's facts at exit included.
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not imported & set(FRAMEWORKS)
    (document,) = facts(tmp_path)
    assert not [k for k in document["facts"] if k.split(".")[0] in FRAMEWORKS]


def test_the_hook_loads_only_its_own_modules(tmp_path: Path) -> None:
    """Every Python process of a run pays for what the hook imports, at start and at exit:
    nothing but its own modules, `atexit` and `__future__`; json's C helper (a shared library)
    only for text that needs escaping, which this run's facts do not hold."""

    def imported(env: dict[str, str]) -> set[str]:
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "pass"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        lines = done.stderr.splitlines()
        return {
            line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")
        }

    without = {k: v for k, v in os.environ.items() if not k.startswith(("REPRO_", "PYTHON"))}
    added = imported(_child_env(tmp_path, None, "")) - imported(without)
    assert {name for name in added if not name.startswith("_repro_hook")} <= {
        "atexit",
        "__future__",
    }
    assert "_repro_hook.runtime" in added


def test_numpy_is_seeded_when_imported_and_torch_is_not_loaded(tmp_path: Path) -> None:
    code = "import sys, numpy; print(numpy.random.rand(), 'torch' in sys.modules)"
    done = python(tmp_path, code)
    assert done.returncode == 0, done.stderr
    import numpy

    value, torch_loaded = done.stdout.split()
    assert float(value) == numpy.random.RandomState(7).rand() and torch_loaded == "False"
    (document,) = facts(tmp_path)
    assert document["seeded"] == ["random=7", "numpy=7"]
    assert document["facts"]["numpy.version"] == numpy.__version__


def test_the_hook_chains_to_an_existing_sitecustomize(tmp_path: Path) -> None:
    user = tmp_path / "user_site"
    user.mkdir()
    (user / "sitecustomize.py").write_text("import os\nos.environ['USER_SITECUSTOMIZE'] = 'ran'\n")
    (user / "mymodule.py").write_text("VALUE = 42\n")
    code = (
        "import os, random, sys, sitecustomize, mymodule\n"
        "print(os.environ.get('USER_SITECUSTOMIZE'), mymodule.VALUE, random.random())\n"
        "print(sitecustomize.__file__)\n"
        f"print({hook.BOOT_DIR!r} in sys.path)\n"
    )
    done = python(tmp_path, code, pythonpath=str(user))
    assert done.returncode == 0, done.stderr
    first, where, boot_on_path = done.stdout.splitlines()
    assert first == f"ran 42 {random.Random(7).random()}"  # theirs ran, and ours seeded
    assert Path(where) == user / "sitecustomize.py" and boot_on_path == "False"


def test_a_failure_inside_the_hook_is_recorded_and_the_script_runs(tmp_path: Path) -> None:
    # A stand-in NumPy whose seeding raises: the boundary the hook calls into.
    fake = tmp_path / "fake" / "numpy"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("__version__ = 'fake'\n")
    (fake / "random.py").write_text(
        "def seed(value):\n    raise RuntimeError('seeding is broken')\n"
    )
    done = python(
        tmp_path, "import numpy.random; print('still running')", pythonpath=str(tmp_path / "fake")
    )
    assert done.returncode == 0 and done.stdout == "still running\n" and done.stderr == ""
    (document,) = facts(tmp_path)
    assert "numpy seed: RuntimeError: seeding is broken" in document["errors"]


def test_a_bad_seed_variable_is_recorded_not_raised(tmp_path: Path) -> None:
    done = python(tmp_path, "print('ok')", env={"REPRO_SEED": "not-a-number"})
    assert done.returncode == 0 and done.stdout == "ok\n"
    (document,) = facts(tmp_path)
    assert document["seeded"] == [] and "not an integer" in document["errors"][0]


def test_facts_are_written_per_process_and_rank_aware(tmp_path: Path) -> None:
    rank = {"RANK": "1", "LOCAL_RANK": "1", "WORLD_SIZE": "2"}
    done = python(tmp_path, "print('hi')", env=rank)
    assert done.returncode == 0, done.stderr
    (document,) = facts(tmp_path)
    assert document["file"].startswith("rank1-")
    assert (document["rank"], document["local_rank"], document["world_size"]) == ("1", "1", "2")
    slurm = python(tmp_path, "print('hi')", env={"SLURM_PROCID": "3"})
    assert slurm.returncode == 0
    assert {d["rank"] for d in facts(tmp_path)} == {"1", "3"}


def test_facts_are_written_on_sigterm_and_the_child_still_dies_of_it(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
        cwd=tmp_path,
        env=_child_env(tmp_path, None, ""),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == -signal.SIGTERM
    (document,) = facts(tmp_path)
    assert document["event"] == "SIGTERM"


def test_facts_are_written_on_keyboard_interrupt(tmp_path: Path) -> None:
    done = python(tmp_path, "raise KeyboardInterrupt")
    assert done.returncode in (1, -signal.SIGINT, 130)
    (document,) = facts(tmp_path)
    assert document["event"] == "KeyboardInterrupt"


def test_a_forked_copy_writes_no_facts_of_its_own(tmp_path: Path) -> None:
    code = "import os, sys\npid = os.fork()\nif pid == 0:\n    sys.exit(0)\nos.waitpid(pid, 0)\n"
    assert python(tmp_path, code).returncode == 0
    assert len(facts(tmp_path)) == 1


def test_multiprocessing_spawn_children_are_seeded_and_recorded(tmp_path: Path) -> None:
    (tmp_path / "spawner.py").write_text(
        "import multiprocessing as mp, random\n"
        "def work(q):\n    q.put(random.random())\n"
        "if __name__ == '__main__':\n"
        "    ctx = mp.get_context('spawn')\n    q = ctx.Queue()\n"
        "    p = ctx.Process(target=work, args=(q,))\n    p.start()\n"
        "    print(q.get())\n    p.join()\n"
    )
    done = subprocess.run(
        [sys.executable, "spawner.py"],
        cwd=tmp_path,
        env=_child_env(tmp_path, None, ""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) == random.Random(7).random()  # the spawned child was seeded
    documents = facts(tmp_path)
    pids = {d["pid"] for d in documents}
    assert len(documents) >= 2 and any(d["ppid"] in pids for d in documents)


def _old_python() -> str | None:
    """The oldest CPython the hook supports (3.8), when this machine has one."""
    candidates = [shutil.which("python3.8")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += [str(p) for p in sorted(Path(pyenv_root).glob("versions/3.8*/bin/python3.8"))]
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "pass"], capture_output=True)
        if check.returncode == 0:
            return candidate
    return None


def test_the_hook_runs_on_python_3_8(tmp_path: Path) -> None:
    interpreter = _old_python()
    if interpreter is None:
        pytest.skip("no Python 3.8 on this machine")
    done = python(tmp_path, "import random; print(random.random())", interpreter=interpreter)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert float(done.stdout) == random.Random(7).random()
    (document,) = facts(tmp_path)
    assert document["facts"]["python.version"].startswith("3.8") and document["errors"] == []


def test_hook_sources_import_only_the_standard_library_and_parse_as_python_3_8() -> None:
    for path in sorted(HOOK_DIR.rglob("*.py")):
        tree = ast.parse(path.read_text(), feature_version=(3, 8))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                assert node.level == 1, f"{path}: reaches outside the hook package"
                continue
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", f"{path}: {name}"


def test_hook_names_agree_with_constants() -> None:
    assert hook.ENV_SEED == constants.ENV_SEED
    assert hook.ENV_RUN_DIR == constants.ENV_RUN_DIR
    assert hook.ENV_DETERMINISTIC == constants.ENV_DETERMINISTIC
    assert hook.ENV_THREADS == constants.ENV_THREADS
    assert hook.FACTS_DIRNAME == constants.RUN_FACTS_DIRNAME
    assert hook.ENV_PACKAGES_DIGEST == constants.ENV_PACKAGES_DIGEST
    assert hook.MODULE_NAME == constants.HOOK_MODULE_NAME


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_the_facts_writer_writes_what_json_writes(value: object) -> None:
    """The hook writes facts without importing json (re and enum cost ~4 ms at every exit)."""
    assert facts_module.to_json(value) == json.dumps(value, sort_keys=True, default=str)


def test_the_hook_accepts_the_seeds_repro_injects() -> None:
    """The hook cannot import repro's constants (it runs in the user's interpreter)."""
    from repro_run.core.constants import MAX_SEED
    from repro_run.hook import runtime

    assert runtime.MAX_SEED == MAX_SEED


def test_a_rank_in_a_git_worktree_records_the_worktrees_commit(
    tmp_path: Path, make_repo: MakeRepo
) -> None:
    """The commit is read from `.git` itself: a worktree's `.git` file, its `commondir`, a
    branch ref packed by `git pack-refs`."""
    root = make_repo({"a.txt": "a\n"})
    git(root, "checkout", "-q", "-b", "side")
    (root / "a.txt").write_text("b\n")
    commit_all(root)
    git(root, "checkout", "-q", "main")
    git(root, "pack-refs", "--all")
    git(root, "worktree", "add", "-q", str(tmp_path / "wt"), "side")
    done = python(tmp_path / "wt", "pass", env={"RANK": "0"})
    assert done.returncode == 0, done.stderr
    (document,) = facts(tmp_path / "wt")
    assert document["commit"] == git(root, "rev-parse", "side").strip()


def test_a_rank_that_used_no_cuda_never_loads_nvml(tmp_path: Path) -> None:
    """torch imports pynvml, but its library loads only when asked: the hook asks nothing."""
    done = python(tmp_path, "import torch", env={"RANK": "0"})
    assert done.returncode == 0, done.stderr
    (document,) = facts(tmp_path)
    assert not [k for k in document["facts"] if k.startswith("gpu.")]
    assert document["errors"] == [] and document["event"] == "exit"


def test_only_ranks_write_their_facts_at_start(tmp_path: Path) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    assert python(tmp_path, code, env={"RANK": "3"}).returncode == -signal.SIGKILL
    (document,) = facts(tmp_path)
    assert document["event"] == "started" and document["rank"] == "3"
    assert document["hostname"] == os.uname().nodename and "ended" not in document
    shutil.rmtree(tmp_path / "run")
    assert python(tmp_path, code).returncode == -signal.SIGKILL
    assert facts(tmp_path) == []


def test_a_rank_takes_the_package_digest_handed_to_it_while_its_site_directories_match(
    tmp_path: Path,
) -> None:
    """The supervisor lists the site directories once (REPRO_PACKAGES_DIGEST); each rank
    checks their stat stamp instead of listing them. A stand-in digest no listing gives shows
    which was taken; another node's directories (another stamp) are listed by the rank."""
    probe = "import sys; h = sys.modules['_repro_hook.host']; print(h._stamp(h._site_directories(sys.path))[0])"
    stamp = python(tmp_path, probe).stdout.strip()
    assert "site-packages" in stamp
    shutil.rmtree(tmp_path / "run")
    stand_in = "0" * 32
    handed = {"REPRO_PACKAGES_DIGEST": f"{stand_in} {stamp}"}
    assert python(tmp_path, "pass", env={"RANK": "0", **handed}).returncode == 0
    elsewhere = {"REPRO_PACKAGES_DIGEST": f"{stand_in} /elsewhere/site-packages:1:2:3"}
    assert python(tmp_path, "pass", env={"RANK": "1", **elsewhere}).returncode == 0
    assert python(tmp_path, "pass", env={"RANK": "2"}).returncode == 0
    digests = {d["rank"]: d["packages_digest"] for d in facts(tmp_path)}
    assert digests["0"] == stand_in
    assert digests["1"] == digests["2"] == host.packages_digest(sys.path) != stand_in


def test_an_install_changes_the_stamp_so_a_handed_digest_is_not_taken(tmp_path: Path) -> None:
    site = tmp_path / "lib" / "site-packages"
    (site / "a-1.0.dist-info").mkdir(parents=True)
    long_ago = 1_000_000_000 * 10**9
    os.utime(site, ns=(long_ago, long_ago))
    handed = host.handed_digest([str(site)])
    assert handed is not None and handed.split(" ")[0] == host.packages_digest([str(site)])
    stand_in = "0" * 32 + handed[32:]
    assert host.packages_digest([str(site)], stand_in) == "0" * 32
    (site / "b-2.0.dist-info").mkdir()  # pip adds a *.dist-info: the directory's mtime moves
    assert host.packages_digest([str(site)], stand_in) == host.packages_digest([str(site)])
    assert host.packages_digest([str(site)]) != handed.split(" ")[0]


def test_no_package_digest_is_handed_while_a_site_directory_just_changed(tmp_path: Path) -> None:
    """A change within the stamp's timestamp tick would leave the stamp equal (git's racy
    case): a directory changed in the last seconds is listed by each rank."""
    site = tmp_path / "site-packages"
    (site / "a-1.0.dist-info").mkdir(parents=True)
    assert host.handed_digest([str(site)]) is None


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("NCCL_ALGO", "Ring", True),
        ("SLURM_JOB_NODELIST", "node[001-128]", True),
        ("NCCL_IB_HCA", "mlx5_0:1,mlx5_1:1", True),
        ("TORCHELASTIC_RUN_ID", "7f3c9a2e-41d0-4b8e-9c1a-5e6f7a8b9c0d", True),
        ("TORCHELASTIC_RUN_ID", "a1b2c3d4e5f6a7b8c9", False),  # a token's run of 16+
        ("NCCL_MY_TOKEN", "x", False),  # a secret word
        ("NCCL_APITOKEN", "x", False),  # a word ending in TOKEN
        ("NCCL_XPASSWORDX", "x", False),  # a secret infix
        ("SLURM_JOB_COMMENT", '{"api_key": "v"}', False),  # quotes and braces
        ("NCCL_DEBUG", "ghp_abc", False),  # a credential's prefix
    ],
)
def test_a_launch_variable_is_recorded_only_where_it_cannot_hold_a_secret(
    name: str, value: str, kept: bool
) -> None:
    """The hook's own rule keeps what may be a secret off the disk before the supervisor's
    full one (core/redaction.py) sees it."""
    assert host.launch_env({name: value}) == {name: value if kept else None}
