"""The export freeze (incident containment, decision 0225), owned by the floor app so every app
that exports data can read it without importing incidents.

``exports_freeze`` starts a freeze, ``exports_unfreeze`` lifts one; ``export_guard`` is the one
call each export path makes before it builds anything: while any freeze stands it records the
refused attempt (``export.refused``) and raises ``ExportsFrozen`` (HTTP 423). Re-exported by
``audit.services`` and ``audit.selectors``; import them from there.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from safeguard.audit import services
from safeguard.audit.contracts import Actor, AuditError, ExportsFrozen, FreezeView
from safeguard.audit.models import ExportFreeze


def _view(row: ExportFreeze) -> FreezeView:
    return FreezeView(id=row.id, frozen_at=row.frozen_at, frozen_by=row.frozen_by,
                      reason=row.reason, reference=row.reference, lifted_at=row.lifted_at,
                      lifted_by=row.lifted_by, lift_reason=row.lift_reason)


def _clean(value: str, name: str, *, limit: int, required: bool) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise AuditError(f"{name} is required.")
    if len(cleaned) > limit:
        raise AuditError(f"{name} is longer than {limit} characters.")
    return cleaned


@transaction.atomic
def exports_freeze(*, actor: Actor, reason: str, reference: str = "") -> FreezeView:
    """Freeze every data export from now until this freeze is lifted (audited).
    ``reason`` must already be screened by the caller (it is shown to refused exporters)."""
    row = ExportFreeze.objects.create(
        frozen_at=timezone.now(), frozen_by=actor.label[:254],
        reason=_clean(reason, "Reason", limit=500, required=True),
        reference=_clean(reference, "Reference", limit=200, required=False))
    services.record(action="export.frozen", actor=actor, subject=("export_freeze", row.id),
                    data={"reference": row.reference})
    return _view(row)


@transaction.atomic
def exports_unfreeze(*, actor: Actor, freeze_id: int, reason: str = "") -> FreezeView:
    """Lift one freeze (audited); exports resume when no other freeze stands."""
    row = ExportFreeze.objects.select_for_update().filter(id=freeze_id).first()
    if row is None:
        raise AuditError(f"No export freeze {freeze_id}.")
    if row.lifted_at is not None:
        raise AuditError(f"Export freeze {freeze_id} was already lifted.")
    row.lifted_at, row.lifted_by = timezone.now(), actor.label[:254]
    row.lift_reason = _clean(reason, "Reason", limit=500, required=False)
    row.save(update_fields=["lifted_at", "lifted_by", "lift_reason"])
    services.record(action="export.unfrozen", actor=actor, subject=("export_freeze", row.id),
                    data={"reference": row.reference})
    return _view(row)


def export_freezes(*, current_only: bool = True) -> list[FreezeView]:
    """The freezes in force (or all), oldest first."""
    rows = ExportFreeze.objects.order_by("id")
    if current_only:
        rows = rows.filter(lifted_at__isnull=True)
    return [_view(r) for r in rows]


def export_guard(*, actor: Actor, export: str) -> None:
    """Call before building any data export: while a freeze stands, record the refused attempt
    (``export.refused``, outcome failure, naming the export) and raise ExportsFrozen (423)."""
    current = ExportFreeze.objects.filter(lifted_at__isnull=True).order_by("id").first()
    if current is None:
        return
    with transaction.atomic():
        services.record(action="export.refused", actor=actor, outcome="failure",
                        subject=("export_freeze", current.id), data={"export": export[:80]})
    raise ExportsFrozen(f"Data exports are frozen since {current.frozen_at:%Y-%m-%d %H:%M} UTC "
                        f"({current.reference or 'incident containment'}: {current.reason}). "
                        "Nothing was exported; the attempt is recorded.")
