"""Throughput of the detection engine against pySigma's SQLite backend (Zircolite's approach),
the same Sigma rules, the same events, the same run.

    python bench/detection/bench_detection_throughput.py [--sizes 100000 300000 1000000]
        [--peer-budget 300]

For each size N the simulated contact centre (safeguard.detection.engine.simulate, every attack
scenario injected) yields N audit events. Then:

- engine: ``DetectionEngine`` over the list with the whole pack (UEBA off, then on), and with
  each rule file of the pack alone (UEBA off: exactly the Sigma rules of that file);
- peer: the events are loaded once into an in-memory SQLite table ``logs`` (one column per
  flattened field, as Zircolite does; a list value is stored as its first element), each rule
  file converted with ``sqliteBackend`` and its queries run; a query still running after
  ``--peer-budget`` seconds of wall time is stopped and reported as not finished with the CPU
  time it had used by then, so the speed-up over it is a lower bound.

CPU time (``time.process_time``) beside wall time for every step. Writes
bench/results/detection_throughput.json and prints a summary.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402

from safeguard.detection.engine import DetectionEngine, compile_pack  # noqa: E402
from safeguard.detection.engine.rules import SHIPPED_RULES, rule_files  # noqa: E402
from safeguard.detection.engine.simulate import SCENARIOS, SimConfig, Simulator  # noqa: E402

COLUMNS = ("seq", "action", "outcome", "actor.kind", "actor.id", "actor.label", "subject.type",
           "subject.id", "source_ip", "user_agent", "data.count", "data.identifier", "data.kind",
           "context.on_shift", "context.in_change_window", "context.token_owner_human",
           "context.subject_flags", "context.assigned")


def pack_sources() -> list[tuple[str, str]]:
    return [(str(p), p.read_text(encoding="utf-8")) for p in rule_files([SHIPPED_RULES])]


def events(n: int) -> list[dict[str, Any]]:
    days = max(2, int(n / 7300) + 2)  # ~7,300 events a day with 40 agents
    sim = Simulator(SimConfig(agents=40, days=days, scenarios=tuple(SCENARIOS), repeat=max(
        1, days // 10)))
    out = []
    for e in sim.events():
        out.append(e)
        if len(out) >= n:
            break
    return out


def timed(fn: Any) -> tuple[Any, float, float]:
    gc.collect()
    w, c = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - w, time.process_time() - c


def engine_run(sources: list[tuple[str, str]], evs: list[dict[str, Any]], ueba: bool,
               ) -> dict[str, Any]:
    pack = compile_pack(sources)
    findings, wall, cpu = timed(lambda: DetectionEngine(pack, ueba_enabled=ueba).process(evs))
    return {"rules": len(pack.event_rules) + len(pack.correlations),
            "correlations": len(pack.correlations), "findings": len(findings),
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "events_per_s_cpu": round(len(evs) / cpu) if cpu else None}


def flat(e: dict[str, Any], name: str) -> Any:
    value: Any = e
    for part in name.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    if isinstance(value, list):
        return value[0] if value else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


class Peer:
    """pySigma's SQLite backend over one in-memory table of the events (loaded once)."""

    def __init__(self, evs: list[dict[str, Any]]) -> None:
        self.conn = sqlite3.connect(":memory:")
        cols = ", ".join(f"`{c}`" for c in (*COLUMNS, "timestamp"))
        self.conn.execute(f"CREATE TABLE logs ({cols})")

        def load() -> None:
            rows = ([flat(e, c) for c in COLUMNS] + [e["at"].strftime("%Y-%m-%dT%H:%M:%S.%f")]
                    for e in evs)
            marks = ", ".join("?" * (len(COLUMNS) + 1))
            self.conn.executemany(f"INSERT INTO logs VALUES ({marks})", rows)  # noqa: S608
            self.conn.commit()
        _r, self.load_wall, self.load_cpu = timed(load)

    def run(self, text: str, budget: float) -> dict[str, Any]:
        from sigma.backends.sqlite import sqliteBackend
        from sigma.collection import SigmaCollection

        queries = sqliteBackend().convert(SigmaCollection.from_yaml(text))
        out = []
        for q in queries:
            sql = str(q)
            deadline = time.perf_counter() + budget
            self.conn.set_progress_handler(
                lambda d=deadline: 1 if time.perf_counter() > d else 0, 100000)
            gc.collect()
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                count: int | None = len(self.conn.execute(sql).fetchall())
                status = "ok"
            except sqlite3.OperationalError as exc:
                if "interrupted" not in str(exc):
                    raise
                status, count = "not finished", None
            # a stopped query reports the CPU it had used when stopped: a true lower bound
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            self.conn.set_progress_handler(None, 0)
            out.append({"status": status, "rows": count, "wall_s": round(wall, 3),
                        "cpu_s": round(cpu, 3)})
        return {"queries": out, "cpu_s": round(sum(q["cpu_s"] for q in out), 3),
                "wall_s": round(sum(q["wall_s"] for q in out), 3),
                "finished": all(q["status"] == "ok" for q in out)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--peer-budget", type=float, default=300.0,
                        help="wall seconds one SQLite query may run before it is stopped")
    args = parser.parse_args()
    runs = []
    for n in args.sizes:
        benchlib.say(f"{n}: simulating")
        evs = events(n)
        run: dict[str, Any] = {"events": len(evs)}
        for label, ueba in (("pack", False), ("pack_ueba", True)):
            benchlib.say(f"{n}: engine {label}")
            run[f"engine_{label}"] = engine_run(pack_sources(), evs, ueba)
        benchlib.say(f"{n}: loading SQLite")
        peer = Peer(evs)
        run["sqlite_load"] = {"wall_s": round(peer.load_wall, 3),
                              "cpu_s": round(peer.load_cpu, 3)}
        per_file = []
        for path, text in pack_sources():
            name = Path(path).name
            benchlib.say(f"{n}: {name}")
            eng = engine_run([(path, text)], evs, False)
            sql = peer.run(text, args.peer_budget)
            per_file.append({
                "file": name, "correlation": "correlation:" in text, "engine": eng,
                "sqlite": sql,
                "speedup_cpu": round(sql["cpu_s"] / eng["cpu_s"], 1) if eng["cpu_s"] else None,
                "speedup_is_lower_bound": not sql["finished"]})
        peer.conn.close()
        run["per_file"] = per_file
        corr = [f for f in per_file if f["correlation"]]
        eng_c = sum(f["engine"]["cpu_s"] for f in corr)
        sql_c = sum(f["sqlite"]["cpu_s"] for f in corr)
        run["correlations"] = {
            "engine_cpu_s": round(eng_c, 3), "sqlite_query_cpu_s": round(sql_c, 3),
            "speedup_cpu": round(sql_c / eng_c, 1),
            "speedup_cpu_with_load": round((sql_c + peer.load_cpu) / eng_c, 1),
            "speedup_is_lower_bound": any(not f["sqlite"]["finished"] for f in corr),
            "engine_events_per_s_cpu": round(len(evs) * len(corr) / eng_c)}
        runs.append(run)
        del evs, peer
        gc.collect()
    report = {"machine": benchlib.machine("2 cores shared with other sessions"),
              "peer": "pySigma sqliteBackend (pysigma-backend-sqlite), in-memory SQLite",
              "peer_budget_s": args.peer_budget, "runs": runs}
    path = benchlib.write_result("detection", "throughput", report)
    for r in runs:
        c = r["correlations"]
        bound = " (at least: a SQLite query was stopped)" if c["speedup_is_lower_bound"] else ""
        print(f"{r['events']:>9} events: correlation rules engine {c['engine_cpu_s']} s CPU vs "
              f"SQLite {c['sqlite_query_cpu_s']} s CPU -> {c['speedup_cpu']}x{bound}; whole "
              f"pack {r['engine_pack']['events_per_s_cpu']}/s, with UEBA "
              f"{r['engine_pack_ueba']['events_per_s_cpu']}/s")
        for f in r["per_file"]:
            print(f"    {f['file']:<32} engine {f['engine']['cpu_s']:>8} s  SQLite "
                  f"{f['sqlite']['cpu_s']:>8} s  {f['speedup_cpu']}x"
                  f"{'+' if f['speedup_is_lower_bound'] else ''}")
    print(f"written {path}")


if __name__ == "__main__":
    main()
