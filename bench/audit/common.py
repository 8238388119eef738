"""Helpers shared by the audit benchmarks: machine description, percentiles, JSON output."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib  # noqa: E402 - bench/ is put on the path just above
from benchlib import percentile, say  # noqa: E402, F401 - re-exported for the area's scripts


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return benchlib.machine()


def write_result(name: str, report: dict[str, Any]) -> Path:
    """Write bench/results/audit_<name>.json and return its path."""
    return benchlib.write_result("audit", name, report)
