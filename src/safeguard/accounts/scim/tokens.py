"""The identity provider's SCIM token: its scope, the service account that holds it, and
issuing it (docs/scim.md, decision 0124).

Apart from :mod:`services` so the token page and the URL conf load without scim2-models, whose
resource models take a good part of a second to build: every process (web worker, CLI, job
worker) would pay that at start, not only the ones serving ``/scim/v2/``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from safeguard.accounts import services
from safeguard.accounts.contracts import AccountError, IssuedToken
from safeguard.accounts.models import Role, User
from safeguard.audit.contracts import Actor

SCOPE = "accounts.scim_provision"
SERVICE_ACCOUNT_EMAIL = "scim-provisioner@service.invalid"
SERVICE_ROLE = "scim-provisioner"


@transaction.atomic
def _service_account(actor: Actor) -> int:
    """The SCIM service account and its one-permission role, made on first use."""
    if not Role.objects.filter(slug=SERVICE_ROLE).exists():
        services.role_create(actor=actor, slug=SERVICE_ROLE, name="SCIM provisioner",
                             description="The identity provider's SCIM token: provisions staff "
                                         "users and assigns mapped roles.",
                             permissions=[SCOPE])
    user = User.objects.filter(email=SERVICE_ACCOUNT_EMAIL).first()
    if user is None:
        view = services.user_create(actor=actor, email=SERVICE_ACCOUNT_EMAIL,
                                    full_name="SCIM provisioner", is_service_account=True)
        user_id = view.id
    else:
        user_id = user.id
    services.role_grant(actor=actor, user_id=user_id, role_slug=SERVICE_ROLE)
    return user_id


def scim_token_issue(*, actor: Actor, name: str, caller_permissions: frozenset[str]) -> IssuedToken:
    """Issue a bearer token for the identity provider: it belongs to the SCIM service account
    and carries only ``accounts.scim_provision``. Shown once, stored as a hash, revocable on
    the API tokens page; the caller (a signed-in administrator past step-up) must hold the
    scope. Lifetime SAFEGUARD_SCIM_TOKEN_DAYS."""
    if SCOPE not in caller_permissions:
        raise AccountError(f"Issuing a SCIM token needs the permission {SCOPE}.")
    user_id = _service_account(actor)
    return services.token_issue(actor=actor, user_id=user_id, name=name, scopes=[SCOPE],
                                expires_in_days=settings.SAFEGUARD_SCIM_TOKEN_DAYS,
                                caller_permissions=caller_permissions)
