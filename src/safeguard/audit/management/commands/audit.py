"""``safeguard audit verify|prove|consistency|head|integrate|pubkey``: auditor's tools (R-IR-5)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from safeguard.audit import proofs, selectors, services, signing, tasks, verification
from safeguard.audit.contracts import AuditError


class Command(BaseCommand):
    help = "Verify the audit log, print proofs, sign a tree head, print the public key."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        v = sub.add_parser("verify", help="recompute the tree and check every signed head")
        v.add_argument("--from", dest="from_seq", type=int, default=1,
                       help="start at this sequence number (trusting stored nodes before it)")
        v.add_argument("--json", action="store_true", help="print the report as JSON")
        v.add_argument("--witness", type=Path, default=None,
                       help="JSON-lines file of witnessed heads (default: "
                            "SAFEGUARD_AUDIT_WITNESS_FILE)")
        p = sub.add_parser("prove", help="inclusion proof of an event against the latest head")
        p.add_argument("seq", type=int)
        p.add_argument("--size", type=int, default=None, help="tree size (default: latest head)")
        c = sub.add_parser("consistency", help="consistency proof between two tree sizes")
        c.add_argument("first", type=int)
        c.add_argument("second", type=int)
        h = sub.add_parser("head", help="sign a tree head now")
        h.add_argument("--force", action="store_true", help="sign even if the tree did not grow")
        sub.add_parser("integrate", help="integrate every queued entry into the log now")
        sub.add_parser("pubkey", help="print the public key that signs tree heads (PEM)")
        sub.add_parser("keygen", help="create the tree-head signing key (once, at install)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except (AuditError, ValueError, ImproperlyConfigured) as exc:
            raise CommandError(getattr(exc, "detail", str(exc))) from exc

    def _verify(self, opts: dict[str, Any]) -> None:
        with Progress("[progress.description]{task.description}", BarColumn(),
                      MofNCompleteColumn(), TimeRemainingColumn(), transient=True,
                      disable=opts["json"]) as bar:
            task = bar.add_task("verifying", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = verification.verify(from_seq=opts["from_seq"], progress=progress,
                                         triggered_by=f"cli:{getpass.getuser()}",
                                         witness=opts["witness"])
        if opts["json"]:
            self.stdout.write(json.dumps({
                "ok": report.ok, "events_checked": report.events_checked,
                "heads_checked": report.heads_checked, "first_bad_seq": report.first_bad_seq,
                "unsigned_tail": report.unsigned_tail,
                "problems": [p.__dict__ for p in report.problems]}))
        else:
            self.stdout.write(f"events checked: {report.events_checked}, "
                              f"signed heads checked: {report.heads_checked}, "
                              f"events after the latest head: {report.unsigned_tail}")
            for problem in report.problems:
                self.stdout.write(f"  [{problem.kind}] seq={problem.seq}: {problem.detail}")
        if not report.ok:
            raise CommandError(f"audit log verification FAILED; first bad sequence number: "
                               f"{report.first_bad_seq}")
        if not opts["json"]:
            self.stdout.write(self.style.SUCCESS("audit log verified: OK"))

    def _prove(self, opts: dict[str, Any]) -> None:
        proof = proofs.inclusion(seq=opts["seq"], size=opts["size"])
        self.stdout.write(json.dumps(proof.__dict__, indent=2))

    def _consistency(self, opts: dict[str, Any]) -> None:
        proof = proofs.consistency(first=opts["first"], second=opts["second"])
        self.stdout.write(json.dumps(proof.__dict__, indent=2))

    def _integrate(self, opts: dict[str, Any]) -> None:
        count = services.integrate(wait=True)
        self.stdout.write(f"integrated {count} queued entries; the log ends at "
                          f"{selectors.last_seq()}")

    def _head(self, opts: dict[str, Any]) -> None:
        services.integrate(wait=True)  # the head then covers everything committed so far
        previous = selectors.head_latest()
        head = services.head_sign(force=opts["force"])
        if head is None:
            self.stdout.write("the tree did not grow since the last head; nothing signed")
            return
        tasks.witness_export(head, previous_size=previous.size if previous else None)
        self.stdout.write(json.dumps({**head.__dict__, "signed_at": head.signed_at.isoformat()}))

    def _keygen(self, opts: dict[str, Any]) -> None:
        try:
            signer = signing.keygen()
        except FileExistsError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created signing key {signer.key_id} at {signing.key_path()}")
        self.stdout.write(signer.public_key_pem(), ending="")

    def _pubkey(self, opts: dict[str, Any]) -> None:
        signer = signing.get_signer()
        self.stdout.write(f"# key id {signer.key_id}\n{signer.public_key_pem()}", ending="")
