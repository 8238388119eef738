"""API of the incidents app (``/api/v1/incidents``): list and read incidents with their SLA
clocks and notices owed, open one, move it one state on, and list the customers a suspect read
(R-IR-1, R-IR-2, R-IR-6, R-REG-3).

Every operation declares its permission; the affected-customer list is sensitive (a session
needs a fresh second factor) and computing it is audited (``incident.affected_listed``). Bad
input is a 422 problem, a refused rule a 400, an unknown incident a 404 — nothing changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal
from safeguard.incidents import permissions as perms
from safeguard.incidents import selectors, services
from safeguard.incidents.contracts import IncidentView
from safeguard.incidents.enums import Category, Severity, State
from safeguard.web.bounds import RANGE_TEXT, BoundedDatetime

router = Router(tags=["incidents"])

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
_SEVERITY = "^(" + "|".join(Severity.values) + ")$"
_CATEGORY = "^(" + "|".join(Category.values) + ")$"
_STATE = "^(" + "|".join(State.values) + ")$"


class SlaOut(Schema):
    stage: str
    due: datetime
    met_at: datetime | None
    breached: bool
    remaining_seconds: float | None = Field(description="Seconds left (negative: overdue); "
                                                        "null once met")


class NoticeOut(Schema):
    jurisdiction: str
    recipient: str
    due: datetime | None = Field(description="null: no fixed period, or paused by a delay")
    paused: bool
    regulator: bool
    citation: str
    condition: str


class IncidentOut(Schema):
    id: int
    title: str
    summary: str
    severity: str
    category: str
    state: str
    next_state: str | None
    aware_at: datetime
    jurisdictions: list[str]
    source_alert_id: int | None
    opened_by: str
    created_at: datetime
    triaged_at: datetime | None
    contained_at: datetime | None
    eradicated_at: datetime | None
    recovered_at: datetime | None
    closed_at: datetime | None


class IncidentDetailOut(IncidentOut):
    sla: list[SlaOut]
    notices_owed: list[NoticeOut]


class IncidentFilter(Schema):
    open_only: bool = False
    limit: int = Field(50, ge=1, le=200)


class IncidentIn(Schema):
    title: str = Field(..., min_length=1, max_length=200, pattern=_PRINTABLE)
    severity: str = Field(..., pattern=_SEVERITY)
    category: str = Field(..., pattern=_CATEGORY)
    aware_at: BoundedDatetime = Field(..., description=f"Naive values are read as UTC; "
                                                       f"{RANGE_TEXT}")
    summary: str = Field("", max_length=5000)
    jurisdictions: list[Annotated[str, Field(max_length=32, pattern=r"^[A-Za-z0-9-]+$")]] = \
        Field(default_factory=list, max_length=50)


class TransitionIn(Schema):
    to_state: str = Field(..., pattern=_STATE,
                          description="The one next state (detected → triaged → contained → "
                                      "eradicated → recovered → closed)")


class AffectedFilter(Schema):
    kind: str = Field(..., pattern="^(user|token|ip)$",
                      description="Suspect: a staff user id, an API token id, a source address")
    value: str = Field(..., min_length=1, max_length=64, pattern=r"^[0-9A-Fa-f.:]+$")
    since: BoundedDatetime = Field(..., description=f"Inclusive; {RANGE_TEXT}")
    until: BoundedDatetime = Field(..., description=f"Exclusive; {RANGE_TEXT}")


class AffectedOut(Schema):
    customer: str = Field(description="Customer id, or the 12-hex prefix a case read carries")
    first_read: datetime
    last_read: datetime
    reads: int
    actions: list[str]
    fields_revealed: list[str]
    data_categories: list[str]
    jurisdictions: list[str] = Field(description="From the address on file; 'unknown' when "
                                                 "it does not say")
    audit_seqs: list[int]


def _principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _out(v: IncidentView) -> IncidentOut:
    return IncidentOut(
        id=v.id, title=v.title, summary=v.summary, severity=v.severity, category=v.category,
        state=v.state, next_state=v.next_state, aware_at=v.aware_at,
        jurisdictions=list(v.jurisdictions), source_alert_id=v.source_alert_id,
        opened_by=v.opened_by, created_at=v.created_at,
        triaged_at=v.stage_at.get("triaged"), contained_at=v.stage_at.get("contained"),
        eradicated_at=v.stage_at.get("eradicated"), recovered_at=v.stage_at.get("recovered"),
        closed_at=v.stage_at.get("closed"))


def _detail(v: IncidentView) -> IncidentDetailOut:
    sla = [SlaOut(stage=c.stage, due=c.due, met_at=c.met_at, breached=c.breached,
                  remaining_seconds=c.remaining.total_seconds() if c.remaining is not None
                  else None) for c in selectors.sla_for(v)]
    notices = [NoticeOut(jurisdiction=n.jurisdiction, recipient=n.recipient, due=n.due,
                         paused=n.paused, regulator=n.regulator, citation=n.citation,
                         condition=n.condition)
               for n in selectors.notices_owed(incident_id=v.id)]
    return IncidentDetailOut(**_out(v).model_dump(), sla=sla, notices_owed=notices)


@router.get("", response=list[IncidentOut], auth=access(perms.INCIDENTS_VIEW))
def incident_list(request: HttpRequest, filters: Query[IncidentFilter]) -> list[IncidentOut]:
    """Incidents, newest awareness first."""
    return [_out(v) for v in selectors.incident_list(open_only=filters.open_only,
                                                     limit=filters.limit)]


@router.post("", response={201: IncidentDetailOut}, auth=access(perms.INCIDENTS_MANAGE))
def incident_create(request: HttpRequest, body: IncidentIn) -> Status:
    """Open an incident in state detected; awareness starts every clock (audited)."""
    view = services.incident_open(
        actor=_principal(request).actor, title=body.title, severity=body.severity,
        category=body.category, aware_at=body.aware_at, summary=body.summary,
        jurisdictions=body.jurisdictions)
    return Status(201, _detail(view))


@router.get("/{int:incident_id}", response=IncidentDetailOut, auth=access(perms.INCIDENTS_VIEW))
def incident_get(request: HttpRequest, incident_id: int) -> IncidentDetailOut:
    """One incident with its SLA clocks and the notifications it owes."""
    return _detail(selectors.incident_get(incident_id=incident_id))


@router.post("/{int:incident_id}/transition", response=IncidentDetailOut,
             auth=access(perms.INCIDENTS_MANAGE))
def incident_transition(request: HttpRequest, incident_id: int,
                        body: TransitionIn) -> IncidentDetailOut:
    """Move the incident to its one next state (closing needs a commander and a complete
    review); any other move is refused and changes nothing."""
    view = services.incident_advance(actor=_principal(request).actor, incident_id=incident_id,
                                     to_state=body.to_state)
    return _detail(view)


@router.get("/{int:incident_id}/affected", response=list[AffectedOut],
            auth=access(perms.INCIDENTS_AFFECTED, step_up=True))
def incident_affected(request: HttpRequest, incident_id: int,
                      filters: Query[AffectedFilter]) -> list[AffectedOut]:
    """The customers the suspect read in [since, until), from the audit log, with the data
    categories exposed and each customer's jurisdiction (audited as incident.affected_listed)."""
    selectors.incident_get(incident_id=incident_id)
    rows = selectors.affected_customers(
        actor=_principal(request).actor,
        suspect=selectors.Suspect(kind=filters.kind, value=filters.value),
        since=filters.since, until=filters.until)
    return [AffectedOut(customer=r.customer, first_read=r.first_read, last_read=r.last_read,
                        reads=r.reads, actions=list(r.actions),
                        fields_revealed=list(r.fields_revealed),
                        data_categories=list(r.data_categories),
                        jurisdictions=list(r.jurisdictions), audit_seqs=list(r.event_seqs))
            for r in rows]
