"""Writes of the customers app: every rule and every change, each audited in its transaction.

Persons act through a ``viewer: Principal`` (scope and permission are checked here again, so
the API, pages, CLI and jobs obey the same rules); channels and jobs act through an ``actor``.
Refused attempts of sensitive actions (reveal, approval decisions) are audited too: their
denial event is recorded outside the refused transaction, so it survives the refusal.
Audit data holds ids, field names and counts — never a customer's value.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from safeguard.accounts import selectors as accounts
from safeguard.accounts import services as accounts_services
from safeguard.accounts.contracts import Principal
from safeguard.accounts.enums import NotificationKind
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.customers import masking, selectors, validation
from safeguard.customers.contracts import (
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovalView,
    CodeInvalid,
    ContactCodeIssued,
    ContactLink,
    ContactNotUnverified,
    CustomerClosed,
    CustomerExists,
    CustomerInvalid,
    CustomerNotFound,
    CustomerView,
    MatchResult,
    ReasonRequired,
    RevealDenied,
    RevealedValue,
    SelfApproval,
    StepUpRequired,
    VerificationView,
)
from safeguard.customers.enums import (
    ApprovalKind,
    ApprovalStatus,
    CustomerField,
    CustomerKind,
    CustomerStatus,
    VerificationMethod,
)
from safeguard.customers.models import (
    Approval,
    ContactCode,
    Customer,
    IdentityVerification,
    RevealGrant,
)
from safeguard.customers.permissions import APPROVE, EDIT, REVEAL, VIEW_ALL
from safeguard.protection import services as protection
from safeguard.web.errors import PermissionDenied

# What a granted approval of each kind writes: the payload key and the customer column(s).
_CHANGE_FIELDS: dict[str, tuple[str, list[str]]] = {
    ApprovalKind.EMAIL_CHANGE: ("email", ["email", "email_index"]),
    ApprovalKind.PHONE_CHANGE: ("phone", ["phone", "phone_index"]),
    ApprovalKind.ADDRESS_CHANGE: ("address", ["address"]),
    ApprovalKind.PAYOUT_CHANGE: ("payout", ["payout"]),
    ApprovalKind.DATE_OF_BIRTH_CHANGE: ("date_of_birth", ["date_of_birth"]),
}


CODE_DIGITS = 6


def _require(viewer: Principal, permission: str) -> None:
    if not viewer.has(permission):
        raise PermissionDenied(f"This needs the permission {permission}.")


def _screen(text: str, *, field: str, customer_id: object) -> str:
    """Free text about a customer, screened with their own values before it is stored."""
    if not text:
        return ""
    known = selectors.customer_known_values(customer_id=customer_id)
    return protection.screen(text, field=field, customer=known or None).text


def _email_taken(email: str, *, exclude: UUID | None = None,
                 kind: str = CustomerKind.CUSTOMER) -> bool:
    """Whether another row of ``kind`` holds exactly this address (never NFKC-folded)."""
    qs = Customer.objects.filter(selectors.email_lookup_q(email), kind=kind)
    if exclude is not None:
        qs = qs.exclude(id=exclude)
    return any(selectors.email_is_exactly(r.email, email) for r in qs.only("id", "email"))


# --- create, match, update -------------------------------------------------------------------


def _clean_profile(
        *, name: str, email: str, phone: str, address: Mapping[str, Any] | None,
        date_of_birth: Any, payout: Mapping[str, Any] | None, language: str) -> dict[str, Any]:
    """Every profile field validated and normalised (InvalidField on the first bad one)."""
    return {
        "name": validation.clean_name(name),
        "email": validation.clean_email(email),
        "phone": validation.clean_phone(phone),
        "address": validation.clean_address(address),
        "date_of_birth": validation.clean_date_of_birth(date_of_birth),
        "payout": validation.clean_payout(payout),
        "language": validation.clean_language(language),
    }


def customer_create(  # noqa: PLR0913 - one keyword per profile field
    *,
    actor: Actor,
    name: str = "",
    email: str = "",
    phone: str = "",
    address: Mapping[str, Any] | None = None,
    date_of_birth: Any = None,
    payout: Mapping[str, Any] | None = None,
    language: str = "",
    source: str = "staff",
    kind: str = CustomerKind.CUSTOMER,
) -> CustomerView:
    """Create a customer from validated values, encrypted at rest; one profile per e-mail
    (CustomerExists otherwise). Returns the masked view; audited without values. With
    ``kind=unverified`` it is an unverified contact (one per address, beside the profile)."""
    values = _clean_profile(name=name, email=email, phone=phone, address=address,
                            date_of_birth=date_of_birth, payout=payout, language=language)
    now = timezone.now()
    try:
        with transaction.atomic():
            if values["email"] and _email_taken(str(values["email"]), kind=kind):
                raise CustomerExists("A customer with this e-mail already exists.")
            row = Customer(created_at=now, updated_at=now, kind=kind, **values)
            row.save(force_insert=True)
            audit.record(action="customer.created", actor=actor, subject=("customer", row.id),
                         data={"source": source[:20], "kind": kind,
                               "fields": sorted(f for f in CustomerField.values
                                                if values.get(f))})
    except IntegrityError:  # a concurrent create with the same e-mail won the race
        raise CustomerExists("A customer with this e-mail already exists.") from None
    return selectors.customer_view(row)


def customer_create_for(  # noqa: PLR0913 - one keyword per profile field
    *,
    viewer: Principal,
    name: str = "",
    email: str = "",
    phone: str = "",
    address: Mapping[str, Any] | None = None,
    date_of_birth: Any = None,
    payout: Mapping[str, Any] | None = None,
    language: str = "",
    source: str = "staff",
) -> CustomerView:
    """Create a customer for a person (API, pages) without an existence oracle (issue 9 §6,
    R-WORK-4, decision 0104).

    A viewer with ``customers.view_all`` may search every customer, so a duplicate e-mail is
    the honest 409 :class:`CustomerExists`. A scoped viewer must not learn from a create what a
    search would not tell them, so a duplicate e-mail — in scope or not — is answered exactly
    as a creation is: the profile the e-mail belongs to (one per e-mail) now exists, and the
    answer echoes the submitted values, masked, under that profile's id. Nothing is changed on
    the existing profile (a new phone or address there is a sensitive change, not a side
    effect); the match is audited as ``customer.create_matched``.
    """
    _require(viewer, EDIT)
    fields = {"name": name, "email": email, "phone": phone, "address": address,
              "date_of_birth": date_of_birth, "payout": payout, "language": language}
    try:
        return customer_create(actor=viewer.actor, source=source, **fields)
    except CustomerExists:
        if viewer.has(VIEW_ALL):
            raise
    values = _clean_profile(**fields)
    ids = selectors.customer_ids_matching(email=str(values["email"] or ""))
    if not ids:  # deleted meanwhile: create it now
        return customer_create(actor=viewer.actor, source=source, **fields)
    now = timezone.now()
    with transaction.atomic():
        audit.record(action="customer.create_matched", actor=viewer.actor,
                     subject=("customer", ids[0]),
                     data={"source": source[:20],
                           "in_scope": selectors.customer_in_scope(viewer=viewer,
                                                                   customer_id=ids[0]),
                           "fields": sorted(f for f in CustomerField.values if values.get(f))})
    echo = Customer(id=ids[0], created_at=now, updated_at=now, **values)  # never saved
    return selectors.customer_view(echo)



def customer_match_or_create(
        *, actor: Actor, email: str = "", phone: str = "", name: str = "", source: str = "",
        verified: bool = False) -> MatchResult:
    """The customer an inbound sender is (decision 0101; R-WORK-4). A *verified* sender (mail
    authenticated by the trusted MTA, a trusted integration) whose address is exactly a
    profile's is that profile; an unknown verified address gets a new profile. Everyone else —
    and every look-alike of a profile's address, verified or not — is the unverified contact
    for the address (one per address, created on first contact), with the profile it claims
    and the profiles it looks like named so the case can say so. Never changes a profile."""
    clean_email = validation.clean_email(email)
    clean_phone = validation.clean_phone(phone)
    if not clean_email and not clean_phone:
        raise CustomerInvalid("An e-mail address or a phone number is needed to match a "
                              "customer.", errors={"email": "or phone is required"})
    key = {"email": clean_email or "", "phone": "" if clean_email else clean_phone or ""}
    claims = selectors.customer_ids_matching(**key)
    lookalikes = tuple(selectors.customer_ids_looking_like(email=clean_email)) \
        if clean_email else ()
    if verified and not lookalikes:
        if claims:
            return MatchResult(customer_id=claims[0], created=False)
        return _match_create(actor=actor, key=key, name=name, source=source,
                             kind=CustomerKind.CUSTOMER)
    contact = _match_create(actor=actor, key=key, name=name, source=source,
                            kind=CustomerKind.UNVERIFIED)
    return MatchResult(customer_id=contact.customer_id, created=contact.created,
                       unverified=True, claims=claims[0] if claims else None,
                       lookalike_of=lookalikes)


def _match_create(*, actor: Actor, key: dict[str, str], name: str, source: str,
                  kind: str) -> MatchResult:
    """The oldest row of ``kind`` with this address (or phone), or a new one."""
    for _attempt in range(2):
        ids = selectors.customer_ids_matching(**key, kind=kind)
        if ids:
            return MatchResult(customer_id=ids[0], created=False)
        try:
            view = customer_create(actor=actor, name=_safe_name(name), email=key["email"],
                                   phone=key["phone"], source=source or "ingest", kind=kind)
        except CustomerExists:
            continue  # created concurrently by another message: match it on the next pass
        return MatchResult(customer_id=view.id, created=True)
    raise CustomerExists("The customer could not be matched; retry.")


def _safe_name(name: str) -> str:
    """A display name from a channel, dropped when it is not a plausible name."""
    try:
        return validation.clean_name(name)
    except CustomerInvalid:
        return ""


def _customer_for_write(viewer: Principal, customer_id: object) -> Customer:
    """Lock the row of a customer in ``viewer``'s scope (CustomerNotFound otherwise)."""
    cid = selectors.as_uuid(customer_id)
    if cid is None or not selectors.customer_allowed(viewer=viewer, customer_id=cid):
        raise CustomerNotFound("No such customer.")
    row = Customer.objects.select_for_update().filter(id=cid).first()
    if row is None:
        raise CustomerNotFound("No such customer.")
    return row


