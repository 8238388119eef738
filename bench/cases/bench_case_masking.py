"""Display masking of a case's conversation, per customer message: before and after, in one run.

The case page masks every message the customer wrote (``customers.selectors.TextMasker``, which
calls ``protection.findings_for_display`` once per message with the customer's known values
compiled once per thread). This measures that cost on the case-view benchmark's own thread:

1. a child process builds the benchmark's dataset (``dataset.py``, ``--quick`` sizes) in a
   fresh SQLite file and writes the target case's customer messages (stored, screened text)
   and the customer's profile values to the throwaway directory (removed afterwards);
2. ``--before REV`` (default ``HEAD``) exports that revision's ``src/`` beside it;
3. ``rounds`` rounds; each runs one timing child per source tree (before, after) in a shuffled
   order. A child imports its tree, builds the known-value matcher and a ``TextMasker`` once,
   warms up, then takes the best of ``reps`` passes over the thread for each function it has
   (``findings_for_display``; the masker; in the tree that has it the full scan behind the
   gate, ``screening._display_findings``, interleaved with the gated call) — µs per message;
4. every child also writes what it found for each message: before and after must agree
   exactly (the run fails otherwise), as must the gated call and the full scan.

Reported: the median over rounds of each child's best, and the process CPU of the passes.
Writes bench/results/cases_masking.json.

    .venv/bin/python bench/cases/bench_case_masking.py [--before REV] [--rounds 9] [--reps 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, child_env, machine, say, throwaway_database, write_result

QUICK = {"customers": 60, "cases": 150, "target_messages": 30}
FIELDS = ("name", "email", "phone", "address", "date_of_birth", "payout", "kind")


# --- children ----------------------------------------------------------------------------------


def build(out: Path) -> None:
    """Migrate, build the dataset, write the target thread's customer texts and profile."""
    import django

    django.setup()
    import dataset
    from django.core.management import call_command

    from safeguard.cases.models import Message
    from safeguard.customers.models import Customer

    call_command("migrate", verbosity=0)
    data = dataset.build(**QUICK)
    bodies = [m.body for m in Message.objects.filter(case__number=data.target_case)
              .order_by("created_at", "seq") if m.author_kind == "customer"]
    row = Customer.objects.get(id=data.target_customer)
    profile = {f: getattr(row, f) for f in FIELDS}
    out.write_text(json.dumps({"texts": bodies, "profile": profile}), encoding="utf-8")


def timing(thread: Path, out: Path, reps: int) -> None:
    """Time the masking functions of the source tree on the path over the thread."""
    import django

    django.setup()
    from safeguard.customers.models import Customer
    from safeguard.customers.selectors import TextMasker, _known_values
    from safeguard.protection import screening
    from safeguard.protection import services as protection

    spec = json.loads(thread.read_text(encoding="utf-8"))
    texts: list[str] = spec["texts"]
    row = Customer(**spec["profile"])
    known = protection.known_values(_known_values(row))
    masker = TextMasker(None, row, frozenset())  # type: ignore[arg-type]  # nothing revealed
    types = frozenset({"EMAIL", "PHONE"})

    def gated() -> None:
        for t in texts:
            protection.findings_for_display(t, customer=known)

    def mask() -> None:
        for t in texts:
            masker(t)

    functions: dict[str, Callable[[], None]] = {"findings_for_display": gated,
                                                "TextMasker": mask}
    full = getattr(screening, "_display_findings", None)
    if full is not None:
        def scan_all() -> None:
            for t in texts:
                full(t, known, types)
        functions["full scan (behind the gate)"] = scan_all
    found = [[(f.type, f.start, f.end) for f in protection.findings_for_display(t,
                                                                                customer=known)]
             for t in texts]
    if full is not None:
        assert found == [[(f.type, f.start, f.end) for f in full(t, known, types)]
                         for t in texts], "the gate changed what is found"
    for fn in functions.values():  # warm-up
        for _ in range(10):
            fn()
    best = dict.fromkeys(functions, float("inf"))
    cpu = dict.fromkeys(functions, 0.0)
    for _ in range(reps):  # interleaved: every function once per repetition
        for name, fn in functions.items():
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
            cpu[name] += time.process_time() - c0
    per = 1e6 / len(texts)
    out.write_text(json.dumps({
        "us_per_message_best": {k: round(v * per, 2) for k, v in best.items()},
        "cpu_us_per_message_mean": {k: round(v / reps * per, 2) for k, v in cpu.items()},
        "found": found, "messages": len(texts),
        "with_findings": sum(1 for f in found if f)}), encoding="utf-8")


