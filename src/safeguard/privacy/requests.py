"""Data-subject requests (R-DATA-7, R-ORG-1): intake, identity verification, the clock,
extension, erasure that honours retention and legal holds, and the on-time KPI.

Identity is verified by reusing the customers app's verification records (a staff member
recorded how the customer proved who they are): a request is verified only when such a record
exists from ``SAFEGUARD_DSR_VERIFICATION_DAYS`` before receipt onwards. Deadlines come from the
pure :func:`safeguard.privacy.deadlines.response_due`. Every step is audited.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.contracts import Principal
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.customers import selectors as customer_selectors
from safeguard.privacy.contracts import KeptRecord, OnTimeKpi, RequestError, RequestView
from safeguard.privacy.deadlines import response_due
from safeguard.privacy.enums import HoldScope, RequestKind, RequestStatus
from safeguard.privacy.matrix import matrix
from safeguard.privacy.models import DataSubjectRequest, LegalHold
from safeguard.privacy.periods import period_end
from safeguard.privacy.sweep import CASE_CLASS, CATEGORY_CLASS, cases_held_by_query
from safeguard.web.errors import NotFound

JURISDICTIONS_PATH = Path(__file__).with_name("jurisdictions.yaml")


@cache
def jurisdictions() -> dict[str, Any]:
    """The regimes table (labels and citations), by regime key."""
    return dict(yaml.safe_load(JURISDICTIONS_PATH.read_text(encoding="utf-8"))["regimes"])


def request_view(row: DataSubjectRequest) -> RequestView:
    regime = jurisdictions()[row.regime]
    return RequestView(
        id=str(row.id), kind=row.kind, regime=row.regime, customer_id=str(row.customer_id),
        received_on=row.received_on, due_on=row.due_on, extended=row.extended,
        status=row.status, verified_at=row.verified_at, closed_on=row.closed_on,
        reply=row.reply, kind_citation=regime["kinds"][row.kind],
        deadline_citation=regime["extension" if row.extended else "deadline"])


def _get(request_id: str, *, lock: bool = False) -> DataSubjectRequest:
    qs = DataSubjectRequest.objects.select_for_update() if lock else DataSubjectRequest.objects
    try:
        row = qs.filter(id=request_id).first()
    except (ValueError, ValidationError):
        row = None
    if row is None:
        raise NotFound("No such data-subject request.")
    return row


@transaction.atomic
def dsr_create(*, principal: Principal, customer_id: str, kind: str, regime: str,
               received_on: date) -> RequestView:
    """Record a request received on ``received_on`` (not in the future, at most a year ago)
    for an existing customer; its due date is computed at once."""
    if kind not in RequestKind.values:
        raise RequestError(f"Kind must be one of {', '.join(RequestKind.values)}.")
    if regime not in jurisdictions():
        raise RequestError(f"Regime must be one of {', '.join(sorted(jurisdictions()))}.")
    today = timezone.localdate()
    if received_on > today or received_on < today - timedelta(days=366):
        raise RequestError("The date received must be within the last year and not in the "
                           "future.")
    if not customer_selectors.customer_exists(customer_id=customer_id):
        raise NotFound("No customer with that id.")
    row = DataSubjectRequest.objects.create(
        kind=kind, regime=regime, customer_id=customer_id, received_on=received_on,
        due_on=response_due(regime, received_on), created_by_id=principal.user_id,
        created_at=timezone.now())
    audit.record(action="dsr.received", actor=principal.actor, subject=("dsr", row.id),
                 data={"kind": kind, "regime": regime, "customer": str(customer_id),
                       "received_on": received_on.isoformat(),
                       "due_on": row.due_on.isoformat()})
    return request_view(row)


def _open(row: DataSubjectRequest) -> None:
    if row.closed_on is not None:
        raise RequestError("That request is closed.")


def dsr_verify(*, principal: Principal, request_id: str) -> RequestView:
    """Mark the requester's identity verified, relying on the customer's latest identity
    verification record; without a recent one the request stays unverified (audited as a
    failure outside the rolled-back work, so the log keeps it)."""
    with transaction.atomic():
        row = _get(request_id, lock=True)
        _open(row)
        if row.status != RequestStatus.RECEIVED:
            raise RequestError("That request is already verified.")
        view = customer_selectors.customer_view_system(customer_id=row.customer_id)
        earliest = row.received_on - timedelta(days=settings.SAFEGUARD_DSR_VERIFICATION_DAYS)
        last = view.last_verified_at
        if last is not None and timezone.localdate(last) >= earliest:
            row.status = RequestStatus.VERIFIED
            row.verified_at = last
            row.save(update_fields=["status", "verified_at"])
            audit.record(action="dsr.verified", actor=principal.actor, subject=("dsr", row.id),
                         data={"verification_at": last.isoformat()})
            return request_view(row)
    audit.record(action="dsr.verification_missing", actor=principal.actor,
                 subject=("dsr", row.id), outcome="failure",
                 data={"last_verified": last.isoformat() if last else ""})
    raise RequestError("No identity verification of this customer since "
                       f"{earliest.isoformat()}: record one on the customer's page (the "
                       "requester proves who they are), then verify the request.")


@transaction.atomic
def dsr_extend(*, principal: Principal, request_id: str) -> RequestView:
    """Extend an open request once, before it is due (GDPR: to three months; CCPA: to 90
    days); the requester must be told why within the first period."""
    row = _get(request_id, lock=True)
    _open(row)
    if row.extended:
        raise RequestError("That request is already extended; the law allows one extension.")
    if timezone.localdate() > row.due_on:
        raise RequestError("The request is past its due date; it can no longer be extended.")
    row.extended = True
    row.due_on = response_due(row.regime, row.received_on, extended=True)
    row.save(update_fields=["extended", "due_on"])
    audit.record(action="dsr.extended", actor=principal.actor, subject=("dsr", row.id),
                 data={"due_on": row.due_on.isoformat()})
    return request_view(row)


def erasure_plan(*, customer_id: str, as_of: date) -> tuple[list[str], list[KeptRecord]]:
    """Which of a customer's cases an erasure anonymises now, and which it keeps and why:
    a legal hold keeps a case while it lasts; a statutory class (e.g. 7-year financial
    records, GDPR Art. 17(3)(b)) keeps it to the end of its period. Everything else goes."""
    classes = matrix()
    held = set(LegalHold.objects.filter(released_at__isnull=True)
               .values_list("scope", "target_id"))
    erase: list[str] = []
    kept: list[KeptRecord] = []
    customer_held = (HoldScope.CUSTOMER, str(customer_id)) in held
    cases = case_selectors.retention_customer_cases(customer_id=customer_id)
    by_query = cases_held_by_query([c.id for c in cases])
    for case in cases:
        if customer_held or (HoldScope.CASE, case.id) in held or case.id in by_query:
            kept.append(KeptRecord(case.id, "legal_hold", None,
                                   "Kept under a legal hold (evidence for a legal claim, "
                                   "GDPR Art. 17(3)(e)); erased when the hold is released."))
            continue
        start = timezone.localdate(case.closed_at) if case.closed_at else as_of
        statutory = [classes[k] for k in {CATEGORY_CLASS.get(c, "")
                                          for c in case.recording_categories} | {CASE_CLASS}
                     if k in classes and classes[k].statutory]
        longest = max(statutory, key=lambda r: period_end(start, r.period), default=None)
        if longest is not None and period_end(start, longest.period) > as_of:
            until = period_end(start, longest.period)
            kept.append(KeptRecord(case.id, longest.key, until,
                                   f"Kept until {until.isoformat()} because the law requires "
                                   f"it ({longest.citation}); restricted to that purpose "
                                   "(GDPR Art. 17(3)(b))."))
        else:
            erase.append(case.id)
    return erase, kept


def _letter(row: DataSubjectRequest, *, erased: int, kept: list[KeptRecord]) -> str:
    org = account_selectors.organisation()
    regime = jurisdictions()[row.regime]
    lines = [
        (f"Your {row.kind} request of {row.received_on.isoformat()} "
        f"({regime['label']}, {regime['kinds'][row.kind]})"),
        "",
        (f"We have erased the content of {erased} case(s) about you: messages, attachments, "
        "transcripts, recordings and comments."),
    ]
    if kept:
        lines += ["", "We have kept the following, and use it for nothing else:"]
        lines += [f"- case {k.case_id}: {k.reason}" for k in kept]
    lines += ["", f"{org.name}"]
    dpo = ", ".join(v for v in (org.dpo_name, org.dpo_email) if v)
    lines.append(f"Data Protection Officer: {dpo or 'not named yet'}")
    lines.append("You may complain to a supervisory authority if you are not satisfied.")
    return "\n".join(lines)


@transaction.atomic
def dsr_fulfil_erasure(*, principal: Principal, request_id: str) -> RequestView:
    """Carry out a verified erasure request: anonymise what may go, keep what a hold or a
    statutory period requires, and write the reply saying which and why (with the DPO)."""
    row = _get(request_id, lock=True)
    _open(row)
    if row.kind != RequestKind.ERASURE:
        raise RequestError("Only erasure requests are fulfilled here.")
    if row.status != RequestStatus.VERIFIED:
        raise RequestError("Verify the requester's identity first.")
    today = timezone.localdate()
    erase, kept = erasure_plan(customer_id=str(row.customer_id), as_of=today)
    for case_id in erase:
        case_services.case_anonymise(case_id=case_id, actor=principal.actor,
                                     record_class="erasure_request")
    row.status = RequestStatus.FULFILLED
    row.closed_on = today
    row.reply = _letter(row, erased=len(erase), kept=kept)
    row.save(update_fields=["status", "closed_on", "reply"])
    audit.record(action="dsr.fulfilled", actor=principal.actor, subject=("dsr", row.id),
                 data={"erased_cases": len(erase), "kept_cases": len(kept),
                       "kept_classes": sorted({k.record_class for k in kept}),
                       "on_time": today <= row.due_on})
    return request_view(row)


def access_bundle(*, request_id: str) -> dict[str, Any]:
    """The machine-readable export of an access or portability request: every app's data
    about the customer (profile, verifications, cases with messages, calls, transcripts,
    satisfaction answers, requests) and who accessed it and when (the audit log). Only the
    customer's own records: everything is selected by the customer's id."""
    row = _get(request_id)
    customer_id = str(row.customer_id)
    access_log = [
        {"at": e.at.isoformat(), "who": e.actor.label or e.actor.kind, "action": e.action,
         "outcome": e.outcome}
        for e in audit_selectors.event_export(subject=("customer", customer_id))]
    return {
        "format": "safeguard.dsr.access/1",
        "generated_at": timezone.now().isoformat(),
        "request": {"id": str(row.id), "kind": row.kind, "regime": row.regime,
                    "received_on": row.received_on.isoformat()},
        "customer": customer_selectors.customer_export_system(customer_id=customer_id),
        "cases": case_selectors.customer_cases_export(customer_id=customer_id),
        "data_subject_requests": [
            {"kind": r.kind, "received_on": r.received_on.isoformat(), "status": r.status,
             "closed_on": r.closed_on.isoformat() if r.closed_on else None}
            for r in DataSubjectRequest.objects.filter(customer_id=customer_id)
            .order_by("received_on")],
        "access_log": access_log,
    }


@transaction.atomic
def dsr_fulfil_access(*, principal: Principal, request_id: str) -> RequestView:
    """Close a verified access or portability request: the export is built (and audited) on
    each download; the reply tells the requester what it holds, with the DPO contact."""
    row = _get(request_id, lock=True)
    _open(row)
    if row.kind not in (RequestKind.ACCESS, RequestKind.PORTABILITY):
        raise RequestError("Only access and portability requests are fulfilled by an export.")
    if row.status != RequestStatus.VERIFIED:
        raise RequestError("Verify the requester's identity first.")
    bundle = access_bundle(request_id=str(row.id))
    org = account_selectors.organisation()
    regime = jurisdictions()[row.regime]
    dpo = ", ".join(v for v in (org.dpo_name, org.dpo_email) if v)
    row.status = RequestStatus.FULFILLED
    row.closed_on = timezone.localdate()
    row.reply = "\n".join([
        (f"Your {row.kind} request of {row.received_on.isoformat()} "
        f"({regime['label']}, {regime['kinds'][row.kind]})"),
        "",
        ("Enclosed is a copy of the personal data we hold about you, as JSON: your profile, "
        f"the identity verifications, {len(bundle['cases'])} case(s) with their messages, "
        "calls and satisfaction answers, your requests, and a log of "
        f"{len(bundle['access_log'])} access(es) to your data by our staff and systems."),
        "Card numbers never appear: they were replaced by tokens before anything was stored.",
        "",
        org.name,
        f"Data Protection Officer: {dpo or 'not named yet'}",
        "You may complain to a supervisory authority if you are not satisfied.",
    ])
    row.save(update_fields=["status", "closed_on", "reply"])
    audit.record(action="dsr.fulfilled", actor=principal.actor, subject=("dsr", row.id),
                 data={"cases": len(bundle["cases"]), "on_time": row.closed_on <= row.due_on})
    return request_view(row)


def dsr_list(*, open_only: bool = False) -> list[RequestView]:
    """Requests, earliest due first."""
    qs = DataSubjectRequest.objects.order_by("closed_on", "due_on", "id")
    if open_only:
        qs = qs.filter(closed_on__isnull=True)
    return [request_view(r) for r in qs[:500]]


def dsr_get(*, request_id: str) -> RequestView:
    return request_view(_get(request_id))


def dsr_on_time(*, start: date, end: date) -> OnTimeKpi:
    """KPI for the metrics app: requests closed between ``start`` and ``end`` (inclusive) and
    how many by their due date; plus open requests already past due on ``end``."""
    closed = DataSubjectRequest.objects.filter(closed_on__gte=start, closed_on__lte=end)
    return OnTimeKpi(
        closed=closed.count(),
        on_time=closed.filter(closed_on__lte=F("due_on")).count(),
        overdue_open=DataSubjectRequest.objects.filter(closed_on__isnull=True,
                                                       due_on__lt=end).count())
