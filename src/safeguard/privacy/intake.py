"""Public intake of data-subject requests (R-DATA-7; decision 0117): the request page and API
for anyone, no staff login, and the status page a requester opens with their reference and
the one-time code.

No existence oracle (decision 0104): whatever address is given, the answer, the e-mail and the
timing path are the same — a reference on the page and a code sent to that address. If the
address is the e-mail on file of a customer, entering the code verifies the requester as that
customer (the one-time code to the contact on file); if it is no customer's, the request is
answered, once the code proves the requester holds the address, that we hold nothing under it.
Only staff see which it was. Both the page and the status look-ups are rate-limited per client
address with the protection app's fixed-window throttle; a request locks after
SAFEGUARD_DSR_CODE_ATTEMPTS wrong codes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.channels import services as channel_services
from safeguard.channels.contracts import DeliverySuppressed
from safeguard.customers import selectors as customer_selectors
from safeguard.privacy import clock
from safeguard.privacy.contracts import (
    PublicReceipt,
    PublicStatus,
    RequestError,
    RequestThrottled,
)
from safeguard.privacy.enums import KIND_ACTION, RequestAction, RequestChannel, RequestStatus
from safeguard.privacy.models import DataSubjectRequest
from safeguard.privacy.requests import check_kind, jurisdictions
from safeguard.protection import services as protection

PUBLIC = Actor.system("privacy.public")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPEC = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)?([smhd])$")
# Letters only (no 0/O, 1/I): a reference is never read as a number, never Luhn-valid.
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 20  # 24^20 ≈ 2^91
CODE_DIGITS = 8
DETAILS_MAX = 2000


def limit(spec: str) -> tuple[int, int]:
    """``"5/h"`` -> (5, 3600); ``"20/10m"`` -> (20, 600). ValueError otherwise."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(f"rate limit must look like 5/h or 20/10m, got {spec!r}")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNITS[unit]


def _throttle(scope: str, client: str, spec: str) -> None:
    count, window = limit(spec)
    used, retry = protection.throttle_count(scope=scope, key=client or "unknown",
                                            window_seconds=window)
    if used > count:
        raise RequestThrottled("Too many requests from your network; please try later.",
                               retry_after=retry)


def _hash(purpose: str, value: str) -> str:
    return salted_hmac(f"safeguard.privacy.dsr.{purpose}", value).hexdigest()


def normalise_reference(reference: str) -> str:
    return "".join(ch for ch in (reference or "").upper() if ch.isalnum())[:64]


def dsr_public_submit(*, regime: str, kind: str, email: str, details: str,
                      client: str) -> PublicReceipt:
    """File a request from the public page or API: validated first (bad input changes
    nothing), throttled per client, a reference returned and a one-time code e-mailed to the
    given address — the same for every address. Audited as ``dsr.received``."""
    check_kind(regime=regime, kind=kind)
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise RequestError("Give a valid e-mail address: we send the code there.") from exc
    if len(email) > 254:
        raise RequestError("That e-mail address is too long.")
    details = (details or "").strip()
    if len(details) > DETAILS_MAX:
        raise RequestError(f"Describe the request in at most {DETAILS_MAX} characters.")
    _throttle("dsr-public", client, settings.SAFEGUARD_DSR_PUBLIC_LIMIT)
    matches = customer_selectors.customer_ids_matching(email=email)
    reference = "".join(secrets.choice(_ALPHABET) for _ in range(REFERENCE_LENGTH))
    code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        row = DataSubjectRequest(
            kind=kind, regime=regime, channel=RequestChannel.PUBLIC,
            customer_id=matches[0] if matches else None, received_on=today,
            due_on=clock.due_on(regime, today), acknowledge_by=clock.acknowledge_by(
                regime, today),
            acknowledged_on=today,  # the e-mail below acknowledges receipt
            created_at=now, contact_email=email,
            details=protection.screen(details, field="privacy.dsr_details").text,
            reference_hash=_hash("reference", reference),
            code_expires_at=now + timedelta(days=settings.SAFEGUARD_DSR_CODE_DAYS))
        row.save(force_insert=True)
        row.code_hash = _hash("code", f"{row.id}:{code}")
        row.save(update_fields=["code_hash"])
        audit.record(action="dsr.received", actor=PUBLIC, subject=("dsr", row.id),
                     data={"kind": kind, "regime": regime, "channel": "public",
                           "customer": str(row.customer_id or ""),
                           "matched": bool(matches), "client": client[:64],
                           "due_on": row.due_on.isoformat()})
    label = jurisdictions()[regime]["kinds"][kind]
    try:
        channel_services.notice_send(to=email, subject="Your data request: confirm it", body=(
            f"We received your request ({label}) on {today.isoformat()}.\n\n"
            f"Your reference: {reference}\nYour code: {code}\n\n"
            "Enter both on the status page of our request form to confirm the request is "
            f"yours (the code works for {settings.SAFEGUARD_DSR_CODE_DAYS} days). Keep them: "
            "you will need them to see our answer.\n\n"
            f"We will answer by {row.due_on.isoformat()}.\n\n"
            "If you did not make this request, ignore this message; nothing happens without "
            "the code.\n"))
    except (DeliverySuppressed, OSError) as exc:  # refused, or the mail server is down
        # nothing was sent, so nothing can be confirmed: close it (same for every address)
        DataSubjectRequest.objects.filter(id=row.id).update(
            status=RequestStatus.UNVERIFIABLE, closed_on=today)
        why = exc.detail if isinstance(exc, DeliverySuppressed) else type(exc).__name__
        audit.record(action="dsr.code_not_sent", actor=PUBLIC, subject=("dsr", row.id),
                     outcome="failure", data={"why": why[:120]})
        raise RequestError("We could not send a code to that address. Check it, or write to "
                           "our Data Protection Officer.") from exc
    return PublicReceipt(reference=reference, due_on=row.due_on)


