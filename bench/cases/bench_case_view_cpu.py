"""In-process CPU of the case view's safeguards, the precompiled reads against the ORM forms.

Decision 0279 builds three reads of the case page and its customer panel once per process
instead of on every request: the scope rule's condition (``scope.visible_cases`` through
``InScopeOf``), the panel's scope check (``scope.case_visible_for_customer``) and the customer
row with its live-grant flag (``customers.selectors._customer_row``). This script measures
them against the ORM forms they replaced (``scope.visible_cases_orm`` and
``_with_live_grant_flag(...).first()``, put back by patching the module attributes) in one
process, alternating, so both forms see the same machine at the same moment:

1. per call: CPU time of the calling thread (``time.thread_time``) of each read, new and ORM,
   with the unscoped read beside it; every round runs every call once in a shuffled order;
   median of ``--calls`` rounds after 30 warm-up rounds;
2. per page: the case page and its panel (``django.test.Client``, signed in, as
   ``bench_case_view.py``) for "on" (shipped), "on" with the ORM forms, the baseline's
   "off + all four" (both forms: its scope is the shipped one) and "off"; shuffled per round;
   thread CPU, process CPU (the background audit integrator included) and wall time; the
   overhead is the median of the per-round ratios to "off" (paired, as the bench reports it).

Not the paired bench (``bench_case_view.py``, which the quiet-machine runs use): a small
dataset (60 customers, 300 background cases, the 30-message target case) and CPU first.

    PYTHONPATH=src .venv/bin/python bench/cases/bench_case_view_cpu.py [--rounds 300]
        [--calls 400] [--backends sqlite,postgresql]

Writes bench/results/cases_view_cpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, child_env, machine, say, server_version, throwaway_database, write_result

SIZES = {"customers": 60, "cases": 300, "target_messages": 30}


def _median_ms(values: Sequence[float]) -> float:
    return round(1000 * statistics.median(values), 3)


def _paired_pct(values: Sequence[float], base: Sequence[float]) -> float:
    return round(100 * (statistics.median([a / b for a, b in zip(values, base, strict=True)])
                        - 1), 1)


def _forms() -> tuple[Callable[[str], None], Callable[[], None]]:
    """``use("new" | "orm")``: the shipped precompiled reads or the ORM forms they replaced."""
    from safeguard.cases import scope
    from safeguard.customers import selectors as customers
    from safeguard.customers.models import Customer

    new = {(scope, "visible_cases"): scope.visible_cases,
           (scope, "case_visible_for_customer"): scope.case_visible_for_customer,
           (customers, "_customer_row"): customers._customer_row}

    def row_orm(customer_id: Any, *, user_id: int, now: Any = None) -> Any:
        return customers._with_live_grant_flag(Customer.objects.filter(id=customer_id),
                                               user_id=user_id, now=now).first()

    orm = {(scope, "visible_cases"): scope.visible_cases_orm,
           (scope, "case_visible_for_customer"):
               lambda p, cid: scope.visible_cases_orm(p).filter(customer_id=cid).exists(),
           (customers, "_customer_row"): row_orm}

    def use(form: str) -> None:
        for (module, name), fn in (new if form == "new" else orm).items():
            setattr(module, name, fn)

    return use, lambda: use("new")


def per_call(principal: Any, number: int, customer: Any, rounds: int,
             use: Callable[[str], None]) -> dict[str, float]:
    from safeguard.cases.models import Case
    from safeguard.cases.selectors import cases
    from safeguard.customers import selectors as customers
    from safeguard.customers.models import Customer

    def unscoped() -> Any:
        return (Case.objects.select_related("queue", "assignee", "merged_into")
                .prefetch_related("tags").get(number=number))

    def with_(form: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> Any:
            use(form)
            return fn()
        return call

    reads: dict[str, Callable[[], Any]] = {
        "case by number, unscoped": unscoped,
        "customer row by id, plain ORM": lambda: Customer.objects.filter(id=customer).first(),
    }
    for form in ("new", "orm"):
        reads[f"scoped case lookup (_case), {form}"] = with_(
            form, lambda: cases._case(principal, number))
        reads[f"customer_allowed, {form}"] = with_(
            form, lambda: customers.customer_allowed(viewer=principal, customer_id=customer))
        reads[f"customer row + grant flag, {form}"] = with_(
            form, lambda: customers._customer_row(customer, user_id=principal.user_id))
        reads[f"text_masker, {form}"] = with_(
            form, lambda: customers.text_masker(viewer=principal, customer_id=customer))
    names = list(reads)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for i in range(rounds + 30):
        random.shuffle(names)
        for name in names:
            t0 = time.thread_time()
            reads[name]()
            if i >= 30:
                samples[name].append(time.thread_time() - t0)
    use("new")
    return {name: _median_ms(samples[name]) for name in reads}


def per_page(client: Any, number: int, customer: str, rounds: int,
             use: Callable[[str], None]) -> dict[str, Any]:
    pages = {"on": (f"/cases/{number}/", f"/customers/{customer}/panel/"),
             "off+all": (f"/bench/off/cases/{number}/?with=all",
                         f"/bench/off/customers/{customer}/panel/?with=all"),
             "off": (f"/bench/off/cases/{number}/", f"/bench/off/customers/{customer}/panel/")}
    variants = {"on": ("on", "new"), "on, ORM forms": ("on", "orm"),
                "off+all": ("off+all", "new"), "off+all, ORM forms": ("off+all", "orm"),
                "off": ("off", "new")}
    keys = ("page", "panel", "pair", "pair_process", "pair_wall")
    samples = {v: {k: [] for k in keys} for v in variants}

    def fetch(variant: str) -> tuple[float, ...]:
        page, form = variants[variant]
        use(form)
        url, panel = pages[page]
        w0, p0, t0 = time.perf_counter(), time.process_time(), time.thread_time()
        r1 = client.get(url)
        t1 = time.thread_time()
        r2 = client.get(panel, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=url)
        t2, p2, w2 = time.thread_time(), time.process_time(), time.perf_counter()
        if (r1.status_code, r2.status_code) != (200, 200):
            raise SystemExit(f"{variant}: {r1.status_code}/{r2.status_code}")
        return t1 - t0, t2 - t1, t2 - t0, p2 - p0, w2 - w0

    names = list(variants)
    for i in range(rounds + 20):
        random.shuffle(names)
        for name in names:
            measured = fetch(name)
            if i >= 20:
                for key, value in zip(keys, measured, strict=True):
                    samples[name][key].append(value)
    use("new")
    off = samples["off"]
    return {name: {**{f"{k}_ms": _median_ms(s[k]) for k in keys},
                   **({} if name == "off" else {
                       "vs_off_thread_cpu_paired_pct": _paired_pct(s["pair"], off["pair"]),
                       "vs_off_process_cpu_paired_pct": _paired_pct(s["pair_process"],
                                                                    off["pair_process"]),
                       "vs_off_wall_paired_pct": _paired_pct(s["pair_wall"],
                                                             off["pair_wall"])})}
            for name, s in samples.items()}


def child(backend: str, rounds: int, calls: int, part: Path) -> None:
    import django

    django.setup()
    import dataset
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from safeguard.accounts.models import User
    from safeguard.audit import background

    call_command("migrate", verbosity=0)
    say(f"[{backend}] building the dataset")
    data = dataset.build(**SIZES)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user = User.objects.get(email=data.bench_agent_email)
    principal = dataset.principal_for(user)
    use, _ = _forms()
    from uuid import UUID

    result: dict[str, Any] = {"backend": backend, "server_version": server_version(connection),
                              "load_average_1m_before": round(os.getloadavg()[0], 2)}
    say(f"[{backend}] {calls} rounds of single calls")
    result["per_call_thread_cpu_ms"] = per_call(principal, data.target_case,
                                                UUID(data.target_customer), calls, use)
    client = dataset.signed_in_client(user)
    with override_settings(ROOT_URLCONF="case_view_baseline"):
        say(f"[{backend}] {rounds} rounds of page + panel")
        result["per_page"] = per_page(client, data.target_case, data.target_customer,
                                      rounds, use)
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    background.stop()
    part.write_text(json.dumps(result, indent=2), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="page + panel rounds")
    parser.add_argument("--calls", type=int, default=400, help="single-call rounds")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rounds, args.calls, args.part)
        return 0
    backends: dict[str, Any] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with throwaway_database(backend, pg_host=args.pg_host, pg_user=args.pg_user,
                                tag="viewcpu") as (url, workdir, why):
            if url is None:
                backends[backend] = {"skipped": why}
                continue
            part = workdir / "result.json"
            env = child_env(mode="test", url=url, workdir=workdir,
                            SAFEGUARD_AUDIT_INTEGRATION="background",
                            SAFEGUARD_ALLOWED_HOSTS="testserver,localhost",
                            SAFEGUARD_EMAIL_BACKEND="django.core.mail.backends.locmem"
                                                    ".EmailBackend")
            subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", backend,
                            "--part", str(part), "--rounds", str(args.rounds),
                            "--calls", str(args.calls)], env=env, check=True, cwd=ROOT)
            backends[backend] = json.loads(part.read_text(encoding="utf-8"))
    report = {"benchmark": "cases_view_cpu", "sizes": SIZES, "rounds": args.rounds,
              "calls": args.calls, "backends": backends, "machine": machine()}
    path = write_result("view_cpu", report)
    for backend, data in backends.items():
        if "skipped" in data:
            print(f"{backend}: skipped: {data['skipped']}")
            continue
        print(f"\n{backend} ({data['server_version']}), thread CPU per call, median ms:")
        for name, ms in data["per_call_thread_cpu_ms"].items():
            print(f"  {name:40s} {ms:7.3f}")
        print("page + panel: thread CPU ms (page / panel / pair), vs off paired: thread CPU, "
              "process CPU, wall")
        for name, row in data["per_page"].items():
            tail = ("" if name == "off" else
                    f"  {row['vs_off_thread_cpu_paired_pct']:+5.1f} % "
                    f"{row['vs_off_process_cpu_paired_pct']:+5.1f} % "
                    f"{row['vs_off_wall_paired_pct']:+5.1f} %")
            print(f"  {name:20s} {row['page_ms']:6.2f} / {row['panel_ms']:5.2f} / "
                  f"{row['pair_ms']:6.2f}{tail}")
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
