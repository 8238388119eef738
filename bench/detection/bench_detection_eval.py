"""Detection quality on a simulated contact-centre month: per attack scenario recall and time to
detect (MTTD), false positives per 1,000 agent-days (R-OPS-6, R-OPS-9, R-KPI-4).

    python bench/detection/bench_detection_eval.py [--agents 40] [--days 30] [--repeat 3]

The simulator (safeguard.detection.engine.simulate) generates the month with every scenario of
``SCENARIOS`` injected ``--repeat`` times; the engine runs the shipped pack and UEBA once over it,
and ``evaluate`` scores the findings against the ground truth. Writes
bench/results/detection_eval.json and prints a summary.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
import benchlib  # noqa: E402

from safeguard.detection.engine import DetectionEngine, shipped_pack  # noqa: E402
from safeguard.detection.engine.simulate import (  # noqa: E402
    SCENARIOS,
    SimConfig,
    Simulator,
    evaluate,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    config = SimConfig(agents=args.agents, days=args.days, scenarios=tuple(SCENARIOS),
                       repeat=args.repeat)
    sim = Simulator(config)
    engine = DetectionEngine(shipped_pack())
    wall, cpu = time.perf_counter(), time.process_time()
    findings = engine.process(sim.events())  # generation and evaluation interleaved
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result = evaluate(findings, sim.truth, sim.agent_days)
    report = {
        "machine": benchlib.machine("2 cores shared with other sessions"),
        "config": {"agents": args.agents, "days": args.days, "repeat": args.repeat,
                   "seed": config.seed},
        "events": engine.events_seen, "agent_days": sim.agent_days,
        "wall_s_including_simulation": round(wall, 2),
        "cpu_s_including_simulation": round(cpu, 2),
        "findings": result.findings, "false_positives": result.false_positives,
        "false_positives_by_rule": dict(result.false_positives_by_rule),
        "false_positives_per_1000_agent_days": result.false_positives_per_1000_agent_days,
        "scenarios": [asdict(s) for s in result.scenarios],
    }
    path = benchlib.write_result("detection", "eval", report)
    print(f"{engine.events_seen} events, {sim.agent_days} agent-days, {result.findings} "
          f"findings, {result.false_positives} false positives "
          f"({result.false_positives_per_1000_agent_days} per 1,000 agent-days)")
    for s in result.scenarios:
        mttd = f"{s.mttd_seconds / 60:.1f} min" if s.mttd_seconds is not None else "-"
        print(f"  {s.scenario:<22} recall {s.detected}/{s.instances}  MTTD {mttd}")
    print(f"written {path}")


if __name__ == "__main__":
    main()
