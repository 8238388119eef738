"""Every write of the accounts app. Each records its audit event in the same transaction.

Rules kept here: least privilege (R-OPS-8) — a token never carries more than its user holds;
the last active administrator cannot be removed; a leaver is cut off everywhere at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NoReturn

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from safeguard.accounts import rbac, selectors
from safeguard.accounts.contracts import (
    AccountError,
    BuiltinRoleReadOnly,
    DutiesConflict,
    GrantRequestClosed,
    GrantRequestNotFound,
    GrantRequestView,
    GrantStepUpRequired,
    InvalidManager,
    IssuedToken,
    LastAdministrator,
    NotificationInvalid,
    NotificationNotFound,
    OrganisationView,
    Principal,
    RoleNotFound,
    RoleView,
    ScopeNotHeld,
    SecondApproverRequired,
    SelfAction,
    SelfGrant,
    SessionView,
    TokenNotFound,
    UnknownPermission,
    UserNotFound,
    UserView,
)
from safeguard.accounts.enums import MFAState, NotificationKind
from safeguard.accounts.models import (
    ApiToken,
    GrantRequest,
    Notification,
    Organisation,
    Role,
    RoleAssignment,
    SecurityState,
    User,
)
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import services as protection

TOKEN_PREFIX = "sgt_"  # noqa: S105 - a public prefix, not a secret


# --- roles ---------------------------------------------------------------------------------

@transaction.atomic
def roles_ensure_builtin() -> int:
    """Create the built-in role rows that are missing; idempotent. Returns how many it made."""
    made = 0
    for spec in rbac.BUILTIN_ROLES:
        _, created = Role.objects.update_or_create(
            slug=spec.slug,
            defaults={"name": spec.name, "description": spec.description, "is_builtin": True,
                      "permissions": []},
        )
        made += int(created)
    return made


def _require_actor_holds(actor: Actor, codenames: Iterable[str]) -> None:
    """Nobody hands out (or defines a role with) permissions that administer access unless they
    hold them: a user manager cannot make anyone, themselves included, an administrator.
    Business permissions (cases, customers, ...) are what user managers hand out, by design.
    System actors (the operator's CLI, migrations, demo) are the root of trust and exempt."""
    codenames = set(codenames) & selectors.ADMIN_PERMISSIONS
    if actor.kind == "system":
        return
    held = (selectors.user_permissions(user_id=int(actor.id))
            if actor.kind in ("user", "token") and actor.id.isdigit() else frozenset())
    if actor.kind == "token":
        token = ApiToken.objects.filter(id=int(actor.id)).values_list("user_id", flat=True).first()
        held = selectors.user_permissions(user_id=token) if token else frozenset()
    beyond = sorted(set(codenames) - held)
    if beyond:
        raise ScopeNotHeld(f"You cannot grant permissions you do not hold: {', '.join(beyond)}.")


def _check_permissions(codenames: Iterable[str]) -> list[str]:
    perms = sorted(set(codenames))
    unknown = [p for p in perms if rbac.get(p) is None]
    if unknown:
        raise UnknownPermission(f"Unknown permissions: {', '.join(unknown)}.")
    return perms


def role_create(
    *, actor: Actor, slug: str, name: str, description: str = "", permissions: Iterable[str]
) -> RoleView:
    """Create a custom role from registered permissions; never one holding both sides of a
    declared conflict (the refusal is audited)."""
    perms = _check_permissions(permissions)
    _require_actor_holds(actor, perms)
    _check_role_duties(actor, slug=slug, perms=frozenset(perms))
    with transaction.atomic():
        if Role.objects.filter(slug=slug).exists():
            raise AccountError(f"A role {slug!r} already exists.")
        role = Role.objects.create(slug=slug, name=name, description=description,
                                   permissions=perms, is_builtin=False)
        audit.record(action="role.created", actor=actor, subject=("role", role.slug),
                     data={"permissions": perms})
    return selectors.role_get(slug=role.slug)


def role_update(
    *, actor: Actor, slug: str, name: str, description: str, permissions: Iterable[str]
) -> RoleView:
    """Change a custom role; built-in roles are code and refuse edits. An edit that breaks the
    separation of duties for the role or any holder, or that adds a sensitive permission to a
    role already held, is refused and audited."""
    perms = _check_permissions(permissions)
    _require_actor_holds(actor, perms)
    current = Role.objects.filter(slug=slug).first()
    if current is None:
        raise RoleNotFound(f"No role {slug!r}.")
    if current.is_builtin:
        raise BuiltinRoleReadOnly(f"{current.name} is built in; create a custom role instead.")
    _check_role_duties(actor, slug=slug, perms=frozenset(perms), role=current,
                       added=frozenset(perms) - set(current.permissions))
    with transaction.atomic():
        role = Role.objects.select_for_update().get(id=current.id)
        before = set(role.permissions)
        # checked again under the lock: holders or permissions may have changed meanwhile
        _check_role_duties(actor, slug=slug, perms=frozenset(perms), role=role,
                           added=frozenset(perms) - before)
        role.name, role.description, role.permissions = name, description, perms
        role.save(update_fields=["name", "description", "permissions", "updated_at"])
        audit.record(action="role.changed", actor=actor, subject=("role", role.slug),
                     data={"added": sorted(set(perms) - before),
                           "removed": sorted(before - set(perms))})
    return selectors.role_get(slug=slug)


def _check_role_duties(actor: Actor, *, slug: str, perms: frozenset[str],
                       role: Role | None = None, added: frozenset[str] = frozenset()) -> None:
    """A custom role may not itself hold both sides of a declared conflict; an edit may not
    give any current holder both sides, nor hand a sensitive permission to current holders
    without a second administrator (that would be a four-eyes grant by the back door)."""
    subject = ("role", slug[:40])
    broken = rbac.conflicts_in(perms)
    if broken:
        names = ", ".join(c.name for c in broken)
        _refuse(actor, action="role.change_denied", subject=subject,
                data={"why": "separation of duties", "conflicts": names},
                error=DutiesConflict(f"Separation of duties: a role cannot hold both sides of "
                                     f"{names}."))
    if role is None:
        return
    holders = list(RoleAssignment.objects.filter(role=role).values_list("user_id", flat=True))
    for user_id in holders:
        others = Role.objects.filter(assignments__user_id=user_id).exclude(id=role.id)
        held = set(perms)
        for other in others:
            held |= selectors.role_permissions(other)
        broken = rbac.conflicts_in(held)
        if broken:
            names = ", ".join(c.name for c in broken)
            _refuse(actor, action="role.change_denied", subject=subject,
                    data={"why": "separation of duties", "conflicts": names, "user": user_id},
                    error=DutiesConflict(f"Separation of duties: a holder of this role would "
                                         f"hold conflicting permissions ({names})."))
    sensitive = added & rbac.sensitive_permissions()
    if sensitive and holders and actor.kind != "system":
        _refuse(actor, action="role.change_denied", subject=subject,
                data={"why": "four eyes required", "sensitive": sorted(sensitive)},
                error=SecondApproverRequired(
                    f"This role has holders: adding {', '.join(sorted(sensitive))} would grant "
                    "it to them without a second administrator. Create a new role and request "
                    "its grant instead."))


def _active_admins(exclude_user_id: int | None = None) -> int:
    """Active administrators besides one; locks the administrator role row first, so two
    concurrent removals are serialised and cannot both see 'one other left'."""
    Role.objects.select_for_update().filter(slug="administrator").first()
    qs = User.objects.filter(is_active=True, role_assignments__role__slug="administrator")
    if exclude_user_id is not None:
        qs = qs.exclude(id=exclude_user_id)
    return qs.distinct().count()


def _actor_person_id(actor: Actor) -> int | None:
    """The staff user behind an actor: the user, or the owner of the API token used."""
    if actor.kind == "user" and actor.id.isdigit():
        return int(actor.id)
    if actor.kind == "token" and actor.id.isdigit():
        owner: int | None = (ApiToken.objects.filter(id=int(actor.id))
                             .values_list("user_id", flat=True).first())
        return owner
    return None


def _refuse(actor: Actor, *, action: str, subject: tuple[str, object],
            data: dict[str, object], error: AccountError | Exception) -> NoReturn:
    """Record a refused access change in its own transaction (it survives the refusal, R-IR-5)
    and raise ``error``."""
    with transaction.atomic():
        audit.record(action=action, actor=actor, subject=subject, outcome="denied", data=data)
    raise error


def _check_conflicts(actor: Actor, *, user_id: int, adding: frozenset[str], role: str) -> None:
    """Refuse a grant that would give ``user_id`` both sides of a declared conflict."""
    after = selectors.user_permissions(user_id=user_id) | adding
    broken = rbac.conflicts_in(after)
    if broken:
        names = ", ".join(c.name for c in broken)
        _refuse(actor, action="role.grant_denied", subject=("user", user_id),
                data={"role": role, "why": "separation of duties", "conflicts": names},
                error=DutiesConflict(f"Separation of duties: the role {role!r} would give this "
                                     f"user conflicting permissions ({names})."))


def _check_not_self(actor: Actor, *, user_id: int, role: str) -> None:
    if _actor_person_id(actor) == user_id:
        _refuse(actor, action="role.grant_denied", subject=("user", user_id),
                data={"role": role, "why": "self-grant"},
                error=SelfGrant("Nobody grants a role to themselves: ask another "
                                "administrator."))


def role_grant(*, actor: Actor, user_id: int, role_slug: str) -> UserView:
    """Give a user a role; granting a role they hold is a no-op (and records nothing).

    Refused (and audited as ``role.grant_denied``): a grant to oneself, a grant that breaks the
    separation-of-duties table, and — for anyone but a system actor (the operator's CLI, the
    root of trust) — a role carrying a sensitive permission, which goes through
    :func:`role_grant_request` and a second administrator instead (R-OPS-8).
    """
    if not User.objects.filter(id=user_id).exists():
        raise UserNotFound(f"No user with id {user_id}.")
    role = Role.objects.filter(slug=role_slug).first()
    if role is None:
        raise RoleNotFound(f"No role {role_slug!r}.")
    if RoleAssignment.objects.filter(user_id=user_id, role=role).exists():
        return selectors.user_get(user_id=user_id)
    perms = selectors.role_permissions(role)
    _check_not_self(actor, user_id=user_id, role=role.slug)
    _require_actor_holds(actor, perms)
    _check_conflicts(actor, user_id=user_id, adding=perms, role=role.slug)
    sensitive = perms & rbac.sensitive_permissions()
    if sensitive and actor.kind != "system":
        _refuse(actor, action="role.grant_denied", subject=("user", user_id),
                data={"role": role.slug, "why": "four eyes required",
                      "sensitive": sorted(sensitive)},
                error=SecondApproverRequired(
                    f"The role {role.name} carries {', '.join(sorted(sensitive))}: request the "
                    "grant; a second administrator approves it."))
    return _assign(actor=actor, user_id=user_id, role=role, granted_by=_actor_user_id(actor))


@transaction.atomic
def _assign(*, actor: Actor, user_id: int, role: Role, granted_by: int | None,
            data: dict[str, object] | None = None) -> UserView:
    user = _user_for_update(user_id)
    # checked again under the user's row lock: two concurrent grants of the two sides of a
    # conflict are serialised here, and the second one is refused
    broken = rbac.conflicts_in(selectors.user_permissions(user_id=user.id)
                               | selectors.role_permissions(role))
    if broken:
        raise DutiesConflict("Separation of duties: this grant would give the user conflicting "
                             f"permissions ({', '.join(c.name for c in broken)}).")
    _, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, defaults={"granted_by_id": granted_by})
    if created:
        audit.record(action="role.granted", actor=actor, subject=("user", user.id),
                     data={"role": role.slug, **(data or {})})
    return selectors.user_get(user_id=user.id)


