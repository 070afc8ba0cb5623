"""How verbs report progress without printing: `ui` implements `Reporter`."""

from __future__ import annotations

from repro_run.models import TreeRef

TYPE_CHECKING = False  # typing's flag without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Protocol

    from repro_run.models.comparison import FileChanges
else:  # interfaces for type checkers only: nothing checks them at run time
    Protocol = object


class ProgressDisplay(Protocol):
    """`fingerprint.engine.FingerprintProgress`, and `close` once hashing is over."""

    def estimate(self, files: int, size: int) -> None: ...

    def advance(self, files: int, size: int) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    def info(self, message: str) -> None: ...

    def warn(self, message: str) -> None: ...

    def progress(self, label: str) -> ProgressDisplay:
        """A display of hashing progress (`ui` draws one on a terminal after a second)."""

    def dataset(self, ref: TreeRef, seconds: float, cached_files: int) -> None:
        """A dataset was fingerprinted: what was picked, why, and its digest."""

    def data_changed(self, ref: TreeRef, since_run: str, changes: FileChanges) -> None:
        """The dataset differs from the one the last run over the same path recorded."""


class NullProgress:
    def estimate(self, files: int, size: int) -> None:
        pass

    def advance(self, files: int, size: int) -> None:
        pass

    def close(self) -> None:
        pass


class NullReporter:
    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def progress(self, label: str) -> ProgressDisplay:
        return NullProgress()

    def dataset(self, ref: TreeRef, seconds: float, cached_files: int) -> None:
        pass

    def data_changed(self, ref: TreeRef, since_run: str, changes: FileChanges) -> None:
        pass