@transaction.atomic
def customer_update(*, viewer: Principal, customer_id: object, name: str | None = None,
                    language: str | None = None) -> CustomerView:
    """Change non-sensitive fields (name, language) of a customer in scope; contact, payout,
    identity and closure changes go through :func:`approval_request` instead."""
    _require(viewer, EDIT)
    row = _customer_for_write(viewer, customer_id)
    if row.status == CustomerStatus.CLOSED:
        raise CustomerClosed("The account is closed.")
    changed = []
    if name is not None:
        clean = validation.clean_name(name)
        if clean != row.name:
            row.name = clean
            changed.append("name")
    if language is not None:
        clean = validation.clean_language(language)
        if clean != row.language:
            row.language = clean
            changed.append("language")
    if changed:
        row.updated_at = timezone.now()
        row.save(update_fields=[*changed, "updated_at"])
        audit.record(action="customer.updated", actor=viewer.actor, subject=("customer", row.id),
                     data={"fields": changed})
    return selectors.customer_view(row)


@transaction.atomic
def identity_verify(*, viewer: Principal, customer_id: object, method: str,
                    interaction_ref: str = "") -> VerificationView:
    """Record that the viewer verified the customer's identity on a contact, and how."""
    _require(viewer, EDIT)
    if method not in VerificationMethod.values:
        raise CustomerInvalid("Unknown verification method.",
                              errors={"method": f"must be one of {VerificationMethod.values}"})
    ref = (interaction_ref or "").strip()
    if len(ref) > 64 or any(not (ch.isalnum() or ch in "-_:.#") for ch in ref):
        raise CustomerInvalid("The interaction reference must be an id (letters, digits, -_:.#).",
                              errors={"interaction_ref": "must be an id of at most 64 characters"})
    row = _customer_for_write(viewer, customer_id)
    v = IdentityVerification.objects.create(customer=row, method=method,
                                            verified_by_id=viewer.user_id,
                                            verified_at=timezone.now(), interaction_ref=ref)
    audit.record(action="customer.verified", actor=viewer.actor, subject=("customer", row.id),
                 data={"verification_id": str(v.id), "method": method,
                       "interaction_ref": ref})
    return VerificationView(
        id=v.id, customer_id=row.id, method=method,
        method_label=str(VerificationMethod(method).label), verified_by_id=viewer.user_id,
        verified_by=viewer.email, verified_at=v.verified_at, interaction_ref=ref)


