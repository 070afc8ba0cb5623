"""The run's resource sampler: peak RSS of the whole process tree, and its GPU memory."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection

_SAMPLE_S = 0.2


class ResourceSampler(threading.Thread):
    """Samples the process tree's summed RSS (and GPU memory) until stopped.

    psutil is imported here, off the launch path, and only for a command that runs longer
    than one sampling period: it costs ~20 ms.
    """

    def __init__(
        self, pid: int, gpu_memory: Callable[[Collection[int]], int | None] | None
    ) -> None:
        super().__init__(name="repro-sampler", daemon=True)
        self._pid = pid
        self._gpu_memory = gpu_memory
        self._done = threading.Event()
        self.peak_rss: int | None = None
        self.peak_gpu: int | None = None

    def stop(self) -> None:
        # Not joined: a sample in flight (or the psutil import) must not delay repro's exit.
        self._done.set()

    def run(self) -> None:
        # The first sample after one period: a command that is over by then is measured by
        # its rusage alone, and never pays for the psutil import.
        if self._done.wait(_SAMPLE_S):
            return
        import psutil

        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._done.is_set() and root.is_running():
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                return
            rss = 0
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
            if rss:
                self.peak_rss = max(self.peak_rss or 0, rss)
            if self._gpu_memory is not None:
                self._sample_gpu([p.pid for p in tree])
            self._done.wait(_SAMPLE_S)

    def _sample_gpu(self, pids: Collection[int]) -> None:
        try:
            used = self._gpu_memory(pids)  # type: ignore[misc]
        except Exception:  # an optional facet never fails the run
            return
        if used is not None:
            self.peak_gpu = max(self.peak_gpu or 0, used)
