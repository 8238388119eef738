"""Audit log benchmark on real databases: append rate, verify throughput, proof latency.

For each backend — a fresh SQLite file, then a fresh PostgreSQL database (``createdb`` on
127.0.0.1 as ``postgres``, dropped afterwards; skipped with a note if that fails) — a child
process sets ``SAFEGUARD_ENV=test``, a throwaway ``SAFEGUARD_DATA_DIR`` and ``DATABASE_URL``,
runs the migrations, and measures:

1. appends on the fresh log through ``services.record``: single events, each in its own
   request-sized ``transaction.atomic()`` (the request context bound, as the middleware does),
   then batches of 100 events per transaction; a signed head follows;
2. the bulk of the log built by a documented shortcut (below) up to the target size;
3. the same append measurements again with the log at that size (“at scale”), and a head;
4. ``verification.verify`` over the whole log (events/s), plus a ``verify(from_seq=...)`` that
   starts mid-shortcut from stored nodes;
5. ``proofs.inclusion`` and ``proofs.consistency`` latency (median, p99) over random proofs
   against the latest signed head, every proof checked with the RFC 9162 verifiers.

Shortcut: ``record`` costs a few milliseconds per event, so a 1M-event log would take far longer
than the run's budget. The bulk is written instead exactly as ``record`` would write it: the
same field normalisation, ``canonical_entry`` + ``merkle.leaf_hash`` per event, one
``CompactRange`` appended in sequence order, ``bulk_create`` of the Event rows and of every
completed Node (level >= 1), and the Sequence row's ``last_seq`` and ``frontier`` updated under
its row lock. It is proven equivalent in the same run: the heads signed before and after it are
checked by ``head_sign`` with a consistency proof read from stored nodes; ``record`` appends
continue on top of it; the full ``verify`` recomputes every leaf and every signed root; the
``verify(from_seq=...)`` sample rebuilds the frontier from the shortcut's nodes; and every proof
(which reads those nodes) verifies against the signed root.

    .venv/bin/python bench/audit/bench_log.py [--quick] [--size N] [--backends sqlite,postgresql]

Sizes: default 1,000,000 events (5,000 single + 100 batches of 100 on the fresh log, 2,000
single + 20 batches at scale); ``--quick`` 20,000 events (500 + 20x100, 300 + 5x100). Writes
bench/results/audit_log.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, machine, percentile, say, write_result

BATCH = 100
QUERY_PROBES = 10  # request-sized appends whose SQL statements are counted
SEED = 20240305
ACTIONS = ("case.viewed", "case.updated", "customer.viewed", "auth.login", "token.used")


# --- parent: one child process per backend ---------------------------------------------------


def plan(*, quick: bool, size: int | None) -> dict[str, int]:
    """How many events each phase appends; the shortcut fills the rest up to ``size``."""
    sizes = (
        {
            "size": 20_000,
            "single": 500,
            "batches": 20,
            "single_at_scale": 300,
            "batches_at_scale": 5,
            "proofs": 200,
        }
        if quick
        else {
            "size": 1_000_000,
            "single": 5_000,
            "batches": 100,
            "single_at_scale": 2_000,
            "batches_at_scale": 20,
            "proofs": 200,
        }
    )
    if size is not None:
        sizes["size"] = size
    recorded = (
        sizes["single"]
        + sizes["single_at_scale"]
        + QUERY_PROBES
        + BATCH * (sizes["batches"] + sizes["batches_at_scale"])
    )
    sizes["recorded"] = recorded
    sizes["shortcut"] = sizes["size"] - recorded
    if sizes["shortcut"] < 2:
        raise SystemExit(f"--size must exceed the {recorded} events appended through record()")
    return sizes


def _pg_command(*args: str) -> subprocess.CompletedProcess[str]:
    # A fixed argv (createdb/dropdb and a generated database name), no shell.
    return subprocess.run(list(args), capture_output=True, text=True, check=False, timeout=60)


def run_backend(backend: str, sizes: dict[str, int], pg_host: str, pg_user: str) -> dict[str, Any]:
    """Run the child for one backend in a throwaway data dir (and database) and collect it."""
    workdir = Path(tempfile.mkdtemp(prefix=f"safeguard-bench-{backend}-"))
    database = f"safeguard_bench_{os.getpid()}"
    created = False
    try:
        if backend == "sqlite":
            url = f"sqlite:///{workdir / 'audit-bench.sqlite3'}"
        else:
            if shutil.which("createdb") is None:
                return {"skipped": "createdb is not installed"}
            made = _pg_command("createdb", "-h", pg_host, "-U", pg_user, database)
            if made.returncode != 0:
                return {"skipped": f"createdb failed: {made.stderr.strip()[:300]}"}
            created = True
            url = f"postgres://{pg_user}@{pg_host}:5432/{database}"
        part = workdir / "result.json"
        env = {
            **os.environ,
            "SAFEGUARD_ENV": "test",
            "DJANGO_SETTINGS_MODULE": "safeguard.settings",
            "SAFEGUARD_DATA_DIR": str(workdir / "data"),
            "DATABASE_URL": url,
        }
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            backend,
            "--part",
            str(part),
            "--plan",
            json.dumps(sizes),
        ]
        subprocess.run(command, env=env, check=True, cwd=ROOT)
        result: dict[str, Any] = json.loads(part.read_text(encoding="utf-8"))
        result["database_url"] = url if backend == "postgresql" else "sqlite:///<tmp>/audit.sqlite3"
        return result
    finally:
        if created:
            dropped = _pg_command("dropdb", "-h", pg_host, "-U", pg_user, "--if-exists", database)
            if dropped.returncode != 0:
                say(f"warning: could not drop {database}: {dropped.stderr.strip()}")
        shutil.rmtree(workdir, ignore_errors=True)


# --- child: the measurements -------------------------------------------------------------------


def event_inputs(i: int) -> dict[str, Any]:
    """Deterministic, realistic arguments for the i-th event (what a service would pass)."""
    from safeguard.audit.contracts import Actor

    agent = i % 50
    return {
        "action": ACTIONS[i % len(ACTIONS)],
        "actor": Actor(kind="user", id=str(agent + 1), label=f"agent{agent + 1}@example.test"),
        "subject": ("case", 100_000 + i % 7919),
        "data": {"case_id": 100_000 + i % 7919, "fields": ["status", "priority"][: 1 + i % 2]},
    }


def request_context(i: int) -> Any:
    """The request context the middleware would bind for the i-th request."""
    from safeguard.audit.context import RequestContext

    return RequestContext(
        source_ip=f"10.{i % 3}.{i // 256 % 256}.{i % 256}",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) SafeguardBench/1.0",
        request_id=f"{i:032x}",
    )


@contextmanager
def bound(i: int) -> Iterator[None]:
    from safeguard.audit import context

    token = context.bind(request_context(i))
    try:
        yield
    finally:
        context.reset(token)


def stored_fields(i: int, at: Any) -> dict[str, Any]:
    """The Event fields ``services.record`` builds for ``event_inputs(i)`` in request ``i``.

    A line-for-line mirror of the ``fields`` dict in ``services.record``: a change there must
    be made here too, and the run's verification fails loudly if it is not.
    """
    from safeguard.audit.entries import normalise_data, normalise_ip

    inputs, ctx = event_inputs(i), request_context(i)
    actor, subject = inputs["actor"], inputs["subject"]
    return {
        "at": at,
        "actor_kind": actor.kind,
        "actor_id": actor.id[:64],
        "actor_label": actor.label[:254],
        "action": inputs["action"],
        "subject_type": subject[0][:40],
        "subject_id": str(subject[1])[:64],
        "outcome": "success",
        "source_ip": normalise_ip(ctx.source_ip),
        "user_agent": ctx.user_agent[:400],
        "request_id": ctx.request_id[:64],
        "data": normalise_data(dict(inputs["data"])),
    }


def shortcut_fill(first_i: int, count: int, chunk: int, progress: Callable[[int], None]) -> float:
    """Append ``count`` events exactly as ``record`` would, in bulk; return the seconds taken."""
    from django.db import transaction
    from django.utils import timezone

    from safeguard.audit import merkle
    from safeguard.audit.entries import canonical_entry
    from safeguard.audit.models import Event, Node, Sequence

    started = time.perf_counter()
    done = 0
    while done < count:
        n = min(chunk, count - done)
        with transaction.atomic():
            counter = Sequence.objects.select_for_update().get(id=1)
            frontier = merkle.CompactRange.from_hex(counter.last_seq, counter.frontier)
            seq = counter.last_seq
            events, nodes = [], []
            for i in range(first_i + done, first_i + done + n):
                fields = stored_fields(i, timezone.now())
                seq += 1
                leaf = merkle.leaf_hash(canonical_entry(seq=seq, **fields))
                completed = frontier.append(leaf)
                events.append(Event(seq=seq, leaf_hash=leaf.hex(), **fields))
                nodes.extend(
                    Node(level=c.level, index=c.index, hash=c.hash.hex()) for c in completed[1:]
                )
            Event.objects.bulk_create(events, batch_size=2000)
            Node.objects.bulk_create(nodes, batch_size=2000)
            counter.last_seq = seq
            counter.frontier = frontier.to_hex()
            counter.save(update_fields=["last_seq", "frontier"])
        done += n
        progress(done)
    return time.perf_counter() - started


def append_single(first_i: int, count: int) -> dict[str, Any]:
    """``count`` events, each ``with transaction.atomic(): record(...)`` as a request does."""
    from django.db import transaction

    from safeguard.audit import services

    latencies = []
    started = time.perf_counter()
    for i in range(first_i, first_i + count):
        with bound(i):
            t0 = time.perf_counter()
            with transaction.atomic():
                services.record(**event_inputs(i))
            latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    return {
        "events": count,
        "seconds": round(total, 3),
        "events_per_s": round(count / total, 1),
        "latency_ms": _latency(latencies),
    }


def append_batches(first_i: int, batches: int) -> dict[str, Any]:
    """``batches`` transactions of 100 ``record`` calls each (a bulk import or a job)."""
    from django.db import transaction

    from safeguard.audit import services

    latencies = []
    started = time.perf_counter()
    i = first_i
    for _ in range(batches):
        t0 = time.perf_counter()
        with transaction.atomic():
            for _ in range(BATCH):
                with bound(i):
                    services.record(**event_inputs(i))
                i += 1
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    count = batches * BATCH
    return {
        "events": count,
        "batch_size": BATCH,
        "transactions": batches,
        "seconds": round(total, 3),
        "events_per_s": round(count / total, 1),
        "transaction_latency_ms": _latency(latencies),
    }


def _latency(seconds: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "median": round(percentile(ms, 50), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
    }


def queries_per_call(run: Callable[[], object], samples: int = 10) -> float:
    """Median number of SQL statements one call issues."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _ in range(samples):
        with CaptureQueriesContext(connection) as captured:
            run()
        counts.append(len(captured.captured_queries))
    return percentile(counts, 50)