# --- reveal ----------------------------------------------------------------------------------


def customer_reveal(*, viewer: Principal, customer_id: object, field: str, reason: str,
                    step_up_fresh: bool) -> RevealedValue:
    """The clear value of one field, on purpose (R-DATA-2): needs ``customers.reveal``, a second
    factor passed within the step-up window (people) or a service account's token, a reason,
    and the customer in scope. Grants a view for SAFEGUARD_REVEAL_MINUTES. Every attempt,
    refused or not, is audited with the field name and the reason's length, never the value."""
    reason_text = " ".join((reason or "").split())
    cid = selectors.as_uuid(customer_id)
    subject = ("customer", str(cid) if cid else str(customer_id)[:64])
    field_name = str(field or "")[:32]

    def deny(why: str) -> None:
        audit.record(action="customer.reveal_denied", actor=viewer.actor, subject=subject,
                     outcome="denied", data={"field": field_name, "why": why,
                                             "reason_length": len(reason_text),
                                             "via": viewer.via})

    if field_name not in CustomerField.values:
        deny("unknown field")
        raise CustomerInvalid("Unknown field.", errors={"field": "must be one of "
                                                        f"{CustomerField.values}"})
    if not viewer.has(REVEAL):
        deny("permission")
        raise RevealDenied(f"Revealing needs the permission {REVEAL}.")
    if viewer.via == "token":
        if not accounts.user_get(user_id=viewer.user_id).is_service_account:
            deny("personal token")
            raise RevealDenied("A person reveals through a signed-in session with a fresh "
                               "second factor, not with an API token.")
    elif not step_up_fresh:
        deny("step-up required")
        raise StepUpRequired("Revealing needs a second factor passed within the last "
                             f"{settings.SAFEGUARD_STEP_UP_MINUTES} minutes: re-authenticate.")
    if not reason_text:
        deny("no reason")
        raise ReasonRequired("Say why you need to see this value; the reason is kept.",
                             errors={"reason": "is required"})
    if len(reason_text) > 500:
        deny("reason too long")
        raise ReasonRequired("The reason must be at most 500 characters.",
                             errors={"reason": "must be at most 500 characters"})
    if cid is None or not selectors.customer_allowed(viewer=viewer, customer_id=cid):
        deny("out of scope")
        raise CustomerNotFound("No such customer.")
    row = Customer.objects.filter(id=cid).first()
    if row is None:
        deny("absent")
        raise CustomerNotFound("No such customer.")
    value = selectors.clear_value(row, field_name)
    if not value:
        deny("empty")
        raise CustomerInvalid("This field holds no value.", errors={"field": "is empty"})
    now = timezone.now()
    expires = now + timedelta(minutes=settings.SAFEGUARD_REVEAL_MINUTES)
    with transaction.atomic():
        grant = RevealGrant.objects.create(
            customer=row, field=field_name, user_id=viewer.user_id, granted_at=now,
            expires_at=expires,
            reason=_screen(reason_text, field="customer.reveal_reason", customer_id=row.id))
        audit.record(action="customer.revealed", actor=viewer.actor, subject=subject,
                     data={"field": field_name, "reason_length": len(reason_text),
                           "grant_id": str(grant.id), "expires_at": expires.isoformat(),
                           "via": viewer.via})
    return RevealedValue(customer_id=row.id, field=field_name, value=value, expires_at=expires,
                         grant_id=grant.id)


