"""Case search cost (issue 15, decision 0168): the shipped search against its peer in one run.

The case list's word search compares what an agent would see: subjects as listed and messages
as displayed, a customer's message only after the customers app's display mask. Its peer is the
same scan of the same cases without that mask (raw decrypted text, the obvious but unsafe
search: it would find a customer's masked phone number). Also timed: the list without search
(one counted page) and a search by case number. Each round runs every variant once in a
shuffled order; wall and process CPU time per call.

    .venv/bin/python bench/cases/bench_case_search.py            # full size, both backends
    .venv/bin/python bench/cases/bench_case_search.py --quick    # < 2 min
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    child_env,
    latency_ms,
    machine,
    say,
    server_version,
    throwaway_database,
    write_result,
)

WORDS = "courier"  # in agents' replies and customers' messages of the dataset
VARIANTS = ("list", "number", "search_masked", "search_raw_peer")


def plan(*, quick: bool) -> dict[str, int]:
    if quick:
        return {"customers": 60, "cases": 200, "rounds": 20}
    return {"customers": 300, "cases": 1500, "rounds": 60}


def run_backend(backend: str, sizes: dict[str, int], pg_host: str, pg_user: str) -> dict[str, Any]:
    with throwaway_database(backend, pg_host=pg_host, pg_user=pg_user, tag="search") as (
            url, workdir, why):
        if url is None:
            return {"skipped": why}
        part = workdir / "result.json"
        env = child_env(mode="test", url=url, workdir=workdir,
                        SAFEGUARD_AUDIT_INTEGRATION="after_commit",
                        SAFEGUARD_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        command = [sys.executable, str(Path(__file__).resolve()), "--child", backend,
                   "--part", str(part), "--plan", json.dumps(sizes)]
        subprocess.run(command, env=env, check=True, cwd=ROOT)
        return json.loads(part.read_text(encoding="utf-8"))


def _raw_peer(principal: Any, words: str) -> set[Any]:
    """The peer: the same newest-first scan of the same scope, raw decrypted text, no mask."""
    from django.conf import settings

    from safeguard.cases import scope
    from safeguard.cases.models import Case, Message

    needle = words.casefold()
    qs = scope.visible_cases(principal).filter(status__in=("new", "open", "pending"))
    newest = list(Case.objects.filter(id__in=qs.values("id")).order_by("-number")
                  .only("id", "subject")[: settings.SAFEGUARD_CASE_SEARCH_SCAN_MAX])
    found = {c.id for c in newest if needle in (c.subject or "").casefold()}
    rows = Message.objects.filter(case_id__in=[c.id for c in newest if c.id not in found]).only(
        "id", "case_id", "body")
    for m in rows.iterator(chunk_size=500):
        if m.case_id not in found and needle in (m.body or "").casefold():
            found.add(m.case_id)
    return found


def child(backend: str, sizes: dict[str, int], part: Path) -> None:
    import django

    django.setup()
    import dataset
    from django.core.management import call_command
    from django.db import connection

    from safeguard.accounts.models import User
    from safeguard.cases import selectors, services

    call_command("migrate", verbosity=0)
    say(f"[{backend}] building {sizes['cases']} cases through the services")
    t0 = time.perf_counter()
    data = dataset.build(customers=sizes["customers"], cases=sizes["cases"], target_messages=10,
                         progress=say)
    build_s = time.perf_counter() - t0
    agent = User.objects.get(email=data.bench_agent_email)
    principal = dataset.principal_for(agent)
    # Agents' replies on a third of the agent's cases mention the courier.
    active = selectors.case_search(principal=principal)
    numbers = [c.number for c in selectors.case_search(principal=principal, sort="-number").items]
    for n in numbers[::3]:
        services.message_send(case_number=n, principal=principal,
                              text="I asked the courier to deliver again tomorrow.")
    masked = selectors.case_search(principal=principal, q=WORDS)
    raw = _raw_peer(principal, WORDS)
    calls = {
        "list": lambda: selectors.case_search(principal=principal),
        "number": lambda: selectors.case_search(principal=principal, q=f"#{numbers[0]}"),
        "search_masked": lambda: selectors.case_search(principal=principal, q=WORDS),
        "search_raw_peer": lambda: _raw_peer(principal, WORDS),
    }
    rng = random.Random(15)
    wall: dict[str, list[float]] = {k: [] for k in calls}
    cpu: dict[str, list[float]] = {k: [] for k in calls}
    for round_ in range(sizes["rounds"] + 3):
        order = list(calls)
        rng.shuffle(order)
        for name in order:
            w0, c0 = time.perf_counter(), time.process_time()
            calls[name]()
            if round_ >= 3:  # warm-up rounds are not counted
                wall[name].append(time.perf_counter() - w0)
                cpu[name].append(time.process_time() - c0)
    result = {
        "server": server_version(connection),
        "build_seconds": round(build_s, 1),
        "scope": {"active_cases": active.total, "scanned": masked.scanned,
                  "capped": masked.capped},
        "matches": {"search_masked": masked.total, "search_raw_peer": len(raw)},
        "wall_ms": {k: latency_ms(v) for k, v in wall.items()},
        "cpu_ms": {k: latency_ms(v) for k, v in cpu.items()},
    }
    m, r = result["wall_ms"]["search_masked"]["median"], result["wall_ms"]["search_raw_peer"][
        "median"]
    result["masked_vs_raw_median_pct"] = round(100 * (m / r - 1), 1) if r else None
    part.write_text(json.dumps(result, indent=2), encoding="utf-8")
    say(f"[{backend}] list {result['wall_ms']['list']['median']} ms, search {m} ms "
        f"(raw peer {r} ms) over {masked.scanned} cases")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, json.loads(args.plan), args.part)
        return 0
    sizes = plan(quick=args.quick)
    started = time.perf_counter()
    backends = {b: run_backend(b, sizes, args.pg_host, args.pg_user)
                for b in (x.strip() for x in args.backends.split(",")) if b}
    report = {
        "benchmark": "cases_search", "quick": args.quick, "sizes": sizes, "words": WORDS,
        "variants": {
            "list": "case_search without words: one counted page of the active cases",
            "number": "case_search by case number",
            "search_masked": "case_search with words, as shipped (display mask on customer "
                             "messages, audited)",
            "search_raw_peer": "peer: the same scan without the mask and without audit",
        },
        "backends": backends,
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    path = write_result("search", report)
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
