"""The forwarder: audit log -> format -> sink, at least once, resumable (R-OPS-6).

One loop per named forwarder::

    cursor = persisted position           (ForwarderCursor.last_seq, in the database)
    batch  = events with seq > cursor     (audit.selectors.event_batch_after, in order)
    sink.send(batch)                      (returns only once the peer accepted the batch)
    cursor = batch[-1].seq                (committed in its own transaction)

The cursor moves only after the sink accepted, so a crash anywhere loses nothing: the restarted
forwarder re-sends the batch that was in flight (at least once; duplicates are bounded by one
batch and carry the same seq, so receivers can drop them). While the sink or the database is
unavailable the loop retries with exponential backoff and jitter.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils.module_loading import import_string

from safeguard.audit import selectors as audit_selectors
from safeguard.audit.siem import config, metrics, services
from safeguard.audit.siem import selectors as siem_selectors
from safeguard.audit.siem.config import validate_format, validate_name
from safeguard.audit.siem.contracts import ForwarderSpec
from safeguard.audit.siem.formats import apply_field_policy, render
from safeguard.audit.siem.sinks import Record, Sink, SinkError, build_sink

log = logging.getLogger(__name__)


def _product_version() -> str:
    try:
        return metadata.version("safeguard")
    except metadata.PackageNotFoundError:
        return "0"


def text_masker() -> Callable[[str], str]:
    """The masker of free-text fields (formats.apply_field_policy), named by
    SAFEGUARD_SIEM_TEXT_MASKER — the protection app's scanner (decision 0006: the audit floor
    imports no app above it). Cached per call site: the same User-Agent is scanned once."""
    return lru_cache(maxsize=4096)(import_string(settings.SAFEGUARD_SIEM_TEXT_MASKER))


@dataclass
class Backoff:
    """Exponential backoff with "equal jitter": delay n is in [d/2, d], d = min(cap, base*2^n).

    The floor of d/2 keeps retries spread out while the peer is down; the random half stops a
    fleet of forwarders from reconnecting in lockstep when it comes back.
    """

    base: float = 0.5
    cap: float = 60.0
    # Jitter needs no cryptographic randomness.
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next retry; each call doubles the ceiling up to ``cap``."""
        ceiling = min(self.cap, self.base * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def reset(self) -> None:
        """Back to the base delay after a success."""
        self.attempt = 0


@dataclass
class RunResult:
    """What one run of the loop did."""

    shipped: int = 0
    batches: int = 0
    failures: int = 0
    cursor: int = 0
    caught_up: bool = False
    last_error: str = ""


class Forwarder:
    """Ships the audit log to one sink in one format, from its own named cursor."""

    def __init__(
        self,
        *,
        name: str,
        sink: Sink,
        fmt: str,
        batch_size: int = 500,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.name = validate_name(name)
        self.fmt = validate_format(fmt)
        self.sink = sink
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self._sleep = sleep
        self._version = _product_version()
        self._ensured = False  # the cursor row exists (created on the first batch)
        self._mask = text_masker()

    # one step --------------------------------------------------------------------------------

    def ship_batch(self) -> int:
        """Deliver the next batch and commit the cursor; 0 when there was nothing to ship.

        Raises SinkError (not delivered; cursor unchanged), DatabaseError, or CursorConflict.
        """
        if self._ensured:
            cursor = siem_selectors.cursor_position(name=self.name)
        else:
            cursor = services.cursor_ensure(name=self.name)
            self._ensured = True
        batch = audit_selectors.event_batch_after(after_seq=cursor, limit=self.batch_size)
        if not batch:
            self._observe(cursor=cursor)
            return 0
        if batch[0].seq != cursor + 1:
            # The log is gap-free by construction; a gap means rows went missing. Ship what is
            # there (the verifier locates tampering) but say so loudly.
            log.error("siem forwarder %s: audit log gap, expected seq %d, found %d",
                      self.name, cursor + 1, batch[0].seq)
        records = [Record(event=e, payload=render(apply_field_policy(e, self._mask), fmt=self.fmt,
                                                  product_version=self._version))
                   for e in batch]
        self.sink.send(records)
        # Accepted by the peer: only now may the cursor move.
        services.cursor_advance(name=self.name, from_seq=cursor, to_seq=batch[-1].seq)
        metrics.SHIPPED.labels(self.name).inc(len(batch))
        self._observe(cursor=batch[-1].seq)
        return len(batch)

    def _observe(self, *, cursor: int) -> None:
        metrics.CURSOR.labels(self.name).set(cursor)
        metrics.LAG.labels(self.name).set(max(audit_selectors.last_seq() - cursor, 0))
        metrics.LAST_SUCCESS.labels(self.name).set(time.time())

    def _observe_lag_quietly(self) -> None:
        try:
            cursor = siem_selectors.cursor_position(name=self.name)
            metrics.LAG.labels(self.name).set(max(audit_selectors.last_seq() - cursor, 0))
        except DatabaseError:
            pass  # the lag gauge keeps its last value while the database is away

    # the loop --------------------------------------------------------------------------------

    def _wait(self, seconds: float, stop: threading.Event | None) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        elif stop is not None:
            stop.wait(seconds)
        else:
            time.sleep(seconds)

    def run(
        self,
        *,
        until_caught_up: bool = False,
        retry: bool = True,
        stop: threading.Event | None = None,
        max_seconds: float | None = None,
        poll_interval: float = 1.0,
    ) -> RunResult:
        """Ship batches until told to stop.

        ``until_caught_up``: return once a read finds nothing left (else poll every
        ``poll_interval`` s for new events). ``retry``: on a delivery or database failure back
        off and try again (else re-raise). ``stop``/``max_seconds``: end early, between batches.
        """
        result = RunResult()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        while not (stop is not None and stop.is_set()):
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                if not connection.in_atomic_block:
                    close_old_connections()  # drop a connection the database closed on us
                shipped = self.ship_batch()
            except (SinkError, DatabaseError) as exc:
                reason = "sink" if isinstance(exc, SinkError) else "database"
                result.failures += 1
                result.last_error = str(exc)
                metrics.FAILURES.labels(self.name, reason).inc()
                if isinstance(exc, DatabaseError) and not connection.in_atomic_block:
                    connection.close()  # reconnect on the next attempt
                self._observe_lag_quietly()
                if not retry:
                    raise
                delay = self.backoff.next_delay()
                log.warning("siem forwarder %s: %s failure, retrying in %.2f s: %s",
                            self.name, reason, delay, exc)
                self._wait(delay, stop)
                continue
            self.backoff.reset()
            if shipped:
                result.shipped += shipped
                result.batches += 1
                continue
            result.caught_up = True
            if until_caught_up:
                break
            self._wait(poll_interval, stop)
        result.cursor = siem_selectors.cursor_position(name=self.name)
        return result

    def close(self) -> None:
        """Release the sink's connection or file."""
        self.sink.close()


def build_forwarder(spec: ForwarderSpec, *, batch_size: int = 500,
                    backoff: Backoff | None = None) -> Forwarder:
    """A forwarder for a validated spec; syslog+tls takes its TLS context from settings."""
    tls = config.tls_context() if spec.sink.scheme == "syslog+tls" else None
    sink = build_sink(spec.sink, fmt=spec.fmt, tls=tls)
    return Forwarder(name=spec.name, sink=sink, fmt=spec.fmt, batch_size=batch_size,
                     backoff=backoff)