# --- approvals (R-WORK-4; decision 0006 §4) --------------------------------------------------


def refund_threshold() -> Decimal:
    """Refunds above this amount need a supervisor (SAFEGUARD_REFUND_APPROVAL_THRESHOLD)."""
    return Decimal(str(settings.SAFEGUARD_REFUND_APPROVAL_THRESHOLD))


_CLEANERS: dict[str, Callable[[Any], Any]] = {
    "email": validation.clean_email,
    "phone": validation.clean_phone,
    "address": validation.clean_address,
    "payout": validation.clean_payout,
    "date_of_birth": validation.clean_date_of_birth,
}


def _clean_change(kind: str, change: Mapping[str, Any], row: Customer, *,
                  may_see_all: bool) -> dict[str, Any]:
    """The validated payload of a request of ``kind``. Whether another customer already has a
    requested e-mail is told only to a viewer who may search every customer; a scoped viewer's
    request waits, and the approver meets the clash when deciding (no existence oracle)."""
    if kind in _CHANGE_FIELDS:
        key, _ = _CHANGE_FIELDS[kind]
        value = _CLEANERS[key](change.get(key))
        if not value:
            raise CustomerInvalid(f"{key}: is required", errors={key: "is required"})
        if key == "email" and may_see_all and _email_taken(value, exclude=row.id):
            raise CustomerExists("Another customer already has this e-mail.")
        return {key: value}
    if kind == ApprovalKind.REFUND:
        case_id = str(change.get("case_id") or "").strip()
        if len(case_id) > 64:
            raise CustomerInvalid("case_id: too long", errors={"case_id": "at most 64 characters"})
        return {"amount": str(validation.clean_amount(change.get("amount"))),
                "currency": validation.clean_currency(change.get("currency")),
                "case_id": case_id}
    return {}  # account closure: the reason says why


