"""Collision detection (issue 15): an agent's page reports that they view or reply to a case."""

from __future__ import annotations

from safeguard.accounts.contracts import Principal
from safeguard.cases import permissions as perm
from safeguard.cases import presence, scope
from safeguard.cases.contracts import InvalidInput
from safeguard.cases.services import _base as base
from safeguard.web.errors import PermissionDenied


@scope.denials_recorded
def presence_report(*, case_number: int, principal: Principal, state: str,
                    typed: bool = False) -> None:
    """Record that ``principal`` is on a case of their scope (``viewing`` or ``replying``);
    out of scope is the case's usual 404, recorded. Someone who left drops out when their last
    report is older than ``SAFEGUARD_PRESENCE_TTL_SECONDS``."""
    if not principal.has(perm.CASES_VIEW):
        raise PermissionDenied(f"This needs the permission {perm.CASES_VIEW}.")
    if state not in presence.STATES:
        raise InvalidInput("state is viewing or replying.")
    case = base.case_for_principal(principal, number=case_number)
    presence.write(case.id, user_id=principal.user_id, email=principal.email, state=state,
                   typed=typed and state == presence.REPLYING)
