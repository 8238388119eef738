"""Merkle core benchmark: our RFC 9162 root against pymerkle's, same entries, same run.

Builds N deterministic 100-byte entries (entry i = SHA-256(i) three times, then i as 4 bytes)
and times each of these in interleaved rounds (3 by default), keeping the best pass, in wall
time and in CPU time of this process, with the garbage collector paused for every pass:

* ``merkle.root_hash(entries)`` — the direct form (leaf hashes, then MTH);
* ``CompactRange`` incremental — ``append(leaf_hash(e))`` for every entry, then ``root()``,
  which is what the log does one event at a time;
* pymerkle 7 ``InmemoryTree`` — ``append_entry(e)`` for every entry, then ``get_root()``;
* ``CompactRange.extend`` — the integrator's batch path: leaf hashes and nodes a batch of
  1,000 at a time, then ``root()``;
* a level-by-level reference written here (not in src/): one list comprehension per tree
  level, to show how close ``root_hash`` is to what plain hashlib allows.

All roots are asserted equal (at the size pymerkle finished, see below). pymerkle gets a time
budget (180 s a pass by default): if a pass would exceed it, the pass stops at the size reached
and its time is extrapolated linearly to N — the JSON then says so (``pymerkle.extrapolated``).
The >= 10x target is judged on CPU time: on a shared machine a burst of other work inflates one
implementation's wall time and swings the wall ratio either way (both are reported).

    .venv/bin/python bench/audit/bench_merkle.py [--quick] [--size N] [--rounds R] [--budget S]

Writes bench/results/audit_merkle.json (``--quick``: 100,000 entries, one round).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from common import machine, say, write_result

from safeguard.audit import merkle

TARGET_RATIO = 10.0
ENTRY_SIZE = 100
CHUNK = 10_000
T = TypeVar("T")


def make_entries(count: int) -> list[bytes]:
    """Deterministic, distinct 100-byte entries."""
    entries = []
    for i in range(count):
        digest = hashlib.sha256(i.to_bytes(8, "big")).digest()
        entries.append(digest * 3 + i.to_bytes(4, "big"))
    assert all(len(e) == ENTRY_SIZE for e in entries[:1])
    return entries


def level_by_level_root(entries: Sequence[bytes]) -> bytes:
    """RFC 9162 MTH bottom-up: pair each level left to right, carry an odd last node up.

    Equal to the recursive definition because the RFC's left subtree is always the largest
    perfect one, which is exactly what bottom-up pairing builds.
    """
    sha = hashlib.sha256
    level = [sha(b"\x00" + e).digest() for e in entries]
    if not level:
        return merkle.EMPTY_ROOT
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        pairs = iter(level)
        level = [
            sha(b"\x01" + left + right).digest() for left, right in zip(pairs, pairs, strict=False)
        ]
        if odd is not None:
            level.append(odd)
    return level[0]


def compact_range_root(entries: Sequence[bytes]) -> bytes:
    """Append every leaf to a frontier, as the log does, and take its root."""
    frontier = merkle.CompactRange()
    for entry in entries:
        frontier.append(merkle.leaf_hash(entry))
    return frontier.root()


def extend_root(entries: Sequence[bytes]) -> bytes:
    """The integrator's batch path: every leaf hash at once, ``CompactRange.extend`` in batches
    of 1,000 (the default integration batch), then the frontier's root."""
    frontier = merkle.CompactRange()
    for start in range(0, len(entries), 1000):
        frontier.extend(merkle.leaf_hashes(entries[start : start + 1000]))
    return frontier.root()


def timed(run: Callable[[], T]) -> tuple[float, float, T]:
    """(wall seconds, CPU seconds of this process, result) of one pass, collector paused."""
    gc.collect()
    gc.disable()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = run()
        return time.perf_counter() - wall, time.process_time() - cpu, result
    finally:
        gc.enable()