def proof_latency(size: int, samples: int, root: bytes) -> dict[str, Any]:
    """Random inclusion and consistency proofs against the head of ``size``, each verified."""
    from safeguard.audit import merkle, proofs

    rng = random.Random(SEED)
    inclusion_s, consistency_s = [], []
    seqs = [rng.randint(1, size) for _ in range(samples)]
    pairs = [tuple(sorted(rng.sample(range(1, size + 1), 2))) for _ in range(samples)]
    for seq in seqs[:5]:  # warm connection and caches; not timed
        proofs.inclusion(seq=seq)
    for seq in seqs:
        t0 = time.perf_counter()
        proof = proofs.inclusion(seq=seq)
        inclusion_s.append(time.perf_counter() - t0)
        assert proof.tree_size == size
        assert bytes.fromhex(proof.root_hash) == root
        assert merkle.verify_inclusion_leaf(
            bytes.fromhex(proof.leaf_hash),
            proof.leaf_index,
            size,
            [bytes.fromhex(p) for p in proof.path],
            root,
        )
    for first, second in pairs:
        t0 = time.perf_counter()
        cproof = proofs.consistency(first=first, second=second)
        consistency_s.append(time.perf_counter() - t0)
        assert merkle.verify_consistency(
            first,
            second,
            bytes.fromhex(cproof.first_root),
            bytes.fromhex(cproof.second_root),
            [bytes.fromhex(p) for p in cproof.path],
        )
        if second == size:
            assert bytes.fromhex(cproof.second_root) == root
    return {
        "tree_size": size,
        "samples": samples,
        "all_verified": True,
        "inclusion_ms": _latency(inclusion_s),
        "inclusion_queries_median": queries_per_call(lambda: proofs.inclusion(seq=seqs[0])),
        "consistency_ms": _latency(consistency_s),
        "consistency_queries_median": queries_per_call(
            lambda: proofs.consistency(first=pairs[0][0], second=pairs[0][1])
        ),
        "sampling": "inclusion: seq uniform in [1, size] against the latest signed head "
        "(proofs.inclusion(seq=...)); consistency: 1 <= first < second <= size "
        "uniform pairs",
    }


