"""repro's seeding hook, imported by Python at start because `repro run` put this directory
first on PYTHONPATH.

It loads the hook package (`repro_run/hook`, under the name `_repro_hook`: the child's Python
may not have repro installed), starts it, then runs the `sitecustomize` that Python would have
imported without repro, if there is one. Kept to syntax that every Python parses: on Python
older than 3.8, or if anything fails, the script runs as it would without the hook.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAME = "_repro_hook"


def _start_hook():  # type: () -> None
    if sys.version_info < (3, 8):
        return
    try:
        import importlib.util

        package = os.path.dirname(_HERE)
        spec = importlib.util.spec_from_file_location(
            _NAME, os.path.join(package, "__init__.py"), submodule_search_locations=[package]
        )
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules[_NAME] = module
        spec.loader.exec_module(module)
        runtime = importlib.import_module(_NAME + ".runtime")
        runtime.start_from_environ()
    except Exception as exc:
        _record_failure(exc)


def _record_failure(exc):  # type: (BaseException) -> None
    """The hook could not start: say so where `repro show` looks, and let the script run."""
    try:
        import json

        directory = os.path.join(os.environ["REPRO_RUN_DIR"], "facts")
        if not os.path.isdir(directory):
            os.makedirs(directory)
        path = os.path.join(directory, "proc-%d.json" % os.getpid())
        with open(path, "w") as file:
            error = "hook: %s: %s" % (type(exc).__name__, exc)
            json.dump({"pid": os.getpid(), "ppid": os.getppid(), "errors": [error]}, file)
    except Exception:
        pass


def _chain():  # type: () -> None
    """Run the next `sitecustomize` on sys.path (the user's, a distribution's) as Python would."""
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
    sys.path[:] = path  # this directory has done its job; the script sees its usual sys.path
    if sys.version_info < (3, 4):
        return
    import importlib.machinery
    import importlib.util

    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)  # its errors surface as site reports them without repro


_start_hook()
_chain()
