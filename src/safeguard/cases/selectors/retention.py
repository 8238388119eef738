"""Reads for the retention sweep of the privacy app (R-DATA-3): pages of closed cases and of
call recordings, in key order so a sweep resumes after the last key it finished.

No scope applies: the callers are the sweep (a system job) and the privacy officer's plan.
They hand out ids, dates and retention categories only — never content.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError

from safeguard.cases.enums import AttachmentState, CaseStatus
from safeguard.cases.models import Attachment, Case, CsatResponse, Interaction, Message, Queue, Tag


@dataclass(frozen=True)
class CaseRetentionView:
    """A closed case as the sweep sees it: when it closed and what its recordings are kept for."""

    id: str
    customer_id: str
    closed_at: datetime
    recording_categories: tuple[str, ...]


@dataclass(frozen=True)
class RecordingRetentionView:
    """A stored call recording: its call's end and retention category."""

    id: str
    case_id: str
    customer_id: str
    ended_at: datetime
    category: str


def retention_closed_cases(*, after: str, limit: int) -> list[CaseRetentionView]:
    """Closed cases with a key greater than ``after`` ("" for the first page), in key order."""
    qs = Case.objects.filter(status=CaseStatus.CLOSED, closed_at__isnull=False)
    if after:
        qs = qs.filter(id__gt=after)
    rows = list(qs.order_by("id").values_list("id", "customer_id", "closed_at")[:limit])
    categories: dict[str, set[str]] = {}
    for case_id, category in (Interaction.objects
                              .filter(case_id__in=[r[0] for r in rows])
                              .exclude(recording_retention="")
                              .values_list("case_id", "recording_retention")):
        categories.setdefault(str(case_id), set()).add(category)
    return [CaseRetentionView(id=str(cid), customer_id=str(cust), closed_at=closed,
                              recording_categories=tuple(sorted(categories.get(str(cid), ()))))
            for cid, cust, closed in rows if closed is not None]


def retention_recordings(*, after: str, limit: int) -> list[RecordingRetentionView]:
    """Interactions that still hold a recording and whose call ended, in key order."""
    qs = Interaction.objects.filter(recording__isnull=False, ended_at__isnull=False)
    if after:
        qs = qs.filter(id__gt=after)
    rows = qs.order_by("id").values_list("id", "case_id", "case__customer_id", "ended_at",
                                         "recording_retention")[:limit]
    return [RecordingRetentionView(id=str(i), case_id=str(c), customer_id=str(cu), ended_at=e,
                                   category=cat) for i, c, cu, e, cat in rows if e is not None]


def retention_case_exists(*, case_id: str) -> bool:
    """Whether a case with this id exists (for a legal hold on it); a malformed id is False."""
    try:
        return Case.objects.filter(id=case_id).exists()
    except (ValueError, ValidationError):
        return False


@dataclass(frozen=True)
class CustomerCaseRetentionView:
    """One case of a customer, for an erasure plan: when it closed (None: still open) and
    what its recordings are kept for."""

    id: str
    closed_at: datetime | None
    recording_categories: tuple[str, ...]


def retention_customer_cases(*, customer_id: str) -> list[CustomerCaseRetentionView]:
    """Every case of one customer (any status), for a data-subject erasure (R-DATA-7)."""
    rows = list(Case.objects.filter(customer_id=customer_id).order_by("created_at", "id")
                .values_list("id", "status", "closed_at"))
    categories: dict[str, set[str]] = {}
    for case_id, category in (Interaction.objects.filter(case_id__in=[r[0] for r in rows])
                              .exclude(recording_retention="")
                              .values_list("case_id", "recording_retention")):
        categories.setdefault(str(case_id), set()).add(category)
    return [CustomerCaseRetentionView(
        id=str(cid), closed_at=closed if status == CaseStatus.CLOSED else None,
        recording_categories=tuple(sorted(categories.get(str(cid), ()))))
        for cid, status, closed in rows]


def customer_cases_export(*, customer_id: str) -> list[dict[str, Any]]:
    """Every case of one customer with its content, for the customer's own access request
    (GDPR Art. 15 / 20, R-DATA-7): subjects, messages (stored screened: card numbers are
    tokens), attachment metadata (not the files), calls with transcripts and recording
    metadata, satisfaction answers. Only the privacy app's audited export calls it."""
    cases = Case.objects.filter(customer_id=customer_id).order_by("created_at", "id")
    return [_case_export(case) for case in cases.select_related("queue")]