# --- four eyes: grant requests (R-OPS-8) -----------------------------------------------------

def _expire(row: GrantRequest, now: datetime) -> None:
    row.status = GrantRequest.Status.EXPIRED
    row.decided_at = now
    row.save(update_fields=["status", "decided_at"])
    audit.record(action="role.grant_expired", actor=Actor.system("accounts"),
                 subject=("user", row.user_id),
                 data={"request": row.id, "role": row.role.slug})


def grant_requests_expire() -> int:
    """Close pending grant requests past their expiry (audited one by one); returns how many.
    Idempotent: run before every listing and decision, and safe to run from a job."""
    now = timezone.now()
    done = 0
    ids = list(GrantRequest.objects.filter(status=GrantRequest.Status.PENDING,
                                           expires_at__lte=now).values_list("id", flat=True))
    for rid in ids:
        with transaction.atomic():
            row = (GrantRequest.objects.select_for_update().select_related("role")
                   .filter(id=rid, status=GrantRequest.Status.PENDING).first())
            if row is not None:
                _expire(row, now)
                done += 1
    return done


def role_grant_request(*, actor: Actor, user_id: int, role_slug: str,
                       reason: str) -> GrantRequestView:
    """Ask for a grant of a role carrying a sensitive permission. Nothing is granted until a
    second administrator approves; the same refusals as :func:`role_grant` apply now (and
    again at approval). Expires after SAFEGUARD_GRANT_REQUEST_HOURS."""
    reason = " ".join((reason or "").split())[:300]
    if not User.objects.filter(id=user_id).exists():
        raise UserNotFound(f"No user with id {user_id}.")
    role = Role.objects.filter(slug=role_slug).first()
    if role is None:
        raise RoleNotFound(f"No role {role_slug!r}.")
    if len(reason) < 10:
        raise AccountError("Say why this person needs the role (at least 10 characters); the "
                           "reason is shown to the approver and kept in the audit log.")
    perms = selectors.role_permissions(role)
    sensitive = perms & rbac.sensitive_permissions()
    if not sensitive:
        raise AccountError(f"The role {role.name} carries no sensitive permission: grant it "
                           "directly.")
    _check_not_self(actor, user_id=user_id, role=role.slug)
    _require_actor_holds(actor, perms)
    _check_conflicts(actor, user_id=user_id, adding=perms, role=role.slug)
    grant_requests_expire()
    with transaction.atomic():
        _user_for_update(user_id)
        if GrantRequest.objects.filter(user_id=user_id, role=role,
                                       status=GrantRequest.Status.PENDING).exists():
            raise GrantRequestClosed("A request for this role is already waiting for approval.")
        if RoleAssignment.objects.filter(user_id=user_id, role=role).exists():
            raise AccountError("The user already holds this role.")
        row = GrantRequest.objects.create(
            user_id=user_id, role=role, requested_by_id=_actor_person_id(actor), reason=reason,
            expires_at=timezone.now() + timedelta(hours=settings.SAFEGUARD_GRANT_REQUEST_HOURS))
        audit.record(action="role.grant_requested", actor=actor, subject=("user", user_id),
                     data={"request": row.id, "role": role.slug, "sensitive": sorted(sensitive),
                           "reason": reason, "expires_at": row.expires_at.isoformat()})
        row = GrantRequest.objects.select_related("user", "role", "requested_by",
                                                  "decided_by").get(id=row.id)
        return selectors.grant_request_view(row)