def node_lookup_plan(size: int) -> str:
    """The database's plan for the stored-node read every proof repeats (index use at scale)."""

    from safeguard.audit.models import Node

    level = max(size.bit_length() - 2, 1)
    # As proofs._get_node issues it: .first() orders by the primary key.
    query = Node.objects.filter(level=level, index=0).values_list("hash", flat=True).order_by("id")
    query = query[:1]
    return " | ".join(query.explain().splitlines())[:400]


def storage_bytes() -> int | None:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    path = Path(settings.DATABASES["default"]["NAME"])
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def signed_head(size: int) -> Any:
    """Sign a head (``head_sign`` checks consistency with the previous one) of ``size``."""
    from safeguard.audit import services

    head = services.head_sign()
    assert head is not None
    assert head.size == size
    return head


def build_log(backend: str, sizes: dict[str, int], result: dict[str, Any]) -> dict[str, Any]:
    """Appends on the fresh log, the shortcut, appends at scale; a signed head after each."""
    from safeguard.audit.models import Sequence

    say(f"[{backend}] fresh log: {sizes['single']} single appends, {sizes['batches']} batches")
    i = 0
    result["append_fresh"] = {"single": append_single(i, sizes["single"])}
    i += sizes["single"]
    result["append_fresh"]["batch"] = append_batches(i, sizes["batches"])
    i += sizes["batches"] * BATCH
    heads = {"first": signed_head(i)}

    say(f"[{backend}] shortcut: {sizes['shortcut']:,} events")
    last_report = [time.perf_counter()]

    def progress(done: int) -> None:
        if time.perf_counter() - last_report[0] > 15 or done == sizes["shortcut"]:
            last_report[0] = time.perf_counter()
            say(f"[{backend}]   {done:,} / {sizes['shortcut']:,}")

    shortcut_from = i + 1
    seconds = shortcut_fill(i, sizes["shortcut"], chunk=20_000, progress=progress)
    i += sizes["shortcut"]
    assert Sequence.objects.get(id=1).last_seq == i
    heads["shortcut"] = signed_head(i)
    result["shortcut"] = {
        "events": sizes["shortcut"],
        "seq_range": [shortcut_from, i],
        "seconds": round(seconds, 1),
        "events_per_s": round(sizes["shortcut"] / seconds),
    }

    say(
        f"[{backend}] at scale: {sizes['single_at_scale']} single, {sizes['batches_at_scale']} "
        "batches"
    )
    result["append_at_scale"] = {
        "log_size_before": i,
        "single": append_single(i, sizes["single_at_scale"]),
    }
    i += sizes["single_at_scale"]
    result["append_at_scale"]["batch"] = append_batches(i, sizes["batches_at_scale"])
    i += sizes["batches_at_scale"] * BATCH
    result["append_queries_per_event"] = _record_queries(i)
    i += QUERY_PROBES
    heads["final"] = signed_head(i)
    return heads