# --- parent ------------------------------------------------------------------------------------


def export(rev: str, into: Path) -> Path:
    """``rev``'s src/ written under ``into`` (git archive; nothing else of the repository)."""
    blob = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--before", default="HEAD", help="revision to compare with (HEAD)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--child", choices=["build", "timing"], help=argparse.SUPPRESS)
    parser.add_argument("--thread", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "build":
        build(args.out)
        return 0
    if args.child == "timing":
        timing(args.thread, args.out, args.reps)
        return 0

    started = time.perf_counter()
    load_before = os.getloadavg()
    with throwaway_database("sqlite", pg_host="", pg_user="", tag="masking") as (url, work, _):
        assert url is not None
        env = child_env(mode="test", url=url, workdir=work, SAFEGUARD_EMAIL_BACKEND=(
            "django.core.mail.backends.locmem.EmailBackend"))
        thread = work / "thread.json"
        say("building the case-view dataset (quick sizes) in a fresh SQLite file")
        subprocess.run([sys.executable, __file__, "--child", "build", "--out", str(thread)],
                       env=env, check=True, cwd=ROOT)
        trees = {"before": export(args.before, work / "before"), "after": ROOT / "src"}
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in trees}
        rng = random.Random(20261205)
        for r in range(args.rounds):
            order = list(trees)
            rng.shuffle(order)
            for name in order:
                out = work / f"{name}-{r}.json"
                child = {**env, "PYTHONPATH": os.pathsep.join(
                    [str(trees[name]), str(Path(__file__).resolve().parent)])}
                subprocess.run([sys.executable, __file__, "--child", "timing", "--thread",
                                str(thread), "--out", str(out), "--reps", str(args.reps)],
                               env=child, check=True, cwd=ROOT)
                runs[name].append(json.loads(out.read_text(encoding="utf-8")))
            say(f"  round {r + 1} / {args.rounds}")
        if runs["before"][0]["found"] != runs["after"][0]["found"]:
            raise SystemExit("before and after find different things: not the same masking")
    load_after = os.getloadavg()

    def median(name: str, key: str) -> dict[str, float]:
        names = runs[name][0][key]
        return {k: round(statistics.median(run[key][k] for run in runs[name]), 2)
                for k in names}

    summary = {name: {"us_per_message_best": median(name, "us_per_message_best"),
                      "cpu_us_per_message_mean": median(name, "cpu_us_per_message_mean")}
               for name in runs}
    before = summary["before"]["us_per_message_best"]["findings_for_display"]
    after = summary["after"]["us_per_message_best"]["findings_for_display"]
    report = {
        "benchmark": "cases_masking",
        "before": args.before,
        "rounds": args.rounds,
        "reps": args.reps,
        "messages": runs["after"][0]["messages"],
        "messages_with_findings": runs["after"][0]["with_findings"],
        "same_findings_before_and_after": True,
        "summary": summary,
        "findings_for_display_speedup": round(before / after, 2),
        "load_average_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "machine": machine(),
    }
    path = write_result("masking", report)
    print(f"\n{report['messages']} customer messages ({report['messages_with_findings']} with "
          f"something to mask), best of {args.reps} passes, median of {args.rounds} rounds; "
          f"load average {report['load_average_1m'][0]} -> {report['load_average_1m'][1]}")
    for name, s in summary.items():
        for fn, us in s["us_per_message_best"].items():
            print(f"  {name:7s} {fn:30s} {us:8.2f} us/message  (CPU mean "
                  f"{s['cpu_us_per_message_mean'][fn]:.2f})")
    print(f"findings_for_display: {before:.2f} -> {after:.2f} us/message "
          f"({report['findings_for_display_speedup']}x); same findings before and after")
    print(f"written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
