"""Cost of an encrypted backup and of a verified restore drill (issue 13 section 5, decision
0241), on SQLite and PostgreSQL, beside the named peer: the plain, unencrypted dump of the same
database (``sqlite3.Connection.backup`` into a file; ``pg_dump --format=custom`` to a file).

    python bench/governance/bench_backup.py [--events 5000] [--files 200] [--file-kb 100]
                                            [--pg-host 127.0.0.1]

With ``--files N`` the database also gets N governance evidence files of ``--file-kb`` KiB each
(sealed on disk, as attestations store them); the backup carries them, the drill checks each,
and ``restore_files`` is timed after the evidence directory is wiped.

Writes bench/results/governance_backup.json. Each backend runs in a child process on a
throwaway database; CPU time counts this process and its children (pg_dump, pg_restore).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

ROOT = Path(__file__).resolve().parents[2]


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn) -> tuple[object, dict[str, float]]:  # type: ignore[no-untyped-def]
    w0, c0 = time.perf_counter(), _cpu()
    value = fn()
    return value, {"wall_s": round(time.perf_counter() - w0, 3),
                   "cpu_s": round(_cpu() - c0, 3)}


def _child(events: int, files: int, file_kb: int, work: Path) -> dict[str, object]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    import sqlite3

    from django.db import connection

    from safeguard.audit import services as audit
    from safeguard.audit.contracts import Actor
    from safeguard.governance import backup, evidence

    actor = Actor.system("bench")
    line = b"2026-12-04T10:00:00Z badge reader 7 door 3 entry granted\n"
    for i in range(files):
        body = f"evidence {i}\n".encode() + line * (file_kb * 1024 // len(line))
        evidence.store(content=body, name=f"e{i}.txt", actor=actor)
    for i in range(events):
        audit.record(action="bench.event", actor=actor, subject=("n", i), data={"i": i})
    audit.integrate(wait=True)
    audit.head_sign(force=True)

    def peer() -> int:
        target = work / "plain.dump"
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            out = sqlite3.connect(str(target))
            connection.connection.backup(out)
            out.close()
        else:
            cfg = connection.settings_dict
            subprocess.run(["pg_dump", "--format=custom", "-h", cfg["HOST"], "-U", cfg["USER"],
                            "-d", cfg["NAME"], "-f", str(target)], check=True)
        return target.stat().st_size

    plain_size, plain = _timed(peer)
    made, create = _timed(lambda: backup.backup_create(output=str(work / "b.sgbak"),
                                                       actor=actor))
    drill, restore = _timed(lambda: backup.restore_verify(path=str(work / "b.sgbak"),
                                                          actor=actor))
    restored: dict[str, object] = {}
    if files:
        import shutil

        on_disk = sum(p.stat().st_size for p in evidence.evidence_dir().iterdir())
        shutil.rmtree(evidence.evidence_dir())
        put_back, timing = _timed(lambda: backup.restore_files(path=str(work / "b.sgbak"),
                                                               actor=actor))
        restored = {"restore_files": {**timing, "written": len(put_back.written),  # type: ignore[attr-defined]
                                      "outcome": put_back.drill.outcome,  # type: ignore[attr-defined]
                                      "evidence_bytes_on_disk": on_disk}}
    return {"vendor": connection.vendor, "events": events, "files": files, "file_kb": file_kb,
            **restored,
            "peer_plain_dump": {**plain, "bytes": plain_size},
            "backup_create": {**create, "bytes": made.size},  # type: ignore[attr-defined]
            "restore_verify": {**restore, "outcome": drill.outcome,  # type: ignore[attr-defined]
                               "recovery_s_recorded": drill.seconds}}  # type: ignore[attr-defined]


def _run(backend: str, events: int, files: int, file_kb: int, pg_host: str
         ) -> dict[str, object]:
    return benchlib.run_in_fresh_database(
        __file__, backend, pg_host=pg_host, prefix="backup",
        child_args=lambda work: ["--events", str(events), "--files", str(files),
                                 "--file-kb", str(file_kb), "--work", str(work)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--files", type=int, default=0)
    parser.add_argument("--file-kb", type=int, default=100)
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--work", default="")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.events, args.files, args.file_kb, Path(args.work))))
        return
    results = {}
    for backend in ("sqlite", "postgresql"):
        benchlib.say(f"{backend}: {args.events} audit events, {args.files} evidence files, "
                     "plain dump, backup, drill ...")
        results[backend] = _run(backend, args.events, args.files, args.file_kb, args.pg_host)
    report = {"benchmark": "governance.backup", "machine": benchlib.machine(),
              "results": results}
    path = benchlib.write_result("governance", "backup", report)
    for backend, r in results.items():
        print(f"{backend}: {json.dumps(r)}")
    print(f"result: {path}")


if __name__ == "__main__":
    main()