def approval_request(*, viewer: Principal, customer_id: object, kind: str,
                     change: Mapping[str, Any] | None = None, reason: str) -> ApprovalView:
    """Ask for a sensitive change of a customer in scope; nothing changes until a supervisor
    grants it. The requested values are validated now and kept encrypted. A refund at or under
    SAFEGUARD_REFUND_APPROVAL_THRESHOLD is granted at once (``auto_granted``)."""
    _require(viewer, EDIT)
    if kind not in ApprovalKind.values:
        raise CustomerInvalid("Unknown request kind.",
                              errors={"kind": f"must be one of {ApprovalKind.values}"})
    reason_text = validation.clean_reason(reason)
    with transaction.atomic():
        row = _customer_for_write(viewer, customer_id)
        if row.status == CustomerStatus.CLOSED:
            raise CustomerClosed("The account is closed.")
        payload = _clean_change(kind, change or {}, row, may_see_all=viewer.has(VIEW_ALL))
        if kind != ApprovalKind.REFUND and Approval.objects.filter(
                customer_id=row.id, kind=kind, status=ApprovalStatus.PENDING).exists():
            raise ApprovalNotPending("A request of this kind is already waiting for a "
                                     "supervisor.")
        now = timezone.now()
        auto = kind == ApprovalKind.REFUND and Decimal(payload["amount"]) <= refund_threshold()
        approval = Approval(
            customer=row, kind=kind, payload=payload, requested_by_id=viewer.user_id,
            requested_at=now,
            reason=_screen(reason_text, field="customer.approval_reason", customer_id=row.id),
            status=ApprovalStatus.GRANTED if auto else ApprovalStatus.PENDING,
            decided_at=now if auto else None, auto_granted=auto)
        approval.save(force_insert=True)
        data: dict[str, Any] = {"approval_id": str(approval.id), "kind": kind}
        if kind == ApprovalKind.REFUND:
            data |= {"amount": payload["amount"], "currency": payload["currency"],
                     "case_id": payload["case_id"]}
        audit.record(action="customer.approval_requested", actor=viewer.actor,
                     subject=("customer", row.id), data=data)
        if auto:
            audit.record(action="customer.approval_granted", actor=viewer.actor,
                         subject=("customer", row.id),
                         data=data | {"auto": True, "threshold": str(refund_threshold())})
            audit.record(action="customer.refund_granted", actor=viewer.actor,
                         subject=("customer", row.id), data=data)
    return selectors.approval_view(Approval.objects.select_related(
        "requested_by", "decided_by").get(id=approval.id))


def refund_request(*, viewer: Principal, customer_id: object, amount: Decimal | str,
                   currency: str, case_id: object = "", reason: str) -> ApprovalView:
    """A refund for a customer (the case referenced by id): over the threshold it waits for a
    supervisor, at or under it it is granted at once. Check ``status`` of the answer."""
    return approval_request(viewer=viewer, customer_id=customer_id, kind=ApprovalKind.REFUND,
                            change={"amount": amount, "currency": currency,
                                    "case_id": str(case_id or "")}, reason=reason)


def _apply(approval: Approval, row: Customer) -> list[str]:
    """Write a granted change to the customer; returns the changed field names."""
    now = timezone.now()
    if approval.kind in _CHANGE_FIELDS:
        key, columns = _CHANGE_FIELDS[approval.kind]
        if approval.kind == ApprovalKind.EMAIL_CHANGE and _email_taken(
                approval.payload["email"], exclude=row.id):
            raise CustomerExists("Another customer has taken this e-mail since the request.")
        setattr(row, key, approval.payload[key])
        row.updated_at = now
        row.save(update_fields=[*columns, "updated_at"])
        return [key]
    if approval.kind == ApprovalKind.ACCOUNT_CLOSURE:
        row.status = CustomerStatus.CLOSED
        row.closed_at = now
        row.updated_at = now
        row.save(update_fields=["status", "closed_at", "updated_at"])
        return ["status"]
    return []


