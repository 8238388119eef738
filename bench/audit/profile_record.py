"""Where ``services.record()``'s CPU goes (issue 10): cProfile over request-sized transactions.

One process, one writer, the background integrator switched off (the append alone, as
``bench_append.py``'s "what one request pays" measures it), the request context bound per
request as the middleware does. Prints CPU per event, then the profile's top functions by
cumulative and by own time, and the share of the named parts of the path: the no-PAN guard's
SQL layer (``guard._execute_guard`` minus the database call), its scanner (``find_pans``), the
sanitiser, canonical JSON (``normalise_data``), the ORM's parameter preparation and the driver.

    SAFEGUARD_ENV=test DATABASE_URL=postgres://... PYTHONPATH=src \
        python bench/audit/profile_record.py [--events 2000] [--top 25]

Prints only; the database must exist and be migrated (``safeguard migrate``).
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    import django

    django.setup()
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
