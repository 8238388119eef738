"""Cost of issue 15's desk automations and wallboard (docs/desk.md).

    python bench/cases/bench_desk.py [--n 150] [--boards 30] [--pg-host 127.0.0.1]

1. Ingest of one customer e-mail that opens a case, per message: the **peer** is the same
   ingest with no automation configured (what every message cost before issue 15), measured in
   the same run against a round-robin rule with skills plus two triggers (one matching).
2. One wallboard computation (``cases.selectors.wallboard``: per-queue aggregates, agents seen,
   today's CSAT/FCR/ASA) over the cases made above.

Wall time and CPU time (``time.process_time``) side by side: the machine is shared, so wall
time is noisy and CPU time says what the work itself costs. Each backend runs in a child
process on a throwaway database. Writes bench/results/cases_desk.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

ROOT = Path(__file__).resolve().parents[2]


def _stats(wall: list[float], cpu: list[float]) -> dict[str, float]:
    return {"wall_median_ms": round(benchlib.percentile([w * 1000 for w in wall], 50), 2),
            "wall_p95_ms": round(benchlib.percentile([w * 1000 for w in wall], 95), 2),
            "cpu_median_ms": round(benchlib.percentile([c * 1000 for c in cpu], 50), 2),
            "cpu_p95_ms": round(benchlib.percentile([c * 1000 for c in cpu], 95), 2)}


def _child(n: int, boards: int) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection

    from safeguard.accounts import services as accounts
    from safeguard.accounts.contracts import Principal
    from safeguard.accounts.selectors import user_permissions
    from safeguard.audit.contracts import Actor
    from safeguard.cases import services
    from safeguard.cases.contracts import SenderIn
    from safeguard.cases.models import Case
    from safeguard.cases.selectors.wallboard import wallboard

    accounts.roles_ensure_builtin()
    system = Actor.system("bench")
    services.queue_create(actor=system, slug="billing", name="Billing",
                          first_response_minutes=60, resolution_minutes=1440)
    agents = []
    for i in range(5):
        view = accounts.user_create(actor=system, email=f"agent{i}@bench.test", full_name="",
                                    password=None, roles=("agent",))
        services.queue_member_add(actor=system, slug="billing", user_id=view.id)
        agents.append(view.id)
    boss = accounts.user_create(actor=system, email="boss@bench.test", full_name="",
                                password=None, roles=("supervisor",))
    principal = Principal(user_id=boss.id, email=boss.email, via="session",
                          permissions=user_permissions(user_id=boss.id))

    def ingest(tag: str) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        for i in range(n):
            sender = SenderIn(email=f"{tag}{i}@customers.test", name="Ann Lee")
            w0, c0 = time.perf_counter(), time.process_time()
            services.message_receive(channel="email", sender=sender, queue="billing",
                                     text="My refund has not arrived, please help.",
                                     subject=f"Refund {i}")
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        return wall, cpu

    peer = ingest("plain")
    services.assignment_rule_save(principal=principal, queue="billing", strategy="round_robin",
                                  use_skills=True, is_active=True)
    services.agent_skills_set(principal=principal, user_id=agents[0], tags=["refunds"])
    services.trigger_save(principal=principal, data={
        "name": "Refunds", "event": "created", "if_subject_contains": "refund",
        "add_tags": ["refunds"], "set_priority": "high"})
    services.trigger_save(principal=principal, data={
        "name": "Fraud", "event": "created", "if_subject_contains": "stolen",
        "set_priority": "urgent"})
    ours = ingest("auto")
    assigned = Case.objects.filter(assignee__isnull=False).count()
    wall, cpu = [], []
    for _ in range(boards):
        w0, c0 = time.perf_counter(), time.process_time()
        board = wallboard()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"vendor": connection.vendor, "n": n, "boards": boards,
            "ingest_without_automations (peer)": _stats(*peer),
            "ingest_with_rule_and_triggers": _stats(*ours),
            "cases_assigned_by_the_rule": assigned,
            "wallboard": _stats(wall, cpu),
            "wallboard_cases": board.as_dict()["queues"][0]["open"]}  # type: ignore[index]


def _run(backend: str, n: int, boards: int, pg_host: str) -> dict[str, object]:
    return benchlib.run_in_fresh_database(
        __file__, backend, pg_host=pg_host, prefix="desk",
        child_args=lambda work: ["--n", str(n), "--boards", str(boards)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--boards", type=int, default=30)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.n, args.boards)))
        return
    results = {}
    for backend in ("sqlite", "postgresql"):
        benchlib.say(f"{backend}: {args.n} e-mails without, then with automations; "
                     f"{args.boards} wallboards ...")
        results[backend] = _run(backend, args.n, args.boards, args.pg_host)
    report = {"benchmark": "cases.desk", "machine": benchlib.machine(), "results": results}
    path = benchlib.write_result("cases", "desk", report)
    for backend, r in results.items():
        print(f"{backend}: {json.dumps(r)}")
    print(f"result: {path}")


if __name__ == "__main__":
    main()
