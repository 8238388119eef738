"""Re-encryption after a key rotation: batched, resumable, idempotent.

A job walks every model that has encrypted fields or blind indexes, in primary-key order, one
batch per transaction. Each batch locks its rows, rewrites only values still under an old key
(the Tink key id is in every ciphertext and index), and moves the job's cursor in the same
transaction, so a crash loses at most the batch in flight and a rerun continues from the cursor
without rewriting anything twice.

A rotation finishes only after the keyset cache period (SAFEGUARD_KEYSET_CACHE_SECONDS) has
passed since the job first ran — until then a long-running process may still encrypt under the
old primary it cached — and after a full sweep that began past that moment found nothing under
an old key (issue 17 item 7). Each job records its runner (host:pid) and a heartbeat, so a job
killed with kill -9 shows as stale and is resumed with ``keys rotate --resume JOB``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import keyring
from safeguard.protection.contracts import JobView, KeysError
from safeguard.protection.enums import JobStatus, KeysetName
from safeguard.protection.fields import BlindIndexField, _EncryptedField
from safeguard.protection.models import RotationJob

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class EncryptedModel:
    model: type[models.Model]
    encrypted: tuple[_EncryptedField, ...]
    indexes: tuple[BlindIndexField, ...]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def encrypted_models() -> list[EncryptedModel]:
    """Every installed concrete model with encrypted fields or blind indexes, by label."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped:
            continue
        own = list(meta.local_concrete_fields)
        enc = tuple(f for f in own if isinstance(f, _EncryptedField))
        idx = tuple(f for f in own if isinstance(f, BlindIndexField))
        if enc or idx:
            found.append(EncryptedModel(model, enc, idx))
    return sorted(found, key=lambda m: m.label)


def _this_runner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_is_stale(job: RotationJob, *, now: datetime | None = None) -> bool:
    """A "running" job whose runner is gone: its process on this host no longer exists, or it
    has not made progress for SAFEGUARD_REENCRYPT_STALE_SECONDS (another host)."""
    if job.status != JobStatus.RUNNING:
        return False
    host, _, pid = job.runner.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # alive, another user's process
    limit = timedelta(seconds=settings.SAFEGUARD_REENCRYPT_STALE_SECONDS)
    beat = job.heartbeat_at or job.created_at
    return (now or timezone.now()) - beat > limit


def job_view(job: RotationJob) -> JobView:
    return JobView(id=job.id, status=str(job.status), keysets=tuple(job.keysets),
                   scanned=job.scanned, rewritten=job.rewritten, models_done=tuple(job.models_done),
                   created_at=job.created_at, finished_at=job.finished_at, error=job.error,
                   passes=job.passes, runner=job.runner, stale=job_is_stale(job))


def job_create(*, keysets: list[str]) -> RotationJob:
    for name in keysets:
        if name not in KeysetName.values:
            raise KeysError(f"unknown keyset {name!r}")
    return RotationJob.objects.create(keysets=list(keysets), created_at=timezone.now())


def _stale(blob: object, primary: int) -> bool:
    if blob is None:
        return False
    return keyring.ciphertext_key_id(bytes(blob)) != primary  # type: ignore[call-overload]


def _batch(job_id: int, target: EncryptedModel, primaries: dict[str, int], size: int
           ) -> tuple[int, int, bool]:
    """One transaction: rewrite stale values of the next ``size`` rows.

    Returns (rows scanned, rows rewritten, model finished).
    """
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        pk_field = target.model._meta.pk
        query = target.model._base_manager.order_by("pk")
        cursor = job.cursor.get(target.label)
        if cursor is not None:
            query = query.filter(pk__gt=pk_field.to_python(cursor))
        rows = list(query.select_for_update()[:size])
        rewritten = 0
        for row in rows:
            changed = []
            if KeysetName.DATA in primaries:
                changed += [f.name for f in target.encrypted
                            if _stale(row.__dict__.get(f.attname), primaries[KeysetName.DATA])]
            changed += [f.name for f in target.indexes if f.keyset in primaries
                        and _stale(row.__dict__.get(f.attname), primaries[f.keyset])]
            if changed:
                row.save(update_fields=changed)
                rewritten += 1
        if rows:
            job.cursor = {**job.cursor, target.label: str(rows[-1].pk)}
        else:
            job.models_done = [*job.models_done, target.label]
        job.scanned += len(rows)
        job.rewritten += rewritten
        job.pass_rewritten += rewritten
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["cursor", "models_done", "scanned", "rewritten",
                                "pass_rewritten", "heartbeat_at"])
    return len(rows), rewritten, not rows


def _claim(job_id: int, actor: Actor) -> RotationJob:
    """Take the job for this process; refuse one that another live runner holds."""
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        resumed = job.status != JobStatus.QUEUED
        stale = job_is_stale(job)
        if job.status == JobStatus.RUNNING and not stale and job.runner != _this_runner():
            raise KeysError(f"Re-encryption job {job.id} is running ({job.runner}); resume "
                            "only a stale, failed or finished job.")
        now = timezone.now()
        if job.status == JobStatus.DONE:
            # A re-run is one more full sweep under the current primaries.
            job.cursor, job.models_done, job.finished_at = {}, [], None
            job.pass_started_at, job.pass_rewritten = None, 0
        previous = job.runner
        job.status, job.error = JobStatus.RUNNING, ""
        job.runner, job.heartbeat_at = _this_runner(), now
        if job.settle_after is None:
            # The rotation has committed (this row is visible): past this moment no process
            # can still hold the old primary in its keyset cache.
            job.settle_after = now + timedelta(seconds=settings.SAFEGUARD_KEYSET_CACHE_SECONDS)
        if job.pass_started_at is None:
            job.pass_started_at, job.passes = now, job.passes + 1
        job.save()
        audit.record(action="keys.reencrypt_resumed" if resumed else "keys.reencrypt_started",
                     actor=actor, subject=("rotation_job", job.id),
                     data={"keysets": job.keysets, "runner": job.runner,
                           "previous_runner": previous if resumed else "",
                           "was_stale": stale, "pass": job.passes})
    return job


