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
* ``restore --database BACKUP [--replace [--yes]]`` — disaster recovery (decision 0276): the same
  drill, then the verified copy replaces the configured database in one atomic step, migrations
  the backup lacks are applied, the restore is audited, the log checked and the missing files
  put back. Refused on a non-empty database without ``--replace``; ``--replace`` asks to type the
  database's name on a terminal, or takes ``--yes``.
"""

from __future__ import annotations

import getpass
import sys
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
                       help="verify the copy in a scratch database")
        r.add_argument("--files", action="store_true",
                       help="verify, then put back the files (evidence, archives, stored "
                            "files) missing from their stores; files in place are not "
                            "overwritten")
        r.add_argument("--database", action="store_true",
                       help="disaster recovery: verify, then replace the configured database "
                            "with the backup and put back its files (decision 0276)")
        r.add_argument("--replace", action="store_true",
                       help="with --database: replace a database that is not empty")
        r.add_argument("--yes", action="store_true",
                       help="with --replace: do not ask for the typed confirmation")
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
            if opts["database"]:
                self._restore_database(opts, actor)
                return
            if opts["replace"] or opts["yes"]:
                raise CommandError("--replace and --yes go with --database.")
            if not (opts["verify"] or opts["files"]):
                raise CommandError("restore needs --verify (a drill into a scratch database), "
                                   "--files (a drill, then the missing files put back) or "
                                   "--database (disaster recovery).")
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

    def _restore_database(self, opts: dict[str, Any], actor: Actor) -> None:
        if opts["verify"] or opts["files"]:
            raise CommandError("--database runs the drill and restores the files itself; give "
                               "it alone.")
        self.stdout.write("A backup carries no keys. Before restoring, put back: "
                          + "; ".join(backup.KEYS_NEEDED) + ".")
        if opts["replace"]:
            state = backup.target_state()
            self.stdout.write(
                f"This REPLACES the {state['engine']} database {state['name']}: "
                f"{state['tables']} tables, {state['rows']} rows, audit log up to seq "
                f"{state['audit_last_seq']}. Everything written to it since the backup is lost; "
                "stop the application first.")
            if not opts["yes"]:
                if not sys.stdin.isatty():
                    raise CommandError("--replace asks for a typed confirmation on a terminal; "
                                       "give --yes to run it from a script. Nothing was changed.")
                typed = input(f"Type the database name ({state['name']}) to replace it: ")
                if typed.strip() != state["name"]:
                    raise CommandError("Not confirmed. Nothing was changed.")
        done = backup.restore_database(path=opts["backup"], actor=actor,
                                       replace=opts["replace"])
        for c in done.drill.checks:
            self.stdout.write(f"{'ok' if c['ok'] else 'FAILED':<7} {c['check']:<11} "
                              f"{c['detail']}")
        self.stdout.write(f"database restored from backup {done.backup_id} "
                          f"(sha256 {done.sha256}) in {done.seconds:.2f} s")
        self.stdout.write(f"migrations applied: {len(done.migrated)}"
                          + (f" ({', '.join(done.migrated[:10])})" if done.migrated else ""))
        self.stdout.write(f"audit log: {done.audit_detail}")
        self.stdout.write(f"files: {len(done.files.written)} put back, {done.files.present} "
                          "already in place")
