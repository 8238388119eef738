"""The retention sweep over 1M expired messages on PostgreSQL, and the access bundle of a customer
with 10k messages (issue 16, R-DATA-3, R-DATA-7).

One run, a throwaway PostgreSQL database (``createdb`` on 127.0.0.1 as ``postgres``, dropped
afterwards), each step in its own child process so its peak memory is its own:

1. **load** — ``--messages`` messages (default 1,000,000) in cases of ``--per-case`` (default
   100), every case closed three years ago (past the 2-year ``case_record`` row), ten cases per
   customer; customers through ``customers.services.customer_create``, cases and messages with
   ``bulk_create`` in chunks (each row encrypted by its field's ``pre_save``, bound to its
   primary key as the services do). Rows/s reported.
2. **sweep** — ``privacy.services.sweep_run`` as the daily job runs it, in batches of
   ``--batch`` cases (default ``SAFEGUARD_RETENTION_BATCH``): every case anonymised through
   ``cases.services.case_anonymise`` (every message body rewritten through its own save, the
   audit event recorded). Measured: wall and CPU time, messages/s and cases/s, the **longest
   lock held** two ways — the longest batch transaction (each batch holds its row locks until it
   commits; timed around each ``sweep_batch``) and an independent probe on another connection
   that samples ``pg_stat_activity.xact_start`` of the sweeper's backend and ``pg_locks`` every
   20 ms — and **peak memory** (``ru_maxrss`` of the sweeping process).
3. **peer** — what Zammad, Chatwoot and FreeScout do on erasure (delete the tickets outright,
   keeping nothing for the KPIs), on the same rows in the same run: ``DELETE`` of the messages,
   a batch of cases per transaction. The price of keeping CSAT/FCR/ASA computable is the
   difference.
4. **bundle** — a customer with ``--bundle-messages`` messages (default 10,000; 100 cases):
   ``privacy.requests.access_bundle`` for a verified access request, serialised to JSON.
   Wall, CPU, size, peak memory.

CPU is reported beside wall time (the child's user + system time; the PostgreSQL server's CPU is
not included), and the machine's load average before and after each step: the machine is shared.

    .venv/bin/python bench/privacy/bench_sweep.py [--messages N] [--per-case N] [--batch N]
        [--result-name NAME]

Writes bench/results/privacy_sweep.json (or privacy_<NAME>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cases"))

import benchlib
from common import child_env, throwaway_database

ROOT = Path(__file__).resolve().parents[2]
YEARS_AGO = 3


def _usage() -> dict[str, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu_s": r.ru_utime + r.ru_stime, "maxrss_mb": r.ru_maxrss / 1024}


def _setup() -> None:
    import django

    django.setup()


# --- children -----------------------------------------------------------------------------------


def child_load(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    import uuid
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from safeguard.audit.contracts import Actor
    from safeguard.cases.models import Case, Message, Queue
    from safeguard.customers import services as customers

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench.privacy")
    queue = Queue.objects.create(slug="billing", name="Billing")
    closed = timezone.now() - timedelta(days=365 * YEARS_AGO + 30)
    n_cases = args.messages // args.per_case
    started, cpu0 = time.perf_counter(), _usage()["cpu_s"]
    customer_ids = [customers.customer_create(actor=actor, name=f"Bench Customer {i}").id
                    for i in range(max(1, n_cases // 10))]
    # the bundle's customer: 100 cases of bundle_messages / 100 messages each
    bundle_customer = customers.customer_create(actor=actor, name="Bundle Customer").id
    plan = [(customer_ids[i % len(customer_ids)], args.per_case) for i in range(n_cases)]
    plan += [(bundle_customer, args.bundle_messages // 100)] * 100
    number = 0
    messages = 0
    text = ("Hello, I was charged twice for my last order and would like one payment back. "
            "I tried the app twice already; please call me back after five. ") * 2
    chunk = 1000
    for start in range(0, len(plan), chunk):
        cases = []
        for customer_id, _n in plan[start:start + chunk]:
            number += 1
            # the bundle customer's cases are open: the sweep leaves them for the bundle step
            done = customer_id != bundle_customer
            cases.append(Case(id=uuid.uuid4(), number=number, customer_id=customer_id,
                              queue=queue, subject=f"Refund for order {number}",
                              status="closed" if done else "open", channel="email",
                              created_at=closed - timedelta(hours=2),
                              first_response_at=closed - timedelta(hours=1),
                              first_resolved_at=closed if done else None,
                              resolved_at=closed if done else None,
                              closed_at=closed if done else None))
        Case.objects.bulk_create(cases)
        rows = []
        for case, (_customer, n) in zip(cases, plan[start:start + chunk], strict=True):
            rows.extend(Message(id=uuid.uuid4(), case_id=case.id, channel="email",
                                author_kind="customer" if k % 2 == 0 else "agent",
                                body=text, created_at=closed - timedelta(minutes=90 - k % 60))
                        for k in range(n))
            if len(rows) >= 5000:
                Message.objects.bulk_create(rows)
                messages += len(rows)
                rows = []
        Message.objects.bulk_create(rows)
        messages += len(rows)
    wall = time.perf_counter() - started
    usage = _usage()
    return {"cases": number, "messages": messages, "customers": len(customer_ids) + 1,
            "bundle_customer": str(bundle_customer), "wall_s": round(wall, 2),
            "cpu_s": round(usage["cpu_s"] - cpu0, 2),
            "messages_per_s": round(messages / wall, 1)}


def _probe(pid_holder: dict[str, int], stop: Any, out: dict[str, Any]) -> None:
    """Another connection: the age of the sweeper's open transaction and its locks, sampled."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    with psycopg.connect(url, autocommit=True) as conn:
        while not stop.is_set():
            pid = pid_holder.get("pid")
            if pid:
                row = conn.execute(
                    "SELECT extract(epoch FROM clock_timestamp() - xact_start), "
                    "(SELECT count(*) FROM pg_locks WHERE pid = %s AND granted) "
                    "FROM pg_stat_activity WHERE pid = %s AND xact_start IS NOT NULL",
                    (pid, pid)).fetchone()
                if row is not None and row[0] is not None:
                    out["samples"] += 1
                    out["max_xact_s"] = max(out["max_xact_s"], float(row[0]))
                    out["max_locks"] = max(out["max_locks"], int(row[1]))
            stop.wait(0.02)


