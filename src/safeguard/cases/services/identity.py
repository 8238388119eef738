"""Verifying a case's unverified contact and linking the conversation (decision 0101).

A message from a channel identity that is not verified lands on an *unverified contact*, not on
the profile its address names (R-WORK-4: it pulls no profile into an agent's scope). The agent
links it by a one-time code e-mailed to the address on file, or by recording how they verified
the person; either way the customers app records and audits the verification, and here the case
moves to the profile.
"""

from __future__ import annotations

from django.db import transaction

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.cases import outbound
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import (
    CaseError,
    ContactCodeMail,
    ContactLinkResult,
)
from safeguard.cases.enums import HistoryKind
from safeguard.cases.models import Case
from safeguard.cases.services import _base as base
from safeguard.customers import services as customers
from safeguard.customers.contracts import CodeInvalid, ContactLink
from safeguard.web.errors import PermissionDenied


class CodeNotSent(CaseError):
    """The one-time code could not be handed to the e-mail sender."""

    status = 503
    code = "code-not-sent"
    title = "The verification code was not sent"


def _require(principal: Principal) -> None:
    if not principal.has(perm.CASES_REPLY):
        raise PermissionDenied(f"This needs the permission {perm.CASES_REPLY}.")


def _ref(case: Case) -> str:
    return f"case:{case.number}"


@transaction.atomic
def _issue(principal: Principal, case_number: int) -> tuple[int, ContactCodeMail]:
    case = base.case_for_principal(principal, number=case_number, lock=True)
    issued = customers.contact_code_issue(viewer=principal, contact_id=case.customer_id,
                                          interaction_ref=_ref(case))
    base.history(case, HistoryKind.CONTACT_CODE, principal.actor,
                 code=base.short_id(issued.code_id))
    return case.number, ContactCodeMail(to=issued.to, code=issued.code, case_number=case.number,
                                        expires_at=issued.expires_at)


def case_contact_code_send(*, case_number: int, principal: Principal) -> None:
    """E-mail a one-time code to the address on file for the case's unverified contact, through
    the registered code sender (the e-mail channel). CodeNotSent when no sender is registered
    or it fails; the issued code is then useless (nobody has it)."""
    _require(principal)
    number, mail = _issue(principal, case_number)
    sender = outbound.code_sender()
    if sender is None:
        raise CodeNotSent("No e-mail sender is configured for verification codes.")
    try:
        sender(mail)
    except Exception as exc:  # the channel's own error: report, never show the address
        audit.record(action="case.contact_code_failed", actor=principal.actor,
                     subject=("case", number), outcome="failure",
                     data={"number": number, "error": type(exc).__name__})
        raise CodeNotSent("The verification code could not be sent; try again later.") from exc


def _moved(principal: Principal, case: Case, link: ContactLink) -> ContactLinkResult:
    previous = case.customer_id
    case.customer_id = link.customer_id
    case.contact_flags = []
    case.save(update_fields=["customer", "contact_flags", "updated_at"])
    base.history(case, HistoryKind.CONTACT_LINKED, principal.actor, method=link.method,
                 created_profile=link.created)
    audit.record(action="case.contact_linked", actor=principal.actor,
                 subject=("case", case.number),
                 data={"number": case.number, "contact": str(previous),
                       "customer": str(link.customer_id), "method": link.method,
                       "created_profile": link.created})
    return ContactLinkResult(case_number=case.number, customer_id=link.customer_id,
                             created_profile=link.created, method=link.method)


def case_contact_code_check(*, case_number: int, principal: Principal,
                            code: str) -> ContactLinkResult:
    """Link the case's conversation to the verified profile when ``code`` is the live code sent
    for it (CodeInvalid otherwise: wrong, expired, used or out of attempts)."""
    _require(principal)
    with transaction.atomic():
        case = base.case_for_principal(principal, number=case_number, lock=True)
        try:
            link = customers.contact_code_check(viewer=principal, contact_id=case.customer_id,
                                                interaction_ref=_ref(case), code=code)
        except CodeInvalid as exc:
            # Leave the block normally so the counted attempt and its audit event are kept.
            refused = exc
        else:
            return _moved(principal, case, link)
    raise refused


@transaction.atomic
def case_contact_verify(*, case_number: int, principal: Principal,
                        method: str) -> ContactLinkResult:
    """The agent verified the person another way (``method``: knowledge, callback, document,
    SMS code, signed-in session): record it and link the conversation (audited)."""
    _require(principal)
    case = base.case_for_principal(principal, number=case_number, lock=True)
    link = customers.contact_verify(viewer=principal, contact_id=case.customer_id,
                                    interaction_ref=_ref(case), method=method)
    return _moved(principal, case, link)