def approval_decide(*, approver: Principal, approval_id: object, grant: bool, note: str = "",
                    step_up_fresh: bool) -> ApprovalView:
    """Grant (apply the change) or refuse a pending request. Needs ``customers.approve``, a
    person with a second factor passed within the step-up window, and someone other than the
    requester. Every refused attempt is audited as ``customer.approval_denied``."""
    aid = selectors.as_uuid(approval_id)
    note_text = validation.clean_reason(note, field="note", required=False)

    def deny(why: str, customer_id: object = "") -> None:
        audit.record(action="customer.approval_denied", actor=approver.actor,
                     subject=("customer", str(customer_id)) if customer_id else None,
                     outcome="denied",
                     data={"approval_id": str(aid or approval_id)[:64], "why": why})

    if not approver.has(APPROVE):
        deny("permission")
        raise PermissionDenied(f"Deciding needs the permission {APPROVE}.")
    if approver.via == "token":
        deny("token")
        raise PermissionDenied("Approvals are decided by a person in a signed-in session with "
                               "a fresh second factor, never by an API token.")
    if not step_up_fresh:
        deny("step-up required")
        raise StepUpRequired("Deciding needs a second factor passed within the last "
                             f"{settings.SAFEGUARD_STEP_UP_MINUTES} minutes: re-authenticate.")
    found = Approval.objects.filter(id=aid).values("id", "customer_id",
                                                    "requested_by_id").first() \
        if aid else None
    if found is None or not selectors.customer_allowed(
            viewer=approver, customer_id=found["customer_id"]):
        deny("not found")
        raise ApprovalNotFound("No such approval.")
    if found["requested_by_id"] == approver.user_id:
        deny("own request", found["customer_id"])
        raise SelfApproval("You cannot decide your own request: another supervisor must.")
    with transaction.atomic():
        approval = Approval.objects.select_for_update().get(id=found["id"])
        if approval.status != ApprovalStatus.PENDING:
            raise ApprovalNotPending(f"The request was already {approval.status}.")
        row = Customer.objects.select_for_update().get(id=approval.customer_id)
        data: dict[str, Any] = {"approval_id": str(approval.id), "kind": approval.kind,
                                "requested_by": str(approval.requested_by_id)}
        if grant:
            if row.status == CustomerStatus.CLOSED and approval.kind != ApprovalKind.REFUND:
                raise CustomerClosed("The account was closed since the request.")
            changed = _apply(approval, row)
            if changed:
                audit.record(action="customer.changed", actor=approver.actor,
                             subject=("customer", row.id),
                             data={"fields": changed, "approval_id": str(approval.id)})
            if approval.kind == ApprovalKind.REFUND:
                audit.record(action="customer.refund_granted", actor=approver.actor,
                             subject=("customer", row.id),
                             data=data | {"amount": approval.payload.get("amount"),
                                          "currency": approval.payload.get("currency"),
                                          "case_id": approval.payload.get("case_id")})
        approval.status = ApprovalStatus.GRANTED if grant else ApprovalStatus.REFUSED
        approval.decided_by_id = approver.user_id
        approval.decided_at = timezone.now()
        approval.decision_note = _screen(note_text, field="customer.approval_reason",
                                         customer_id=row.id)
        approval.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(action="customer.approval_granted" if grant else "customer.approval_refused",
                     actor=approver.actor, subject=("customer", row.id),
                     data=data | {"note_length": len(note_text)})
        view = selectors.approval_view(Approval.objects.select_related(
            "requested_by", "decided_by").get(id=approval.id))
        _notify_requester(view, approver=approver, customer_label=masking.mask_name(row.name))
    return view


def _notify_requester(view: ApprovalView, *, approver: Principal, customer_label: str) -> None:
    """Tell the requester their request was decided (issue 15): the kind, the customer's
    masked name, the case number, the outcome and who decided — never the value itself."""
    case = f", case #{view.case_number}" if view.case_number else ""
    amount = f" ({view.amount} {view.currency})" if view.amount is not None else ""
    title = (f"{view.kind_label}{amount} for {customer_label or 'a customer'}{case}: "
             f"{view.status} by {accounts.user_display_name(user_id=approver.user_id)}")
    accounts_services.notify(
        view.requested_by_id or 0, NotificationKind.APPROVAL_DECIDED, title,
        reverse("customers:detail", kwargs={"customer_id": view.customer_id}),
        subject=("customer", view.customer_id), actor=approver.actor,
        dedupe_key=f"approval:{view.id}")


# --- unverified contacts: verification and linking (decision 0101; R-WORK-4) ----------------

