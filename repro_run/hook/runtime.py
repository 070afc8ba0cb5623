"""The hook in one process: the seed, what it seeded and switched, and the facts at exit.

Nothing here may break the user's script: every action is guarded and a failure is recorded
in the process's facts file instead of raised.
"""

from __future__ import annotations

import atexit
import os
import sys
import time

from . import ENV_DETERMINISTIC, ENV_RUN_DIR, ENV_SEED, ENV_THREADS, FACTS_DIRNAME, frameworks, host
from . import facts as facts_module
from .lazy import PostImportFinder

TYPE_CHECKING = False  # `typing` costs milliseconds at every interpreter start
if TYPE_CHECKING:
    import signal
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any
else:
    try:  # the C module: `signal` itself imports enum, ~2 ms at every interpreter start
        import _signal as signal
    except ImportError:  # pragma: no cover - Pythons without it
        import signal

MAX_SEED = 2**32 - 1  # constants.MAX_SEED: the hook imports none of repro's modules
FACTS_FORMAT = 1
STARTED = "started"  # the event of a process that has not exited (yet, or ever: killed)


class Hook:
    def __init__(
        self,
        seed: int | None,
        *,
        deterministic: bool = False,
        threads: int | None = None,
        run_dir: str | None = None,
    ) -> None:
        self.seed = seed
        self.deterministic = deterministic
        self.threads = threads
        self.run_dir = run_dir
        self.pid = os.getpid()
        self.seeded: list[str] = []  # "numpy=7": what was seeded, with which seed
        self.switches: list[str] = []
        self.errors: list[str] = []
        self.event = "exit"
        self.exit_code: int | None = None  # None: returned, or raised SystemExit itself
        self.started = time.time()
        self.host: dict[str, Any] = {}
        self._finder = PostImportFinder(lambda name, exc: self._record(name, exc))
        self._watching: set[str] = set()
        self._written = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Hook:
        errors: list[str] = []
        hook = cls(
            _number(environ, ENV_SEED, errors),
            deterministic=environ.get(ENV_DETERMINISTIC) == "1",
            threads=_number(environ, ENV_THREADS, errors),
            run_dir=environ.get(ENV_RUN_DIR) or None,
        )
        hook.errors.extend(errors)
        return hook

    # --- acting ------------------------------------------------------------------------
    def start(self) -> None:
        """In a run: act on `random` and each framework when imported, record at exit."""
        for name in frameworks.SEEDED:
            self._watch(name)
        self._finder.install()
        atexit.register(self.write_facts)
        self._guard("stop handlers", self._install_stop_handlers)
        self._guard("start facts", self._write_start)

    def _write_start(self) -> None:
        """Where a rank runs, on disk now: a rank killed later is still accounted for. Other
        processes (a launcher, a helper) are in no node's row: they skip the ~1 ms it costs."""
        if not self.run_dir or facts_module.rank_environment()["rank"] is None:
            return
        self.host = host.start_facts()
        document = {**self._identity(), "event": STARTED, "seed": self.seed}
        facts_module.write(os.path.join(self.run_dir, FACTS_DIRNAME), document)

    def seed_everything(self, seed: int) -> None:
        """Seed `random` and every framework imported, now or later, with `seed`."""
        self.seed = seed
        for name in frameworks.SEEDED:
            module = sys.modules.get(name)
            if module is not None and name in self._watching:
                self._guard(name, self._seeder(name, module))
            else:
                self._watch(name)
        self._finder.install()

    def _watch(self, name: str) -> None:
        if name not in self._watching:
            self._watching.add(name)
            self._finder.watch(name, lambda module: self._on_import(name, module))

    def _on_import(self, name: str, module: ModuleType) -> None:
        if self.seed is not None:
            self._guard(f"{frameworks.label(name)} seed", lambda: self._seed(name, module))
        if self.deterministic:
            self._guard(
                f"{name} determinism",
                lambda: self.switches.extend(frameworks.determinism_switches(name, module)),
            )
        if self.threads is not None:
            threads = self.threads
            self._guard(
                f"{name} threads",
                lambda: self.switches.extend(frameworks.set_threads(name, module, threads)),
            )

    def _seeder(self, name: str, module: ModuleType) -> Callable[[], None]:
        return lambda: self._seed(name, module)

    def _seed(self, name: str, module: ModuleType) -> None:
        assert self.seed is not None
        frameworks.seed(name, module, self.seed)
        self._note_seeded(frameworks.label(name))

    def _note_seeded(self, name: str) -> None:
        entry = f"{name}={self.seed}"
        if entry not in self.seeded:
            self.seeded.append(entry)

    def _guard(self, what: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:
            self._record(what, exc)

    def _record(self, what: str, exc: BaseException) -> None:
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}")

    # --- recording -----------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": FACTS_FORMAT,
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "started": self.started,
            **self.host,
        }
        document.update(facts_module.rank_environment())
        return document

    def facts_document(self) -> dict[str, Any]:
        facts, errors = facts_module.collect()
        document: dict[str, Any] = {
            **self._identity(),
            "event": self.event,
            "ended": time.time(),
            "exit_code": self.exit_code,
            "seed": self.seed,
            "seeded": list(self.seeded),
            "switches": list(self.switches),
            "facts": facts,
            "modules": facts_module.imported_modules(),
            "errors": [*self.errors, *errors],
        }
        return document

    def write_facts(self) -> None:
        """Once per process, and never in a forked copy of it (its parent writes its own)."""
        if self._written or os.getpid() != self.pid or not self.run_dir:
            return
        self._written = True
        try:  # noqa: SIM105 - contextlib would cost an import at every interpreter start
            facts_module.write(os.path.join(self.run_dir, FACTS_DIRNAME), self.facts_document())
        except Exception:  # at exit there is nowhere left to report it
            pass

    def _install_stop_handlers(self) -> None:
        # SIGTERM's default kills without atexit; SIGINT needs nothing: KeyboardInterrupt
        # unwinds through atexit. A handler the script inherited or set is left alone.
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self._on_sigterm)
            os.register_at_fork(after_in_child=self._after_fork)
        previous = sys.excepthook

        def excepthook(kind: Any, value: Any, traceback: Any) -> None:
            name = getattr(kind, "__name__", str(kind))
            interrupted = name == "KeyboardInterrupt"
            self.event = name if interrupted else f"uncaught {name}"
            self.exit_code = 128 + signal.SIGINT if interrupted else 1
            previous(kind, value, traceback)

        sys.excepthook = excepthook
        # The status a script passes to sys.exit (argparse's 2, a failed check's 1): Python
        # tells atexit nothing of it. `raise SystemExit(n)` itself is not seen: None.
        original_exit = sys.exit

        def exit(status: Any = None) -> Any:
            self.exit_code = _exit_status(status)
            return original_exit(status)

        sys.exit = exit

    def _on_sigterm(self, signum: int, frame: Any) -> None:
        if os.getpid() == self.pid:
            self.event = "SIGTERM"
            self.exit_code = 128 + signal.SIGTERM
            self.write_facts()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)  # die of it, as without the hook

    def _after_fork(self) -> None:
        # A forked child (DataLoader worker, multiprocessing fork) behaves as without the hook.
        if signal.getsignal(signal.SIGTERM) == self._on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _exit_status(status: Any) -> int:
    """What the process exits with for sys.exit(status), as Python decides it."""
    if status is None:
        return 0
    return status & 0xFF if isinstance(status, int) else 1


def _number(environ: Mapping[str, str], name: str, errors: list[str]) -> int | None:
    text = environ.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        errors.append(f"{name}={text!r} is not an integer: ignored")
        return None
    if not 0 <= value <= MAX_SEED:
        errors.append(f"{name}={text} is out of range 0..{MAX_SEED}: ignored")
        return None
    return value


_current: Hook | None = None


def start_from_environ() -> Hook:
    """Called by the sitecustomize in a run: the hook of this process."""
    global _current
    _current = Hook.from_environ(os.environ)
    _current.start()
    return _current


def current() -> Hook:
    """The hook of this process; outside a run (or with --no-auto-seed) one that seeds only."""
    global _current
    if _current is None:
        errors: list[str] = []
        _current = Hook(_number(os.environ, ENV_SEED, errors))  # no switches, no facts file
        _current.errors.extend(errors)
    return _current
