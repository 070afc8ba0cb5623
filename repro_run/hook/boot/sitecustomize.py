"""repro's seeding hook, imported by Python at start because `repro run` put this directory
first on PYTHONPATH.

It loads the hook package (`repro_run/hook`, under the name `_repro_hook`: the child's Python
may not have repro installed), starts it, then runs the `sitecustomize` that Python would have
imported without repro, if there is one. Kept to syntax that every Python parses: on Python
older than 3.8, or if anything fails, the script runs as it would without the hook.
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import importlib.machinery  # noqa: F401 - for the type comments
    import typing  # noqa: F401

_HERE = os.path.dirname(os.path.abspath(__file__))
_NAME = "_repro_hook"


def _start_hook():  # type: () -> None
    if sys.version_info < (3, 8):
        return
    try:
        source_loader, module_spec, _ = _machinery()
        package = os.path.dirname(_HERE)
        init = os.path.join(package, "__init__.py")
        loader = source_loader(_NAME, init)
        spec = module_spec(_NAME, loader, origin=init, is_package=True)
        spec.submodule_search_locations = [package]
        spec.has_location = True
        _load(spec)
        runtime = __import__(_NAME + ".runtime", fromlist=["start_from_environ"])
        runtime.start_from_environ()
    except Exception as exc:
        _record_failure(exc)


def _machinery():  # type: () -> typing.Tuple[typing.Any, typing.Any, typing.Any]
    """importlib.machinery's SourceFileLoader, ModuleSpec and PathFinder. CPython's are the
    import system's own frozen modules, loaded at every start: taking them from there skips
    importing importlib and warnings, ~0.4 ms in every Python process of the run."""
    try:
        from _frozen_importlib import ModuleSpec
        from _frozen_importlib_external import PathFinder, SourceFileLoader
    except ImportError:  # another Python
        from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
    return SourceFileLoader, ModuleSpec, PathFinder


def _load(spec):  # type: (importlib.machinery.ModuleSpec) -> None
    """Run the module `spec` names and register it in sys.modules, as an import would."""
    module = type(sys)(spec.name)
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__file__ = spec.origin
    module.__package__ = spec.name if spec.submodule_search_locations else spec.parent
    if spec.submodule_search_locations is not None:
        module.__path__ = spec.submodule_search_locations
    if spec.cached:
        module.__cached__ = spec.cached  # type: ignore[attr-defined]
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)  # type: ignore[union-attr]


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
    spec = _machinery()[2].find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    _load(spec)  # its errors surface as site reports them without repro


_start_hook()
_chain()
