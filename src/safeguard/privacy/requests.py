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
from safeguard.audit.contracts import Actor
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as case_services
from safeguard.customers import selectors as customer_selectors
from safeguard.privacy import clock, handlers
from safeguard.privacy.contracts import KeptRecord, OnTimeKpi, RequestError, RequestView
from safeguard.privacy.enums import (
    KIND_ACTION,
    HoldScope,
    RequestAction,
    RequestKind,
    RequestStatus,
    RestrictionScope,
)
from safeguard.privacy.matrix import matrix
from safeguard.privacy.models import DataSubjectRequest, LegalHold, ProcessingRestriction
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
        id=str(row.id), kind=row.kind, regime=row.regime,
        customer_id=str(row.customer_id) if row.customer_id else "",
        received_on=row.received_on, due_on=row.due_on, extended=row.extended,
        status=row.status, verified_at=row.verified_at, closed_on=row.closed_on,
        reply=row.reply, kind_citation=regime["kinds"].get(row.kind, row.kind),
        deadline_citation=regime["extension" if row.extended else "deadline"],
        channel=row.channel, action=KIND_ACTION[row.kind], acknowledge_by=row.acknowledge_by,
        acknowledged_on=row.acknowledged_on, clock_state=row.clock_state, details=row.details or "")


def regime_of(kind: str) -> str:
    """The regime whose table lists ``kind`` (GDPR and CCPA name their rights differently);
    '' for an unknown kind."""
    return next((key for key, r in jurisdictions().items() if kind in r["kinds"]), "")


def check_kind(*, regime: str, kind: str) -> None:
    """A kind its regime knows (GDPR Arts. 15-21; CCPA know, delete, correct, opt out,
    limit), else RequestError naming the allowed ones."""
    if regime not in jurisdictions():
        raise RequestError(f"Regime must be one of {', '.join(sorted(jurisdictions()))}.")
    kinds = jurisdictions()[regime]["kinds"]
    if kind not in kinds or kind not in RequestKind.values:
        raise RequestError(f"Under {regime} the kind must be one of {', '.join(kinds)}.")


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
    check_kind(regime=regime, kind=kind)
    today = timezone.localdate()
    if received_on > today or received_on < today - timedelta(days=366):
        raise RequestError("The date received must be within the last year and not in the "
                           "future.")
    if not customer_selectors.customer_exists(customer_id=customer_id):
        raise NotFound("No customer with that id.")
    row = DataSubjectRequest.objects.create(
        kind=kind, regime=regime, customer_id=customer_id, received_on=received_on,
        due_on=clock.due_on(regime, received_on),
        acknowledge_by=clock.acknowledge_by(regime, received_on),
        created_by_id=principal.user_id, created_at=timezone.now())
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
        if row.customer_id is None:
            raise RequestError("This public request names no customer: its requester verifies "
                               "by the code e-mailed to them.")
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
    row.due_on = clock.due_on(row.regime, row.received_on, extended=True)
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
        lines += ["", ("We have not erased the following: the law requires us to keep it. "
                       "Its processing is restricted instead (GDPR Art. 18): we keep it and use "
                       "it for nothing else.")]
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
    if KIND_ACTION[row.kind] != RequestAction.ERASE:
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
    if kept:  # restrict instead of erase: what is kept serves its legal purpose only
        restriction_place(row, scope=RestrictionScope.ALL, actor=principal.actor)
    row.reply = _letter(row, erased=len(erase), kept=kept)
    row.save(update_fields=["status", "closed_on", "reply"])
    audit.record(action="dsr.fulfilled", actor=principal.actor, subject=("dsr", row.id),
                 data={"erased_cases": len(erase), "kept_cases": len(kept),
                       "kept_classes": sorted({k.record_class for k in kept}),
                       "on_time": today <= row.due_on})
    return request_view(row)


