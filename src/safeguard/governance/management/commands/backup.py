"""``safeguard backup``: encrypted, consistent backups and verified restore drills (issue 13
section 5; docs/governance.md "Backups and restore drills", decision 0241).

* ``create [--output PATH]`` — write an encrypted backup of the database and of every file
  store (and ``PATH.manifest.json``); prints its id, path, size, SHA-256 and files.
* ``restore --verify BACKUP`` — restore into a scratch database, verify the audit log, the row
  counts and every carried file's SHA-256, check that every file a restored row refers to is in
  the backup, record the drill with its recovery time; exit 1 when the drill fails.
* ``restore --files BACKUP`` — the same drill, then put back the files missing from their stores
  (R-DATA-4, R-OPS-11); refused, with no file written, when the drill fails or a file in place
  differs from the backup's copy.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.governance import backup
from safeguard.protection.contracts import KeysError


class Command(BaseCommand):
    help = "Encrypted backups and verified restore drills (docs/governance.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("create", help="write an encrypted, consistent backup")
        c.add_argument("--output", help="file to write (must not exist); default: a new file "
                                        "in SAFEGUARD_BACKUP_DIR")
        r = sub.add_parser("restore", help="restore a backup into a scratch database")
        r.add_argument("--verify", action="store_true",
                       help="verify the copy in a scratch database (restoring over the live "
                            "database is not offered)")
        r.add_argument("--files", action="store_true",
                       help="verify, then put back the files (evidence, archives, stored "
                            "files) missing from their stores; files in place are not "
                            "overwritten")
        r.add_argument("backup", help="the backup file (its .manifest.json beside it)")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = Actor.system(f"cli:{getpass.getuser()}")
        try:
            if opts["action"] == "create":
                view = backup.backup_create(output=opts.get("output"), actor=actor)
                self.stdout.write(f"backup {view.id}\n  path    {view.path}\n  size    "
                                  f"{view.size} bytes\n  sha256  {view.sha256}\n  tables  "
                                  f"{view.tables} ({view.rows} rows), audit up to seq "
                                  f"{view.audit_last_seq}\n  files   {view.files} "
                                  f"({view.file_bytes} bytes)")
                for warning in view.warnings:
                    self.stderr.write(f"WARNING: {warning}")
                return
            if not (opts["verify"] or opts["files"]):
                raise CommandError("restore needs --verify (a drill into a scratch database) "
                                   "or --files (a drill, then the missing files put back).")
            restored = None
            if opts["files"]:
                restored = backup.restore_files(path=opts["backup"], actor=actor)
                drill = restored.drill
            else:
                drill = backup.restore_verify(path=opts["backup"], actor=actor)
        except (backup.BackupError, KeysError) as exc:
            raise CommandError(str(exc)) from exc
        for c in drill.checks:
            self.stdout.write(f"{'ok' if c['ok'] else 'FAILED':<7} {c['check']:<11} "
                              f"{c['detail']}")
        self.stdout.write(f"drill {drill.id}: {drill.outcome}, recovery {drill.seconds:.2f} s")
        if restored is not None:
            self.stdout.write(f"files: {len(restored.written)} put back, {restored.present} "
                              "already in place")
        if drill.outcome != backup.VERIFIED:
            raise SystemExit(1)