def customer_attachment_files(*, customer_id: str) -> Iterator[dict[str, Any]]:
    """The stored files of one customer's attachments, for their access bundle (R-DATA-7): one
    dict per *screened* file (``case``, ``id`` as in :func:`customer_cases_export`,
    ``filename``, ``content_type``, ``content`` bytes), one at a time. A withheld file has
    nothing stored; a quarantined one was never screened, so it is not handed out here (its
    metadata is in the export). Only the privacy app's audited export calls it."""
    rows = (Attachment.objects.filter(message__case__customer_id=customer_id,
                                      state=AttachmentState.SCREENED)
            .select_related("message__case").order_by("created_at", "id"))
    for a in rows.iterator(chunk_size=20):
        yield {"case": a.message.case.number, "id": a.id.hex[:12], "filename": a.filename,
               "content_type": a.content_type, "content": base64.b64decode(a.content)}


def _case_export(case: Case) -> dict[str, Any]:
    messages = Message.objects.filter(case=case).order_by("created_at", "id")
    attachments: dict[Any, list[dict[str, Any]]] = {}
    for a in Attachment.objects.filter(message__case=case).order_by("position"):
        attachments.setdefault(a.message_id, []).append(
            {"id": a.id.hex[:12], "filename": a.filename, "content_type": a.content_type,
             "size": a.size, "state": a.state})
    csat = CsatResponse.objects.filter(case=case).first()
    return {
        "number": case.number, "subject": case.subject, "status": case.status,
        "channel": case.channel, "queue": case.queue.name,
        "created_at": case.created_at.isoformat(),
        "closed_at": case.closed_at.isoformat() if case.closed_at else None,
        "messages": [{"at": m.created_at.isoformat(), "channel": m.channel,
                      "from": m.author_kind, "internal_note": m.is_internal,
                      "text": m.body, "attachments": attachments.get(m.id, [])}
                     for m in messages],
        "calls_and_chats": [{"channel": i.channel, "started_at": i.started_at.isoformat(),
                             "ended_at": i.ended_at.isoformat() if i.ended_at else None,
                             "transcript": i.transcript or "",
                             "recording": i.recording or None,
                             "recording_kept_for": i.recording_retention}
                            for i in Interaction.objects.filter(case=case)
                            .order_by("started_at")],
        "satisfaction": ({"score": csat.score, "comment": csat.comment,
                          "at": csat.submitted_at.isoformat()} if csat else None),
    }


def case_content_export(*, case_id: str) -> dict[str, Any]:
    """One case with its content, in the shape of :func:`customer_cases_export`, for the
    privacy app's encrypted archive taken before the sweep erases the case (archive-then-
    delete, R-DATA-3). Only the sweep calls it."""
    return _case_export(Case.objects.select_related("queue").get(id=case_id))


def recording_content_export(*, interaction_id: str) -> dict[str, Any]:
    """A call's recording reference and metadata, for the encrypted archive taken before the
    sweep deletes the recording (archive-then-delete)."""
    i = Interaction.objects.get(id=interaction_id)
    return {"interaction": str(i.id), "case": str(i.case_id), "channel": i.channel,
            "started_at": i.started_at.isoformat(),
            "ended_at": i.ended_at.isoformat() if i.ended_at else None,
            "recording": i.recording or None, "recording_kept_for": i.recording_retention}


def retention_cases_matching(*, queue: str = "", tag: str = "", created_from: date | None = None,
                             created_to: date | None = None,
                             among: list[str] | None = None) -> list[str]:
    """Ids of the cases a query-scoped legal hold covers: in ``queue`` (slug), tagged ``tag``,
    created on or after ``created_from`` and on or before ``created_to`` (all that are given);
    restricted to ``among`` when given. Evaluated when the sweep runs, so a case that comes to
    match later is held too."""
    qs = Case.objects.all()
    if queue:
        qs = qs.filter(queue__slug=queue)
    if tag:
        qs = qs.filter(tags__name=tag)
    if created_from is not None:
        qs = qs.filter(created_at__date__gte=created_from)
    if created_to is not None:
        qs = qs.filter(created_at__date__lte=created_to)
    if among is not None:
        qs = qs.filter(id__in=among)
    return [str(i) for i in qs.order_by("id").values_list("id", flat=True).distinct()]


def retention_queue_exists(*, slug: str) -> bool:
    """Whether a queue with this slug exists (a query hold must name a real one)."""
    return Queue.objects.filter(slug=slug).exists()


def retention_tag_exists(*, name: str) -> bool:
    """Whether a tag with this name exists (a query hold must name a real one)."""
    return Tag.objects.filter(name=name).exists()
