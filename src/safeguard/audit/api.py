"""Audit API for auditors and SIEM pulls: heads, proofs, event search (permission-checked).

An entry point: like every entry point it uses the accounts guards (import-linter allows this
one upward edge for audit's views/api/commands; the audit core imports no domain app).
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from safeguard.accounts.api_guards import access
from safeguard.audit import proofs, selectors, signing
from safeguard.audit.contracts import EventView
from safeguard.audit.permissions import EVENTS_VIEW, VERIFY
from safeguard.web.bounds import MAX_SEQ, RANGE_TEXT, BoundedDatetime

router = Router(tags=["audit"])


class HeadOut(Schema):
    size: int
    root_hash: str
    signed_at: datetime
    key_id: str
    signature: str = Field(description="Ed25519 over docs/audit.md's head message, base64")


class HeadsOut(Schema):
    public_key_pem: str
    key_id: str
    latest: HeadOut | None
    recent: list[HeadOut]


class InclusionOut(Schema):
    seq: int
    leaf_index: int
    leaf_hash: str
    tree_size: int
    root_hash: str
    path: list[str]


class ConsistencyOut(Schema):
    first_size: int
    second_size: int
    first_root: str
    second_root: str
    path: list[str]


class EventOut(Schema):
    seq: int
    at: datetime
    actor_kind: str
    actor_id: str
    actor_label: str
    action: str
    subject_type: str
    subject_id: str
    outcome: str
    source_ip: str | None
    request_id: str
    data: dict[str, object]


# Printable text only: a NUL would reach PostgreSQL (which refuses it: a 500, not an answer).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"


class EventFilter(Schema):
    action: str | None = Field(None, max_length=80, pattern=_PRINTABLE,
                               description="exact, or prefix ending '.'")
    actor: str | None = Field(None, max_length=254, pattern=_PRINTABLE)
    subject_type: str | None = Field(None, max_length=40, pattern=_PRINTABLE)
    subject_id: str | None = Field(None, max_length=64, pattern=_PRINTABLE)
    outcome: str | None = Field(None, pattern="^(success|failure|denied)$")
    since: BoundedDatetime | None = Field(None, description=f"Inclusive; {RANGE_TEXT}")
    until: BoundedDatetime | None = Field(None, description=f"Exclusive; {RANGE_TEXT}")
    before_seq: int | None = Field(None, ge=1, le=MAX_SEQ)
    limit: int = Field(100, ge=1, le=500)


class EventPage(Schema):
    items: list[EventOut]
    next_before_seq: int | None


def event_out(e: EventView) -> EventOut:
    return EventOut(seq=e.seq, at=e.at, actor_kind=e.actor.kind, actor_id=e.actor.id,
                    actor_label=e.actor.label, action=e.action, subject_type=e.subject_type,
                    subject_id=e.subject_id, outcome=e.outcome, source_ip=e.source_ip,
                    request_id=e.request_id, data=e.data)


@router.get("/heads", response=HeadsOut, auth=access(VERIFY))
def heads(request: HttpRequest) -> HeadsOut:
    """The public key, the latest signed tree head and recent ones."""
    signer = signing.get_signer()
    latest = selectors.head_latest()
    return HeadsOut(public_key_pem=signer.public_key_pem(), key_id=signer.key_id,
                    latest=HeadOut(**latest.__dict__) if latest else None,
                    recent=[HeadOut(**h.__dict__) for h in selectors.head_list(limit=20)])


@router.get("/proofs/inclusion", response=InclusionOut, auth=access(VERIFY))
def inclusion(request: HttpRequest, seq: int = Query(..., ge=1, le=MAX_SEQ),
              size: int | None = Query(None, ge=1, le=MAX_SEQ)) -> InclusionOut:
    """RFC 9162 inclusion proof of event ``seq`` in the tree of ``size`` (default latest head)."""
    return InclusionOut(**proofs.inclusion(seq=seq, size=size).__dict__)


@router.get("/proofs/consistency", response=ConsistencyOut, auth=access(VERIFY))
def consistency(request: HttpRequest, first: int = Query(..., ge=1, le=MAX_SEQ),
                second: int = Query(..., ge=1, le=MAX_SEQ)) -> ConsistencyOut:
    """RFC 9162 consistency proof between two tree sizes."""
    return ConsistencyOut(**proofs.consistency(first=first, second=second).__dict__)


@router.get("/events", response=EventPage, auth=access(EVENTS_VIEW))
def events(request: HttpRequest, filters: Query[EventFilter]) -> EventPage:
    """Search events, newest first; page with ``before_seq=next_before_seq``."""
    subject = (filters.subject_type, filters.subject_id) if filters.subject_type else None
    items = selectors.event_list(action=filters.action, actor=filters.actor, subject=subject,
                                 outcome=filters.outcome, since=filters.since,
                                 until=filters.until, before_seq=filters.before_seq,
                                 limit=filters.limit)
    return EventPage(items=[event_out(e) for e in items],
                     next_before_seq=items[-1].seq if len(items) == filters.limit else None)
