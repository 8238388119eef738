"""Latency of the security-state store (decision 0110): one ``add`` (a nonce or used code
claimed), one ``incr`` and one ``get`` on the database store, on SQLite and PostgreSQL, after
the table already holds many entries (nothing is evicted, so the table grows to its window).

    python bench/accounts/bench_security_state.py [--n 2000] [--prefill 20000] [--pg-host 127.0.0.1]

Writes bench/results/accounts_security_state.json and prints a summary. Each backend runs in a
child process on a throwaway database (a SQLite file, or a PostgreSQL database made and dropped).
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


def _child(n: int, prefill: int) -> dict[str, object]:
    """Runs inside the child: migrate, prefill, then time n operations of each kind."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.core.cache import cache
    from django.db import connection

    for i in range(prefill):
        cache.set(f"prefill:{i}", [float(i)], timeout=3600)
    timings: dict[str, list[float]] = {"add": [], "incr": [], "get": []}
    cache.set("counter", 0, timeout=3600)
    for i in range(n):
        t0 = time.perf_counter()
        cache.add(f"nonce:{i}", 1, timeout=600)
        t1 = time.perf_counter()
        cache.incr("counter")
        t2 = time.perf_counter()
        cache.get(f"prefill:{i % max(prefill, 1)}")
        t3 = time.perf_counter()
        timings["add"].append(t1 - t0)
        timings["incr"].append(t2 - t1)
        timings["get"].append(t3 - t2)
    ms = {k: {"median": round(benchlib.percentile([x * 1000 for x in v], 50), 3),
              "p95": round(benchlib.percentile([x * 1000 for x in v], 95), 3),
              "p99": round(benchlib.percentile([x * 1000 for x in v], 99), 3)}
          for k, v in timings.items()}
    return {"vendor": connection.vendor, "n": n, "prefill": prefill, "ms": ms,
            "counter": cache.get("counter")}


def _run(backend: str, n: int, prefill: int, pg_host: str) -> dict[str, object]:
    return benchlib.run_in_fresh_database(
        __file__, backend, pg_host=pg_host, prefix="state",
        child_args=lambda work: ["--n", str(n), "--prefill", str(prefill)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--prefill", type=int, default=20000)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.n, args.prefill)))
        return
    results = {}
    for backend in ("sqlite", "postgresql"):
        benchlib.say(f"{backend}: prefill {args.prefill}, then {args.n} add/incr/get ...")
        results[backend] = _run(backend, args.n, args.prefill, args.pg_host)
    report = {"benchmark": "accounts.security_state", "machine": benchlib.machine(),
              "results": results}
    path = benchlib.write_result("accounts", "security_state", report)
    for backend, r in results.items():
        if "ms" in r:
            line = ", ".join(f"{op} median {v['median']} ms p99 {v['p99']} ms"
                             for op, v in r["ms"].items())  # type: ignore[union-attr]
            print(f"{backend}: {line} (table {r['prefill']} entries; counter {r['counter']})")
        else:
            print(f"{backend}: {r}")
    print(f"result: {path}")


if __name__ == "__main__":
    main()