def role_grant_decide(*, actor: Actor, request_id: int, approve: bool,
                      step_up_fresh: bool) -> GrantRequestView:
    """Approve (grant the role) or refuse a pending grant request. Needs a person other than
    the requester and other than the grantee, holding what the role carries, with a second
    factor passed within the step-up window. Every refused attempt is audited."""
    grant_requests_expire()
    row = (GrantRequest.objects.select_related("user", "role", "requested_by", "decided_by")
           .filter(id=request_id).first())
    if row is None:
        raise GrantRequestNotFound(f"No grant request {request_id}.")
    subject = ("user", row.user_id)
    base = {"request": row.id, "role": row.role.slug}
    if row.status != GrantRequest.Status.PENDING:
        _refuse(actor, action="role.grant_decision_denied", subject=subject,
                data=base | {"why": f"request {row.status}"},
                error=GrantRequestClosed(f"This request is {row.status}."))
    me = _actor_person_id(actor)
    if actor.kind != "user" or me is None:
        _refuse(actor, action="role.grant_decision_denied", subject=subject,
                data=base | {"why": "not a signed-in person"},
                error=SelfAction("A grant request is decided by a signed-in administrator."))
    if me in (row.requested_by_id, row.user_id):
        _refuse(actor, action="role.grant_decision_denied", subject=subject,
                data=base | {"why": "requester or grantee"},
                error=SelfGrant("A second administrator — not the requester and not the "
                                "person named — decides this request."))
    if not step_up_fresh:
        _refuse(actor, action="role.grant_decision_denied", subject=subject,
                data=base | {"why": "step-up required"},
                error=GrantStepUpRequired("Deciding a grant needs a second factor passed "
                                          f"within the last {settings.SAFEGUARD_STEP_UP_MINUTES}"
                                          " minutes: re-authenticate."))
    perms = selectors.role_permissions(row.role)
    if approve:
        _require_actor_holds(actor, perms)
        _check_conflicts(actor, user_id=row.user_id, adding=perms, role=row.role.slug)
    with transaction.atomic():
        locked = GrantRequest.objects.select_for_update().get(id=row.id)
        if locked.status != GrantRequest.Status.PENDING:
            raise GrantRequestClosed(f"This request is {locked.status}.")
        locked.status = (GrantRequest.Status.APPROVED if approve
                         else GrantRequest.Status.REFUSED)
        locked.decided_by_id = me
        locked.decided_at = timezone.now()
        locked.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(action="role.grant_approved" if approve else "role.grant_refused",
                     actor=actor, subject=subject,
                     data=base | {"requested_by": row.requested_by_id or 0})
        if approve:
            _assign(actor=actor, user_id=row.user_id, role=row.role, granted_by=me,
                    data={"request": row.id, "requested_by": row.requested_by_id or 0})
    row.refresh_from_db()
    return selectors.grant_request_view(row)


