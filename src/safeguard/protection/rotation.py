"""Re-encryption after a key rotation: batched, resumable, idempotent.

A job walks every model that has encrypted fields or blind indexes, in primary-key order, one
batch per transaction. Each batch locks its rows, rewrites only values still under an old key
(the Tink key id is in every ciphertext and index), and moves the job's cursor in the same
transaction, so a crash loses at most the batch in flight and a rerun continues from the cursor
without rewriting anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def job_view(job: RotationJob) -> JobView:
    return JobView(id=job.id, status=str(job.status), keysets=tuple(job.keysets),
                   scanned=job.scanned, rewritten=job.rewritten, models_done=tuple(job.models_done),
                   created_at=job.created_at, finished_at=job.finished_at, error=job.error)


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
        job.save(update_fields=["cursor", "models_done", "scanned", "rewritten"])
    return len(rows), rewritten, not rows


def job_run(*, job_id: int, batch_size: int | None = None, max_batches: int | None = None,
            progress: Progress | None = None) -> JobView:
    """Run (or resume) a job; ``max_batches`` stops early, leaving it resumable."""
    size = batch_size or settings.SAFEGUARD_REENCRYPT_BATCH
    job = RotationJob.objects.get(id=job_id)
    if job.status == JobStatus.DONE:
        return job_view(job)
    RotationJob.objects.filter(id=job_id).update(status=JobStatus.RUNNING, error="")
    primaries = {name: keyring._load(name, force=True).primary_id for name in job.keysets}
    batches = 0
    try:
        for target in encrypted_models():
            relevant = (KeysetName.DATA in primaries and target.encrypted) or any(
                f.keyset in primaries for f in target.indexes)
            if target.label in job.models_done:
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
                    return job_view(RotationJob.objects.get(id=job_id))
    except Exception as exc:
        RotationJob.objects.filter(id=job_id).update(status=JobStatus.FAILED,
                                                     error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    with transaction.atomic():
        job = RotationJob.objects.select_for_update().get(id=job_id)
        job.status = JobStatus.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "finished_at"])
        audit.record(action="keys.reencrypted", actor=Actor.system("protection.rotation"),
                     subject=("rotation_job", job.id),
                     data={"keysets": job.keysets, "scanned": job.scanned,
                           "rewritten": job.rewritten})
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
