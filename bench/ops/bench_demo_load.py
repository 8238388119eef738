"""Time of the first run's load (issue 15, R-OPS-5): ``safeguard demo --no-serve`` on a fresh data
directory, wall clock and CPU time of the child process, at a given SAFEGUARD_DEMO_SCALE.

    python bench/ops/bench_demo_load.py [--scale 1.0]

Writes bench/results/ops_demo_load.json and prints a summary. The README's timing claim for
`make demo` quotes this measurement. The load is single-threaded: the CPU time is what an idle
machine needs; the wall time says how much other work slowed it down.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5)  # the demo's default scale
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sg-demo-bench-") as tmp:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("SAFEGUARD_") and k != "DATABASE_URL"}
        env.update(SAFEGUARD_ENV="demo", SAFEGUARD_DATA_DIR=str(Path(tmp) / "var"),
                   SAFEGUARD_DEMO_SCALE=str(args.scale),
                   PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""))
        benchlib.say(f"loading the demo at scale {args.scale:g} into {tmp} ...")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "safeguard.cli", "demo", "--no-serve"],
                             env=env, capture_output=True, text=True, check=False, cwd=tmp)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"demo load failed ({run.returncode}):\n{run.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report = {"scale": args.scale, "wall_seconds": round(wall, 1),
              "cpu_seconds": round(cpu, 1), "machine": benchlib.machine()}
    path = benchlib.write_result("ops", "demo_load", report)
    print(f"demo load at scale {args.scale:g}: {wall:.0f} s wall, {cpu:.0f} s CPU "
          f"(load average {report['machine']['load_average_1m_at_end']}) -> {path}")


if __name__ == "__main__":
    main()