@transaction.atomic
def role_revoke(*, actor: Actor, user_id: int, role_slug: str) -> UserView:
    """Take a role away; the last active administrator keeps theirs."""
    user = _user_for_update(user_id)
    assignment = RoleAssignment.objects.filter(user=user, role__slug=role_slug).first()
    if assignment is None:
        return selectors.user_get(user_id=user.id)
    if role_slug == "administrator" and user.is_active and _active_admins(user.id) == 0:
        raise LastAdministrator("Grant administrator to someone else first.")
    assignment.delete()
    audit.record(action="role.revoked", actor=actor, subject=("user", user.id),
                 data={"role": role_slug})
    return selectors.user_get(user_id=user.id)


# --- users ---------------------------------------------------------------------------------

def _actor_user_id(actor: Actor) -> int | None:
    return int(actor.id) if actor.kind == "user" and actor.id.isdigit() else None


def _user_for_update(user_id: int) -> User:
    user = User.objects.select_for_update().filter(id=user_id).first()
    if user is None:
        raise UserNotFound(f"No user with id {user_id}.")
    return user


def user_create(
    *,
    actor: Actor,
    email: str,
    full_name: str = "",
    password: str | None = None,
    roles: Iterable[str] = (),
    is_service_account: bool = False,
) -> UserView:
    """Create a staff user (who must enrol MFA at first sign-in) or a service account.

    Its roles go through :func:`role_grant`'s rules; when one is refused (four eyes, separation
    of duties, a permission the actor does not hold) nothing is created, and the refusal is
    recorded as ``user.create_denied`` after the rollback, so it survives (R-IR-5, R-OPS-8)."""
    roles = list(roles)
    try:
        return _user_create(actor=actor, email=email, full_name=full_name, password=password,
                            roles=roles, is_service_account=is_service_account)
    except (SecondApproverRequired, DutiesConflict, ScopeNotHeld, SelfGrant) as exc:
        with transaction.atomic():
            audit.record(action="user.create_denied", actor=actor, outcome="denied",
                         data={"roles": sorted(roles), "why": exc.code,
                               "service_account": is_service_account})
        raise


@transaction.atomic
def _user_create(*, actor: Actor, email: str, full_name: str, password: str | None,
                 roles: list[str], is_service_account: bool) -> UserView:
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise AccountError(f"A user with email {email} already exists.")
    if is_service_account and password:
        raise AccountError("Service accounts authenticate with API tokens, not passwords.")
    if password:
        try:
            validate_password(password, User(email=email, full_name=full_name))
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages)) from exc
    user = User.objects.create_user(email=email, password=password, full_name=full_name,
                                    is_service_account=is_service_account)
    audit.record(action="user.created", actor=actor, subject=("user", user.id),
                 data={"service_account": is_service_account})
    for slug in roles:
        role_grant(actor=actor, user_id=user.id, role_slug=slug)
    return selectors.user_get(user_id=user.id)


def _end_sessions(user_id: int) -> int:
    """Delete every server-side session of a user; returns how many ended.

    allauth.usersessions records each session at sign-in, so the index is complete; and should
    one slip through, the authentication backend refuses an inactive user on every request.
    """
    keys = set(UserSession.objects.filter(user_id=user_id).values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(user_id=user_id).delete()
    return len(keys)


@transaction.atomic
def user_disable(*, actor: Actor, user_id: int, reason: str) -> UserView:
    """Leaver: deactivate, end every session and revoke every API token, all at once (R-WORK-3)."""
    user = _user_for_update(user_id)
    if _actor_user_id(actor) == user.id:
        raise SelfAction("Ask another administrator to disable your account.")
    if not reason.strip():
        raise AccountError("A reason is required to disable a user.")
    if not user.is_active:
        return selectors.user_get(user_id=user.id)
    if (RoleAssignment.objects.filter(user=user, role__slug="administrator").exists()
            and _active_admins(user.id) == 0):
        raise LastAdministrator("The last active administrator cannot be disabled.")
    now = timezone.now()
    user.is_active = False
    user.disabled_at = now
    user.disabled_reason = reason.strip()[:200]
    # Voids every session signed in before now, indexed or not (the session hash includes it):
    # re-enabling the user never brings one back (issue 17 item 6, R-WORK-4).
    user.session_epoch += 1
    user.save(update_fields=["is_active", "disabled_at", "disabled_reason", "session_epoch"])
    sessions = _end_sessions(user.id)
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason="user disabled"
    )
    audit.record(action="user.disabled", actor=actor, subject=("user", user.id),
                 data={"reason": user.disabled_reason, "sessions_ended": sessions,
                       "tokens_revoked": tokens})
    return selectors.user_get(user_id=user.id)


