"""Customer satisfaction (R-KPI-1): a signed, expiring survey link, answered once per case."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse

from safeguard.accounts.contracts import Principal
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.cases import lifecycle, scope
from safeguard.cases import permissions as perm
from safeguard.cases.contracts import (
    CaseStateError,
    CsatAlreadyAnswered,
    CsatLink,
    CsatLinkInvalid,
    InvalidInput,
)
from safeguard.cases.enums import HistoryKind
from safeguard.cases.models import Case, CsatResponse
from safeguard.cases.services import _base as base
from safeguard.web.errors import PermissionDenied

_SALT = "safeguard.cases.csat"


def _max_age() -> int:
    return settings.SAFEGUARD_CSAT_LINK_DAYS * 86400


@scope.denials_recorded
@transaction.atomic
def csat_link(*, case_number: int, principal: Principal) -> CsatLink:
    """A survey link for a resolved or closed case, signed and valid for
    SAFEGUARD_CSAT_LINK_DAYS; it can be answered once."""
    if not principal.has(perm.CASES_REPLY):
        raise PermissionDenied(f"This needs the permission {perm.CASES_REPLY}.")
    case = base.case_for_principal(principal, number=case_number)
    return _link(case, actor=principal.actor)


@transaction.atomic
def csat_link_for_case(*, case_id: UUID, actor: Actor) -> CsatLink:
    """The same link for automation (a channel sending the survey after resolution)."""
    return _link(Case.objects.get(id=case_id), actor=actor)


def _link(case: Case, *, actor: Actor) -> CsatLink:
    if case.status not in (lifecycle.Status.RESOLVED, lifecycle.Status.CLOSED):
        raise CaseStateError(f"Case {case.number} is {case.status}; surveys follow resolution.",
                             current=case.status)
    token = signing.dumps({"c": str(case.id)}, salt=_SALT, compress=True)
    audit.record(action="csat.link_issued", actor=actor, subject=("case", case.number),
                 data={"number": case.number})
    return CsatLink(case_number=case.number, token=token,
                    path=reverse("cases:csat", kwargs={"token": token}),
                    expires_at=base.now() + timedelta(seconds=_max_age()))


def csat_case(*, token: str) -> tuple[int, bool]:
    """(case number, already answered) for a survey link; CsatLinkInvalid if forged/expired."""
    case = _case_from_token(token)
    return case.number, CsatResponse.objects.filter(case=case).exists()


def _case_from_token(token: str) -> Case:
    try:
        data = signing.loads(token, salt=_SALT, max_age=_max_age())
        case = Case.objects.select_related("queue").get(id=UUID(str(data["c"])))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Case.DoesNotExist) as exc:
        raise CsatLinkInvalid("This survey link is invalid or has expired.") from exc
    return case


@transaction.atomic
def csat_submit(*, token: str, score: int, comment: str = "") -> None:
    """Record the customer's answer (1–5, optional comment, screened); a link already answered
    is refused, so each case has at most one answer."""
    case = _case_from_token(token)
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput("The score is a whole number from 1 to 5.")
    base.check_text(comment, what="comment", required=False)
    if len(comment) > 2000:
        raise InvalidInput("The comment is longer than 2000 characters.")
    if CsatResponse.objects.filter(case=case).exists():
        raise CsatAlreadyAnswered(f"The survey of case {case.number} was already answered.")
    text = base.screen(comment, field=base.FIELD_CSAT, customer_id=case.customer_id).text \
        if comment.strip() else ""
    at = base.now()
    actor = Actor.anonymous("csat")
    try:
        with transaction.atomic():
            CsatResponse.objects.create(case=case, queue=case.queue, score=score, comment=text,
                                        submitted_at=at)
    except IntegrityError as exc:
        raise CsatAlreadyAnswered(
            f"The survey of case {case.number} was already answered.") from exc
    base.history(case, HistoryKind.CSAT, actor, at=at, score=score)
    audit.record(action="csat.submitted", actor=actor, subject=("case", case.number),
                 data={"number": case.number, "score": score,
                       "satisfied": score >= lifecycle.CSAT_SATISFIED_MIN})
