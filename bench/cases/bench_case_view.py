"""Case-view latency with every safeguard on against the same view with them off, in one run.

What an agent's browser fetches when it opens a case: the case page ``/cases/<n>/`` and the
customer panel the page loads with htmx (``/customers/<id>/panel/``). "On" is the console as
shipped: decryption of every encrypted column shown, masking of the customer's values (and the
reveal-grant lookup), split-access scope checks, and the audit records ``case.viewed`` and
``customer.viewed``. "Off" is the same two responses rendered from the same rows, through the
same middleware, permission checks, context objects and templates, with those four safeguards
left out — encrypted columns render the length of their stored ciphertext instead of their
text (``case_view_baseline.py`` says precisely what is removed and what is kept). Variants
``off+decrypt``, ``off+decrypt+mask``, ``off+scope``, ``off+audit`` and ``off+all`` put the
safeguards back one at a time for the breakdown.

For each backend — a fresh SQLite file, then a fresh PostgreSQL database (``createdb`` on
127.0.0.1 as ``postgres``, dropped afterwards; skipped with a note if that fails) — a child
process (``SAFEGUARD_ENV=test``: DEBUG off, the dev KEK in a throwaway data directory) runs the
migrations, builds the dataset through the services (``dataset.py``: demo customers with full
profiles, background cases through ``message_receive``, and the target case — a 30-message
e-mail thread with replies, notes and attachments, its customer identity-verified), runs
``ANALYZE`` (as autovacuum would on a live system), signs the bench agent in (password + TOTP
session records, as ``tests.factories.signed_in_client``) and measures in-process with
``django.test.Client``:

1. correctness first: "on" shows decrypted, screened text and masked customer values and adds
   exactly two audit events per page view; "off" shows no plaintext and records nothing;
2. SQL statements per request for every variant, and the in-process cost of single selector
   calls (scope, audit append, queue counts);
3. warm-up, then ``rounds`` rounds; each round runs every variant once (page + panel) in a
   shuffled order, so drift on the shared machine hits all variants alike. Wall time (primary)
   and process CPU time per request; median, p95, p99.

Overhead = on / off - 1 on the page + panel pair (median; p95 and p99 too).
Target: <= 10 % (issue 10).

    .venv/bin/python bench/cases/bench_case_view.py [--quick] [--backends sqlite,postgresql]

Sizes: default 400 customers, 2,000 background cases, 300 rounds; ``--quick`` 60 customers,
150 cases, 40 rounds. Writes bench/results/cases_view.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    child_env,
    latency_ms,
    machine,
    percentile,
    say,
    server_version,
    throwaway_database,
    write_result,
)

TARGET_OVERHEAD = 0.10
SEED = 20240305
VARIANTS: dict[str, str | None] = {  # name -> ?with= of the baseline; None = the real views
    "on": None,
    "on, inline audit": None,
    "off": "",
    "off+decrypt": "decrypt",
    "off+decrypt+mask": "mask",
    "off+scope": "scope",
    "off+audit": "audit",
    "off+all": "all",
}


def plan(*, quick: bool) -> dict[str, int]:
    if quick:
        return {"customers": 60, "cases": 150, "target_messages": 30, "rounds": 40,
                "warmup": 8}
    return {"customers": 400, "cases": 2000, "target_messages": 30, "rounds": 300,
            "warmup": 20}


# --- parent ------------------------------------------------------------------------------------


def run_backend(backend: str, sizes: dict[str, int], pg_host: str, pg_user: str) -> dict[str, Any]:
    with throwaway_database(backend, pg_host=pg_host, pg_user=pg_user, tag="view") as (
            url, workdir, why):
        if url is None:
            return {"skipped": why}
        part = workdir / "result.json"
        env = child_env(mode="test", url=url, workdir=workdir,
                        # the production audit path: queue; the commit wakes the process's
                        # background integrator thread (decision 0181)
                        SAFEGUARD_AUDIT_INTEGRATION="background",
                        SAFEGUARD_ALLOWED_HOSTS="testserver,localhost",
                        SAFEGUARD_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
        command = [sys.executable, str(Path(__file__).resolve()), "--child", backend,
                   "--part", str(part), "--plan", json.dumps(sizes)]
        subprocess.run(command, env=env, check=True, cwd=ROOT)
        result: dict[str, Any] = json.loads(part.read_text(encoding="utf-8"))
        result["database"] = ("fresh database from createdb, dropped afterwards"
                              if backend == "postgresql" else "fresh SQLite file in a temp dir")
        return result


# --- child -------------------------------------------------------------------------------------


def urls_for(number: int, customer_id: str) -> dict[str, tuple[str, str]]:
    out = {}
    for name, with_ in VARIANTS.items():
        if with_ is None:
            out[name] = (f"/cases/{number}/", f"/customers/{customer_id}/panel/")
        else:
            q = f"?with={with_}" if with_ else ""
            out[name] = (f"/bench/off/cases/{number}/{q}",
                         f"/bench/off/customers/{customer_id}/panel/{q}")
    return out


# Variants served with SAFEGUARD_AUDIT_READ_WRITER=inline: the request commits its own entries
# before the view goes on (the behaviour before decision 0282), beside "on" in the same rounds.
INLINE_AUDIT = frozenset({"on, inline audit"})


@contextmanager
def audit_writes(*, inline: bool) -> Iterator[None]:
    """With ``inline``, SAFEGUARD_AUDIT_READ_WRITER=inline for the block (set directly: cheaper
    than override_settings, which signals every listener, between measured requests)."""
    from django.conf import settings

    shipped = settings.SAFEGUARD_AUDIT_READ_WRITER
    settings.SAFEGUARD_AUDIT_READ_WRITER = "inline" if inline else shipped
    try:
        yield
    finally:
        settings.SAFEGUARD_AUDIT_READ_WRITER = shipped


def fetch_pair(client: Any, page: str, panel: str, *, inline_audit: bool = False
               ) -> tuple[Any, Any, float, float, float, float]:
    """GET the page, then its panel as htmx would; wall and CPU seconds of each."""
    with audit_writes(inline=inline_audit):
        w0, c0 = time.perf_counter(), time.process_time()
        r1 = client.get(page)
        w1, c1 = time.perf_counter(), time.process_time()
        r2 = client.get(panel, HTTP_HX_REQUEST="true",
                        HTTP_HX_CURRENT_URL=f"http://testserver{page}")
        w2, c2 = time.perf_counter(), time.process_time()
    return r1, r2, w1 - w0, w2 - w1, c1 - c0, c2 - c1


def check(client: Any, urls: dict[str, tuple[str, str]], data: Any) -> dict[str, Any]:
    """What each variant shows and records; raises if "on" leaks or "off" is not what it says."""
    from safeguard.audit import services as audit
    from safeguard.audit.models import Event
    from safeguard.customers.models import Customer

    clear_email = Customer.objects.get(id=data.target_customer).email
    subject = "Charged twice for order 88231"
    report: dict[str, Any] = {}
    for name, (page, panel) in urls.items():
        audit.integrate(wait=True)  # the dataset's own events, before counting
        before = Event.objects.count()
        r1, r2, *_ = fetch_pair(client, page, panel, inline_audit=name in INLINE_AUDIT)
        audit.integrate(wait=True)  # what the background thread has not integrated yet
        events = Event.objects.count() - before
        assert r1.status_code == 200, (name, r1.status_code)
        assert r2.status_code == 200, (name, r2.status_code)
        body, pbody = r1.content.decode(), r2.content.decode()
        assert "4111 1111 1111 1111" not in body and "4111111111111111" not in body, name
        real = VARIANTS[name] is None  # the shipped views
        decrypts = "decrypt" in name or "all" in name or real
        masks = "mask" in name or "all" in name or real
        assert (subject in body) == decrypts, (name, "subject")
        assert ("bytes sealed" in body) == (not decrypts), (name, "sealed")
        assert (clear_email in pbody) == (decrypts and not masks), (name, "email")
        if masks:
            assert "•••" in pbody, (name, "masked")
        audits = real or name in ("off+audit", "off+all")
        assert events == (2 if audits else 0), (name, events)
        report[name] = {"page_bytes": len(r1.content), "panel_bytes": len(r2.content),
                        "audit_events_per_view": events, "shows_plaintext_text": decrypts,
                        "customer_values": "masked" if masks else
                        "clear" if decrypts else "ciphertext length"}
    return report


def query_counts(client: Any, urls: dict[str, tuple[str, str]]) -> dict[str, dict[str, int]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out = {}
    for name, (page, panel) in urls.items():
        with audit_writes(inline=name in INLINE_AUDIT):
            with CaptureQueriesContext(connection) as q1:
                client.get(page)
            with CaptureQueriesContext(connection) as q2:
                client.get(panel, HTTP_HX_REQUEST="true")
        out[name] = {"page": len(q1.captured_queries), "panel": len(q2.captured_queries)}
    return out


def probes(user: Any, data: Any) -> dict[str, Any]:
    """In-process cost of single selector calls the two views make (median of 50 after 10
    warm-up calls): where the safeguards' time goes, and what grows with the agent's scope."""
    from dataset import principal_for
    from django.db import transaction

    from safeguard.audit import services as audit
    from safeguard.cases import selectors
    from safeguard.cases.selectors import cases as case_selectors
    from safeguard.customers.selectors import customer_allowed, customer_scope_for

    principal = principal_for(user)
    number = data.target_case

    def audited() -> None:
        with transaction.atomic():
            audit.record(action="case.viewed", actor=principal.actor,
                         subject=("case", number), data={"number": number, "probe": True})

    calls = {
        "customer_scope_for": lambda: customer_scope_for(viewer=principal),
        "customer_allowed (one EXISTS, what the panel runs)":
            lambda: customer_allowed(viewer=principal, customer_id=UUID(data.target_customer)),
        "scoped_case_lookup (cases.selectors.cases._case)":
            lambda: case_selectors._case(principal, number),
        "case_marker": lambda: selectors.case_marker(principal=principal, number=number),
        "assignable_users": lambda: selectors.assignable_users(principal=principal,
                                                               number=number),
        "queue_list_for (queues with open/breached counts)":
            lambda: selectors.queue_list_for(principal=principal),
        "audit.record in its own transaction": audited,
    }
    out: dict[str, Any] = {
        "customer_ids_materialised": len(customer_scope_for(viewer=principal).customer_ids)}
    for name, call in calls.items():
        times = []
        for _ in range(60):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        out[name] = latency_ms(times[10:])
    return out


def analyze() -> None:
    """Fresh planner statistics after the bulk ingest, as autovacuum would give a live system."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(client: Any, urls: dict[str, tuple[str, str]], rounds: int,
            warmup: int) -> dict[str, dict[str, list[float]]]:
    rng = random.Random(SEED)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"page": [], "panel": [], "pair": [], "page_cpu": [], "panel_cpu": [],
               "pair_cpu": []} for name in urls}
    names = list(urls)
    for _ in range(warmup):
        for name in names:
            fetch_pair(client, *urls[name], inline_audit=name in INLINE_AUDIT)
    last = time.perf_counter()
    for r in range(rounds):
        rng.shuffle(names)
        for name in names:
            r1, r2, page, panel, page_cpu, panel_cpu = fetch_pair(
                client, *urls[name], inline_audit=name in INLINE_AUDIT)
            if r1.status_code != 200 or r2.status_code != 200:
                raise SystemExit(f"{name}: {r1.status_code}/{r2.status_code}")
            s = samples[name]
            s["page"].append(page)
            s["panel"].append(panel)
            s["pair"].append(page + panel)
            s["page_cpu"].append(page_cpu)
            s["panel_cpu"].append(panel_cpu)
            s["pair_cpu"].append(page_cpu + panel_cpu)
        if time.perf_counter() - last > 15:
            last = time.perf_counter()
            say(f"    round {r + 1} / {rounds}")
    return samples