@transaction.atomic
def user_enable(*, actor: Actor, user_id: int) -> UserView:
    """Re-admit a disabled user; their old tokens stay revoked and their old sessions void (the
    epoch bumped at disable is part of every session's hash): they sign in afresh."""
    user = _user_for_update(user_id)
    if not user.is_active:
        user.is_active = True
        user.disabled_at = None
        user.disabled_reason = ""
        user.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
        audit.record(action="user.enabled", actor=actor, subject=("user", user.id))
    return selectors.user_get(user_id=user.id)


# --- reporting line (issue 13 section 2: the manager is a user's first access reviewer) ------

# The permissions that may set a manager: a user administrator, or the identity provider's SCIM
# token (enterprise extension ``manager``). Spelled out here, not imported, so services does not
# depend on the SCIM sub-package.
MANAGER_SETTERS = frozenset({"accounts.manage_users", "accounts.scim_provision"})
_HIERARCHY_LOCK = int.from_bytes(hashlib.sha256(b"safeguard.accounts.manager").digest()[:8],
                                 "big", signed=True)


def _hierarchy_lock() -> None:
    """Serialise manager changes, so two concurrent ones cannot close a cycle between them
    (A under B while B goes under A). PostgreSQL: a transaction-scoped advisory lock; SQLite
    transactions are IMMEDIATE (settings), so a writer already holds the database lock."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HIERARCHY_LOCK])


def _may_set_manager(actor: Actor) -> bool:
    if actor.kind == "system":
        return True
    person = _actor_person_id(actor)
    return person is not None and bool(selectors.user_permissions(user_id=person)
                                       & MANAGER_SETTERS)


def user_set_manager(*, actor: Actor, user_id: int, manager_id: int | None) -> UserView:
    """Set (or clear, with None) who ``user_id`` reports to. Refused, changing nothing and
    recorded as ``user.manager_denied``: an actor without accounts.manage_users (or the SCIM
    scope), the user themselves as manager, a manager who already reports to the user directly
    or through others (a cycle of any length), an unknown user or a service account. Setting
    the manager the user already has is a no-op and records nothing (R-OPS-8, R-WORK-3)."""

    def refuse(why: str, error: AccountError | Exception) -> NoReturn:
        _refuse(actor, action="user.manager_denied", subject=("user", user_id),
                data={"manager": manager_id, "why": why}, error=error)

    if not _may_set_manager(actor):
        refuse("permission", ScopeNotHeld("Setting a manager needs the permission "
                                          "accounts.manage_users."))
    try:
        with transaction.atomic():
            _hierarchy_lock()
            user = _user_for_update(user_id)
            if manager_id is not None:
                if manager_id == user.id:
                    raise InvalidManager("Nobody is their own manager.", reason="self")
                manager = User.objects.filter(id=manager_id).first()
                if manager is None:
                    raise InvalidManager(f"No user with id {manager_id} to be the manager.",
                                         reason="unknown")
                if manager.is_service_account:
                    raise InvalidManager("A service account cannot be a manager.",
                                         reason="service account")
                chain = selectors.manager_chain(user_id=manager_id)
                if user.id in chain:
                    # the would-be manager reports to the user: the line would loop
                    path = [manager_id, *chain[:chain.index(user.id) + 1]]
                    raise InvalidManager(
                        f"{manager.email} reports to {user.email} "
                        f"({' > '.join(str(p) for p in path)}): a reporting line cannot loop.",
                        reason="cycle")
            if user.manager_id == manager_id:
                return selectors.user_get(user_id=user.id)
            before = user.manager_id
            user.manager_id = manager_id
            user.save(update_fields=["manager"])
            audit.record(action="user.manager_set", actor=actor, subject=("user", user.id),
                         data={"manager": manager_id, "previous": before})
            return selectors.user_get(user_id=user.id)
    except InvalidManager as exc:
        refuse(str(exc.extra.get("reason", "invalid")), exc)


def session_activity_record(*, request: HttpRequest) -> None:
    """Record a signed-in session's activity in the session list (last seen, address, client):
    called by the idle-timeout middleware at most once a minute, not on every request."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or not user.is_authenticated or session is None or not session.session_key:
        return
    UserSession.objects.create_from_request(request, user=user, session=session)


@transaction.atomic
def session_revoke(*, actor: Actor, user_id: int, session_id: int) -> bool:
    """End one of a user's own sessions (by its listing id, never its secret key); an id that is
    not theirs changes nothing."""
    owned = UserSession.objects.filter(user_id=user_id, pk=session_id)
    session_key = owned.values_list("session_key", flat=True).first()
    if session_key is None:
        return False
    Session.objects.filter(session_key=session_key).delete()
    owned.delete()
    audit.record(action="session.revoked", actor=actor, subject=("user", user_id),
                 data={"session": _session_label(session_key)})
    return True


