"""Imports flow one way: cli -> app -> level-1 modules -> leaves (see docs/architecture.md).

Parses every module's imports (function-level ones too) with `ast` and fails on a back-edge.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "repro_run"

# Every top-level unit of repro_run and its layer; `_allowed` says what each layer may import.
LEAVES = {
    "record",  # the frozen record base every record class derives from
    "models",
    "comparison",  # what `compare` builds and `ui_diff` renders
    "errors",
    "constants",
    "redaction",
    "secretmatch",  # many known secrets found in one pass (redaction, logsink, secretscan)
    "cachedir",
    "logsink",
    "host",
    "tomlread",
    "formatting",  # how sizes, counts and file-level changes read, in every view
}
# Level 1: each may import leaves and modules of its own package, never another level-1 unit.
LEVEL1 = {
    "capture",
    "fingerprint",
    "execute",
    "store",
    "determinism",
    "project",
    "compare",
    "metrics",  # read after a run
    "verdict",  # the pure judging of a rerun
    "bundle",  # writing and safely reading export bundles
    "audit",  # repro doctor's checks
}
# Render records: they import the leaves only.
RENDERERS = {"ui", "ui_diff", "ui_stats", "report_html", "ui_facts", "ui_doctor"}
UI_SCREENS = {"ui_rerun", "ui_data"}  # screens built on ui's formatting: import ui and leaves
# Runs inside the user's script (`repro_run.log_metrics`, `seed_everything`): stdlib, these.
USER_API_IMPORTS = {"constants", "hook"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__") or "__init__"


def _imports(path: Path) -> set[str]:
    """repro_run modules imported by `path`, as dotted names relative to the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("repro_run."):
                found.add(name.removeprefix("repro_run."))
    return {
        n
        for n in found
        if (PACKAGE / n.replace(".", "/")).with_suffix(".py").exists()
        or (PACKAGE / n.replace(".", "/")).is_dir()
    }


def _unit(module: str) -> str:
    return module.split(".")[0]


def _allowed(importer: str, imported: str) -> bool:
    unit, target = _unit(importer), _unit(imported)
    if unit == "ui" and target == "ui_facts":
        return True  # ui's show sections include the facts rows
    if unit == "app" and imported == "hook":
        return True  # where the hook's sitecustomize directory is (repro_run/hook/__init__.py)
    if importer in ("__init__", "__main__"):
        return imported == "entry" or target in LEAVES or target == "userapi"
    if unit == "userapi":
        return target == "userapi" or target in USER_API_IMPORTS
    if target in LEAVES:
        return True
    if unit in LEAVES:
        return False
    if unit in LEVEL1:
        return target == unit
    if unit == "app":
        return target in LEVEL1 or target == "app"
    if unit in RENDERERS:
        return False  # ui renders records: it imports models (a leaf) only
    if unit in UI_SCREENS:
        return target == "ui"  # the verdict screen, dataset output: records and ui's formatting
    if unit in ("cli", "entry"):  # entry: the console script; cli: the click commands
        return target in ("app", "cli", "entry") or target in RENDERERS or target in UI_SCREENS
    if unit == "hook":
        return False  # runs inside the user's process: stdlib only
    raise AssertionError(f"module {importer} has no layer: add it to tests/test_architecture.py")


def test_no_import_goes_against_the_layers() -> None:
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = _module_name(path)
        for imported in sorted(_imports(path)):
            if not _allowed(importer, imported):
                violations.append(f"{importer} imports {imported}")
    assert violations == []


def test_every_module_is_in_a_layer() -> None:
    known = LEAVES | LEVEL1 | RENDERERS | UI_SCREENS
    known |= {"app", "cli", "entry", "hook", "userapi", "__init__", "__main__"}
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert units <= known, f"unplaced modules: {sorted(units - known)}"


def test_repro_help_does_not_import_heavy_modules() -> None:
    """`repro --help` and `repro list` must not pay for GitPython, pynvml or psutil."""
    import subprocess
    import sys

    probe = (
        "import sys; from repro_run.cli import cli; "
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
        "repro_run.constants",
        "repro_run.userapi",
        "repro_run.userapi.metrics",
        "repro_run.userapi.seeding",  # stdlib only; it imports the hook on first use
    }


def test_app_exports_are_the_verbs_not_their_modules() -> None:
    """`app.run` is the function even after `app.RunOptions` loaded the `app.run` module."""
    import subprocess
    import sys

    probe = (
        "import inspect; from repro_run import app; app.RunOptions; "
        "print(inspect.isfunction(app.run), inspect.isfunction(app.rerun))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True"]


def test_app_run_stays_the_verb_whichever_module_imported_it_first() -> None:
    """`app.repeat` (and `app.rerun`) import the `app.run` module directly; `app.run` is still
    the function afterwards, so a test or a library user never gets the module."""
    import subprocess
    import sys

    probe = (
        "import inspect; import repro_run.app.repeat; from repro_run import app; "
        "print(inspect.isfunction(app.run), inspect.isfunction(app.rerun), "
        "inspect.isfunction(app.run), inspect.isfunction(app.doctor))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True"] * 4