def _status(row: DataSubjectRequest) -> PublicStatus:
    from safeguard.privacy.fulfil import bundle_link

    regime = jurisdictions()[row.regime]
    link = ""
    if KIND_ACTION[row.kind] == RequestAction.EXPORT and row.status == RequestStatus.FULFILLED \
            and row.customer_id is not None:
        link = bundle_link(request_id=str(row.id))
    return PublicStatus(
        request_id=str(row.id), kind=row.kind, kind_label=regime["kinds"].get(row.kind, ""),
        regime_label=regime["label"], received_on=row.received_on, due_on=row.due_on,
        status=row.status, status_label=str(RequestStatus(row.status).label), reply=row.reply,
        bundle_url=link)


NOT_RECOGNISED = "That reference and code are not recognised."


def dsr_public_status(*, reference: str, code: str, client: str) -> PublicStatus:
    """The status of a request by its reference and code. The first correct code verifies the
    requester (an e-mailed one-time code to the address they gave, which is the contact on file
    when it names a customer). A wrong pair, an unknown reference and a locked request all get
    the same answer; wrong codes count against the request."""
    _throttle("dsr-status", client, settings.SAFEGUARD_DSR_STATUS_LIMIT)
    ref = normalise_reference(reference)
    code = "".join(ch for ch in (code or "") if ch.isdigit())[:CODE_DIGITS]
    with transaction.atomic():
        row = (DataSubjectRequest.objects.select_for_update()
               .filter(reference_hash=_hash("reference", ref)).first() if ref else None)
        if row is None:
            audit.record(action="dsr.status_refused", actor=PUBLIC, outcome="denied",
                         data={"why": "reference", "client": client[:64]})
            raise RequestError(NOT_RECOGNISED)
        ok = (row.code_failures < settings.SAFEGUARD_DSR_CODE_ATTEMPTS and len(code) ==
              CODE_DIGITS and hmac.compare_digest(row.code_hash,
                                                  _hash("code", f"{row.id}:{code}")))
        if not ok:
            row.code_failures += 1
            row.save(update_fields=["code_failures"])
        elif row.status == RequestStatus.RECEIVED and row.closed_on is None:
            if row.code_expires_at is not None and timezone.now() > row.code_expires_at:
                from safeguard.privacy.fulfil import dsr_close_unverifiable

                dsr_close_unverifiable(actor=PUBLIC, request_id=str(row.id),
                                       reason="code_expired")
                row.refresh_from_db()
            else:
                row.status = RequestStatus.VERIFIED
                row.verified_at = timezone.now()
                row.save(update_fields=["status", "verified_at"])
                audit.record(action="dsr.verified", actor=PUBLIC, subject=("dsr", row.id),
                             data={"method": "otp_email",
                                   "customer": str(row.customer_id or "")})
    if not ok:
        # outside the transaction above, which must keep the failure count
        audit.record(action="dsr.status_refused", actor=PUBLIC, subject=("dsr", row.id),
                     outcome="denied", data={"why": "code", "failures": row.code_failures,
                                             "client": client[:64]})
        raise RequestError(NOT_RECOGNISED)
    audit.record(action="dsr.status_viewed", actor=PUBLIC, subject=("dsr", row.id),
                 data={"client": client[:64]})
    return _status(row)