def child_sweep(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    import threading

    from django.conf import settings
    from django.db import connection

    from safeguard.audit.contracts import Actor
    from safeguard.cases.models import Message
    from safeguard.privacy import services
    from safeguard.privacy.models import SweepRun

    batch = args.batch or settings.SAFEGUARD_RETENTION_BATCH
    actor = Actor.system("bench.privacy")
    holder: dict[str, int] = {}
    probe: dict[str, Any] = {"samples": 0, "max_xact_s": 0.0, "max_locks": 0}
    stop = threading.Event()
    thread = threading.Thread(target=_probe, args=(holder, stop, probe), daemon=True)
    thread.start()
    started, cpu0 = time.perf_counter(), _usage()["cpu_s"]
    view = services.sweep_start(actor=actor, dry_run=False)
    holder["pid"] = connection.cursor().connection.info.backend_pid
    batches: list[float] = []
    while True:
        t0 = time.perf_counter()
        more = services.sweep_batch(run_id=view.id, actor=actor, batch=batch)
        batches.append(time.perf_counter() - t0)
        if not more:
            break
    wall = time.perf_counter() - started
    usage = _usage()
    stop.set()
    thread.join(5)
    run = SweepRun.objects.get(id=view.id)
    cases = run.counts.get("case:anonymise", 0)
    messages = Message.objects.count()
    left = sum(1 for m in Message.objects.exclude(case__customer_id=args.bundle_customer)
               .only("id", "body")[:2000].iterator() if m.body)
    kept = sum(1 for m in Message.objects.filter(case__customer_id=args.bundle_customer)
               .only("id", "body")[:100].iterator() if m.body)
    return {"batch_size": batch, "batches": len(batches), "cases_anonymised": cases,
            "messages_rewritten": messages - args.bundle_messages, "status": run.status,
            "non_empty_bodies_in_a_sample_of_2000_swept": left,
            "non_empty_bodies_in_a_sample_of_100_open_cases": kept,
            "wall_s": round(wall, 2), "cpu_s": round(usage["cpu_s"] - cpu0, 2),
            "messages_per_s": round((messages - args.bundle_messages) / wall, 1),
            "cases_per_s": round(cases / wall, 1),
            "longest_batch_transaction_s": round(max(batches), 3),
            "median_batch_transaction_s": round(benchlib.percentile(batches, 50), 3),
            "p99_batch_transaction_s": round(benchlib.percentile(batches, 99), 3),
            "probe_longest_open_transaction_s": round(probe["max_xact_s"], 3),
            "probe_max_granted_locks": probe["max_locks"], "probe_samples": probe["samples"],
            "peak_rss_mb": round(usage["maxrss_mb"], 1)}


def child_peer(args: argparse.Namespace) -> dict[str, Any]:
    """Zammad/Chatwoot/FreeScout's erasure: delete the messages outright, a batch of cases per
    transaction, nothing kept (the cases' KPI fields go with their rows in those products)."""
    _setup()
    from django.db import connection, transaction

    from safeguard.cases.models import Case

    ids = list(Case.objects.exclude(customer_id=args.bundle_customer).order_by("id")
               .values_list("id", flat=True))
    from django.conf import settings

    batch = args.batch or settings.SAFEGUARD_RETENTION_BATCH  # the sweep's batch
    started, cpu0 = time.perf_counter(), _usage()["cpu_s"]
    deleted = 0
    longest = 0.0
    for start in range(0, len(ids), batch):
        t0 = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_message WHERE case_id = ANY(%s)",
                           [ids[start:start + batch]])
            deleted += cursor.rowcount
        longest = max(longest, time.perf_counter() - t0)
    wall = time.perf_counter() - started
    usage = _usage()
    return {"messages_deleted": deleted, "wall_s": round(wall, 2),
            "cpu_s": round(usage["cpu_s"] - cpu0, 2),
            "messages_per_s": round(deleted / wall, 1),
            "longest_batch_transaction_s": round(longest, 3),
            "peak_rss_mb": round(usage["maxrss_mb"], 1)}