# Methods an agent may record for a contact; the one-time code and the system's own methods
# (authenticated mail, a trusted integration) are recorded by their own paths.
AGENT_METHODS = frozenset({VerificationMethod.KNOWLEDGE, VerificationMethod.OTP_SMS,
                           VerificationMethod.CALLBACK, VerificationMethod.DOCUMENT,
                           VerificationMethod.AUTHENTICATED_SESSION})


def _check_ref(interaction_ref: str) -> str:
    ref = (interaction_ref or "").strip()
    if not ref or len(ref) > 64 or any(not (ch.isalnum() or ch in "-_:.#") for ch in ref):
        raise CustomerInvalid("The interaction reference must be an id (letters, digits, -_:.#).",
                              errors={"interaction_ref": "must be an id of at most 64 characters"})
    return ref


def _contact_row(contact_id: object, *, lock: bool = False) -> Customer:
    """The unverified contact (a system read: the caller checked the case's scope)."""
    cid = selectors.as_uuid(contact_id)
    qs = Customer.objects.select_for_update() if lock else Customer.objects
    row = qs.filter(id=cid).first() if cid else None
    if row is None:
        raise CustomerNotFound("No such customer.")
    if row.kind != CustomerKind.UNVERIFIED:
        raise ContactNotUnverified("This conversation already belongs to a verified customer.")
    return row


def _claimed_profile(contact: Customer) -> UUID | None:
    """The profile holding exactly the contact's address (or, without one, its phone)."""
    ids = selectors.customer_ids_matching(email=contact.email or "",
                                          phone="" if contact.email else contact.phone or "")
    return ids[0] if ids else None


def _code_hash(code_id: UUID, code: str) -> bytes:
    return salted_hmac("safeguard.customers.contact_code", f"{code_id}:{code}",
                       algorithm="sha256").digest()


@transaction.atomic
def contact_code_issue(*, viewer: Principal, contact_id: object,
                       interaction_ref: str) -> ContactCodeIssued:
    """A one-time code for an unverified contact, to be e-mailed to the address on file: the
    claimed profile's address, or the contact's own when no profile holds it. Only a keyed hash
    is kept; earlier unused codes of the same conversation stop working. Audited, no code."""
    _require(viewer, EDIT)
    ref = _check_ref(interaction_ref)
    contact = _contact_row(contact_id, lock=True)
    target_id = _claimed_profile(contact)
    to = (selectors.customer_email_for_delivery(customer_id=target_id) if target_id
          else contact.email or "")
    if not to:
        raise CustomerInvalid("There is no e-mail address on file to send a code to; verify "
                              "another way.", errors={"method": "no e-mail on file"})
    now = timezone.now()
    ContactCode.objects.filter(contact=contact, interaction_ref=ref, used_at__isnull=True).update(
        used_at=now)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    row = ContactCode(contact=contact, target_id=target_id, interaction_ref=ref,
                      requested_by_id=viewer.user_id, created_at=now,
                      expires_at=now + timedelta(minutes=settings.SAFEGUARD_CONTACT_CODE_MINUTES))
    row.code_hash = _code_hash(row.id, code)
    row.save(force_insert=True)
    audit.record(action="customer.contact_code_sent", actor=viewer.actor,
                 subject=("customer", contact.id),
                 data={"code_id": str(row.id), "interaction_ref": ref,
                       "target": str(target_id) if target_id else "",
                       "expires_at": row.expires_at.isoformat()})
    return ContactCodeIssued(code_id=row.id, to=to, code=code, expires_at=row.expires_at)


def contact_code_check(*, viewer: Principal, contact_id: object, interaction_ref: str,
                       code: str) -> ContactLink:
    """Link the conversation when ``code`` is the live code sent for it: wrong, expired, used
    or exhausted (SAFEGUARD_CONTACT_CODE_ATTEMPTS) codes get one answer, CodeInvalid, and every
    attempt is audited (a wrong one outside the refused transaction, so it is kept)."""
    _require(viewer, EDIT)
    ref = _check_ref(interaction_ref)
    given = "".join((code or "").split())
    with transaction.atomic():
        contact = _contact_row(contact_id, lock=True)
        row = (ContactCode.objects.select_for_update()
               .filter(contact=contact, interaction_ref=ref, used_at__isnull=True)
               .order_by("-created_at").first())
        now = timezone.now()
        why = ""
        if row is None:
            why = "no live code"
        elif row.expires_at <= now:
            why = "expired"
        elif row.attempts >= settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS:
            why = "attempts exhausted"
        elif not (given.isdigit() and len(given) == CODE_DIGITS and hmac.compare_digest(
                bytes(row.code_hash), _code_hash(row.id, given))):
            why = "wrong code"
            row.attempts += 1
            row.save(update_fields=["attempts"])
        if not why:
            assert row is not None  # noqa: S101 - checked above
            row.used_at = now
            row.save(update_fields=["used_at"])
            return _link(viewer=viewer, contact=contact, ref=ref,
                         method=VerificationMethod.OTP_EMAIL, code_id=row.id)
    audit.record(action="customer.contact_code_refused", actor=viewer.actor,
                 subject=("customer", contact.id), outcome="denied",
                 data={"why": why, "interaction_ref": ref,
                       "code_id": str(row.id) if row else "",
                       "attempts": row.attempts if row else 0})
    raise CodeInvalid("The code is wrong, expired or used up; send a new one.")


