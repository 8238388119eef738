"""SLA breach flags: the periodic sweep that marks cases whose clocks ran out."""

from __future__ import annotations

from django.db import transaction

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import lifecycle
from safeguard.cases.enums import HistoryKind
from safeguard.cases.models import Case
from safeguard.cases.services import _base as base

_ACTIVE = [s.value for s in lifecycle.ACTIVE]


@transaction.atomic
def sla_check(*, batch_size: int = 500) -> int:
    """Flag every active case past a due time whose event has not happened; each breach is
    flagged once (the flag is the due time), so running it again changes nothing. Returns the
    number of new flags."""
    at = base.now()
    actor = Actor.system("cases.sla")
    flagged = 0
    clocks = (
        ("first_response", "first_response_due_at", "first_response_at",
         "first_response_breached_at"),
        ("resolution", "resolution_due_at", "resolved_at", "resolution_breached_at"),
    )
    for clock, due_field, done_field, flag_field in clocks:
        late = (Case.objects.select_for_update()
                .filter(status__in=_ACTIVE, merged_into__isnull=True,
                        **{f"{due_field}__lt": at, f"{done_field}__isnull": True,
                           f"{flag_field}__isnull": True})
                .order_by(due_field).only("id", "number", due_field, flag_field)[:batch_size])
        for case in late:
            setattr(case, flag_field, getattr(case, due_field))
            case.save(update_fields=[flag_field])
            base.history(case, HistoryKind.SLA_BREACH, actor, at=at, clock=clock)
            audit.record(action="case.sla_breached", actor=actor, subject=("case", case.number),
                         data={"number": case.number, "clock": clock})
            flagged += 1
    return flagged
