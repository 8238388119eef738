"""Writes of the metrics app: annotating a process change on a KPI (a new baseline phase for
its control chart, R-KPI-9). Audited."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.metrics import kpis
from safeguard.metrics.contracts import MetricsError, ProcessChangeView
from safeguard.metrics.models import ProcessChange
from safeguard.protection import services as protection

LABEL_MAX = 120


@transaction.atomic
def process_change_record(*, actor: Actor, user_id: int | None, kpi_key: str,
                          effective_on: date, label: str) -> ProcessChangeView:
    """Record that the process behind ``kpi_key`` changed on ``effective_on``; one per KPI and
    day, not in the future, with a short screened label."""
    if kpi_key not in kpis.BY_KEY:
        raise MetricsError(f"unknown KPI {kpi_key!r}")
    if effective_on > timezone.now().date():
        raise MetricsError("a process change cannot be dated in the future")
    if effective_on.year < 2000:
        raise MetricsError("a process change before 2000 is not recorded")
    text = protection.screen(label.strip(), field="metrics.process_change.label").text
    if not text:
        raise MetricsError("describe the change (a short label)")
    if len(text) > LABEL_MAX:
        raise MetricsError(f"the label is longer than {LABEL_MAX} characters")
    try:
        with transaction.atomic():
            row = ProcessChange.objects.create(kpi_key=kpi_key, effective_on=effective_on,
                                               label=text, recorded_by_id=user_id,
                                               recorded_at=timezone.now())
    except IntegrityError:
        raise MetricsError(f"{kpi_key} already has a change on {effective_on.isoformat()}") \
            from None
    audit.record(action="metrics.process_change_recorded", actor=actor,
                 subject=("process_change", row.id),
                 data={"kpi": kpi_key, "effective_on": effective_on.isoformat()})
    return ProcessChangeView(id=row.id, kpi_key=kpi_key, effective_on=effective_on, label=text)
