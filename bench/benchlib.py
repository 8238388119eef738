"""Helpers every benchmark shares: machine facts, percentiles, JSON results, progress output.

Benchmarks run as scripts (``python bench/<area>/bench_x.py``); each area's ``common.py`` puts
this folder on ``sys.path`` and re-exports what it uses.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def machine(note: str = "") -> dict[str, Any]:
    """What the numbers were measured on (they mean little without it)."""
    base = "a shared 2-core machine: other work ran alongside, so wall times are noisy"
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "note": f"{base}; {note}" if note else base,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def write_result(area: str, name: str, report: dict[str, Any]) -> Path:
    """Write bench/results/<area>_<name>.json and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{area}_{name}.json"
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return path


def say(message: str) -> None:
    """Progress on stderr, so stdout carries only the summary."""
    print(message, file=sys.stderr, flush=True)


def run_in_fresh_database(script: str, backend: str, *, pg_host: str, prefix: str,
                          child_args: Callable[[Path], list[str]],
                          timeout: int = 1800) -> dict[str, object]:
    """Run ``script --child ...`` in a fresh process against a fresh database of ``backend``
    ("sqlite" or "postgresql"; a new database on ``pg_host``, dropped afterwards) with its own
    data directory, and return the JSON the child prints last. ``child_args(work)`` gives the
    child's arguments after ``--child`` (``work`` is its data directory). A database that cannot
    be created gives ``{"skipped": why}``; a failed child ``{"failed": its stderr tail}``."""
    work = Path(tempfile.mkdtemp(prefix=f"sg-bench-{prefix}-{backend}-"))
    env = {**os.environ, "SAFEGUARD_ENV": "test", "SAFEGUARD_DATA_DIR": str(work),
           "DJANGO_SETTINGS_MODULE": "safeguard.settings", "PYTHONPATH": str(ROOT / "src")}
    name = f"sg_bench_{prefix}_{uuid.uuid4().hex[:8]}"
    if backend == "postgresql":
        made = subprocess.run(["createdb", "-h", pg_host, "-U", "postgres", name],
                              capture_output=True, text=True, check=False, timeout=60)
        if made.returncode != 0:
            return {"skipped": made.stderr.strip()}
        env["DATABASE_URL"] = f"postgres://postgres@{pg_host}:5432/{name}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    try:
        out = subprocess.run([sys.executable, script, "--child", *child_args(work)], env=env,
                             capture_output=True, text=True, check=False, timeout=timeout)
        if out.returncode != 0:
            return {"failed": out.stderr[-2000:]}
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if backend == "postgresql":
            subprocess.run(["dropdb", "-h", pg_host, "-U", "postgres", name],
                           capture_output=True, check=False, timeout=60)