def child_bundle(args: argparse.Namespace) -> dict[str, Any]:
    _setup()
    from django.utils import timezone

    from safeguard.accounts import services as accounts
    from safeguard.accounts.contracts import Principal
    from safeguard.accounts.selectors import user_permissions
    from safeguard.audit.contracts import Actor
    from safeguard.privacy import requests as dsr

    officer = accounts.user_create(actor=Actor.system("bench.privacy"),
                                   email="officer@bench.example",
                                   password="correct-horse-battery-staple-42",  # noqa: S106
                                   roles=("privacy_officer",))
    principal = Principal(user_id=officer.id, email=officer.email,
                          permissions=user_permissions(user_id=officer.id), via="session")
    request = dsr.dsr_create(principal=principal, customer_id=args.bundle_customer,
                             kind="access", regime="gdpr", received_on=timezone.localdate())
    started, cpu0 = time.perf_counter(), _usage()["cpu_s"]
    bundle = dsr.access_bundle(request_id=request.id)
    body = json.dumps(bundle, ensure_ascii=False).encode()
    wall = time.perf_counter() - started
    usage = _usage()
    messages = sum(len(c["messages"]) for c in bundle["cases"])
    return {"messages": messages, "cases": len(bundle["cases"]), "bytes": len(body),
            "wall_s": round(wall, 3), "cpu_s": round(usage["cpu_s"] - cpu0, 3),
            "peak_rss_mb": round(usage["maxrss_mb"], 1)}


CHILDREN = {"load": child_load, "sweep": child_sweep, "peer": child_peer, "bundle": child_bundle}


# --- parent -------------------------------------------------------------------------------------


def _step(name: str, env: dict[str, str], args: argparse.Namespace, extra: list[str]
          ) -> dict[str, Any]:
    load_before = os.getloadavg()
    benchlib.say(f"{name}: running (load {load_before[0]:.2f})")
    argv = [sys.executable, __file__, "--child", name, "--messages", str(args.messages),
            "--per-case", str(args.per_case), "--bundle-messages", str(args.bundle_messages),
            "--batch", str(args.batch), *extra]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average_1m_before"] = round(load_before[0], 2)
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    benchlib.say(f"{name}: {json.dumps(result)}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--per-case", type=int, default=100)
    parser.add_argument("--bundle-messages", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--bundle-customer", default="")
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--result-name", default="sweep",
                        help="bench/results/privacy_<name>.json (default: sweep)")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return
    with throwaway_database("postgresql", pg_host=args.pg_host, pg_user=args.pg_user,
                            tag="privacy") as (url, workdir, why_not):
        if url is None:
            raise SystemExit(f"no PostgreSQL database: {why_not}")
        env = child_env(mode="test", url=url, workdir=workdir,
                        SAFEGUARD_KEK_RUNTIME_ALLOW_DISK="1",
                        SAFEGUARD_AUDIT_INTEGRATION="after_commit")
        report: dict[str, Any] = {"benchmark": "privacy retention sweep and access bundle",
                                  "backend": "postgresql", "machine": benchlib.machine(
                                      "the sweep child, its probe and PostgreSQL share the "
                                      "two cores"),
                                  "parameters": {"messages": args.messages,
                                                 "per_case": args.per_case,
                                                 "bundle_messages": args.bundle_messages,
                                                 "batch": args.batch or "default"}}
        report["load"] = _step("load", env, args, [])
        customer = ["--bundle-customer", report["load"]["bundle_customer"]]
        report["bundle"] = _step("bundle", env, args, customer)
        report["sweep"] = _step("sweep", env, args, customer)
        report["peer_delete_outright"] = _step("peer", env, args, customer)
        report["machine"]["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    path = benchlib.write_result("privacy", args.result_name, report)
    benchlib.say(f"wrote {path}")
    print(json.dumps({k: report[k] for k in ("sweep", "peer_delete_outright", "bundle")},
                     indent=2))


if __name__ == "__main__":
    main()