def _settle(job_id: int, settle_after: datetime) -> None:
    """Wait until every process's keyset cache has expired, beating the heart meanwhile."""
    while (left := (settle_after - timezone.now()).total_seconds()) > 0:
        time.sleep(min(left, 10.0))
        RotationJob.objects.filter(id=job_id).update(heartbeat_at=timezone.now())


def _next_pass_or_finish(job_id: int) -> bool:
    """After a full pass: True when finished (the pass began after the settle moment and found
    nothing under an old key); otherwise start another full sweep and return False."""
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        settled = (job.settle_after is not None and job.pass_started_at is not None
                   and job.pass_started_at >= job.settle_after)
        if settled and job.pass_rewritten == 0:
            return True
        now = timezone.now()
        job.cursor, job.models_done = {}, []
        job.pass_started_at, job.pass_rewritten, job.passes = now, 0, job.passes + 1
        job.heartbeat_at = now
        job.save(update_fields=["cursor", "models_done", "pass_started_at", "pass_rewritten",
                                "passes", "heartbeat_at"])
        return False


def _one_pass(job_id: int, primaries: dict[str, int], size: int, max_batches: int | None,
              progress: Progress | None, batches: int) -> tuple[int, bool]:
    """Visit every relevant model from the cursor; (batches so far, stopped early)."""
    done = set(RotationJob.objects.values_list("models_done", flat=True).get(id=job_id))
    for target in encrypted_models():
        relevant = (KeysetName.DATA in primaries and target.encrypted) or any(
            f.keyset in primaries for f in target.indexes)
        if target.label in done:
            continue
        while True:
            if not relevant:
                _mark_done(job_id, target.label)
                break
            scanned, _, finished = _batch(job_id, target, primaries, size)
            if progress is not None and scanned:
                progress(target.label, scanned)
            if finished:
                break
            batches += 1
            if max_batches is not None and batches >= max_batches:
                return batches, True
    return batches, False


def job_run(*, job_id: int, batch_size: int | None = None, max_batches: int | None = None,
            progress: Progress | None = None, actor: Actor | None = None) -> JobView:
    """Run or resume a job (a finished one runs one more sweep); ``max_batches`` stops early,
    leaving it resumable. Start, resume and interruption are audited with the actor."""
    actor = actor or Actor.system("protection.rotation")
    size = batch_size or settings.SAFEGUARD_REENCRYPT_BATCH
    job = _claim(job_id, actor)
    primaries = {name: keyring._load(name, force=True).primary_id for name in job.keysets}
    batches = 0
    try:
        while True:
            batches, stopped = _one_pass(job_id, primaries, size, max_batches, progress, batches)
            if stopped:
                return job_view(RotationJob.objects.get(id=job_id))
            settle_after = RotationJob.objects.values_list("settle_after", flat=True).get(
                id=job_id)
            assert settle_after is not None  # noqa: S101 - set by _claim
            _settle(job_id, settle_after)
            if _next_pass_or_finish(job_id):
                break
    except BaseException as exc:  # KeyboardInterrupt and SIGTERM too: recorded, then re-raised
        RotationJob.objects.filter(id=job_id).update(status=JobStatus.FAILED,
                                                     error=f"{type(exc).__name__}: {exc}"[:500])
        audit.record(action="keys.reencrypt_interrupted", actor=actor, outcome="failure",
                     subject=("rotation_job", job_id),
                     data={"error": type(exc).__name__, "runner": _this_runner()})
        raise
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        job.status = JobStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        audit.record(action="keys.reencrypted", actor=actor,
                     subject=("rotation_job", job.id),
                     data={"keysets": job.keysets, "scanned": job.scanned,
                           "rewritten": job.rewritten, "passes": job.passes})
    return job_view(job)


def _mark_done(job_id: int, label: str) -> None:
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        if label not in job.models_done:
            job.models_done = [*job.models_done, label]
            job.save(update_fields=["models_done"])


def rows_total(keysets: list[str]) -> int:
    """Rows a job over ``keysets`` will visit (for a progress bar)."""
    total = 0
    for target in encrypted_models():
        if (KeysetName.DATA in keysets and target.encrypted) or any(
                f.keyset in keysets for f in target.indexes):
            total += target.model._base_manager.count()
    return total


def usage() -> dict[str, dict[int, int]]:
    """How many stored values each key of each keyset protects (reads every row: slow)."""
    counts: dict[str, dict[int, int]] = {}
    for target in encrypted_models():
        names = [f.attname for f in target.encrypted] + [f.attname for f in target.indexes]
        keysets = [KeysetName.DATA.value] * len(target.encrypted) + [
            f.keyset for f in target.indexes]
        for values in target.model._base_manager.values_list(*names).iterator():
            for keyset, blob in zip(keysets, values, strict=True):
                if blob is None:
                    continue
                key_id = keyring.ciphertext_key_id(bytes(blob))
                if key_id is not None:
                    per = counts.setdefault(keyset, {})
                    per[key_id] = per.get(key_id, 0) + 1
    return counts
