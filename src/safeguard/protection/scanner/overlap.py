"""Overlap resolution: of two overlapping findings the higher score wins, then the longer.

Part of the scanner contract (R-DATA-2): callers get ordered, non-overlapping findings, so a
redactor can replace them left to right without re-checking.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable

from .contracts import Finding


def _priority(finding: Finding) -> tuple[float, int, int, str]:
    return (-finding.score, -(finding.end - finding.start), finding.start, finding.type)


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep a non-overlapping subset, best first (score, then length), returned in text order."""
    starts: list[int] = []
    kept: list[Finding] = []
    for finding in sorted(findings, key=_priority):
        index = bisect_right(starts, finding.start)
        if index and kept[index - 1].end > finding.start:
            continue
        if index < len(kept) and kept[index].start < finding.end:
            continue
        starts.insert(index, finding.start)
        kept.insert(index, finding)
    return kept