@transaction.atomic
def contact_verify(*, viewer: Principal, contact_id: object, interaction_ref: str,
                   method: str) -> ContactLink:
    """An agent's recorded verification of an unverified contact (how: ``method``) links the
    conversation to the profile holding the contact's address, or to a new profile."""
    _require(viewer, EDIT)
    if method not in AGENT_METHODS:
        raise CustomerInvalid("Unknown verification method.",
                              errors={"method": f"must be one of {sorted(AGENT_METHODS)}"})
    ref = _check_ref(interaction_ref)
    contact = _contact_row(contact_id, lock=True)
    return _link(viewer=viewer, contact=contact, ref=ref, method=method)


def _link(*, viewer: Principal, contact: Customer, ref: str, method: str,
          code_id: UUID | None = None) -> ContactLink:
    """Record the verification on the profile (made from the contact when none holds its
    address) and audit the link; the caller moves the conversation."""
    target_id = _claimed_profile(contact)
    created = False
    if target_id is None:
        view = customer_create(actor=viewer.actor, name=contact.name, email=contact.email or "",
                               phone=contact.phone or "", language=contact.language,
                               source="verified_contact")
        target_id, created = view.id, True
    v = IdentityVerification.objects.create(customer_id=target_id, method=method,
                                            verified_by_id=viewer.user_id,
                                            verified_at=timezone.now(), interaction_ref=ref)
    audit.record(action="customer.contact_verified", actor=viewer.actor,
                 subject=("customer", target_id),
                 data={"contact": str(contact.id), "method": method, "interaction_ref": ref,
                       "verification_id": str(v.id), "created_profile": created,
                       "code_id": str(code_id) if code_id else ""})
    return ContactLink(contact_id=contact.id, customer_id=target_id, created=created,
                       method=method)


def customer_link_verified(*, actor: Actor, customer_id: object, method: str,
                           interaction_ref: str) -> None:
    """Record that the system verified a sender (authenticated mail, a trusted integration)
    when it linked their message to ``customer_id``; audited with the method."""
    cid = selectors.as_uuid(customer_id)
    if cid is None or method not in (VerificationMethod.MAIL_AUTHENTICATED,
                                     VerificationMethod.INTEGRATION):
        raise CustomerInvalid("Unknown system verification.", errors={"method": "unknown"})
    ref = _check_ref(interaction_ref)
    v = IdentityVerification.objects.create(customer_id=cid, method=method, verified_by=None,
                                            verified_at=timezone.now(), interaction_ref=ref)
    audit.record(action="customer.sender_verified", actor=actor, subject=("customer", cid),
                 data={"method": method, "interaction_ref": ref, "verification_id": str(v.id)})


# --- re-index (the exact e-mail normalisation of decision 0101) ------------------------------


def customers_reindex_email(*, actor: Actor, batch: int = 500) -> int:
    """Recompute the e-mail blind indexes (exact and look-alike) of every row, in batches,
    resumable (a row is simply written again). Returns the number of rows rewritten; audited
    with the count. Two profiles that only the former NFKC folding merged stay as they are."""
    done = 0
    last: UUID | None = None
    while True:
        qs = Customer.objects.filter(email__isnull=False).order_by("id")
        if last is not None:
            qs = qs.filter(id__gt=last)
        ids = list(qs.values_list("id", flat=True)[:batch])
        if not ids:
            break
        with transaction.atomic():
            for row in Customer.objects.select_for_update().filter(id__in=ids):
                row.save(update_fields=["email_index", "email_skeleton_index"])
                done += 1
        last = ids[-1]
    audit.record(action="customer.email_reindexed", actor=actor, subject=None,
                 data={"rows": done})
    return done
