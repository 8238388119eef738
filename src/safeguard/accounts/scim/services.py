"""Writes of SCIM provisioning, each through the accounts services and audited with the SCIM
token as the actor (R-WORK-3: joiner, mover, leaver from the identity lifecycle; R-OPS-8).

* Joiner: :func:`scim_user_create` makes a staff user without a password (the user sets one
  through the password reset and must enrol a second factor at first sign-in, like any user).
* Leaver: ``active`` false (PATCH or PUT) or DELETE runs :func:`services.user_disable` at once:
  the account is disabled, its session epoch bumped and every session ended, every API token
  revoked.
* Mover: group membership is role assignment through :func:`services.role_grant` /
  :func:`services.role_revoke`, so the four-eyes, separation-of-duties and last-administrator
  rules hold for the identity provider as for anyone; a role carrying the access-review
  permissions is never granted over SCIM (decision 0132). Permissions (and with them queue access)
  are computed from the roles at every request and every token use: nothing cached survives.

Every write runs in one transaction: a request refused half-way changes nothing, and the
refusal is recorded after the rollback (``scim.request_refused``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TypeVar

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from scim2_models import InvalidValueException, UniquenessException

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts import services
from safeguard.accounts.contracts import (
    AccountError,
    InvalidManager,
    ScopeNotHeld,
    UserNotFound,
)
from safeguard.accounts.models import Role, ScimIdentity, User
from safeguard.accounts.review_permissions import REVIEW_ACCESS, REVIEWS_MANAGE
from safeguard.accounts.scim import selectors
from safeguard.accounts.scim.mapping import UserChanges

# The token, its scope and the service account live in ``tokens`` (no scim2-models there).
from safeguard.accounts.scim.tokens import (  # noqa: F401 - part of this module's interface
    SCOPE,
    SERVICE_ACCOUNT_EMAIL,
    SERVICE_ROLE,
    scim_token_issue,
)
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor

LEAVER_REASON = "deactivated by the identity provider (SCIM)"
RECORDED = "_scim_refusal_recorded"
# Granted in Safeguard only: the access reviewers and campaign owners (decision 0132).
NOT_GRANTED_OVER_SCIM = frozenset({REVIEW_ACCESS, REVIEWS_MANAGE})

T = TypeVar("T")


def refusal_recorded(actor: Actor, what: str, work: Callable[[], T]) -> T:
    """Run ``work`` in one transaction; when it raises, record ``scim.request_refused`` after
    the rollback (so the refusal survives it) and re-raise."""
    try:
        with transaction.atomic():
            return work()
    except Exception as exc:
        with transaction.atomic():
            audit.record(action="scim.request_refused", actor=actor, outcome="denied",
                         data={"request": what, "error": type(exc).__name__})
        with contextlib.suppress(AttributeError):
            setattr(exc, RECORDED, True)  # the view records the others, not this one again
        raise


def _taken(*, changes: UserChanges, user_id: int | None) -> None:
    """userName and e-mail are unique: one held by another user is a 409 uniqueness error."""
    others = ScimIdentity.objects.filter(user_name__iexact=changes.user_name)
    clash = User.objects.filter(email__iexact=changes.email)
    if user_id is not None:
        others, clash = others.exclude(user_id=user_id), clash.exclude(id=user_id)
    if others.exists() or clash.exists():
        raise UniquenessException(detail="Another user already has this userName or e-mail.")


def _apply_manager(*, actor: Actor, user_id: int, changes: UserChanges) -> None:
    """The enterprise extension's manager (RFC 7643 §4.3) through the accounts service, so the
    self and no-cycle rules and the audit event are the same as on the staff page. A manager id
    SCIM does not show (unknown, a service account, a SCIM-deleted user), the user themselves or
    a loop is ``invalidValue`` (400) and the whole request changes nothing."""
    if not changes.manager_sent:
        return
    wanted = changes.manager_id
    if wanted is not None and selectors.scim_user_get(user_id=wanted) is None:
        raise InvalidValueException(detail=f"manager: no user {wanted} here.")
    try:
        services.user_set_manager(actor=actor, user_id=user_id, manager_id=wanted)
    except InvalidManager as exc:
        raise InvalidValueException(detail=f"manager: {exc.detail}") from exc


def scim_user_create(*, actor: Actor, changes: UserChanges) -> int:
    """Joiner: create a staff user (no password, MFA to enrol at first sign-in) and its SCIM
    identity; created inactive when the provider says so. Returns the user id."""
    def work() -> int:
        _taken(changes=changes, user_id=None)
        view = services.user_create(actor=actor, email=changes.email,
                                    full_name=changes.full_name, password=None)
        now = timezone.now()
        ScimIdentity.objects.create(
            user_id=view.id, user_name=changes.user_name, external_id=changes.external_id,
            given_name=changes.given_name, family_name=changes.family_name,
            created_at=now, updated_at=now)
        active = changes.active is not False
        audit.record(action="scim.user_provisioned", actor=actor, subject=("user", view.id),
                     data={"external_id": bool(changes.external_id), "active": active})
        _apply_manager(actor=actor, user_id=view.id, changes=changes)
        if not active:
            services.user_disable(actor=actor, user_id=view.id, reason=LEAVER_REASON)
        return view.id

    return refusal_recorded(actor, "user.create", work)


def _identity(user: User) -> ScimIdentity:
    identity = ScimIdentity.objects.select_for_update().filter(user=user).first()
    if identity is None:  # a user made in Safeguard, now managed by the provider too
        identity = ScimIdentity(user=user, user_name=user.email)
    return identity


def scim_user_apply(*, actor: Actor, user_id: int, changes: UserChanges, what: str) -> None:
    """Make a visible user what a PUT (or a PATCH applied to the current resource) asks for;
    ``active`` false runs the leaver path at once, true re-admits (old sessions stay void) a
    user the provider disabled, never one disabled in Safeguard (403, decision 0132)."""
    def work() -> None:
        if selectors.scim_user_get(user_id=user_id) is None:
            raise UserNotFound(f"No user {user_id}.")
        user = User.objects.select_for_update().get(id=user_id)
        _taken(changes=changes, user_id=user.id)
        identity = _identity(user)
        fields = []
        for attr, new in (("user_name", changes.user_name), ("external_id", changes.external_id),
                          ("given_name", changes.given_name),
                          ("family_name", changes.family_name)):
            if getattr(identity, attr) != new:
                setattr(identity, attr, new)
                fields.append(attr)
        row_fields = []
        if user.email != changes.email:
            if account_selectors.is_administrator(user_id=user.id):
                # the sign-in address is where password resets go: a SCIM token must not be
                # able to point an administrator's at another mailbox
                raise ScopeNotHeld("The e-mail of a user who administers access is changed in "
                                   "Safeguard, not over SCIM.")
            user.email = changes.email
            row_fields.append("email")
            # allauth signs in by its address table too: an old address must not keep working
            EmailAddress.objects.filter(user=user).exclude(email__iexact=changes.email).delete()
        if user.full_name != changes.full_name:
            user.full_name = changes.full_name
            row_fields.append("full_name")
        if row_fields:
            user.save(update_fields=row_fields)
        if fields or row_fields or identity.pk is None:
            identity.updated_at = timezone.now()
            identity.save()
            audit.record(action="user.changed", actor=actor, subject=("user", user.id),
                         data={"fields": sorted(fields + row_fields), "via": "scim"})
        _apply_manager(actor=actor, user_id=user.id, changes=changes)
        # active not sent (a PUT may leave it out) changes nothing: it never re-admits a leaver
        if changes.active is False and user.is_active:
            services.user_disable(actor=actor, user_id=user.id, reason=LEAVER_REASON)
        elif changes.active is True and not user.is_active:
            if user.disabled_reason != LEAVER_REASON:
                # disabled in Safeguard (a suspected compromise, a lock-out): the identity
                # provider, which still lists the person as active, must not undo that
                # (decision 0132); an administrator re-enables them
                raise ScopeNotHeld("This user was disabled in Safeguard, not by the identity "
                                   "provider: an administrator re-enables them there.")
            services.user_enable(actor=actor, user_id=user.id)

    refusal_recorded(actor, what, work)


def scim_user_delete(*, actor: Actor, user_id: int) -> None:
    """DELETE: the leaver path, and the user is gone for SCIM (404 from now on). The account is
    kept, disabled: the audit trail keeps naming it."""
    def work() -> None:
        if selectors.scim_user_get(user_id=user_id) is None:
            raise UserNotFound(f"No user {user_id}.")
        user = User.objects.select_for_update().get(id=user_id)
        services.user_disable(actor=actor, user_id=user.id, reason=LEAVER_REASON)
        identity = _identity(user)
        identity.deleted_at = identity.updated_at = timezone.now()
        identity.save()
        audit.record(action="scim.user_deleted", actor=actor, subject=("user", user.id))

    refusal_recorded(actor, "user.delete", work)


def _review_permissions(slug: str) -> list[str]:
    """The access-review permissions role ``slug`` carries (decision 0132): whoever holds them
    keeps or revokes everyone's access, administrators' included, so the SCIM token — which
    cannot grant the permissions that administer access — cannot make such a reviewer either."""
    role = Role.objects.filter(slug=slug).first()
    held = account_selectors.role_permissions(role) if role is not None else frozenset()
    return sorted(held & NOT_GRANTED_OVER_SCIM)


def scim_group_set_members(*, actor: Actor, slug: str, members: set[int], what: str) -> None:
    """Make the visible holders of role ``slug`` exactly ``members`` (mover: grants and
    revocations through the accounts services, so their rules and audit apply). An unknown
    member changes nothing."""
    def work() -> None:
        group = selectors.scim_group_get(slug=slug)
        if group is None:
            raise AccountError(f"No group {slug}.")
        unknown = members - selectors.visible_user_ids(user_ids=members)
        if unknown:
            from scim2_models import InvalidValueException

            raise InvalidValueException(
                detail=f"No user {', '.join(str(u) for u in sorted(unknown))} here.")
        current = {uid for uid, _ in group.members}
        for uid in sorted(current - members):
            services.role_revoke(actor=actor, user_id=uid, role_slug=slug)
        adding = sorted(members - current)
        reviewing = _review_permissions(slug)
        if adding and reviewing:
            raise ScopeNotHeld(
                f"The role {slug} carries {', '.join(reviewing)}: its holders decide who keeps "
                "access, so it is granted in Safeguard, not over SCIM.")
        for uid in adding:
            services.role_grant(actor=actor, user_id=uid, role_slug=slug)

    refusal_recorded(actor, what, work)


# --- the SCIM token (decision 0127) ---------------------------------------------------------

