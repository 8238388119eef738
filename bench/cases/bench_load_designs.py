"""The customer platform under load, old audit design against new, in one run (issue 10).

gunicorn (the shipped ``docs/deploy/gunicorn.conf.py``, sync workers), PostgreSQL, concurrent
signed-in agents opening cases (the case page, then its customer panel), as ``bench_load.py``
does — same dataset builder, same drivers — but with **two servers side by side on the same
database**, differing in one setting:

* ``old``: ``SAFEGUARD_AUDIT_INTEGRATION=in_transaction`` — every audited request takes the
  integrator lock and sequences its own event inside its own transaction, holding the lock
  until it commits: the serialised behaviour of the pre-queue design (one global lock per
  request; it writes a queue row too, so it is slightly dearer than the pre-queue code was);
* ``new``: ``SAFEGUARD_AUDIT_INTEGRATION=background`` (shipped, decision 0181) — the request
  inserts its queue row; the commit wakes the worker process's integrator thread.

Phases, interleaved so drift on the shared machine hits both alike: a warm-up of each; the
capacity of each (wrk, one connection per agent, closed loop); then, for each design, open-loop
steps (Poisson arrivals, latency from the scheduled arrival, a fresh connection per request as
nginx hands gunicorn complete requests) at 30, 50, 70, 85 and 100 % of that design's capacity,
old and new alternating step by step. The headline per design is the **highest stated rate
whose step had p99 < 200 ms and no error** (any status but 200, any socket error).

Cross-checks: every view served is audited (events = 200 responses, plus at most one request
in flight per wrk connection), the queue is empty at the end, and the log is gap-free.

    .venv/bin/python bench/cases/bench_load_designs.py [--quick] [--agents K] [--workers N]

Needs wrk (``apt-get install -y wrk``) and ``createdb`` on 127.0.0.1 as ``postgres``. Default:
200 customers, 400 cases, 20 agents, 4 workers per server, steps of 10 s (about 4-5 minutes);
``--quick``: 60 customers, 100 cases, 8 agents, steps of 5 s (about 2 minutes). Writes
bench/results/cases_load_designs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_load
from common import ROOT, child_env, machine, say, throwaway_database, write_result

DESIGNS = {"old": "in_transaction", "new": "background"}
STEPS = (0.3, 0.5, 0.7, 0.85, 1.0)
P99_LIMIT_MS = 200.0


def plan(*, quick: bool, agents: int | None) -> dict[str, Any]:
    sizes: dict[str, Any] = (
        {"customers": 60, "cases": 100, "target_messages": 30, "agents": 8,
         "phases_s": {"warmup": 3, "capacity": 6, "step": 5}} if quick else
        {"customers": 200, "cases": 400, "target_messages": 30, "agents": 20,
         "phases_s": {"warmup": 4, "capacity": 12, "step": 10}})
    if agents:
        sizes["agents"] = agents
    return sizes


def start_server(env: dict[str, str], workdir: Path, design: str, workers: int,
                 prom: Path) -> tuple[subprocess.Popen[bytes], int, Any]:
    port = bench_load.free_port()
    log = (workdir / f"gunicorn-{design}.log").open("w")
    server_env = {**env, "SAFEGUARD_BIND": f"127.0.0.1:{port}",
                  "SAFEGUARD_WEB_WORKERS": str(workers), "SAFEGUARD_LOG_LEVEL": "WARNING",
                  "SAFEGUARD_AUDIT_INTEGRATION": DESIGNS[design],
                  "PROMETHEUS_MULTIPROC_DIR": str(prom / design)}
    (prom / design).mkdir(parents=True)
    server_env.pop("SAFEGUARD_HUEY_IMMEDIATE", None)  # the web process only enqueues
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "--config",
         str(ROOT / "docs" / "deploy" / "gunicorn.conf.py"), "safeguard.wsgi:application"],
        env=server_env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return server, port, log


def stop_server(server: subprocess.Popen[bytes]) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def run(args: argparse.Namespace, sizes: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    with throwaway_database("postgresql", pg_host=args.pg_host, pg_user=args.pg_user,
                            tag="loaddesigns") as (url, workdir, why):
        if url is None:
            return {"skipped": why}
        database = url.rsplit("/", 1)[1]

        def sql(text: str) -> str:
            return bench_load.psql(database, args.pg_host, args.pg_user, text)

        targets, facts, prom = workdir / "targets.tsv", workdir / "dataset.json", workdir / "p"
        env = child_env(mode="demo", url=url, workdir=workdir, SAFEGUARD_DEBUG="0",
                        SAFEGUARD_ALLOWED_HOSTS="127.0.0.1,localhost",
                        SAFEGUARD_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
                        SAFEGUARD_HUEY_IMMEDIATE="1")
        t0 = time.perf_counter()
        setup_sizes = {**sizes, "phases_s": {}}
        subprocess.run([sys.executable, str(Path(bench_load.__file__).resolve()), "--setup",
                        json.dumps(setup_sizes), "--targets", str(targets), "--facts",
                        str(facts)], env=env, check=True, cwd=ROOT)
        setup_s = time.perf_counter() - t0
        data = json.loads(facts.read_text(encoding="utf-8"))
        servers: dict[str, tuple[subprocess.Popen[bytes], int, Any]] = {}
        p, k = sizes["phases_s"], sizes["agents"]
        result: dict[str, Any] = {"dataset": data, "setup_seconds": round(setup_s, 1),
                                  "designs": {d: {"SAFEGUARD_AUDIT_INTEGRATION": m}
                                              for d, m in DESIGNS.items()}}
        try:
            for design in DESIGNS:
                servers[design] = start_server(env, workdir, design, args.workers, prom)
            for design, (_server, port, _log) in servers.items():
                bench_load.wait_ready(f"http://127.0.0.1:{port}")
                say(f"[{design}] warm-up, {k} connections, {p['warmup']} s")
                bench_load.run_wrk(f"http://127.0.0.1:{port}", targets, connections=k,
                                   seconds=p["warmup"], think_ms=0, mode="view")
            # The warm-ups' requests still in flight finish (and are audited) first: wait until
            # the log stops growing (a loaded machine answers in seconds).
            audit_before, deadline = -1, time.monotonic() + 30
            while time.monotonic() < deadline:
                now = int(sql("SELECT coalesce(max(seq), 0) FROM audit_event"))
                if now == audit_before:
                    break
                audit_before = now
                time.sleep(2.0)
            cpu_before = {d: bench_load.gunicorn_cpu_seconds(s[0].pid)
                          for d, s in servers.items()}
            served = 0
            in_flight = 0
            for design, (_server, port, _log) in servers.items():
                say(f"[{design}] capacity: {k} agents, closed loop, {p['capacity']} s")
                cap = bench_load.run_wrk(f"http://127.0.0.1:{port}", targets, connections=k,
                                         seconds=p["capacity"], think_ms=0, mode="view")
                result["designs"][design]["capacity"] = cap
                served += cap["status"]["200"]
                in_flight += k  # wrk stops counting with one request per connection in flight
            for fraction in STEPS:
                for design, (_server, port, _log) in servers.items():
                    capacity = result["designs"][design]["capacity"]["requests_per_s"]
                    rate = max(1.0, round(capacity * fraction, 1))
                    say(f"[{design}] paced at {rate} req/s ({fraction:.0%} of capacity), "
                        f"{p['step']} s")
                    step = bench_load.run_paced(port, targets, rate=rate, seconds=p["step"],
                                                mode="view")
                    step["fraction_of_capacity"] = fraction
                    step["meets_p99_and_no_errors"] = (step["errors"] == 0 and
                                                       step["latency_ms"]["p99"] < P99_LIMIT_MS)
                    result["designs"][design].setdefault("steps", []).append(step)
                    served += step["status"].get("200", 0)
            cpu_after = {d: bench_load.gunicorn_cpu_seconds(s[0].pid)
                         for d, s in servers.items()}
            time.sleep(2.0)  # the background integrators finish the last commits' entries
            queued = int(sql("SELECT count(*) FROM audit_queuedentry"))
            audited = int(sql("SELECT count(*) FROM audit_event WHERE seq > "  # noqa: S608 - int
                              f"{audit_before} AND action IN ('case.viewed', 'customer.viewed')"))
            count, top = sql("SELECT count(*), coalesce(max(seq), 0) FROM audit_event").split("|")
            delay = "extract(epoch FROM integrated_at - at)"
            query = (f"SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY {delay}), 0), "  # noqa: S608 - an int
                     f"coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY {delay}), 0) "
                     f"FROM audit_event WHERE seq > {audit_before}")
            delays = sql(query).split("|")
            pg_version = sql("SHOW server_version")
        finally:
            for server, _port, log in servers.values():
                stop_server(server)
                log.close()
        for design, d in result["designs"].items():
            good = [s for s in d.get("steps", []) if s["meets_p99_and_no_errors"]]
            best = max(good, key=lambda s: s["stated_requests_per_s"], default=None)
            d["rate_at_p99_under_200ms_no_errors"] = (
                {"stated_requests_per_s": best["stated_requests_per_s"],
                 "achieved_requests_per_s": best["requests_per_s"],
                 "p99_ms": best["latency_ms"]["p99"]} if best else None)
            requests = d["capacity"]["requests"] + sum(s["requests"] for s in d["steps"])
            d["gunicorn_cpu_ms_per_request"] = round(
                1000 * (cpu_after[design] - cpu_before[design]) / max(1, requests), 2)
            log_lines = (workdir / f"gunicorn-{design}.log").read_text(
                errors="replace").splitlines()
            d["worker_recycles"] = sum("Autorestarting worker" in line for line in log_lines)
            d["gunicorn_log_problems"] = [line[:300] for line in log_lines
                                          if "ERROR" in line or "Traceback" in line][-5:]
        result.update({
            "server_version": f"PostgreSQL {pg_version}",
            "server": {"gunicorn_workers_per_design": args.workers, "worker_class": "sync",
                       "config": "docs/deploy/gunicorn.conf.py",
                       "mode": "SAFEGUARD_ENV=demo, DEBUG off, SAFEGUARD_LOG_LEVEL=WARNING"},
            "cross_checks": {
                "status_200_responses": served, "view_events_audited": audited,
                "every_view_audited": served <= audited <= served + in_flight,
                "queued_entries_left": queued,
                "log_gap_free": int(count) == int(top),
                "integration_delay_s_p50_p99_all_events": [round(float(x), 3) for x in delays],
            },
        })
        return result


def print_summary(report: dict[str, Any]) -> None:
    result = report["result"]
    if "skipped" in result:
        print(f"skipped: {result['skipped']}")
        return
    print(f"Load on {result['server_version']}: {report['sizes']['agents']} agents, gunicorn "
          f"{result['server']['gunicorn_workers_per_design']} sync workers per design")
    print(f"{'design':6s} {'phase':>14s} {'req/s':>7s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'errors':>6s} {'load':>5s}")
    for design, d in result["designs"].items():
        cap = d["capacity"]
        print(f"{design:6s} {'capacity':>14s} {cap['requests_per_s']:>7.1f} "
              f"{cap['latency_ms']['p50']:>7.1f} {cap['latency_ms']['p99']:>7.1f} "
              f"{cap['errors']:>6d} {cap['load_average_1m_after']:>5.1f}")
        for s in d["steps"]:
            print(f"{design:6s} {'paced ' + str(s['stated_requests_per_s']):>14s} "
                  f"{s['requests_per_s']:>7.1f} {s['latency_ms']['p50']:>7.1f} "
                  f"{s['latency_ms']['p99']:>7.1f} {s['errors']:>6d} "
                  f"{s['load_average_1m_after']:>5.1f}")
        best = d["rate_at_p99_under_200ms_no_errors"]
        print(f"  -> {design}: rate at p99 < 200 ms, no errors: "
              f"{best['stated_requests_per_s'] if best else 'none of the steps'}; gunicorn CPU "
              f"{d['gunicorn_cpu_ms_per_request']} ms/request")
    print("cross-checks:", result["cross_checks"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, 5 s steps")
    parser.add_argument("--agents", type=int, help="concurrent agents (wrk connections)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers per design")
    parser.add_argument("--pg-host", default=os.environ.get("BENCH_PG_HOST", "127.0.0.1"))
    parser.add_argument("--pg-user", default=os.environ.get("BENCH_PG_USER", "postgres"))
    args = parser.parse_args(argv)
    sizes = plan(quick=args.quick, agents=args.agents)
    started = time.perf_counter()
    result = run(args, sizes)
    report = {"benchmark": "cases_load_designs", "issue": 10, "quick": args.quick,
              "sizes": sizes, "result": result, "p99_limit_ms": P99_LIMIT_MS,
              "steps_fraction_of_capacity": STEPS, "nice": os.nice(0),
              "wall_seconds": round(time.perf_counter() - started, 1),
              "machine": {**machine(), "same_machine": "wrk, the paced driver, both gunicorn "
                          "servers and PostgreSQL share the 2 cores (only one server is driven "
                          "at a time)"}}
    path = write_result("load_designs", report)
    print_summary(report)
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