def verify_log(backend: str, size: int, result: dict[str, Any], heads: dict[str, Any]) -> None:
    """A verify from the middle of the shortcut, then the full verify (timed)."""
    from safeguard.audit import verification

    shortcut_from, shortcut_to = result["shortcut"]["seq_range"]
    sample_from = (shortcut_from + shortcut_to) // 2
    say(f"[{backend}] verify(from_seq={sample_from:,})")
    t0 = time.perf_counter()
    sample = verification.verify(from_seq=sample_from, triggered_by="bench")
    sample_s = time.perf_counter() - t0
    assert sample.ok, sample.problems
    assert sample.events_checked == size - sample_from + 1

    say(f"[{backend}] full verify of {size:,} events")
    wall, cpu = time.perf_counter(), time.process_time()
    report = verification.verify(triggered_by="bench")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert report.ok, report.problems
    assert report.events_checked == size
    assert report.heads_checked == len(heads)
    result["verify"] = {
        "events": report.events_checked,
        "heads_checked": report.heads_checked,
        "seconds": round(wall, 1),
        "cpu_seconds_in_python": round(cpu, 1),
        "events_per_s": round(report.events_checked / wall),
        "ok": report.ok,
        "chunk": verification.CHUNK,
    }
    first, shortcut = heads["first"].size, heads["shortcut"].size
    result["shortcut"]["proven_equivalent_by"] = [
        (
            f"head_sign at size {shortcut} verified a consistency proof, read from the shortcut's "
            f"stored nodes, against the head at size {first} built by record()"
        ),
        (
            f"record() appended {size - shortcut} more events on top of the shortcut's frontier, "
            f"and head_sign at size {size} checked consistency with the shortcut's head"
        ),
        (
            f"verification.verify(from_seq={sample_from}) rebuilt the frontier from the shortcut's "
            f"nodes and checked {sample.events_checked:,} events and the heads: ok "
            f"({sample.events_checked / sample_s:,.0f} events/s)"
        ),
        (
            f"the full verification.verify() recomputed all {size:,} leaves and the "
            f"{len(heads)} signed roots: ok"
        ),
        (
            "every inclusion and consistency proof below reads stored nodes and verified against "
            "the signed root with merkle.verify_inclusion_leaf / verify_consistency"
        ),
    ]