def pymerkle_root(entries: Sequence[bytes], budget: float) -> tuple[int, bytes]:
    """pymerkle's root: (entries appended, root at that size); stops early past ``budget`` s."""
    from pymerkle import InmemoryTree

    started = time.perf_counter()
    tree = InmemoryTree(algorithm="sha256")
    append = tree.append_entry
    done = 0
    while done < len(entries):
        for entry in entries[done : done + CHUNK]:
            append(entry)
        done = min(done + CHUNK, len(entries))
        if time.perf_counter() - started > budget and done < len(entries):
            break
    return done, tree.get_root()


class Passes:
    """Every pass of one implementation: wall and CPU seconds, entries covered."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.entries: list[int] = []

    def add(self, wall: float, cpu: float, entries: int) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.entries.append(entries)

    def best(self, size: int, times: list[float]) -> float:
        """Best time scaled linearly to ``size`` entries (exact when a pass covered them all)."""
        return min(t * size / n for t, n in zip(times, self.entries, strict=True))

    def row(self, size: int) -> dict[str, Any]:
        wall, cpu = self.best(size, self.wall), self.best(size, self.cpu)
        return {
            "seconds": round(wall, 4),
            "cpu_seconds": round(cpu, 4),
            "entries_per_s": round(size / wall),
            "ns_per_entry": round(wall / size * 1e9),
            "passes_wall": [round(t, 4) for t in self.wall],
            "passes_cpu": [round(t, 4) for t in self.cpu],
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 entries, one round")
    parser.add_argument("--size", type=int, help="number of entries (default 1,000,000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; quick 1)")
    parser.add_argument(
        "--budget",
        type=float,
        default=180.0,
        help="seconds a pymerkle pass may take before it stops and is extrapolated",
    )
    args = parser.parse_args(argv)
    size = args.size or (100_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    load_before = os.getloadavg()

    say(f"generating {size:,} entries of {ENTRY_SIZE} bytes")
    entries = make_entries(size)
    ours: dict[str, Callable[[], bytes]] = {
        "root_hash": lambda: merkle.root_hash(entries),
        "compact_range": lambda: compact_range_root(entries),
        "extend": lambda: extend_root(entries),
        "level_by_level": lambda: level_by_level_root(entries),
    }
    passes = {name: Passes() for name in [*ours, "pymerkle"]}
    roots: dict[str, bytes] = {}
    pm_done, pm_root = 0, b""
    # Rounds interleave the implementations, so a burst of load on a shared machine hits
    # all of them rather than one; each keeps its best pass.
    for number in range(1, rounds + 1):
        for name, run in ours.items():
            say(f"round {number}/{rounds}: {name}")
            wall, cpu, roots[name] = timed(run)
            passes[name].add(wall, cpu, size)
        pm = passes["pymerkle"]
        if pm.wall and (pm_done < size or max(pm.wall) > args.budget / 2):
            continue  # another pymerkle pass would blow the budget; one is enough
        say(f"round {number}/{rounds}: pymerkle InmemoryTree")
        wall, cpu, (pm_done, pm_root) = timed(lambda: pymerkle_root(entries, args.budget))
        pm.add(wall, cpu, pm_done)
    assert (roots["root_hash"] == roots["compact_range"] == roots["extend"]
            == roots["level_by_level"]), "roots differ"
    extrapolated = pm_done < size
    # Same root, compared on the size pymerkle finished.
    expected = roots["root_hash"] if not extrapolated else merkle.root_hash(entries[:pm_done])
    assert pm_root == expected, f"pymerkle's root differs at size {pm_done}"

    rows = {name: p.row(size) for name, p in passes.items()}

    def ratios(key: str) -> dict[str, float]:
        def over(a: str, b: str) -> float:
            return round(rows[a][key] / rows[b][key], 2)

        return {
            "pymerkle_over_root_hash": over("pymerkle", "root_hash"),
            "pymerkle_over_compact_range": over("pymerkle", "compact_range"),
            "pymerkle_over_extend": over("pymerkle", "extend"),
            "pymerkle_over_level_by_level": over("pymerkle", "level_by_level"),
            "root_hash_over_level_by_level": over("root_hash", "level_by_level"),
        }

    # CPU time is what the target is judged on: on a shared machine a burst of other work
    # inflates one implementation's wall time and swings the wall ratio either way.
    cpu, wall = ratios("cpu_seconds"), ratios("seconds")
    report: dict[str, Any] = {
        "benchmark": "audit_merkle",
        "entries": size,
        "entry_bytes": ENTRY_SIZE,
        "entry_recipe": "SHA-256(i as 8 bytes big-endian) x3 + i as 4 bytes big-endian",
        "timing": f"{rounds} interleaved rounds; best wall (and CPU) time per implementation; "
        "garbage collector paused during every pass, ours and pymerkle alike; entry "
        "generation excluded",
        "root_hex": roots["root_hash"].hex(),
        "ours": {
            "root_hash": rows["root_hash"],
            "compact_range_incremental": rows["compact_range"],
            "compact_range_extend_batches_of_1000": rows["extend"],
        },
        "reference_level_by_level": {
            **rows["level_by_level"],
            "note": "written in this benchmark, not in src/: bottom-up list comprehensions, "
            "about the limit of hashlib called from Python",
        },
        "pymerkle": {
            **rows["pymerkle"],
            "version": _pymerkle_version(),
            "api": "InmemoryTree(algorithm='sha256').append_entry(e) per entry, then get_root()",
            "entries_measured": pm_done,
            "extrapolated": extrapolated,
            "note": (
                f"stopped at {pm_done:,} entries after the {args.budget:g} s budget; "
                f"full-size times extrapolated linearly"
                if extrapolated
                else "measured at the full size, no extrapolation"
            ),
            "root_equal_at_size": pm_done,
        },
        "ratios": {"cpu": cpu, "wall": wall},
        "target": {
            "pymerkle_over_root_hash_at_least": TARGET_RATIO,
            "met": cpu["pymerkle_over_root_hash"] >= TARGET_RATIO,
            "met_on_wall_time": wall["pymerkle_over_root_hash"] >= TARGET_RATIO,
            "note": "judged on the CPU-time ratio at 1,000,000 entries (wall time on a shared "
            "machine swings with other load); pymerkle's per-entry cost grows slowly with "
            "n, so smaller runs (--quick) show a smaller ratio",
        },
        "machine": {
            **machine(),
            "load_average_1m_before": round(load_before[0], 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "quick": args.quick,
    }
    path = write_result("merkle", report)
    print_summary(report)
    print(f"\nwritten to {path}")
    return 0


def _pymerkle_version() -> str:
    from importlib.metadata import version

    return version("pymerkle")


def print_summary(report: dict[str, Any]) -> None:
    size = report["entries"]
    print(f"Merkle root over {size:,} entries of {report['entry_bytes']} bytes (best pass)")
    print(
        f"{'implementation':34s} {'wall s':>8s} {'cpu s':>8s} {'entries/s':>11s} {'ns/entry':>9s}"
    )
    pm = report["pymerkle"]
    rows = [
        ("merkle.root_hash", report["ours"]["root_hash"]),
        ("merkle.CompactRange (incremental)", report["ours"]["compact_range_incremental"]),
        ("CompactRange.extend (batches 1000)",
         report["ours"]["compact_range_extend_batches_of_1000"]),
        ("level-by-level (bench reference)", report["reference_level_by_level"]),
        (f"pymerkle {pm['version']} InmemoryTree", pm),
    ]
    for name, data in rows:
        print(
            f"{name:34s} {data['seconds']:>8.3f} {data['cpu_seconds']:>8.3f} "
            f"{data['entries_per_s']:>11,} {data['ns_per_entry']:>9,}"
        )
    if pm["extrapolated"]:
        print(f"(pymerkle: {pm['note']})")
    cpu, wall, target = report["ratios"]["cpu"], report["ratios"]["wall"], report["target"]
    print(f"\nroots equal at {pm['root_equal_at_size']:,} entries")
    print(f"{'ratio':34s} {'cpu':>8s} {'wall':>8s}")
    for key in cpu:
        print(f"{key.replace('_over_', ' / '):34s} {cpu[key]:>7.2f}x {wall[key]:>7.2f}x")
    print(
        f"target pymerkle / root_hash >= {target['pymerkle_over_root_hash_at_least']:g}x "
        f"(CPU time): {'met' if target['met'] else 'NOT met'}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
