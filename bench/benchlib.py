"""Helpers every benchmark shares: machine facts, percentiles, JSON results, progress output.

Benchmarks run as scripts (``python bench/<area>/bench_x.py``); each area's ``common.py`` puts
this folder on ``sys.path`` and re-exports what it uses.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
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