def child(backend: str, sizes: dict[str, int], part: Path) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    say(f"[{backend}] migrating")
    call_command("migrate", verbosity=0)
    result: dict[str, Any] = {
        "backend": backend,
        "server_version": _server_version(connection),
        "round_trip_ms": _round_trip(connection),
        "load_average_1m_before": round(os.getloadavg()[0], 2),
    }
    heads = build_log(backend, sizes, result)
    size = heads["final"].size
    verify_log(backend, size, result, heads)
    say(f"[{backend}] {sizes['proofs']} inclusion + {sizes['proofs']} consistency proofs")
    result["proofs"] = proof_latency(size, sizes["proofs"], bytes.fromhex(heads["final"].root_hash))
    result["log_size"] = size
    result["node_lookup_plan"] = node_lookup_plan(size)
    result["storage_bytes"] = storage_bytes()
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    part.write_text(json.dumps(result, indent=2), encoding="utf-8")


def _record_queries(first_i: int) -> float:
    """SQL statements one request-sized append issues (10 samples, median)."""
    from django.db import transaction

    from safeguard.audit import services

    counter = iter(range(first_i, first_i + QUERY_PROBES))

    def one() -> None:
        i = next(counter)
        with bound(i), transaction.atomic():
            services.record(**event_inputs(i))

    return queries_per_call(one, samples=QUERY_PROBES)


