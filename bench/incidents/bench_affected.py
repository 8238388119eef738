"""Affected-customer query and timeline build on PostgreSQL (issue 12, R-IR-6).

A fresh PostgreSQL database (``createdb`` on 127.0.0.1 as ``postgres``, dropped afterwards) is
migrated, then bulk-loaded with a synthetic audit log: N events (default 1,000,000) over 180
days from 500 staff actors and 20,000 customers — half ``customer.viewed``, a fifth
``case.viewed`` (customer named by id prefix, as the cases app records it), the rest non-read
actions — plus 100,000 events about one incident.

Shortcut, stated: the rows are written with ``bulk_create`` straight into the audit event table
with a placeholder leaf hash; no Merkle nodes are built. The affected-customer query and the
timeline read only event columns (never nodes or hashes), so what they do is unchanged; the
resulting log would not verify, which is why the database is thrown away. For the same reason
the one audit write the query makes at its end (``incident.affected_listed``) is replaced by a
no-op here: the bulk-loaded log has no Merkle frontier to extend. One append costs a few
milliseconds (bench/audit), negligible beside the query. The incident is opened before the load,
through the real service.

Measured in the same run:

* ``selectors.affected_customers`` for one actor over a 90-day window: wall time, CPU time,
  peak Python memory (tracemalloc); and the **peer**: the one hand-written SQL query an analyst
  would run (``SELECT seq ... WHERE actor ... AND at BETWEEN ... AND action IN (...)``). Both
  must yield exactly the same set of event sequence numbers — checked.
* ``selectors.timeline`` for the incident with 100k events, and the peer: one ordered SQL read
  of the same rows; then the page's build (``latest=500``), checked to hold the 500 newest
  audit events by sequence number.

Memory is traced with tracemalloc for every measured call (ours and the peers alike), which
slows allocation-heavy Python; the wall and CPU times include that overhead on both sides.

    .venv/bin/python bench/incidents/bench_affected.py [--events N] [--timeline N]

Writes bench/results/incidents_affected.json.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

START = datetime(2026, 1, 1, tzinfo=UTC)


def _measure(fn):  # type: ignore[no-untyped-def]
    tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    out = {"wall_s": round(time.perf_counter() - wall, 3),
           "cpu_s": round(time.process_time() - cpu, 3),
           "peak_python_mb": round(tracemalloc.get_traced_memory()[1] / 2**20, 1)}
    tracemalloc.stop()
    return result, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--timeline", type=int, default=100_000)
    args = parser.parse_args()
    db = f"sg_bench_incidents_{os.getpid()}"
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db], check=True)
    try:
        os.environ.update({"SAFEGUARD_ENV": "test", "SAFEGUARD_DATA_DIR": tempfile.mkdtemp(),
                           "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
                           "DJANGO_SETTINGS_MODULE": "safeguard.settings"})
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from safeguard.audit.contracts import Actor
        from safeguard.audit.models import Event
        from safeguard.incidents import selectors

        call_command("migrate", verbosity=0)
        _make_incident()
        selectors.audit.record = lambda **kw: None  # type: ignore[assignment]  # see docstring
        with connection.cursor() as c:
            c.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_event")
            first_seq = c.fetchone()[0]
        rng = random.Random(12)
        customers = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(20_000)]
        span = 180 * 24 * 3600
        benchlib.say(f"loading {args.events:,} events ...")
        load_wall = time.perf_counter()
        batch: list[Event] = []
        seq = first_seq
        for _ in range(args.events):
            seq += 1
            actor = rng.randrange(1, 501)
            cust = rng.choice(customers)
            r = rng.random()
            at = START + timedelta(seconds=rng.randrange(span))
            if r < 0.5:
                kw = {"action": "customer.viewed", "subject_type": "customer",
                      "subject_id": str(cust), "data": {"what": "profile", "revealed": []}}
            elif r < 0.7:
                kw = {"action": "case.viewed", "subject_type": "case", "subject_id": str(seq),
                      "data": {"number": seq, "customer": cust.hex[:12]}}
            else:
                kw = {"action": rng.choice(["auth.login", "customer.updated", "case.tagged"]),
                      "subject_type": "customer", "subject_id": str(cust), "data": {}}
            batch.append(Event(seq=seq, at=at, actor_kind="user", actor_id=str(actor),
                               actor_label=f"agent{actor}@example.test", outcome="success",
                               source_ip=f"10.0.0.{actor % 250}", leaf_hash="0" * 64,
                               **kw))
            if len(batch) == 10_000:
                Event.objects.bulk_create(batch)
                batch = []
        for i in range(args.timeline):
            seq += 1
            batch.append(Event(seq=seq, at=START + timedelta(seconds=i), actor_kind="system",
                               actor_id="bench", actor_label="bench",
                               action="incident.timeline_added", subject_type="incident",
                               subject_id="1", outcome="success", leaf_hash="0" * 64,
                               data={"entry": i}))
            if len(batch) == 10_000:
                Event.objects.bulk_create(batch)
                batch = []
        Event.objects.bulk_create(batch)
        with connection.cursor() as c:
            c.execute("ANALYZE audit_event")
        load_s = round(time.perf_counter() - load_wall, 1)
        benchlib.say(f"loaded in {load_s} s; querying ...")

        suspect, since = "7", START + timedelta(days=45)
        until = since + timedelta(days=90)
        analyst = Actor(kind="system", id="bench", label="bench")
        rows, ours = _measure(lambda: selectors.affected_customers(
            actor=analyst, suspect=selectors.Suspect("user", suspect), since=since,
            until=until))
        ours_seqs = {s for r in rows for s in r.event_seqs}

        def peer():  # type: ignore[no-untyped-def]
            with connection.cursor() as c:
                c.execute("SELECT seq FROM audit_event WHERE actor_kind = 'user' AND actor_id = %s"
                          " AND at >= %s AND at < %s AND outcome = 'success' AND action IN "
                          "('customer.viewed', 'customer.revealed', 'customer.searched', "
                          "'customer.listed', 'case.viewed')", [suspect, since, until])
                return {r[0] for r in c.fetchall()}

        peer_seqs, peer_m = _measure(peer)
        assert ours_seqs == peer_seqs, "the list and the hand-written query disagree"

        items, tl = _measure(lambda: selectors.timeline(incident_id=1))

        def tl_peer():  # type: ignore[no-untyped-def]
            with connection.cursor() as c:
                c.execute("SELECT seq, at, actor_label, action, data FROM audit_event WHERE "
                          "subject_type = 'incident' AND subject_id = '1' ORDER BY seq")
                return c.fetchall()

        peer_items, tl_peer_m = _measure(tl_peer)
        page_items, tl_page = _measure(lambda: selectors.timeline(incident_id=1, latest=500))
        # the page holds the 500 newest audit events by sequence (the synthetic events' times do
        # not follow their sequence numbers, so "newest by time" is not compared here)
        newest = sorted(i.seq for i in items if i.seq)[-500:]
        assert sorted(i.seq for i in page_items if i.seq) == newest
        assert len([i for i in items if i.source == "audit"]) >= len(peer_items)
        report = {
            "benchmark": "incidents affected-customer query and timeline (issue 12)",
            "backend": "postgresql", "events": args.events, "timeline_events": args.timeline,
            "load_seconds": load_s, "window_days": 90,
            "affected": {"customers": len(rows), "read_events": len(ours_seqs), "ours": ours,
                         "peer_hand_written_sql": peer_m, "same_events_as_peer": True},
            "timeline": {"items": len(items), "ours": tl, "peer_ordered_sql": tl_peer_m,
                         "page_latest_500": tl_page},
            "machine": benchlib.machine(),
        }
        path = benchlib.write_result("incidents", "affected", report)
        print(f"affected: {len(rows)} customers / {len(ours_seqs)} reads in {ours['wall_s']} s "
              f"(cpu {ours['cpu_s']} s, {ours['peak_python_mb']} MB); peer SQL "
              f"{peer_m['wall_s']} s. timeline {len(items)} items in {tl['wall_s']} s; peer "
              f"{tl_peer_m['wall_s']} s; page (newest 500) {tl_page['wall_s']} s. -> {path}")
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", db], check=False)


def _make_incident() -> None:
    from safeguard.audit.contracts import Actor
    from safeguard.incidents import services

    view = services.incident_open(actor=Actor.system("bench"), title="bench", severity="sev3",
                                  category="data_breach", aware_at=START)
    assert view.id == 1


if __name__ == "__main__":
    main()
