"""`safeguard protection rescan`: find card numbers that older data still holds, and fix them.

Walks every installed model's text columns (including the plaintext of encrypted fields) in
primary-key order, one batch per transaction, with a cursor per model so an interrupted run
resumes. Findings are recorded by model, row, field and offsets, never by value. With ``fix``,
each card number is tokenized into the vault and replaced in place by its token text; models
in ``SAFEGUARD_RESCAN_READ_ONLY_MODELS`` (the append-only audit log) are reported, not changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import vault
from safeguard.protection.contracts import (
    CiphertextInvalid,
    InvalidCardNumber,
    RescanFindingView,
    RescanView,
)
from safeguard.protection.enums import JobStatus
from safeguard.protection.fields import _EncryptedField
from safeguard.protection.guard import EXEMPT_MODELS
from safeguard.protection.models import RescanFinding, RescanRun
from safeguard.protection.scanner import PAN
from safeguard.protection.scanning import find_pans
from safeguard.protection.screening import card_replacement, pan_digits

logger = logging.getLogger("safeguard.protection.rescan")
Progress = Callable[[str, int], None]
_TEXT = (models.CharField, models.TextField, models.JSONField, _EncryptedField)


def text_models() -> list[tuple[type[models.Model], list[Any]]]:
    """Every concrete model with text columns, and those columns (the vault excluded)."""
    found = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped or meta.label_lower in EXEMPT_MODELS:
            continue
        if not isinstance(meta.pk, models.Field) or meta.pk.__class__.__name__ == (
                "CompositePrimaryKey"):
            continue
        fields: list[Any] = [f for f in meta.local_concrete_fields if isinstance(f, _TEXT)]
        if fields:
            found.append((model, fields))
    return sorted(found, key=lambda t: t[0]._meta.label_lower)


def run_view(run: RescanRun) -> RescanView:
    return RescanView(
        id=run.id, status=run.status, fix=run.fix, scanned=run.scanned,
        findings=tuple(RescanFindingView(model=f.model, pk=f.object_pk, field=f.field,
                                         type=f.type, start=f.start, end=f.end, fixed=f.fixed)
                       for f in run.findings.order_by("id")),
        models_done=tuple(run.models_done), created_at=run.created_at,
        finished_at=run.finished_at)


def run_start(*, fix: bool, restart: bool = False) -> RescanRun:
    """The unfinished run with the same ``fix`` mode to resume, or a new one."""
    if not restart:
        pending = (RescanRun.objects.filter(fix=fix)
                   .exclude(status=JobStatus.DONE).order_by("-id").first())
        if pending is not None:
            return pending
    return RescanRun.objects.create(fix=fix, created_at=timezone.now())


def _replace(text: str, field: str) -> tuple[str, list[tuple[int, int, bool]]]:
    """``text`` with each card number tokenized; spans refer to the original text."""
    spans: list[tuple[int, int, bool]] = []
    out = text
    for f in reversed(find_pans(text)):
        try:
            token = vault.tokenize(pan=pan_digits(text[f.start:f.end]),
                                   source=f"rescan:{field}").token
            replacement = card_replacement(token)
        except InvalidCardNumber:
            replacement = "[PAN]"
        out = out[:f.start] + replacement + out[f.end:]
        spans.append((f.start, f.end, True))
    return out, sorted(spans)


def _fix_value(value: Any, field: str) -> tuple[Any, list[tuple[int, int, bool]]]:
    if isinstance(value, str):
        return _replace(value, field)
    if isinstance(value, dict):
        spans: list[tuple[int, int, bool]] = []
        out: dict[Any, Any] = {}
        for k, v in value.items():
            fixed, found = _fix_value(v, field)
            out[k] = fixed
            spans += found
        return out, spans
    if isinstance(value, list):
        spans = []
        items = []
        for v in value:
            fixed, found = _fix_value(v, field)
            items.append(fixed)
            spans += found
        return items, spans
    return value, []


def _scan_value(value: Any) -> list[tuple[int, int, bool]]:
    if isinstance(value, str):
        return [(f.start, f.end, False) for f in find_pans(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _scan_value(v)]
    if isinstance(value, list):
        return [s for v in value for s in _scan_value(v)]
    return []


def _batch(run_id: int, model: type[models.Model], fields: list[Any], size: int,
           actor: Actor) -> tuple[int, bool]:
    label = model._meta.label_lower
    read_only = label in {m.lower() for m in settings.SAFEGUARD_RESCAN_READ_ONLY_MODELS}
    with transaction.atomic():
        run = RescanRun.objects.select_for_update().get(id=run_id)
        query = model._base_manager.order_by("pk")
        cursor = run.cursor.get(label)
        if cursor is not None:
            query = query.filter(pk__gt=model._meta.pk.to_python(cursor))
        rows = list(query.select_for_update()[:size] if run.fix and not read_only
                    else query[:size])
        for row in rows:
            for field in fields:
                try:
                    value = getattr(row, field.attname)
                except CiphertextInvalid:
                    logger.warning("protection.rescan_unreadable",
                                   extra={"model": label, "pk": str(row.pk), "field": field.name})
                    continue
                if run.fix and not read_only:
                    fixed, spans = _fix_value(value, f"{label}.{field.name}")
                    if spans:
                        setattr(row, field.attname, fixed)
                        row.save(update_fields=[field.name])
                        audit.record(action="protection.pan_removed", actor=actor,
                                     subject=(label, str(row.pk)),
                                     data={"field": field.name, "count": len(spans)})
                else:
                    spans = _scan_value(value)
                RescanFinding.objects.bulk_create([
                    RescanFinding(run=run, model=label, object_pk=str(row.pk)[:64],
                                  field=field.name, type=PAN, start=a, end=b, fixed=fixed_flag)
                    for a, b, fixed_flag in spans])
        if rows:
            run.cursor = {**run.cursor, label: str(rows[-1].pk)}
        else:
            run.models_done = [*run.models_done, label]
        run.scanned += len(rows)
        run.status = JobStatus.RUNNING
        run.save(update_fields=["cursor", "models_done", "scanned", "status"])
    return len(rows), not rows


def run(*, run_id: int, actor: Actor, batch_size: int | None = None,
        only: list[str] | None = None, max_batches: int | None = None,
        progress: Progress | None = None) -> RescanView:
    """Run or resume a rescan; ``only`` restricts it to model labels (``app.model``)."""
    size = batch_size or settings.SAFEGUARD_REENCRYPT_BATCH
    wanted = {m.lower() for m in only} if only else None
    batches = 0
    for model, fields in text_models():
        label = model._meta.label_lower
        if wanted is not None and label not in wanted:
            continue
        if label in RescanRun.objects.get(id=run_id).models_done:
            continue
        while True:
            scanned, finished = _batch(run_id, model, fields, size, actor)
            if progress is not None and scanned:
                progress(label, scanned)
            if finished:
                break
            batches += 1
            if max_batches is not None and batches >= max_batches:
                return run_view(RescanRun.objects.get(id=run_id))
    with transaction.atomic():
        record = RescanRun.objects.select_for_update().get(id=run_id)
        record.status = JobStatus.DONE
        record.finished_at = timezone.now()
        record.save(update_fields=["status", "finished_at"])
        found = record.findings.count()
        audit.record(action="protection.rescanned", actor=actor, subject=("rescan", record.id),
                     data={"fix": record.fix, "scanned": record.scanned, "findings": found,
                           "fixed": record.findings.filter(fixed=True).count()})
    return run_view(record)


def rows_total(only: list[str] | None = None) -> int:
    wanted = {m.lower() for m in only} if only else None
    return sum(model._base_manager.count() for model, _ in text_models()
               if wanted is None or model._meta.label_lower in wanted)
