"""API of the detection app (``/api/v1/alerts``): the alert queue, one alert, triage.

Every operation declares its permission. Filters: ``status`` (one state, or ``open`` for every
state but closed), ``rule`` (a rule id), ``entity`` (exact, like ``user:3``), ``severity``,
``since``/``until`` on the alert's creation time. Pages go newest first; ``next_before_id``
fetches the next page. Bad input is a 422 problem and changes nothing; a transition the alert's
state forbids is a 409.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal
from safeguard.detection import permissions as perms
from safeguard.detection import selectors, services
from safeguard.detection.contracts import AlertView
from safeguard.web.bounds import MAX_SEQ, RANGE_TEXT, BoundedDatetime

router = Router(tags=["detection"])

_STATUS = "^(new|acknowledged|investigating|closed|open)$"
_SEVERITY = "^(informational|low|medium|high|critical)$"
_RESOLUTION = "^(true_positive|false_positive|benign)$"
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class EscalationOut(Schema):
    level: str
    target: str
    status: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None


class AlertOut(Schema):
    id: int
    rule_id: str
    rule_title: str
    severity: str
    entity: str
    evidence: list[int] = Field(description="Audit sequence numbers (GET /api/v1/audit/events)")
    first_evidence_at: datetime
    last_evidence_at: datetime
    explanation: str
    score: float | None
    tags: list[str]
    status: str
    resolution: str
    owner: str = Field(description="E-mail of the analyst who owns it, or empty")
    created_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    detection_delay_seconds: float = Field(description="created_at - first_evidence_at")
    time_to_acknowledge_seconds: float | None
    escalations: list[EscalationOut]


class AlertFilter(Schema):
    status: str | None = Field(None, pattern=_STATUS)
    rule: str | None = Field(None, max_length=100, pattern=_PRINTABLE)
    entity: str | None = Field(None, max_length=200, pattern=_PRINTABLE)
    severity: str | None = Field(None, pattern=_SEVERITY)
    since: BoundedDatetime | None = Field(None, description=f"Inclusive; {RANGE_TEXT}")
    until: BoundedDatetime | None = Field(None, description=f"Exclusive; {RANGE_TEXT}")
    before_id: int | None = Field(None, ge=1, le=MAX_SEQ)
    limit: int = Field(50, ge=1, le=200)


class AlertPage(Schema):
    items: list[AlertOut]
    next_before_id: int | None


class CloseIn(Schema):
    resolution: str = Field(..., pattern=_RESOLUTION)
    note: str = Field("", max_length=2000)


class BulkIn(Schema):
    ids: list[int] = Field(..., min_length=1, max_length=200)


class BulkOut(Schema):
    acknowledged: list[int]


def alert_out(a: AlertView) -> AlertOut:
    return AlertOut(
        id=a.id, rule_id=a.rule_id, rule_title=a.rule_title, severity=a.severity,
        entity=a.entity, evidence=list(a.evidence), first_evidence_at=a.first_evidence_at,
        last_evidence_at=a.last_evidence_at, explanation=a.explanation, score=a.score,
        tags=list(a.tags), status=a.status, resolution=a.resolution, owner=a.owner_email,
        created_at=a.created_at, acknowledged_at=a.acknowledged_at, closed_at=a.closed_at,
        detection_delay_seconds=a.detection_delay_seconds,
        time_to_acknowledge_seconds=a.time_to_acknowledge_seconds,
        escalations=[EscalationOut(level=e.level, target=e.target, status=e.status,
                                   attempts=e.attempts, due_at=e.due_at, sent_at=e.sent_at)
                     for e in a.escalations])


def _principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


@router.get("", response=AlertPage, auth=access(perms.VIEW))
def alert_list(request: HttpRequest, filters: Query[AlertFilter]) -> AlertPage:
    """Alerts newest first, filtered."""
    items = selectors.alert_list(
        status=filters.status, rule=filters.rule, entity=filters.entity,
        severity=filters.severity, since=filters.since, until=filters.until,
        before_id=filters.before_id, limit=filters.limit)
    return AlertPage(items=[alert_out(a) for a in items],
                     next_before_id=items[-1].id if len(items) == filters.limit else None)


@router.post("/acknowledge", response=BulkOut, auth=access(perms.TRIAGE))
def alert_acknowledge_bulk(request: HttpRequest, body: BulkIn) -> BulkOut:
    """Acknowledge every listed alert that is still new; lists the ids it acknowledged."""
    done = services.alerts_acknowledge_bulk(alert_ids=body.ids, principal=_principal(request))
    return BulkOut(acknowledged=done)


@router.get("/{int:alert_id}", response=AlertOut, auth=access(perms.VIEW))
def alert_get(request: HttpRequest, alert_id: int) -> AlertOut:
    """One alert with its clocks and escalation notices."""
    return alert_out(selectors.alert_get(alert_id=alert_id))


@router.post("/{int:alert_id}/acknowledge", response=AlertOut, auth=access(perms.TRIAGE))
def alert_acknowledge(request: HttpRequest, alert_id: int) -> AlertOut:
    """new -> acknowledged (the caller becomes the owner if there is none)."""
    services.alert_acknowledge(alert_id=alert_id, principal=_principal(request))
    return alert_out(selectors.alert_get(alert_id=alert_id))


@router.post("/{int:alert_id}/investigate", response=AlertOut, auth=access(perms.TRIAGE))
def alert_investigate(request: HttpRequest, alert_id: int) -> AlertOut:
    """new|acknowledged -> investigating (the caller becomes the owner)."""
    services.alert_investigate(alert_id=alert_id, principal=_principal(request))
    return alert_out(selectors.alert_get(alert_id=alert_id))


@router.post("/{int:alert_id}/close", response=AlertOut, auth=access(perms.TRIAGE))
def alert_close(request: HttpRequest, alert_id: int, body: CloseIn) -> AlertOut:
    """Close with a resolution and an optional note."""
    services.alert_close(alert_id=alert_id, principal=_principal(request),
                         resolution=body.resolution, note=body.note)
    return alert_out(selectors.alert_get(alert_id=alert_id))
