"""Run a callback right after a module finishes importing, without importing it ourselves.

A `sys.meta_path` finder that, for the few watched names only, asks the other finders for the
module's spec and wraps its loader; every other import costs one dict lookup. A script that
never imports NumPy never loads it. The wrapper gives the module its real loader back before
running it, so nothing of the hook is left on the module afterwards.
"""

from __future__ import annotations

import sys

# `typing` costs milliseconds at every interpreter start: annotations only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    # annotations only: collections.abc generics fail at run time on Python 3.8
    from collections.abc import Callable, Sequence
    from types import ModuleType
    from typing import Any

    Callback = Callable[[ModuleType], None]


class PostImportFinder:
    def __init__(self, on_error: Callable[[str, BaseException], None]) -> None:
        self._callbacks: dict[str, list[Callback]] = {}
        self._searching: set[str] = set()  # names whose spec we are looking up: no recursion
        self._on_error = on_error

    def watch(self, name: str, callback: Callback) -> None:
        """Call `callback(module)` once `name` is imported; now, if it already is."""
        module = sys.modules.get(name)
        if module is not None and not _initialising(module):
            self._call(name, callback, module)
            return
        self._callbacks.setdefault(name, []).append(callback)

    def install(self) -> None:
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> Any:
        if fullname not in self._callbacks or fullname in self._searching:
            return None
        self._searching.add(fullname)
        try:
            spec = _find_with_other_finders(self, fullname, path, target)
        finally:
            self._searching.discard(fullname)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _NotifyingLoader(spec.loader, lambda module: self._fire(fullname, module))
        return spec

    def _fire(self, name: str, module: ModuleType) -> None:
        for callback in self._callbacks.pop(name, []):
            self._call(name, callback, module)

    def _call(self, name: str, callback: Callback, module: ModuleType) -> None:
        try:
            callback(module)
        except Exception as exc:  # the hook never breaks the script: recorded instead
            self._on_error(name, exc)


class _NotifyingLoader:
    """Stands in for a loader between find_spec and exec_module only."""

    def __init__(self, loader: Any, after: Callback) -> None:
        self._loader = loader
        self._after = after

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        self._loader.exec_module(module)
        self._after(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


def _find_with_other_finders(
    me: object, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> Any:
    for finder in sys.meta_path:
        if finder is me:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _initialising(module: ModuleType) -> bool:
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))
