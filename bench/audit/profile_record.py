"""Where ``services.record()``'s CPU goes (issue 10): cProfile over request-sized transactions.

One process, one writer, the background integrator switched off (the append alone, as
``bench_append.py``'s "what one request pays" measures it), the request context bound per
request as the middleware does. Prints CPU per event, then the profile's top functions by
cumulative and by own time, and the share of the named parts of the path: the no-PAN guard's
SQL layer (``guard._execute_guard`` minus the database call), its scanner (``find_pans``), the
sanitiser, canonical JSON (``normalise_data``), the ORM's parameter preparation and the driver.

    SAFEGUARD_ENV=test DATABASE_URL=postgres://... PYTHONPATH=src \
        python bench/audit/profile_record.py [--events 2000] [--top 25]

Prints only; the database must exist and be migrated (``safeguard migrate``). With ``--guard``
it times only the no-PAN guard instead (no database): the SQL layer on the queue's ``INSERT``
with a request's parameters, and ``find_pans`` on typical texts, best of 7 — run it with
``PYTHONPATH`` at two checkouts, interleaved, to compare them on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safeguard.settings")
os.environ.setdefault("SAFEGUARD_ENV", "test")
# The test settings integrate inside the caller's transaction; the production path queues.
os.environ["SAFEGUARD_AUDIT_INTEGRATION"] = "after_commit"

EVENTS_PER_TRANSACTION = 2
ACTIONS = ("case.viewed", "customer.viewed")


def _event(i: int, j: int) -> dict[str, Any]:
    from safeguard.audit.contracts import Actor

    agent = i % 50
    return {"action": ACTIONS[j], "actor": Actor(kind="user", id=str(agent + 1),
                                                 label=f"agent{agent + 1}@example.test"),
            "subject": ("case" if j == 0 else "customer", 100_000 + i % 7919),
            "data": {"case_id": 100_000 + i % 7919}}


def _requests(n: int, base: int) -> None:
    from django.db import transaction

    from safeguard.audit import context, services
    from safeguard.audit.context import RequestContext

    for i in range(base, base + n):
        token = context.bind(RequestContext(source_ip=f"10.0.{i // 256 % 256}.{i % 256}",
                                            user_agent="Mozilla/5.0 SafeguardBench/1.0",
                                            request_id=f"{i:032x}"))
        try:
            with transaction.atomic():
                for j in range(EVENTS_PER_TRANSACTION):
                    services.record(**_event(i, j))
        finally:
            context.reset(token)


# Named parts of the path: (label, file suffix, function name); cumulative time of each.
PARTS = (
    ("record (whole)", "audit/services.py", "record"),
    ("no-PAN guard, SQL layer (with the database call)", "protection/guard.py", "_execute_guard"),
    ("find_pans (all callers)", "protection/scanning.py", "find_pans"),
    ("sanitiser (mask_pans, uncached texts)", "protection/scanning.py", "mask_pans"),
    ("_entry_fields (checks, context, sanitising)", "audit/services.py", "_entry_fields"),
    ("normalise_data (canonical JSON)", "audit/entries.py", "normalise_data"),
    ("_queue (prepare + execute)", "audit/services.py", "_queue"),
    ("JSONField.get_db_prep_save", "models/fields/json.py", "get_db_prep_save"),
    ("driver execute (psycopg / sqlite3)", "", "execute"),
)


def guard_micro() -> None:
    """Best-of-7 µs of the guard on the queue's INSERT and of ``find_pans`` on typical texts."""
    import timeit

    from safeguard.audit import services
    from safeguard.protection import guard
    from safeguard.protection.scanning import find_pans

    sql = services._queue_sql("postgresql")
    params = ["user", "6", "agent6@example.test", "case.viewed", "case", "100005", "success",
              "Mozilla/5.0 SafeguardBench/1.0", "00000000000000000000000000000005"]

    def best(fn: Any, n: int = 2000) -> float:
        return min(timeit.repeat(fn, number=n, repeat=7)) / n * 1e6

    print(f"guard, queue INSERT + parameters: "
          f"{best(lambda: guard._execute_guard(lambda *a: None, sql, params, False, None)):.1f} us")
    texts = {"statement text": sql, "e-mail": "agent6@example.test",
             "Chrome User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
             "timestamp": "2026-12-05 05:12:02.729821",
             "request id": "00000000000000000000000000000005"}
    for label, text in texts.items():
        print(f"find_pans, {label}: {best(lambda t=text: find_pans(t)):.1f} us")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--guard", action="store_true", help="time the no-PAN guard only")
    args = parser.parse_args(argv)
    import django

    django.setup()
    if args.guard:
        guard_micro()
        return 0
    from safeguard.audit import services

    services._integrate_after_commit = lambda *_: None  # the append alone
    n = args.events // EVENTS_PER_TRANSACTION
    _requests(100, 0)  # warm: caches, connection, prepared adapters
    cpu = time.process_time()
    _requests(n, 1_000)
    plain = (time.process_time() - cpu) / (n * EVENTS_PER_TRANSACTION) * 1e6
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    _requests(n, 2_000_000)
    profiler.disable()
    stats = pstats.Stats(profiler)
    events = n * EVENTS_PER_TRANSACTION
    from django.db import connection

    print(f"{connection.vendor}: record() {plain:.0f} us CPU per event without the profiler "
          f"({events} events)")
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    for label, suffix, name in PARTS:
        cum = sum(v[3] for (f, _, fn), v in raw.items()
                  if fn == name and (f.endswith(suffix) if suffix else "psycopg" in f
                                     or "sqlite3" in f or f == "~"))
        print(f"  {label:58s} {cum / events * 1e6:8.1f} us/event (profiled)")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
