"""The per-process background integrator: the after-commit hook only wakes it (decision 0181).

Issue 10, R-IR-5, R-OPS-8. With ``SAFEGUARD_AUDIT_INTEGRATION=background`` (the production
default) a commit that queued audit entries calls :func:`wake` and returns: the request pays one
``INSERT`` of its queued entry and nothing else. Each process (a gunicorn worker, the Huey
worker, a management command) has at most one integrator thread, started on the first wake in
that process (after a fork too: the child starts its own). The thread waits on a
:class:`threading.Event`, so wakes coalesce: however many commits happen while a run is in
progress, one more run follows and drains everything committed meanwhile. Across processes and
machines the integrator lock still admits one run at a time (``services.integrate``); a process
that finds it held returns, and the holder reads the queue again after releasing it: when
entries wait, the thread wakes itself and runs again after the coalescing pause (decision
0278), so a steady stream is taken a window's worth per run.

A failed run (database gone) is logged and retried with a doubling pause (at most 30 s); the
entries stay queued and the periodic job ``audit.integrate_periodic`` remains the safety net.
At interpreter exit (``atexit``: a gunicorn worker recycled or stopped, a command ending) the
thread is asked to drain the queue once more, for at most
``SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS``; it is a daemon thread, so a stuck database
never keeps a process from exiting, and a killed process loses nothing (its entries are queued,
durable, and the next run anywhere integrates them).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection

from safeguard.audit.threads import PerProcess

logger = logging.getLogger(__name__)

MAX_RETRY_SECONDS = 30.0


class Integrator:
    """One process's integrator thread and its wake-up signal."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.signal = threading.Event()
        self.stopping = False
        self.runs = 0  # completed runs (coalescing is visible here: runs <= wakes)
        self.integrated = 0
        self.failures = 0
        self.thread = threading.Thread(target=self._loop, name="safeguard-audit-integrator",
                                       daemon=True)

    def _run_once(self, max_ms: int | None) -> None:
        from safeguard.audit import services

        try:
            integrated, waiting = services.integrate_pass(max_ms=max_ms)
            self.integrated += integrated
            self.runs += 1
            # The lock is released: what was committed while this run held it (this process's
            # or another's, whose own wake found the lock taken) is taken by the next run,
            # after the coalescing pause — a steady stream of commits is integrated a window's
            # worth at a time, not one or two entries per run (issue 10, decision 0278).
            if waiting:
                self.signal.set()
        finally:
            # A broken or expired connection is dropped; a healthy one is kept for the next run.
            connection.close_if_unusable_or_obsolete()

    def _loop(self) -> None:
        retry: float | None = None
        try:
            # Checked before every wait: a stop that came while a run cleared the signal is
            # not missed.
            while not self._stop_requested():
                # Woken by a commit, or the pause after a failed run has passed: run.
                self.signal.wait(timeout=retry)
                if self._stop_requested():
                    break
                # Let the commits of a burst land before the run: one run takes them all.
                coalesce = settings.SAFEGUARD_AUDIT_INTEGRATOR_COALESCE_MS
                if coalesce:
                    time.sleep(coalesce / 1000)
                self.signal.clear()
                try:
                    self._run_once(None)
                    retry = None
                except Exception:  # the entries stay queued; retried, and the job is the net
                    self.failures += 1
                    retry = min(MAX_RETRY_SECONDS, (retry or 0.5) * 2)
                    logger.exception("audit.integrator_failed", extra={"retry_s": retry})
                    connection.close()
            # Stopping: drain what was committed meanwhile, within the shutdown budget.
            self._run_once(int(settings.SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS * 1000))
        except Exception:
            logger.exception("audit.integrator_failed_at_shutdown")
        finally:
            connection.close()

    def _stop_requested(self) -> bool:
        return self.stopping  # set by another thread (``stop``)

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to drain once more and end; wait at most ``timeout`` seconds."""
        self.stopping = True
        self.signal.set()
        if self.thread.is_alive():
            limit = (settings.SAFEGUARD_AUDIT_INTEGRATOR_SHUTDOWN_SECONDS
                     if timeout is None else timeout)
            self.thread.join(limit + 1)


_process: PerProcess[Integrator] = PerProcess()


def current() -> Integrator | None:
    """This process's integrator, or None when none was started here."""
    return _process.current()


def _new_integrator(previous: Integrator | None) -> Integrator | None:
    if previous is not None and previous.stopping:
        return None  # shutting down: the drain at exit or the periodic job takes it
    return Integrator()


def wake() -> None:
    """Wake this process's integrator, starting it on first use (an after-commit hook)."""
    it = _process.start(_new_integrator)
    if it is not None:
        it.signal.set()


def stop(timeout: float | None = None) -> None:
    """Stop this process's integrator after a final drain (atexit; tests)."""
    it = current()
    if it is not None:
        it.stop(timeout)
        _process.release(it)


atexit.register(stop)
