"""One helper thread per process, started on first use: the audit's background integrator
(decision 0181) and its read writer (decision 0282) are both held this way.

A holder keeps at most one worker object per process (something with ``pid`` and ``thread``).
It is started under a lock the first time it is needed, started again if its thread died, and
forgotten in a forked child (the child has no such thread: it starts its own on first use). The
holder knows nothing of what the thread does, how it is woken or how it stops.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar


class _Worker(Protocol):
    pid: int
    thread: threading.Thread


W = TypeVar("W", bound=_Worker)


class PerProcess(Generic[W]):
    """This process's worker of one kind (see the module's docstring)."""

    def __init__(self) -> None:
        self._held: W | None = None
        self._guard = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def current(self) -> W | None:
        """This process's worker, or None when none was started here."""
        held = self._held
        return held if held is not None and held.pid == os.getpid() else None

    def running(self) -> W | None:
        """This process's worker if its thread is alive."""
        held = self.current()
        return held if held is not None and held.thread.is_alive() else None

    def start(self, make: Callable[[W | None], W | None]) -> W | None:
        """The running worker, else ``make(previous)`` started and held — under the lock, so
        two threads never start two. ``previous`` is this process's worker whose thread ended
        (or None); ``make`` may answer None to start nothing."""
        held = self.running()
        if held is not None:
            return held
        with self._guard:
            held = self.running()
            if held is None:
                held = make(self.current())
                if held is not None:
                    held.thread.start()
                    self._held = held
        return held

    def release(self, worker: W) -> None:
        """Forget ``worker`` (it was stopped), unless another one was started meanwhile."""
        with self._guard:
            if self._held is worker:
                self._held = None

    def _forget(self) -> None:
        self._held = None
        self._guard = threading.Lock()