@transaction.atomic
def sessions_list_for_admin(*, actor: Actor, user_id: int) -> list[SessionView]:
    """Another user's live sessions for an administrator (issue 15, item 9); the look is
    recorded (``session.listed``): device and address are personal data of staff."""
    user = _user_for_update(user_id)
    rows = UserSession.objects.purge_and_list(user)
    audit.record(action="session.listed", actor=actor, subject=("user", user_id),
                 data={"count": len(rows)})
    return [SessionView(id=s.pk, user_agent=s.user_agent or "", ip=s.ip or "",
                        created_at=s.created_at, last_seen_at=s.last_seen_at)
            for s in sorted(rows, key=lambda s: s.last_seen_at, reverse=True)]


def _session_label(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()[:12]


@transaction.atomic
def sessions_enforce_limit(*, user_id: int, current_session_key: str | None) -> int:
    """Keep at most SAFEGUARD_MAX_SESSIONS_PER_USER sessions per user (issue 17 item 10): a new
    sign-in ends the oldest others, each ended session audited. Returns how many ended."""
    limit = settings.SAFEGUARD_MAX_SESSIONS_PER_USER
    user = User.objects.select_for_update().filter(id=user_id).first()  # serialise sign-ins
    if user is None:
        return 0
    # Only live sessions count: allauth drops index rows whose session ended or was voided.
    live = [s for s in UserSession.objects.purge_and_list(user)
            if s.session_key != (current_session_key or "")]
    live.sort(key=lambda s: (s.created_at, s.pk), reverse=True)
    keep = limit - 1 if current_session_key else limit
    ended = [(s.pk, s.session_key) for s in live[keep:]]
    if not ended:
        return 0
    keys = [key for _, key in ended]
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(pk__in=[pk for pk, _ in ended]).delete()
    for key in keys:
        audit.record(action="session.ended_by_limit", actor=Actor.system("session-limit"),
                     subject=("user", user_id),
                     data={"session": _session_label(key), "limit": limit})
    return len(keys)


# --- sign-in events (issue 9 item 9) ---------------------------------------------------------

def identifier_fingerprint(identifier: str) -> str:
    """A keyed hash of what was typed as login, so a password typed there is never logged."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, identifier.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]


def _known_user_id(identifier: str) -> int | None:
    return User.objects.filter(email__iexact=identifier.strip()).values_list(
        "id", flat=True).first()


@transaction.atomic
def login_locked_out(*, identifier: str) -> None:
    """Record a sign-in refused by the lockout before any password check — the right password
    included. What was typed is kept only as a keyed fingerprint (never in clear)."""
    known = _known_user_id(identifier)
    audit.record(action="auth.login_locked", actor=Actor.anonymous(), outcome="denied",
                 subject=("user", known) if known else None,
                 data={"identifier": identifier_fingerprint(identifier),
                       "known_account": known is not None})


@transaction.atomic
def login_refused(*, user_id: int, reason: str) -> None:
    """Record a sign-in stopped at its last step (account disabled or voided mid-login)."""
    label = User.objects.filter(id=user_id).values_list("email", flat=True).first() or ""
    audit.record(action="auth.login_refused", actor=Actor(kind="user", id=str(user_id),
                                                          label=label),
                 outcome="denied", subject=("user", user_id), data={"reason": reason})


@transaction.atomic
def password_reset_requested(*, identifier: str, user_ids: Iterable[int],
                             outcome: str = "success", why: str = "") -> None:
    """Record a password-reset request — sent, refused by the rate limit (429) or malformed —
    with the typed address only as a keyed fingerprint (issue 9 items 7 and 9). The requester
    sees the same page whether or not the address is known."""
    ids = sorted(user_ids)
    data: dict[str, object] = {"identifier": identifier_fingerprint(identifier),
                               "known_account": bool(ids)}
    if why:
        data["why"] = why
    audit.record(action="auth.password_reset_requested", actor=Actor.anonymous(),
                 outcome=outcome, subject=("user", ids[0]) if ids else None, data=data)


def password_reset_mail_enqueue(*, user_ids: Iterable[int], base_url: str) -> None:
    """Queue the reset mail for after the commit — exactly one job whether or not the address
    matched an account (an empty list sends nothing), so the request does the same work either
    way and its time reveals nothing (issue 9 item 7)."""
    from safeguard.accounts import tasks

    ids = sorted(user_ids)
    transaction.on_commit(lambda: tasks.password_reset_mail_send(user_ids=ids,
                                                                 base_url=base_url))


def password_reset_mail_send(*, user_ids: Iterable[int], base_url: str) -> int:
    """Send allauth's reset mail (its templates, token and link) to each active person of
    ``user_ids``; service accounts have no password and get nothing. Returns how many were
    sent. Runs in the job queued by :func:`password_reset_mail_enqueue`."""
    from allauth.account import app_settings as allauth_settings
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str
    from django.core.mail import EmailMultiAlternatives
    from django.template.loader import render_to_string
    from django.urls import reverse

    domain = base_url.split("://", 1)[-1]
    site = {"name": domain, "domain": domain}
    prefix = allauth_settings.EMAIL_SUBJECT_PREFIX
    sent = 0
    for user in User.objects.filter(id__in=list(user_ids), is_active=True,
                                    is_service_account=False).order_by("id"):
        key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
        path = reverse("account_reset_password_from_key",
                       kwargs={"uidb36": "UID", "key": "KEY"}).replace("UID-KEY", key)
        context = {"user": user, "email": user.email, "password_reset_url": base_url + path,
                   "current_site": site}
        subject = " ".join(render_to_string("account/email/password_reset_key_subject.txt",
                                            context).splitlines()).strip()
        body = render_to_string("account/email/password_reset_key_message.txt",
                                context).strip()
        EmailMultiAlternatives((f"[{domain}] " if prefix is None else prefix) + subject, body,
                               settings.DEFAULT_FROM_EMAIL, [user.email]).send()
        sent += 1
    return sent


def security_state_purge(*, now: float | None = None) -> int:
    """Delete expired entries of the durable security-state store (the periodic job). Live
    entries are never touched: nothing is evicted, whatever the number of entries."""
    deleted, _ = SecurityState.objects.filter(
        expires__isnull=False, expires__lte=time.time() if now is None else now).delete()
    return deleted


# --- API tokens ----------------------------------------------------------------------------

def _token_factor_ok(user: User) -> bool:
    """Personal tokens need their person to pass the same MFA gate as a session (R-OPS-1): an
    enrolled second factor (WebAuthn for administrators where required). Service accounts have
    no person and no factor; they act by token alone, as designed."""
    if user.is_service_account:
        return True
    return selectors.mfa_state(
        user_id=user.id,
        require_webauthn_for_admins=settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS,
    ) == MFAState.OK


def tokens_note_factor_removed(*, user_id: int) -> int:
    """When a person's last factor goes, their live tokens are suspended (refused at every use
    until a factor is enrolled again); recorded once here. Returns how many are suspended."""
    user = User.objects.filter(id=user_id).first()
    if user is None or _token_factor_ok(user):
        return 0
    live = list(ApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True,
                                        expires_at__gt=timezone.now())
                .values_list("id", flat=True))
    if live:
        audit.record(action="api_token.suspended", actor=Actor.system("mfa-gate"),
                     outcome="denied", subject=("user", user_id),
                     data={"tokens": live, "reason": "no second factor"})
    return len(live)


def _hash_secret(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast unsalted hash is the right tool (as for
    # GitHub's tokens): nothing to brute-force, and lookup stays one indexed query.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_issue(
    *, actor: Actor, user_id: int, name: str, scopes: Iterable[str], expires_in_days: int,
    caller_permissions: frozenset[str] | None = None,
) -> IssuedToken:
    """Issue a token scoped to permissions its user holds — and the issuing person holds (no one
    mints more than they have); the secret is returned only here. ``caller_permissions`` None
    means a system actor (CLI run by the operator)."""
    user = _user_for_update(user_id)
    if not user.is_active:
        raise AccountError("A disabled user cannot receive tokens.")
    if not _token_factor_ok(user):
        raise AccountError(f"{user.email} must enrol a second factor before receiving a personal "
                           "API token.")
    if not name.strip():
        raise AccountError("A token needs a name that says what uses it.")
    max_days = settings.SAFEGUARD_API_TOKEN_MAX_DAYS
    if not 1 <= expires_in_days <= max_days:
        raise AccountError(f"Expiry must be between 1 and {max_days} days.")
    wanted = _check_permissions(scopes)
    if not wanted:
        raise AccountError("A token needs at least one scope.")
    missing = set(wanted) - selectors.user_permissions(user_id=user.id)
    if missing:
        raise ScopeNotHeld(f"{user.email} does not hold: {', '.join(sorted(missing))}.")
    if caller_permissions is not None and not set(wanted) <= caller_permissions:
        beyond = sorted(set(wanted) - caller_permissions)
        raise ScopeNotHeld(f"You cannot issue permissions you do not hold: {', '.join(beyond)}.")
    prefix = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], prefix=prefix, secret_hash=_hash_secret(raw),
        scopes=wanted, created_by_id=_actor_user_id(actor),
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    audit.record(action="api_token.created", actor=actor, subject=("api_token", token.id),
                 data={"user": user.id, "scopes": wanted, "prefix": prefix,
                       "expires_at": token.expires_at.isoformat()})
    view = next(t for t in selectors.token_list(user_id=user.id) if t.id == token.id)
    return IssuedToken(token=view, secret=raw)


@transaction.atomic
def token_revoke(*, actor: Actor, token_id: int, reason: str = "") -> None:
    """Revoke a token at once; revoking a revoked token is a no-op."""
    token = ApiToken.objects.select_for_update().filter(id=token_id).first()
    if token is None:
        raise TokenNotFound(f"No token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_reason = reason[:200]
        token.save(update_fields=["revoked_at", "revoked_reason"])
        audit.record(action="api_token.revoked", actor=actor, subject=("api_token", token.id),
                     data={"prefix": token.prefix})


def token_authenticate(*, raw: str, source_ip: str | None) -> Principal | None:
    """Resolve a bearer token to a principal, or None if it is unknown, expired or revoked.

    Effective permissions = token scopes ∩ the user's current permissions, so a role taken away
    from the user is taken away from their tokens too. Use is recorded at most once a minute.
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user")
             .filter(secret_hash=_hash_secret(raw)).first())
    now = timezone.now()
    if token is None:
        return None
    suspended = not _token_factor_ok(token.user)
    if (token.revoked_at is not None or token.expires_at <= now or not token.user.is_active
            or suspended):
        # A leaver's or a revoked token still in use is worth an alert: recorded at most once a
        # minute per token (the cache keeps a flood from filling the log).
        if cache.add(f"safeguard:token-rejected:{token.id}", 1, timeout=60):
            reason = ("revoked" if token.revoked_at is not None else
                      "expired" if token.expires_at <= now else
                      "user disabled" if not token.user.is_active else "no second factor")
            with transaction.atomic():
                audit.record(action="api_token.rejected", outcome="denied",
                             actor=Actor(kind="token", id=str(token.id), label=token.user.email),
                             subject=("api_token", token.id),
                             data={"prefix": token.prefix, "reason": reason})
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        with transaction.atomic():
            ApiToken.objects.filter(id=token.id).update(last_used_at=now, last_used_ip=source_ip)
            audit.record(action="api_token.used", actor=Actor(kind="token", id=str(token.id),
                                                              label=token.user.email),
                         subject=("api_token", token.id), data={"prefix": token.prefix})
    perms = frozenset(token.scopes) & selectors.user_permissions(user_id=token.user_id)
    return Principal(user_id=token.user_id, email=token.user.email, permissions=perms,
                     via="token", token_id=token.id)