def _round_trip(connection: Any) -> dict[str, float]:
    """``SELECT 1`` latency: the floor under every statement (proofs issue dozens)."""
    times = []
    with connection.cursor() as cursor:
        for _ in range(300):
            t0 = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            times.append(time.perf_counter() - t0)
    return _latency(times[50:])


def _server_version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        return f"PostgreSQL {connection.cursor().connection.info.server_version}"
    import sqlite3

    return f"SQLite {sqlite3.sqlite_version}"


# --- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 20,000-event log (< 1 minute)")
    parser.add_argument("--size", type=int, help="events in the final log (default 1,000,000)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, str(ROOT / "src"))
        child(args.child, json.loads(args.plan), args.part)
        return 0

    sizes = plan(quick=args.quick, size=args.size)
    started = time.perf_counter()
    backends: dict[str, Any] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend not in {"sqlite", "postgresql"}:
            parser.error(f"unknown backend {backend!r}")
        say(f"== {backend}")
        backends[backend] = run_backend(backend, sizes, args.pg_host, args.pg_user)
    report = {
        "benchmark": "audit_log",
        "quick": args.quick,
        "sizes": sizes,
        "backends": backends,
        "method": {
            "single": "each event: bind a request context, then `with transaction.atomic(): "
            "services.record(...)` (record joins it without a savepoint)",
            "batch": f"{BATCH} services.record calls inside one transaction.atomic()",
            "shortcut": "bulk of the log written as record() would write it (see the module "
            "docstring); proven equivalent per backend, see shortcut.proven_"
            "equivalent_by",
            "verify": "verification.verify() over the whole log, chunked streaming recompute",
            "latency": "wall time per call in this process, median and p99",
        },
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    path = write_result("log", report)
    print_summary(report)
    print(f"\nwritten to {path}")
    return 0


def print_summary(report: dict[str, Any]) -> None:
    sizes = report["sizes"]
    print(
        f"Audit log, {sizes['size']:,}-event log ({sizes['shortcut']:,} by the bulk shortcut, "
        f"{sizes['recorded']:,} through record())"
    )
    header = (
        f"{'backend':11s} {'single ev/s':>11s} {'p99 ms':>7s} {'batch ev/s':>10s} "
        f"{'@scale single':>13s} {'@scale batch':>12s} {'verify ev/s':>11s} "
        f"{'incl. med/p99 ms':>17s} {'cons. med/p99 ms':>17s}"
    )
    print(header)
    for name, data in report["backends"].items():
        if "skipped" in data:
            print(f"{name:11s} skipped: {data['skipped']}")
            continue
        fresh, scale, proofs = data["append_fresh"], data["append_at_scale"], data["proofs"]
        incl, cons = proofs["inclusion_ms"], proofs["consistency_ms"]
        print(
            f"{name:11s} {fresh['single']['events_per_s']:>11,.0f} "
            f"{fresh['single']['latency_ms']['p99']:>7.2f} "
            f"{fresh['batch']['events_per_s']:>10,.0f} "
            f"{scale['single']['events_per_s']:>13,.0f} {scale['batch']['events_per_s']:>12,.0f} "
            f"{data['verify']['events_per_s']:>11,} "
            f"{incl['median']:>8.2f}/{incl['p99']:<8.2f} {cons['median']:>8.2f}/{cons['p99']:<8.2f}"
        )
    print(
        f"wall time {report['wall_seconds']} s; every proof verified; shortcut proven "
        f"equivalent (head consistency, verify from mid-shortcut, full verify)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
