"""``safeguard keys init|unseal|seal|rotate|reencrypt|status``: the key hierarchy for operators.

See docs/keys.md. Shares printed by ``init --provider local`` are shown once and never stored.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from safeguard.audit.contracts import Actor
from safeguard.protection import selectors, services
from safeguard.protection.contracts import KeysStatus
from safeguard.protection.enums import KeysetName
from safeguard.web.errors import ApplicationError


def _actor() -> Actor:
    """The command, labelled with the operating-system user who ran it (issue 17 item 7)."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = f"uid {os.getuid()}"
    return Actor(kind="system", id="cli.keys", label=f"cli.keys (os user {who})")


class Command(BaseCommand):
    help = "Initialise, unseal, seal, rotate and report the encryption keys (docs/keys.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        init = sub.add_parser("init", help="create the key-encryption key and the keysets once")
        init.add_argument("--provider", choices=["dev", "local", "kms"],
                          help="default: SAFEGUARD_KEK_PROVIDER")
        init.add_argument("--shares", type=int, help="local: number of custodian shares (N)")
        init.add_argument("--threshold", type=int, help="local: shares needed to unseal (M)")
        init.add_argument("--kms-uri", default="", help="kms: default SAFEGUARD_KEK_URI")
        unseal = sub.add_parser("unseal", help="recombine M custodian shares on this machine")
        unseal.add_argument("--share-file", action="append", default=[],
                            help="read shares from a file (one per line); may repeat")
        sub.add_parser("seal", help="remove this machine's unsealed key file")
        rotate = sub.add_parser("rotate", help="add a new primary key; re-encrypt old rows")
        rotate.add_argument("--keyset", action="append", choices=[*KeysetName.values, "all"],
                            help="keyset to rotate (default: data); may repeat")
        rotate.add_argument("--wait", action="store_true",
                            help="re-encrypt here with a progress bar instead of as a job")
        rotate.add_argument("--batch", type=int, default=None)
        rotate.add_argument("--resume", type=int, metavar="JOB", default=None,
                            help="resume (or re-run) re-encryption job JOB here instead of "
                                 "rotating: a stale, failed or finished job")
        reencrypt = sub.add_parser("reencrypt", help="run or resume a re-encryption job here")
        reencrypt.add_argument("--job", type=int, help="job id (default: the latest unfinished)")
        reencrypt.add_argument("--batch", type=int, default=None)
        status = sub.add_parser("status", help="provider, sealed state, key ages, jobs")
        status.add_argument("--json", action="store_true", help="machine-readable evidence")
        status.add_argument("--usage", action="store_true",
                            help="also count stored values per key (reads every row)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from None

    # -- init ----------------------------------------------------------------------------
    def _init(self, opts: dict[str, Any]) -> None:
        provider = opts["provider"] or settings.SAFEGUARD_KEK_PROVIDER
        issued = services.keys_init(provider=provider, actor=_actor(), shares=opts["shares"],
                                    threshold=opts["threshold"], kms_uri=opts["kms_uri"])
        self.stdout.write(self.style.SUCCESS(f"Keys initialised with the {provider} provider."))
        if issued is None:
            if provider == "dev":
                self.stderr.write(self.style.WARNING(
                    "WARNING: the dev key-encryption key is a file in the data directory. "
                    "Demo and tests only."))
            return
        n = len(issued.shares)
        self.stdout.write(
            f"\nThe key-encryption key is split into {n} shares; any {issued.threshold} unseal "
            "it.\nGive each custodian ONE share, on paper. They are shown now and never again; "
            "nothing of them is stored.\n")
        for i, share in enumerate(issued.shares, start=1):
            self.stdout.write(f"Share {i} of {n}:\n  {share}\n")
        self.stdout.write("Next: clear this terminal, then run `safeguard keys unseal` with "
                          f"{issued.threshold} custodians on every machine that runs Safeguard.")

    # -- unseal / seal -------------------------------------------------------------------
    def _read_shares(self, files: list[str]) -> list[str]:
        shares: list[str] = []
        for name in files:
            try:
                with open(name, encoding="utf-8") as fh:
                    shares += [line.strip() for line in fh
                               if line.strip() and not line.lstrip().startswith("#")]
            except OSError as exc:
                raise CommandError(f"{name}: cannot read: {exc.strerror}") from None
        if files:
            return shares
        if not sys.stdin.isatty():
            return [line.strip() for line in sys.stdin if line.strip()]
        needed = selectors.keys_status().threshold or 2
        for i in range(1, needed + 1):
            shares.append(getpass.getpass(f"Share {i} of {needed} (input hidden): "))
        return shares

    def _unseal(self, opts: dict[str, Any]) -> None:
        result = services.keys_unseal(mnemonics=self._read_shares(opts["share_file"]),
                                      actor=_actor())
        self.stdout.write(self.style.SUCCESS(
            f"Unsealed with {result.shares_used} shares; the key is at {result.path} for this "
            "machine's Safeguard processes."))
        if not result.on_tmpfs:
            self.stderr.write(self.style.WARNING(
                "WARNING: that path is not on tmpfs: the key may reach a disk. Set "
                "SAFEGUARD_KEK_RUNTIME_DIR to a tmpfs directory (docs/keys.md)."))

    def _seal(self, opts: dict[str, Any]) -> None:
        removed = services.keys_seal(actor=_actor())
        self.stdout.write("Sealed: the unsealed key file was removed." if removed
                          else "Already sealed on this machine.")
        self.stdout.write("Running processes keep their key until they restart.")

    # -- rotate / reencrypt --------------------------------------------------------------
    def _rotate(self, opts: dict[str, Any]) -> None:
        if opts["resume"] is not None:
            if opts["keyset"]:
                raise CommandError("--resume takes no --keyset: the job names its keysets.")
            self._run_job(opts["resume"], opts["batch"])
            return
        chosen = opts["keyset"] or [KeysetName.DATA.value]
        names = list(KeysetName.values) if "all" in chosen else chosen
        job = services.keys_rotate(keysets=names, actor=_actor(), enqueue=not opts["wait"])
        self.stdout.write(self.style.SUCCESS(
            f"Rotated {', '.join(names)}: new primary keys in place; old keys still decrypt."))
        if opts["wait"]:
            self._run_job(job.id, opts["batch"])
        else:
            self.stdout.write(f"Re-encryption job {job.id} queued; follow it with "
                              "`safeguard keys status` or run it here with "
                              f"`safeguard keys reencrypt --job {job.id}`.")

    def _reencrypt(self, opts: dict[str, Any]) -> None:
        job_id = opts["job"]
        if job_id is None:
            pending = [j for j in selectors.keys_status(jobs=50).jobs if j.status != "done"]
            if not pending:
                self.stdout.write("No unfinished re-encryption job.")
                return
            job_id = pending[-1].id
        self._run_job(job_id, opts["batch"])

    def _run_job(self, job_id: int, batch: int | None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from safeguard.protection import rotation
        from safeguard.protection.models import RotationJob

        job = RotationJob.objects.filter(id=job_id).first()
        if job is None:
            raise CommandError(f"No re-encryption job {job_id}.")
        keysets = job.keysets
        total = rotation.rows_total(keysets)
        with Progress(TextColumn("re-encrypting {task.description}"), BarColumn(),
                      MofNCompleteColumn(), console=Console(stderr=True),
                      transient=True) as bar:
            task = bar.add_task("rows", total=total or None)
            view = services.keys_reencrypt(
                job_id=job_id, batch_size=batch, actor=_actor(),
                progress=lambda label, n: bar.update(task, advance=n, description=label))
        self.stdout.write(self.style.SUCCESS(
            f"Job {view.id} {view.status}: {view.scanned} rows checked, "
            f"{view.rewritten} rewritten under the new keys, {view.passes} pass(es); the last "
            "sweep, after the keyset cache period, found nothing under an old key."))

    # -- status --------------------------------------------------------------------------
    def _status(self, opts: dict[str, Any]) -> None:
        status = selectors.keys_status()
        usage = selectors.key_usage() if opts["usage"] and not status.sealed else None
        if opts["json"]:
            self.stdout.write(json.dumps(_status_json(status, usage), indent=2, default=str))
        else:
            self._status_text(status, usage)
        if status.overdue:
            raise CommandError(f"{len(status.overdue)} primary key(s) older than the "
                               f"{status.rotation_days}-day rotation policy: run "
                               "`safeguard keys rotate`.", returncode=3)

    def _status_text(self, status: KeysStatus, usage: dict[str, dict[int, int]] | None) -> None:
        w = self.stdout.write
        if not status.initialised:
            w(f"Keys: not initialised (provider setting: {status.provider}). "
              "Run `safeguard keys init`.")
            return
        w(f"Provider:   {status.provider}" + (
            f" ({status.threshold} of {status.shares} shares)" if status.threshold else "")
          + (f" {status.kms_uri}" if status.kms_uri else ""))
        w(f"State:      {'SEALED' if status.sealed else 'unsealed'}")
        w(f"Created:    {status.created_at:%Y-%m-%d}" if status.created_at else "Created: ?")
        w(f"Rotation:   every {status.rotation_days} days (SAFEGUARD_KEY_ROTATION_DAYS)")
        for warning in status.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        if status.keys:
            w("\nkeyset       key id      primary  status   created     age (days)  policy")
        for k in status.keys:
            created = f"{k.created_at:%Y-%m-%d}" if k.created_at else "?"
            policy = "OVERDUE" if k.overdue else ("ok" if k.primary else "read-only")
            count = f"  values: {usage.get(k.keyset, {}).get(k.key_id, 0)}" if usage else ""
            w(f"{k.keyset:<12} {k.key_id:<11} {'yes' if k.primary else '':<8} {k.status:<8} "
              f"{created:<11} {k.age_days if k.age_days is not None else '?':<11} "
              f"{policy}{count}")
        if status.jobs:
            w("\nre-encryption jobs:")
        for j in status.jobs:
            stale = (f"  STALE (runner {j.runner} is gone): resume with "
                     f"`safeguard keys rotate --resume {j.id}`") if j.stale else ""
            w(f"  #{j.id} {j.status:<8} {','.join(j.keysets):<20} {j.scanned} checked, "
              f"{j.rewritten} rewritten, {j.passes} pass(es)"
              + (f"  error: {j.error}" if j.error else "") + stale)


def _status_json(status: KeysStatus, usage: dict[str, dict[int, int]] | None) -> dict[str, Any]:
    return {
        "initialised": status.initialised, "provider": status.provider,
        "sealed": status.sealed, "rotation_days": status.rotation_days,
        "created_at": status.created_at, "threshold": status.threshold,
        "shares": status.shares, "kms_uri": status.kms_uri, "warnings": list(status.warnings),
        "keys": [{"keyset": k.keyset, "key_id": k.key_id, "primary": k.primary,
                  "status": k.status, "created_at": k.created_at, "age_days": k.age_days,
                  "overdue": k.overdue,
                  **({"values": usage.get(k.keyset, {}).get(k.key_id, 0)} if usage else {})}
                 for k in status.keys],
        "jobs": [{"id": j.id, "status": j.status, "keysets": list(j.keysets),
                  "scanned": j.scanned, "rewritten": j.rewritten, "error": j.error,
                  "passes": j.passes, "runner": j.runner, "stale": j.stale}
                 for j in status.jobs],
    }