# --- organisation --------------------------------------------------------------------------

@transaction.atomic
def organisation_update(
    *, actor: Actor, name: str, dpo_name: str, dpo_email: str, security_hotline: str,
    security_email: str,
) -> OrganisationView:
    """Set the organisation's name and accountable contacts (R-ORG-1)."""
    if not name.strip():
        raise AccountError("The organisation needs a name.")
    org, _ = Organisation.objects.select_for_update().get_or_create(id=1)
    before = selectors.organisation()
    org.name, org.dpo_name, org.dpo_email = name.strip(), dpo_name.strip(), dpo_email.strip()
    org.security_hotline, org.security_email = security_hotline.strip(), security_email.strip()
    org.save()
    after = selectors.organisation()
    changed = sorted(k for k in before.__dataclass_fields__
                     if getattr(before, k) != getattr(after, k))
    audit.record(action="organisation.changed", actor=actor, subject=("organisation", 1),
                 data={"fields": changed})
    return after


# --- notification centre (issue 15) ------------------------------------------------------------

def _notification_text(text: str) -> str:
    """The stored text: screened like any free text (cards tokenized and shown as a reference,
    e-mail addresses and phone numbers masked), one line, bounded — a caller that slipped a
    customer value in clear still stores none (R-DATA-2)."""
    screened = protection.screen(" ".join(str(text).split()), field="notification.text").text
    return protection.card_refs_for_people(screened)[:200]


