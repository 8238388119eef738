"""Demo: a simulated insider attack on the demo contact centre, then one detection run, so the
analyst finds explained alerts in the queue on first sign-in (issue 11, "Done when").

The attack goes through the real services, as a script would: the demo agent issues an API token
for their own account and pulls customer records one after another with it (the supervisor does
it instead when the agent's queues hold too few customers). The shipped rules see it as "Mass
customer access" and "API token of a person used for customer reads". The run then evaluates the
whole audit log (the 90 days of the demo centre included) like the periodic job would.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from django.conf import settings

from safeguard.accounts import selectors as accounts
from safeguard.accounts import services as account_services
from safeguard.accounts.contracts import Principal, UserNotFound
from safeguard.audit.contracts import Actor
from safeguard.customers import selectors as customers
from safeguard.customers.contracts import CustomerNotFound
from safeguard.customers.demo import customer_values
from safeguard.detection import selectors, services

ORDER = 90  # after the demo contact centre (40): its customers and history exist
AGENT = "agent@demo.safeguard.test"
SUPERVISOR = "supervisor@demo.safeguard.test"
TOKEN_NAME = "export script (simulated attack)"  # noqa: S105 - a token's name, not a secret
HARVEST = 120  # customer records pulled; the rule's threshold is 100 in an hour


def _existing_demo_customers() -> list[UUID]:
    """Up to HARVEST demo customers that the centre's load created (none is created here: the
    attack reads what exists, so a small demo stays the size it was planned at)."""
    ids: list[UUID] = []
    for seed in range(HARVEST * 4):
        ids += customers.customer_ids_matching(email=customer_values(seed)["email"])[:1]
        if len(ids) == HARVEST:
            break
    return ids


def _attacker() -> tuple[Principal, list[UUID]] | None:
    """The agent if their scope holds enough customers, else the supervisor (sees all)."""
    actor = Actor.system("demo")
    for email in (AGENT, SUPERVISOR):
        try:
            user = accounts.user_get_by_email(email=email)
        except UserNotFound:
            continue
        if any(t.name == TOKEN_NAME for t in accounts.token_list(user_id=user.id)):
            return None  # staged by an earlier load
        perms = accounts.user_permissions(user_id=user.id)
        viewer = Principal(user_id=user.id, email=user.email, permissions=perms, via="session")
        scope = customers.customer_scope_for(viewer=viewer)
        ids: list[UUID] = (_existing_demo_customers() if scope.all
                           else sorted(scope.customer_ids, key=str)[:HARVEST])
        if len(ids) < HARVEST:
            continue
        # The agent's customer scope is the customers of the cases they may see (decision 0006):
        # a token with customers.view alone sees no case, so every read would be refused and
        # no rule would see a harvest. The token carries the case scope it is read through.
        scopes = ["customers.view", "cases.view",
                  *(["customers.view_all"] if scope.all else [])]
        issued = account_services.token_issue(actor=actor, user_id=user.id, name=TOKEN_NAME,
                                              scopes=scopes, expires_in_days=7)
        return (Principal(user_id=user.id, email=user.email, via="token",
                          token_id=issued.token.id, permissions=frozenset(scopes) & perms), ids)
    return None


def load(*, say: Callable[[str], None]) -> None:
    """Stage the attack once (demo mode only), then run detection over the log."""
    if not (settings.DEMO or settings.TESTING):
        raise RuntimeError("the simulated attack exists only in demo mode (SAFEGUARD_ENV=demo)")
    staged = _attacker()
    if staged is not None:
        principal, ids = staged
        for customer_id in ids:
            try:
                customers.customer_get(viewer=principal, customer_id=customer_id)
            except CustomerNotFound:
                continue
        say(f"Detection: simulated attack staged ({principal.email} pulled {len(ids)} customer "
            "records with a personal API token).")
    try:
        result = services.run_once()
    except services.EngineUnavailable as exc:
        say(f"Detection: the engine is unavailable, no alerts ({exc.detail}).")
        return
    counts = selectors.alert_counts()
    say(f"Detection: {result.events} audit event(s) evaluated, {result.alerts} new alert(s); "
        f"{counts['new']} new in the queue at /detection/alerts/ (sign in as the analyst).")