def access_bundle(*, request_id: str) -> dict[str, Any]:
    """The machine-readable export of an access, portability or right-to-know request: every
    table each app's ``export`` handler returns about the customer (profile, verifications,
    cases, messages, calls with transcripts, satisfaction answers, requests...) and who
    accessed the data and when (the audit log). Only the customer's own records: each handler
    selects by the customer's id; stored text is shown as screened (card numbers as tokens)."""
    row = _get(request_id)
    customer_id = str(row.customer_id) if row.customer_id else ""
    tables: dict[str, dict[str, list[dict[str, Any]]]] = {}
    if customer_id:
        for app, handler in handlers.handlers(RequestAction.EXPORT).items():
            tables[app] = handler(customer_id=customer_id)
    # who or what touched the data: events on the customer and on each of their cases
    subjects = [("customer", customer_id)] if customer_id else []
    subjects += [("case", c["number"]) for c in tables.get("cases", {}).get("cases", [])]
    events = sorted((e for subject in subjects
                     for e in audit_selectors.event_export(subject=subject)),
                    key=lambda e: e.seq)
    access_log = [
        {"at": e.at.isoformat(), "who": e.actor.label or e.actor.kind, "action": e.action,
         "outcome": e.outcome, "about": f"{e.subject_type} {e.subject_id}"}
        for e in events]
    return {
        "format": "safeguard.dsr.access/2",
        "generated_at": timezone.now().isoformat(),
        "request": {"id": str(row.id), "kind": row.kind, "regime": row.regime,
                    "received_on": row.received_on.isoformat()},
        "cases": tables.get("cases", {}).get("cases", []),
        "tables": tables,
        "access_log": access_log,
    }


def export_requests(*, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """The privacy app's own export handler: the customer's requests and restrictions."""
    return {
        "data_subject_requests": [
            {"kind": r.kind, "regime": r.regime, "received_on": r.received_on.isoformat(),
             "due_on": r.due_on.isoformat(), "status": r.status,
             "closed_on": r.closed_on.isoformat() if r.closed_on else None}
            for r in DataSubjectRequest.objects.filter(customer_id=customer_id)
            .order_by("received_on", "id")],
        "processing_restrictions": [
            {"scope": x.scope, "since": x.since.isoformat()}
            for x in ProcessingRestriction.objects.filter(customer_id=customer_id)
            .order_by("since", "id")],
    }


@transaction.atomic
def dsr_fulfil_access(*, principal: Principal, request_id: str) -> RequestView:
    """Close a verified access or portability request: the export is built (and audited) on
    each download; the reply tells the requester what it holds, with the DPO contact."""
    row = _get(request_id, lock=True)
    _open(row)
    if KIND_ACTION[row.kind] != RequestAction.EXPORT:
        raise RequestError("Only access, portability and right-to-know requests are fulfilled "
                           "by an export.")
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
        ("A copy of the personal data we hold about you is ready as a zip file (JSON, and one "
        f"CSV file per table): your profile, the identity verifications, "
        f"{len(bundle['cases'])} case(s) with their messages, calls and satisfaction answers, "
        f"your requests, and a log of {len(bundle['access_log'])} access(es) to your data by "
        "our staff and systems. Download it with the link we send you, or from the status "
        "page of your request; each link expires after "
        f"{settings.SAFEGUARD_DSR_LINK_HOURS} hours."),
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


def restriction_place(row: DataSubjectRequest, *, scope: str, actor: Actor) -> bool:
    """Record that a processing of the request's customer is restricted (once per scope);
    audited. True when it is new."""
    _, created = ProcessingRestriction.objects.get_or_create(
        customer_id=row.customer_id, scope=scope,
        defaults={"request": row, "since": timezone.now()})
    if created:
        audit.record(action="dsr.restriction_placed", actor=actor, subject=("dsr", row.id),
                     data={"customer": str(row.customer_id), "scope": scope})
    return created


def customer_restrictions(*, customer_id: object) -> frozenset[str]:
    """The processings stopped for a customer (``RestrictionScope`` values); registered as the
    provider ``privacy.customer_restrictions`` for apps that must ask before processing."""
    return frozenset(ProcessingRestriction.objects.filter(customer_id=str(customer_id))
                     .values_list("scope", flat=True))
