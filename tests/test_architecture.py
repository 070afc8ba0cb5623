"""Imports flow one way: cli -> app -> level-1 units -> models -> core (docs/architecture.md).

Parses every module's imports (function-level ones too) with `ast`; fails on a back-edge between
layers and on any import cycle between modules (a package's `__init__` is a module). Keeps the
top of the package small and every function short enough to read at once. The tests keep
one rule of their own: code they share lives in tests/helpers/.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "repro_run"

# A unit is a top-level package (or one of the few top-level modules) of repro_run.
CORE = "core"  # leaves: stdlib only
MODELS = "models"  # the records and their codec: core only
# Level 1: each imports core, models and its own package, never another level-1 unit.
LEVEL1 = {
    "settings",  # [tool.repro]
    "determinism",  # the seed and the knobs injected (pure)
    "capture",
    "execute",
    "fingerprint",
    "store",
    "compare",
    "metrics",
    "verdict",
    "bundle",
    "audit",
    "remote",  # the obstore boundary: a remote's requests and its key layout (issue 19)
}
# What each upper unit may import besides core, models and itself.
UPPER = {
    "app": LEVEL1 | {"hook"},  # hook: where its sitecustomize directory is
    "ui": set(),  # renders records: ui modules may import each other
    "cli": {"app", "ui"},
    "userapi": {"hook"},  # runs inside the user's script
}
# `repro run COMMAND` starts the run's git calls before it imports the verb (docs/architecture.md).
FAST_PATH = {("cli.main", "capture.git")}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _is_module(name: str) -> bool:
    base = PACKAGE / name.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _imports(path: Path) -> set[str]:
    """repro_run modules imported by `path`: `from P import m` imports module P.m when it is
    one, else P itself."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("repro_run.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "repro_run" and not node.module.startswith("repro_run."):
                continue
            package = node.module.removeprefix("repro_run").removeprefix(".")
            names = []
            for alias in node.names:
                sub = f"{package}.{alias.name}" if package else alias.name
                names.append(sub if _is_module(sub) else package or "__init__")
            found.update(n for n in names if n)
            continue
        else:
            continue
        found.update(n.removeprefix("repro_run.") for n in names)
    return {n for n in found if _is_module(n) or n == "__init__"}


def _unit(module: str) -> str:
    return module.split(".")[0]


def _allowed(importer: str, imported: str) -> bool:
    unit, target = _unit(importer), _unit(imported)
    if (importer, imported) in FAST_PATH:
        return True
    if imported == "__init__":
        return True  # the root package: `__version__` (its user API loads on first use)
    if importer in ("__init__", "__main__"):
        return imported == "cli.main" or target in (CORE, "userapi")
    if unit == "hook":
        return False  # runs inside the user's processes: stdlib only, relative imports
    if unit == "userapi":
        return target in ("userapi", "hook") or imported == "core.constants"
    if target in (unit, CORE):
        return True
    if unit == CORE:
        return False
    if target == MODELS:
        return True
    if unit == MODELS:
        return False
    if unit in LEVEL1:
        return False
    if unit in UPPER:
        return target in UPPER[unit]
    raise AssertionError(f"module {importer} has no layer: add it to tests/test_architecture.py")


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) - {_module_name(p)} for p in PACKAGE.rglob("*.py")}


def test_no_import_goes_against_the_layers() -> None:
    violations = [
        f"{importer} imports {imported}"
        for importer, imported_set in sorted(_graph().items())
        for imported in sorted(imported_set)
        if not _allowed(importer, imported)
    ]
    assert violations == []


def test_no_import_cycle_between_modules() -> None:
    graph = _graph()
    cycles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_every_unit_has_a_layer() -> None:
    known = {CORE, MODELS, "hook", "__init__", "__main__"} | LEVEL1 | set(UPPER)
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units <= known, f"unplaced units: {sorted(units - known)}"


def test_the_top_of_the_package_stays_small() -> None:
    """At most four loose modules beside the packages (issue 15)."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "determinism.py", "settings.py"]


MAX_FUNCTION_LINES = 80  # a screenful: past it, split by step (issue 15)


def test_no_function_is_longer_than_a_screen() -> None:
    long = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {node.name} ({length} lines)"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert long == []


def _top_level_imports(path: Path) -> set[str]:
    """The first component of every module `path` imports absolutely (function-level too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_a_test_module_or_conftest() -> None:
    """Shared test code lives in tests/helpers/ and the fixtures in conftest.py, which only pytest
    loads: a helper borrowed from a test module breaks when that test moves. bench/ counts too."""
    sources = sorted([*TESTS.rglob("*.py"), *(TESTS.parent / "bench").glob("*.py")])
    violations = [
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in sources
        for name in sorted(_top_level_imports(path))
        if name == "conftest" or name.startswith("test_")
    ]
    assert violations == []


def test_repro_help_does_not_import_heavy_modules() -> None:
    """`repro --help` and `repro list` must not pay for GitPython, pynvml or psutil."""
    import subprocess
    import sys

    probe = (
        "import sys; from repro_run.cli.commands import cli; "
        "heavy = [m for m in ('git', 'pynvml', 'psutil', 'rich', 'yaml') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_log_metrics_imports_nothing_heavy() -> None:
    """`import repro_run; repro_run.log_metrics(...)` runs in the user's script: stdlib only."""
    import subprocess
    import sys

    probe = (
        "import sys; import repro_run; repro_run.log_metrics(step=1, loss=0.5); "
        "ours = sorted(m for m in sys.modules if m.startswith('repro_run')); "
        "heavy = [m for m in ('click', 'git', 'pynvml', 'psutil', 'rich', 'yaml', 'blake3', "
        "'numpy') if m in sys.modules]; import json; print(','.join(heavy), json.dumps(ours))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    heavy, ours = done.stdout.split(" ", 1)
    assert heavy == ""
    assert set(json.loads(ours)) <= {
        "repro_run",
        "repro_run.core",  # the package of the leaves: a docstring
        "repro_run.core.constants",
        "repro_run.userapi",
        "repro_run.userapi.metrics",
        "repro_run.userapi.seeding",  # stdlib only; it imports the hook on first use
    }
