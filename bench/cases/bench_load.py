"""Load on PostgreSQL: concurrent signed-in agents opening cases through gunicorn, driven by wrk.

1. A fresh PostgreSQL database (``createdb -h 127.0.0.1 -U postgres``, dropped afterwards) and a
   throwaway data directory. A setup child migrates it and builds the dataset through the
   services (``dataset.py``: demo customers, background cases via ``message_receive``, the
   30-message target case) with ``agents`` load agents (role *agent*, TOTP enrolled, members
   of the billing and tech queues), then signs every agent in: a database session that passed
   password + TOTP now (``tests.factories.signed_in_client``'s records), its cookie written to a
   targets file with 40 cases from that agent's scope (page and customer-panel paths).
2. gunicorn with the shipped ``docs/deploy/gunicorn.conf.py`` (sync workers, keep-alive 5 s,
   workers recycled every ~2000 requests, Prometheus multiprocess directory) on a free loopback
   port, ``--workers`` workers (default 4). Mode: ``SAFEGUARD_ENV=demo`` with DEBUG off —
   production mode refuses plain HTTP (HTTPS redirect, secure cookies) and the dev key provider,
   and needs TLS in front; demo differs from production only in those, the file cache instead
   of Redis and the dev key file (keysets are cached, so the key provider is off the request
   path). Everything on the request path is the production code: middleware, sessions in
   PostgreSQL, MFA gate, scope, decryption, masking and an audit append per page and per panel.
3. wrk (``apt-get install -y wrk``) with ``load.lua``: every connection is one agent; requests
   rotate over all agents' cookies and cases. Phases:

   * ``warmup`` (not reported): ``agents`` connections, closed loop, so every worker has loaded
     its keysets, scanner and templates;
   * ``unloaded``: one connection, closed loop;
   * ``capacity``: ``agents`` connections, closed loop (no think time): the most this machine
     serves;
   * ``paced`` (the headline): open loop at the stated rate (``--rate`` requests/s; default half
     the measured capacity), Poisson arrivals spread over every agent's session and cases; each
     arrival opens a case as a browser does: the page, then its customer panel (``rate / 2``
     case views/s). Latency counts from the scheduled arrival, so queueing is never hidden;
   * ``paced_page``: the same case views per second (``rate / 2`` requests/s), pages only: the
     page's own latency at that load.

   The paced phases use a small Python driver (threads, one fresh connection per request, the
   request written whole) instead of wrk's think time: wrk reconnects at once and then idles on
   the open connection for the think time, and a gunicorn *sync* worker that has accepted a
   connection waits for its request — one idle agent ties up one worker. Production puts nginx
   in front (docs/deploy.md), which hands gunicorn only complete requests; the driver does the
   same. Each phase reports requests/s, latency p50/p90/p99 and errors (socket errors and any
   status but 200: a redirect would be the sign-in or MFA page).
4. Cross-checks after the run: audit events written = case pages + panels served (every view
   is recorded), gunicorn CPU seconds per request (master's reaped children + live workers).

    .venv/bin/python bench/cases/bench_load.py [--quick] [--agents K] [--workers N] [--rate R]

Full: 400 customers, 2,000 cases, 20 agents, phases 5 (warm-up) + 5 + 30 + 90 + 45 s (about
4-5 minutes with setup); ``--quick``: 60 customers, 100 cases, 8 agents, phases 3 + 3 + 8 + 15
+ 8 s (about a minute). Writes bench/results/cases_load.json.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    HERE,
    ROOT,
    child_env,
    machine,
    percentile,
    say,
    throwaway_database,
    write_result,
)

CASES_PER_AGENT = 40


def plan(*, quick: bool, agents: int | None) -> dict[str, Any]:
    if quick:
        sizes = {"customers": 60, "cases": 100, "target_messages": 30, "agents": 8,
                 "phases_s": {"warmup": 3, "unloaded": 3, "capacity": 8, "paced": 15,
                              "paced_page": 8}}
    else:
        sizes = {"customers": 400, "cases": 2000, "target_messages": 30, "agents": 20,
                 "phases_s": {"warmup": 5, "unloaded": 5, "capacity": 30, "paced": 90,
                              "paced_page": 45}}
    if agents:
        sizes["agents"] = agents
    return sizes


# --- setup child (Django, in the bench database) ----------------------------------------------


def setup_child(sizes: dict[str, Any], targets: Path, out: Path) -> None:
    import django

    django.setup()
    import dataset
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from safeguard.accounts.models import User

    say("[setup] migrating")
    call_command("migrate", verbosity=0)
    say("[setup] building the dataset through the services")
    t0 = time.perf_counter()
    data = dataset.build(customers=sizes["customers"], cases=sizes["cases"],
                         target_messages=sizes["target_messages"], load_agents=sizes["agents"],
                         progress=say)
    build_s = time.perf_counter() - t0
    with connection.cursor() as cursor:  # planner statistics, as autovacuum gives a live system
        cursor.execute("ANALYZE")
    lines = []
    for email in data.agents:
        user = User.objects.get(email=email)
        session = dataset.signed_in_client(user).session
        cookie = f"{settings.SESSION_COOKIE_NAME}={session.session_key}"
        numbers = data.agent_case_numbers[email][:CASES_PER_AGENT - 1]
        customers = data.agent_customer_ids[email][:CASES_PER_AGENT - 1]
        # Every agent also opens the big target case now and then.
        numbers.append(data.target_case)
        customers.append(data.target_customer)
        for number, customer in zip(numbers, customers, strict=True):
            lines.append(f"{cookie}\t/cases/{number}/\t/customers/{customer}/panel/")
    # Interleave agents so consecutive requests come from different sessions.
    per_agent = len(lines) // max(1, len(data.agents))
    order = [lines[a * per_agent + i] for i in range(per_agent) for a in range(len(data.agents))]
    targets.write_text("\n".join(order) + "\n", encoding="utf-8")
    out.write_text(json.dumps({**data.as_dict(), "build_seconds": round(build_s, 1),
                               "target_lines": len(order)}), encoding="utf-8")


# --- parent ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:  # noqa: S310 - loopback
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer {base}/healthz within {timeout} s")


def run_wrk(base: str, targets: Path, *, connections: int, seconds: int, think_ms: float,
            mode: str, threads: int = 2) -> dict[str, Any]:
    """One wrk phase; returns its numbers (latencies in ms)."""
    command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d",
               f"{seconds}s", "--timeout", "10s", "-s", str(HERE / "load.lua"), base, "--",
               str(targets), f"{think_ms:.1f}", mode]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout[-800:]} "
                         f"{done.stderr[-800:]}")
    raw = json.loads(line[len("WRKJSON "):])
    seconds_run = raw["duration_us"] / 1e6
    lat = {k: round(v / 1000, 2) for k, v in raw["latency_us"].items()}
    errors = (sum(raw["socket_errors"].values()) + raw["status"]["3xx"] + raw["status"]["4xx"]
              + raw["status"]["5xx"] + raw["status"]["other"])
    return {
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "connections": connections,
        "think_ms_mean": round(think_ms, 1),
        "mode": mode,
        "seconds": round(seconds_run, 2),
        "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / seconds_run, 1),
        "latency_ms": lat,
        "errors": errors,
        "status": raw["status"],
        "socket_errors": raw["socket_errors"],
        "mb_per_s": round(raw["bytes"] / seconds_run / 1e6, 2),
    }


def _get(port: int, path: str, cookie: str, htmx: bool) -> int:
    """One GET on a fresh connection, the whole request sent at once (as nginx hands requests to
    gunicorn); returns the status after reading the whole body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Cookie": cookie, "Connection": "close"}
        if htmx:
            headers["HX-Request"] = "true"
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def run_paced(port: int, targets: Path, *, rate: float, seconds: int, mode: str,
              seed: int = 20240305) -> dict[str, Any]:
    """Open-loop load: requests arrive at ``rate`` per second (Poisson), whatever the answers
    do; latency counts from the scheduled arrival, so queueing is never hidden.

    ``mode`` "view": each arrival opens a case as a browser does — the page, then its customer
    panel on the same session — so ``rate`` requests/s are ``rate / 2`` case views/s; "page":
    each arrival is one case page.
    """
    lines = [line.split("\t") for line in targets.read_text(encoding="utf-8").splitlines()
             if line.count("\t") == 2]
    rng = random.Random(seed)
    arrivals_per_s = rate / 2 if mode == "view" else rate
    results: list[tuple[str, float, int]] = []  # (kind, latency s, status)
    lock = threading.Lock()

    def one(i: int, due: float) -> None:
        cookie, page, panel = lines[i % len(lines)]
        steps = [("page", page, False)] + ([("panel", panel, True)] if mode == "view" else [])
        arrival, mine = due, []
        for kind, path, htmx in steps:
            try:
                status = _get(port, path, cookie, htmx)
            except OSError:
                status = -1
            done = time.perf_counter()
            mine.append((kind, done - due, status))
            due = done  # the panel is asked for when the page has arrived
        if mode == "view":
            mine.append(("view", due - arrival, 200 if all(m[2] == 200 for m in mine) else 0))
        with lock:
            results.extend(mine)

    started = time.perf_counter()
    due = started
    i = 0
    with ThreadPoolExecutor(max_workers=64) as pool:
        while True:
            due += rng.expovariate(arrivals_per_s)
            if due - started > seconds:
                break
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pool.submit(one, i, due)
            i += 1
    elapsed = time.perf_counter() - started
    requests = [r for r in results if r[0] != "view"]
    out: dict[str, Any] = {
        "driver": "python open loop (Poisson arrivals, latency from the scheduled arrival)",
        "mode": mode,
        "stated_requests_per_s": rate,
        "seconds": round(elapsed, 2),
        "requests": len(requests),
        "requests_per_s": round(len(requests) / elapsed, 1),
        "errors": sum(1 for r in requests if r[2] != 200),
        "status": {str(code): sum(1 for r in requests if r[2] == code)
                   for code in sorted({r[2] for r in requests})},
        "latency_ms": _ms([r[1] for r in requests]),
    }
    for kind in ("page", "panel", "view"):
        chosen = [r[1] for r in results if r[0] == kind]
        if chosen:
            out[f"{kind}_latency_ms"] = _ms(chosen)
    out["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    return out


def _ms(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {}
    return {"n": len(ms), "p50": round(percentile(ms, 50), 1), "p90": round(percentile(ms, 90), 1),
            "p99": round(percentile(ms, 99), 1), "max": round(ms[-1], 1)}


def _ticks(pid: int, *, children: bool) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # fields[11..14] = utime, stime, cutime, cstime (stat fields 14-17)
    own = int(fields[11]) + int(fields[12])
    return own + (int(fields[13]) + int(fields[14]) if children else 0)


def gunicorn_cpu_seconds(master: int) -> float:
    """CPU of the master, its reaped workers (cutime) and its live workers."""
    total = _ticks(master, children=True)
    for child in Path(f"/proc/{master}/task/{master}/children").read_text().split():
        # A worker recycled just now is counted in the master's cutime once reaped.
        with contextlib.suppress(FileNotFoundError):
            total += _ticks(int(child), children=False)
    return total / os.sysconf("SC_CLK_TCK")


def psql(url_db: str, host: str, user: str, sql: str) -> str:
    done = subprocess.run(["psql", "-h", host, "-U", user, "-d", url_db, "-tA", "-c", sql],
                          capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def run(args: argparse.Namespace, sizes: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    with throwaway_database("postgresql", pg_host=args.pg_host, pg_user=args.pg_user,
                            tag="load") as (url, workdir, why):
        if url is None:
            return {"skipped": why}
        database = url.rsplit("/", 1)[1]
        targets, facts = workdir / "targets.tsv", workdir / "dataset.json"
        prom = workdir / "prometheus"
        prom.mkdir()
        env = child_env(mode="demo", url=url, workdir=workdir, SAFEGUARD_DEBUG="0",
                        SAFEGUARD_ALLOWED_HOSTS="127.0.0.1,localhost",
                        SAFEGUARD_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                        SAFEGUARD_HUEY_IMMEDIATE="1", PROMETHEUS_MULTIPROC_DIR=str(prom))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--setup",
                        json.dumps(sizes), "--targets", str(targets), "--facts", str(facts)],
                       env=env, check=True, cwd=ROOT)
        setup_s = time.perf_counter() - t0
        data = json.loads(facts.read_text(encoding="utf-8"))

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (workdir / "gunicorn.log").open("w")
        server_env = {**env, "SAFEGUARD_BIND": f"127.0.0.1:{port}",
                      "SAFEGUARD_WEB_WORKERS": str(args.workers), "SAFEGUARD_LOG_LEVEL":
                      "WARNING"}
        server_env.pop("SAFEGUARD_HUEY_IMMEDIATE")  # the web process only enqueues
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--config",
             str(ROOT / "docs" / "deploy" / "gunicorn.conf.py"), "safeguard.wsgi:application"],
            env=server_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            wait_ready(base)
            p = sizes["phases_s"]
            k = sizes["agents"]
            say(f"[load] warm-up (not reported): {k} connections, {p['warmup']} s")
            run_wrk(base, targets, connections=k, seconds=p["warmup"], think_ms=0, mode="view")
            time.sleep(1.0)  # the warm-up's requests still in flight finish (and are audited)
            audit_before = int(psql(database, args.pg_host, args.pg_user,
                                    "SELECT coalesce(max(seq), 0) FROM audit_event"))
            cpu_before = gunicorn_cpu_seconds(server.pid)
            phases: dict[str, Any] = {}
            say(f"[load] unloaded: 1 connection, {p['unloaded']} s")
            phases["unloaded"] = run_wrk(base, targets, connections=1, seconds=p["unloaded"],
                                         think_ms=0, mode="view", threads=1)
            say(f"[load] capacity: {k} agents, no think time, {p['capacity']} s")
            phases["capacity"] = run_wrk(base, targets, connections=k, seconds=p["capacity"],
                                         think_ms=0, mode="view")
            capacity = phases["capacity"]["requests_per_s"]
            rate = args.rate or max(1.0, round(capacity * 0.5))
            say(f"[load] paced: {rate} req/s open loop ({rate / 2:g} case views/s), "
                f"{p['paced']} s")
            phases["paced"] = run_paced(port, targets, rate=rate, seconds=p["paced"],
                                        mode="view")
            # The same case views per second, pages only: the page's own latency at that load
            # (pages cost about twice a panel, so the same request rate would be more load).
            say(f"[load] paced, case pages only: {rate / 2:g} req/s, {p['paced_page']} s")
            phases["paced_page"] = run_paced(port, targets, rate=rate / 2,
                                             seconds=p["paced_page"], mode="page")
            cpu_after = gunicorn_cpu_seconds(server.pid)
            time.sleep(0.5)
            audited = dict(line.split("|") for line in psql(
                database, args.pg_host, args.pg_user,
                "SELECT action, count(*) FROM audit_event WHERE seq > "  # noqa: S608 - an int
                f"{int(audit_before)} GROUP BY action ORDER BY action").splitlines() if line)
            pg_size = int(psql(database, args.pg_host, args.pg_user,
                               "SELECT pg_database_size(current_database())"))
            pg_version = psql(database, args.pg_host, args.pg_user, "SHOW server_version")
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
        served = sum(ph["status"]["200"] for ph in phases.values())
        audited_views = sum(int(v) for a, v in audited.items()
                            if a in ("case.viewed", "customer.viewed"))
        # wrk stops counting at the end of a phase while the server finishes the requests in
        # flight (at most one per connection), which it audits.
        in_flight = sum(ph.get("connections", 0) for ph in phases.values())
        requests = sum(ph["requests"] for ph in phases.values())
        log_lines = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
        log_tail = log_lines[-15:]
        # max_requests in the shipped config: each recycle boots a cold worker mid-run.
        recycles = sum("Autorestarting worker" in line for line in log_lines)
        return {
            "server_version": f"PostgreSQL {pg_version}",
            "database_bytes_after": pg_size,
            "dataset": data,
            "setup_seconds": round(setup_s, 1),
            "server": {"gunicorn_workers": args.workers, "worker_class": "sync",
                       "config": "docs/deploy/gunicorn.conf.py", "mode": "SAFEGUARD_ENV=demo, "
                       "DEBUG off, SAFEGUARD_LOG_LEVEL=WARNING", "bind": "127.0.0.1 (loopback)"},
            "stated_rate_per_s": rate,
            "rate_rule": "--rate" if args.rate else "half the capacity phase's requests/s",
            "phases": phases,
            "cross_checks": {
                "status_200_responses": served,
                "audit_events_by_action": {a: int(v) for a, v in audited.items()},
                "every_view_audited": served <= audited_views <= served + in_flight,
                "audit_rule": "case.viewed + customer.viewed events = 200 responses, plus at "
                "most one request in flight per connection at the end of each phase (served "
                "and audited, but no longer counted by wrk)",
                "gunicorn_cpu_seconds": round(cpu_after - cpu_before, 1),
                "gunicorn_cpu_ms_per_request": round(1000 * (cpu_after - cpu_before)
                                                     / max(1, requests), 2),
                "worker_recycles": recycles,
            },
            "gunicorn_log_tail": [line[:300] for line in log_tail if "WARNING" in line
                                  or "ERROR" in line or "Traceback" in line][-5:],
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, short phases")
    parser.add_argument("--agents", type=int, help="concurrent agents (wrk connections)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--rate", type=float, help="stated request rate of the paced phases")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    parser.add_argument("--setup", help=argparse.SUPPRESS)
    parser.add_argument("--targets", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--facts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.setup:
        setup_child(json.loads(args.setup), args.targets, args.facts)
        return 0

    sizes = plan(quick=args.quick, agents=args.agents)
    started = time.perf_counter()
    result = run(args, sizes)
    report = {
        "benchmark": "cases_load",
        "quick": args.quick,
        "sizes": sizes,
        "result": result,
        "method": {
            "driver": "wrk 4 with bench/cases/load.lua: one connection per agent, 2 threads, "
            "cookies and cases rotated per request; latency per request from send to full "
            "response (wrk), percentiles from wrk's histogram",
            "view": "mode 'view' alternates the case page and its customer panel (HX-Request), "
            "as a browser opening cases does; 'page' requests case pages only",
            "pacing": "per-connection think time, exponentially distributed with mean "
            "agents / rate - unloaded median latency; the achieved rate is reported (it falls "
            "short of the stated one when latency grows)",
            "errors": "socket errors (connect, read, write, timeout) plus every status but 200",
        },
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": {**machine(), "same_machine": "wrk, gunicorn and PostgreSQL share the 2 "
                    "cores: the capacity is the capacity of this box, not of the server alone"},
    }
    path = write_result("load", report)
    print_summary(report)
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


def print_summary(report: dict[str, Any]) -> None:
    result = report["result"]
    if "skipped" in result:
        print(f"load benchmark skipped: {result['skipped']}")
        return
    ds, srv = result["dataset"], result["server"]
    print(f"Load on {result['server_version']}: gunicorn {srv['gunicorn_workers']} sync workers "
          f"(demo mode, DEBUG off), {report['sizes']['agents']} agents, {ds['cases_total']} "
          f"cases ({ds['cases_in_agent_scope']} in the agents' queues)")
    print(f"{'phase':11s} {'driver':>9s} {'req/s':>7s} {'p50 ms':>7s} {'p90 ms':>7s} "
          f"{'p99 ms':>7s} {'max ms':>7s} {'errors':>6s} {'requests':>8s}")
    for name, ph in result["phases"].items():
        lat = ph["latency_ms"]
        driver = f"wrk c={ph['connections']}" if "connections" in ph else "open loop"
        print(f"{name:11s} {driver:>9s} {ph['requests_per_s']:>7.1f} {lat['p50']:>7.1f} "
              f"{lat['p90']:>7.1f} {lat['p99']:>7.1f} {lat['max']:>7.1f} {ph['errors']:>6d} "
              f"{ph['requests']:>8d}")
        for kind in ("page", "panel", "view"):
            if f"{kind}_latency_ms" in ph and name == "paced":
                k = ph[f"{kind}_latency_ms"]
                print(f"  {kind:9s} {'':>9s} {'':>7s} {k['p50']:>7.1f} {k['p90']:>7.1f} "
                      f"{k['p99']:>7.1f} {k['max']:>7.1f}")
    cc = result["cross_checks"]
    audited = sum(v for a, v in cc["audit_events_by_action"].items()
                  if a in ("case.viewed", "customer.viewed"))
    print(f"stated rate {result['stated_rate_per_s']} req/s ({result['rate_rule']}); "
          f"view events audited {audited} for {cc['status_200_responses']} "
          f"views ({'all audited' if cc['every_view_audited'] else 'MISMATCH'}); gunicorn CPU "
          f"{cc['gunicorn_cpu_ms_per_request']} ms/request, {cc['worker_recycles']} worker "
          f"recycles (max_requests); wall {report['wall_seconds']} s")


if __name__ == "__main__":
    raise SystemExit(main())