def summarise(samples: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, s in samples.items():
        out[name] = {k: latency_ms(v) for k, v in s.items()}
    off = samples["off"]

    def overhead(name: str, key: str, q: float) -> float:
        return round(100 * (percentile(samples[name][key], q) / percentile(off[key], q) - 1), 1)

    def paired(name: str, key: str) -> float:
        # Round i of every variant ran within the same second or so: the median of the
        # per-round ratios cancels the drift a shared machine adds to both.
        ratios = [a / b for a, b in zip(samples[name][key], off[key], strict=True)]
        return round(100 * (percentile(ratios, 50) - 1), 1)

    ratios = {}
    for name in samples:
        if name == "off":
            continue
        ratios[name] = {
            "pair_median_pct": overhead(name, "pair", 50),
            "pair_paired_median_pct": paired(name, "pair"),
            "pair_cpu_paired_median_pct": paired(name, "pair_cpu"),
            "pair_p95_pct": overhead(name, "pair", 95),
            "pair_p99_pct": overhead(name, "pair", 99),
            "pair_cpu_median_pct": overhead(name, "pair_cpu", 50),
            "page_median_pct": overhead(name, "page", 50),
            "panel_median_pct": overhead(name, "panel", 50),
            "added_ms_pair_median": round(1000 * (percentile(samples[name]["pair"], 50)
                                                  - percentile(off["pair"], 50)), 2),
        }
    return {"latency_ms": out, "overhead_vs_off": ratios}


def child(backend: str, sizes: dict[str, int], part: Path) -> None:
    import django

    django.setup()
    import dataset
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from safeguard.accounts.models import User

    say(f"[{backend}] migrating")
    call_command("migrate", verbosity=0)
    say(f"[{backend}] building the dataset through the services")
    t0 = time.perf_counter()
    data = dataset.build(customers=sizes["customers"], cases=sizes["cases"],
                         target_messages=sizes["target_messages"], progress=say)
    build_s = time.perf_counter() - t0
    analyze()
    user = User.objects.get(email=data.bench_agent_email)
    client = dataset.signed_in_client(user)
    urls = urls_for(data.target_case, data.target_customer)
    result: dict[str, Any] = {"backend": backend, "server_version": server_version(connection),
                              "dataset": {**data.as_dict(), "build_seconds": round(build_s, 1)},
                              "load_average_1m_before": round(os.getloadavg()[0], 2)}
    with override_settings(ROOT_URLCONF="case_view_baseline"):
        say(f"[{backend}] checking what each variant shows and records")
        result["checks"] = check(client, urls, data)
        result["queries_per_request"] = query_counts(client, urls)
        result["probes_ms"] = probes(user, data)
        say(f"[{backend}] {sizes['rounds']} rounds x {len(urls)} variants (page + panel)")
        t0 = time.perf_counter()
        samples = measure(client, urls, sizes["rounds"], sizes["warmup"])
        result["measure_seconds"] = round(time.perf_counter() - t0, 1)
    result.update(summarise(samples))
    on = result["overhead_vs_off"]["on"]
    result["target"] = {"overhead_at_most_pct": TARGET_OVERHEAD * 100,
                        "measured_pair_median_pct": on["pair_median_pct"],
                        "measured_paired_median_pct": on["pair_paired_median_pct"],
                        "measured_cpu_paired_median_pct": on["pair_cpu_paired_median_pct"],
                        "met": on["pair_median_pct"] <= TARGET_OVERHEAD * 100}
    result["urls"] = {k: {"page": v[0], "panel": v[1]} for k, v in urls.items()}
    result["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    from django.conf import settings

    from safeguard.audit import background

    result["audit_integration"] = settings.SAFEGUARD_AUDIT_INTEGRATION
    it = background.current()
    if it is not None:
        result["background_integrator"] = {"runs": it.runs, "integrated": it.integrated,
                                           "failures": it.failures}
    from safeguard.audit import readwriter

    writer = readwriter.current()
    result["audit_read_writer"] = settings.SAFEGUARD_AUDIT_READ_WRITER
    if writer is not None:
        result["read_writer"] = {"entries": writer.written, "statements": writer.statements}
    readwriter.stop()
    background.stop()
    part.write_text(json.dumps(result, indent=2), encoding="utf-8")


# --- entry point -------------------------------------------------------------------------------


OFF_REMOVES = {
    "decrypt": "no AEAD decryption: every encrypted column the page or panel shows (case "
    "subject, message bodies, attachment names, transcripts, recording, the customer's name, "
    "e-mail, phone, address, date of birth, payout) renders '[N bytes sealed]', the length of "
    "its stored ciphertext, read from the loaded row without opening it",
    "mask": "no masking of the customer's values and no lookup of the viewer's reveal grants",
    "scope": "no split-access scope: the case is fetched by number (the real page resolves it "
    "once through scope.visible_cases, in case_page) and the customer by id (the real panel "
    "first checks customer_allowed: one EXISTS over the agent's cases)",
    "audit": "no audit records: neither case.viewed nor customer.viewed (each one INSERT that "
    "commits on its own: neither view wraps its reads in a transaction)",
}
OFF_KEEPS = (
    "the whole middleware stack (sessions with the idle-timeout write, authentication, MFA "
    "gate, CSRF, CSP, audit request context, Prometheus), the cases.view / customers.view "
    "permission checks, every other read (case with queue/assignee/tags, interactions, "
    "messages with authors and attachment metadata, history, CSAT, merged cases, assignable "
    "members, the live-refresh marker, macros, the agent's queues with counts, identity "
    "verifications, pending approvals), the same frozen context objects and the same "
    "templates (cases/detail.html, customers/_panel.html)"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, 40 rounds (< 1 min)")
    parser.add_argument("--rounds", type=int, help="override the number of measured rounds")
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
    if args.rounds:
        sizes["rounds"] = args.rounds
    started = time.perf_counter()
    backends: dict[str, Any] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend not in {"sqlite", "postgresql"}:
            parser.error(f"unknown backend {backend!r}")
        say(f"== {backend}")
        backends[backend] = run_backend(backend, sizes, args.pg_host, args.pg_user)
    report = {
        "benchmark": "cases_view",
        "quick": args.quick,
        "sizes": sizes,
        "backends": backends,
        "method": {
            "request": "in-process django.test.Client, signed-in agent (password + TOTP "
            "session), warm; one sample = GET the case page, then GET its customer panel with "
            "HX-Request (what the browser does on opening a case)",
            "on": "the console as shipped: /cases/<n>/ and /customers/<id>/panel/",
            "off": "bench-local views (bench/cases/case_view_baseline.py) over the same rows",
            "off_removes": OFF_REMOVES,
            "off_keeps": OFF_KEEPS,
            "variants": {k: ("real views, SAFEGUARD_AUDIT_READ_WRITER=inline (the request "
                             "commits its own entries, as before decision 0282)"
                             if k in INLINE_AUDIT else "real views" if v is None
                             else f"baseline ?with={v or '(none)'}")
                         for k, v in VARIANTS.items()},
            "queries": "statements on the request's connection; with the read writer "
            "(decision 0282) the audit INSERTs travel on the writer thread's connection",
            "order": "every round runs every variant once in a shuffled order (seeded)",
            "overhead": "on / off - 1 of the page + panel time (median, p95, p99; wall time; "
            "CPU time of this process as a cross-check)",
            "target": f"overhead of the median page + panel at most {TARGET_OVERHEAD:.0%}",
        },
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    path = write_result("view", report)
    print_summary(report)
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


def print_summary(report: dict[str, Any]) -> None:
    sizes = report["sizes"]
    print(f"Case view (page + customer panel), {sizes['rounds']} rounds per variant, "
          f"target case of {sizes['target_messages']} messages")
    for backend, data in report["backends"].items():
        if "skipped" in data:
            print(f"\n{backend}: skipped: {data['skipped']}")
            continue
        ds = data["dataset"]
        print(f"\n{backend} ({data['server_version']}): {ds['cases_total']} cases, "
              f"{ds['cases_in_agent_scope']} in the agent's scope "
              f"({ds['customers_in_agent_scope']} customers)")
        print(f"{'variant':17s} {'median':>8s} {'p95':>8s} {'p99':>8s} {'CPU med':>8s} "
              f"{'vs off':>7s} {'paired':>7s} {'CPU':>7s} {'p99':>7s} {'queries':>8s}")
        for name, lat in data["latency_ms"].items():
            pair, cpu = lat["pair"], lat["pair_cpu"]
            r = data["overhead_vs_off"].get(name)
            cells = ([f"{r[k]:+.1f}%" for k in ("pair_median_pct", "pair_paired_median_pct",
                                                  "pair_cpu_paired_median_pct", "pair_p99_pct")]
                     if r else ["—"] * 4)
            q = data["queries_per_request"][name]
            print(f"{name:17s} {pair['median']:>8.2f} {pair['p95']:>8.2f} {pair['p99']:>8.2f} "
                  f"{cpu['median']:>8.2f} " + " ".join(f"{c:>7s}" for c in cells)
                  + f" {q['page']:>4d}+{q['panel']:<3d}")
        t = data["target"]
        print(f"target: overhead <= {t['overhead_at_most_pct']:.0f} % -> "
              f"{t['measured_pair_median_pct']:+.1f} % ({'met' if t['met'] else 'NOT met'}; "
              f"paired {t['measured_paired_median_pct']:+.1f} %, "
              f"CPU {t['measured_cpu_paired_median_pct']:+.1f} %); "
              f"scope check materialises {data['probes_ms']['customer_ids_materialised']} "
              f"customer ids in {data['probes_ms']['customer_scope_for']['median']:.2f} ms")
        print("single calls, median ms: " + ", ".join(
            f"{k.split(' (')[0]} {v['median']:.2f}" for k, v in data["probes_ms"].items()
            if isinstance(v, dict)))
    print(f"\nms per page + panel (wall, CPU of the process); 'vs off' = ratio of medians, "
          f"'paired' = median of per-round ratios, 'CPU' = the same on CPU time; "
          f"wall time {report['wall_seconds']} s")


if __name__ == "__main__":
    raise SystemExit(main())
