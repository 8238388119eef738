"""Who else is on a case (issue 15, collision detection), for the agent's page."""

from __future__ import annotations

import time

from safeguard.accounts.contracts import Principal
from safeguard.cases import presence, scope
from safeguard.cases.contracts import CaseNotFound, PresenceView


def presence_others(*, principal: Principal, case_number: int) -> tuple[PresenceView, ...]:
    """The other staff on a case of ``principal``'s scope, replying first, then by address;
    a case out of scope is CaseNotFound (no denial recorded here: the report just made on the
    same request recorded it)."""
    case_id = (scope.visible_cases(principal).filter(number=case_number)
               .values_list("id", flat=True).first())
    if case_id is None:
        raise CaseNotFound("No such case.")
    now = time.time()
    out = [PresenceView(email=email, replying=state == presence.REPLYING,
                        seconds_ago=max(0, int(now - float(at))))
           for uid, (email, state, at, _typed) in presence.read(case_id).items()
           if uid != str(principal.user_id)]
    return tuple(sorted(out, key=lambda p: (not p.replying, p.email)))