def _notification_url(url: str) -> str:
    """Only a link inside this site: a path, never another host."""
    url = (url or "").strip()
    if url and (not url.startswith("/") or url.startswith("//") or "\\" in url
                or any(ord(c) < 32 for c in url) or len(url) > 300):
        raise NotificationInvalid("A notification links only to a page of this site.")
    return url


@transaction.atomic
def notify(user: int | User, kind: str, title: str, url: str = "", *,
           subject: tuple[str, object] | None = None, actor: Actor | None = None,
           dedupe_key: str = "") -> int | None:
    """Record one in-app notification for ``user`` (an id); the one way lower and higher apps
    tell a staff member something (approvals decided, mentions, assignments, SLA warnings).

    ``title`` must be a masked or friendly text (a case number, a masked value, a kind of
    change); it is screened again before it is stored. ``url`` is a path on this site.
    ``subject`` names the customer-data object concerned (``("case", id)``), recorded in the
    audit event. A non-empty ``dedupe_key`` makes a repeat for the same user a no-op (returns
    None), so resumed jobs never notify twice. An inactive or unknown user gets nothing (None).
    Returns the notification's id.
    """
    user_id = user.pk if isinstance(user, User) else int(user)
    if kind not in NotificationKind.values:
        raise NotificationInvalid(f"Unknown notification kind {kind!r}.")
    text = _notification_text(title)
    if not text:
        raise NotificationInvalid("A notification needs a title.")
    link = _notification_url(url)
    if len(dedupe_key) > 100:
        raise NotificationInvalid("dedupe_key is at most 100 characters.")
    if not User.objects.filter(pk=user_id, is_active=True).exists():
        return None
    if dedupe_key and Notification.objects.filter(user_id=user_id,
                                                  dedupe_key=dedupe_key).exists():
        return None
    subject_type, subject_id = (subject[0], str(subject[1])) if subject else ("", "")
    row = Notification.objects.create(
        user_id=user_id, kind=kind, title=text, url=link, subject_type=subject_type[:32],
        subject_id=subject_id[:64], dedupe_key=dedupe_key)
    audit.record(action="notification.created", actor=actor or Actor.system("notifications"),
                 subject=subject,
                 data={"notification_id": row.id, "kind": kind, "recipient": user_id})
    return row.id


@transaction.atomic
def notification_mark_read(*, user_id: int, notification_id: int) -> bool:
    """Mark one of the user's own notifications read; True when it was unread. Someone else's
    notification is NotificationNotFound (same answer as a missing one)."""
    row = Notification.objects.select_for_update().filter(
        pk=notification_id, user_id=user_id).first()
    if row is None:
        raise NotificationNotFound("No such notification.")
    if row.read_at is not None:
        return False
    row.read_at = timezone.now()
    row.save(update_fields=["read_at"])
    if row.subject_type:
        audit.record(action="notification.read", actor=Actor(kind="user", id=str(user_id)),
                     subject=(row.subject_type, row.subject_id),
                     data={"notification_id": row.id, "kind": row.kind})
    return True


@transaction.atomic
def notifications_mark_all_read(*, user_id: int) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    changed = Notification.objects.filter(user_id=user_id, read_at__isnull=True).update(
        read_at=timezone.now())
    if changed:
        audit.record(action="notification.all_read", actor=Actor(kind="user", id=str(user_id)),
                     data={"count": changed})
    return changed
