"""Reads of the accounts app. Hands out frozen views, never ORM rows or secrets."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.db.models import Count, Prefetch, Q

from safeguard.accounts import rbac
from safeguard.accounts.contracts import (
    GrantRequestView,
    NotificationView,
    OrganisationView,
    RoleNotFound,
    RoleView,
    TokenView,
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
    User,
)
from safeguard.web.pagination import Page, decode_cursor, encode_cursor, paginate

# Types that count as a second factor; recovery codes are a fallback, not an enrolment.
FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def role_permissions(role: Role) -> frozenset[str]:
    """A built-in role's permissions come from the registry; a custom role's from its row."""
    if role.is_builtin:
        return rbac.builtin_role_permissions(role.slug)
    return frozenset(p for p in role.permissions if rbac.get(p) is not None)


def role_sensitive_permissions(*, role_slug: str) -> frozenset[str]:
    """The sensitive permissions (four eyes) a role carries; empty for an unknown role."""
    role = Role.objects.filter(slug=role_slug).first()
    if role is None:
        return frozenset()
    return role_permissions(role) & rbac.sensitive_permissions()


def user_permissions(*, user_id: int) -> frozenset[str]:
    """The effective permissions of a user: the union over their roles; none when disabled."""
    roles = Role.objects.filter(assignments__user_id=user_id, assignments__user__is_active=True)
    perms: set[str] = set()
    for role in roles:
        perms |= role_permissions(role)
    return frozenset(perms)


def user_role_slugs(*, user_id: int) -> tuple[str, ...]:
    return tuple(
        RoleAssignment.objects.filter(user_id=user_id)
        .order_by("role__slug")
        .values_list("role__slug", flat=True)
    )


def mfa_types(*, user_id: int) -> tuple[str, ...]:
    """The second-factor types a user has enrolled (totp, webauthn), sorted."""
    return tuple(
        sorted(
            set(
                Authenticator.objects.filter(user_id=user_id, type__in=FACTOR_TYPES)
                .values_list("type", flat=True)
            )
        )
    )


# Permissions that administer access itself: whoever holds one is privileged, whatever the
# name of the role that grants it (the WebAuthn rule and MFA coverage follow permissions).
ADMIN_PERMISSIONS = frozenset({"accounts.manage_users", "accounts.manage_roles",
                               "accounts.manage_tokens", "accounts.scim_provision",
                               "org.manage"})


def is_administrator(*, user_id: int) -> bool:
    """Does the user hold the administrator role or any permission that administers access?"""
    if RoleAssignment.objects.filter(user_id=user_id, role__slug="administrator").exists():
        return True
    return not ADMIN_PERMISSIONS.isdisjoint(user_permissions(user_id=user_id))


def mfa_state(*, user_id: int, require_webauthn_for_admins: bool) -> MFAState:
    """Whether the user may pass the MFA gate (R-OPS-1): any factor, WebAuthn for admins."""
    types = mfa_types(user_id=user_id)
    if not types:
        return MFAState.MISSING
    if (
        require_webauthn_for_admins
        and Authenticator.Type.WEBAUTHN not in types
        and is_administrator(user_id=user_id)
    ):
        return MFAState.WEBAUTHN_REQUIRED
    return MFAState.OK


def _user_view(u: User) -> UserView:
    return UserView(
        id=u.id,
        email=u.email,
        full_name=u.full_name,
        is_active=u.is_active,
        is_service_account=u.is_service_account,
        roles=tuple(sorted(a.role.slug for a in u.role_assignments.all())),
        # allauth's reverse accessor is not in the stubs
        mfa_types=tuple(sorted({a.type for a in u.authenticator_set.all()  # type: ignore[attr-defined]
                                if a.type in FACTOR_TYPES})),
        date_joined=u.date_joined,
        disabled_at=u.disabled_at,
        last_login=u.last_login,
        manager_id=u.manager_id,
        manager_email=u.manager.email if u.manager_id and u.manager else "",
    )


def _users() -> object:
    return User.objects.select_related("manager").prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.select_related("role")),
        "authenticator_set",
    )


def user_list(*, include_disabled: bool = True) -> list[UserView]:
    """All staff and service accounts, by email."""
    qs = _users().order_by("email")  # type: ignore[attr-defined]
    if not include_disabled:
        qs = qs.filter(is_active=True)
    return [_user_view(u) for u in qs]


def user_get(*, user_id: int) -> UserView:
    try:
        return _user_view(_users().get(id=user_id))  # type: ignore[attr-defined]
    except User.DoesNotExist as exc:
        raise UserNotFound(f"No user with id {user_id}.") from exc


def manager_chain(*, user_id: int, limit: int = 10_000) -> list[int]:
    """The managers above ``user_id``, nearest first (their manager, theirs, ...). Stops at a
    repeat, so a cycle written around the service can never make it loop."""
    chain: list[int] = []
    seen = {user_id}
    current: int | None = User.objects.filter(id=user_id).values_list("manager_id",
                                                                       flat=True).first()
    while current is not None and current not in seen and len(chain) < limit:
        chain.append(current)
        seen.add(current)
        current = User.objects.filter(id=current).values_list("manager_id", flat=True).first()
    return chain


def manager_candidates(*, user_id: int) -> list[UserView]:
    """Who may become ``user_id``'s manager: active people (not service accounts), never the
    user nor anyone reporting to them directly or indirectly (that would make a cycle)."""
    below: set[int] = {user_id}
    frontier = {user_id}
    while frontier:
        frontier = set(User.objects.filter(manager_id__in=frontier)
                       .values_list("id", flat=True)) - below
        below |= frontier
    qs = (_users().filter(is_active=True, is_service_account=False)  # type: ignore[attr-defined]
          .exclude(id__in=below).order_by("email"))
    return [_user_view(u) for u in qs]


def user_get_by_email(*, email: str) -> UserView:
    try:
        return _user_view(_users().get(email__iexact=email))  # type: ignore[attr-defined]
    except User.DoesNotExist as exc:
        raise UserNotFound(f"No user with email {email}.") from exc


def _role_view(r: Role, holders: int) -> RoleView:
    return RoleView(id=r.id, slug=r.slug, name=r.name, description=r.description,
                    is_builtin=r.is_builtin, permissions=role_permissions(r), holders=holders)


def role_list() -> list[RoleView]:
    """Every role with its effective permissions and how many active users hold it."""
    qs = Role.objects.annotate(
        n=Count("assignments", filter=Q(assignments__user__is_active=True))
    ).order_by("-is_builtin", "name")
    return [_role_view(r, r.n) for r in qs]


def role_get(*, slug: str) -> RoleView:
    try:
        r = Role.objects.get(slug=slug)
    except Role.DoesNotExist as exc:
        raise RoleNotFound(f"No role {slug!r}.") from exc
    return _role_view(r, r.assignments.filter(user__is_active=True).count())


def role_holders(*, slug: str) -> list[UserView]:
    return [_user_view(u) for u in _users().filter(role_assignments__role__slug=slug)  # type: ignore[attr-defined]
            .order_by("email")]


def _token_views(tokens: Iterable[ApiToken]) -> list[TokenView]:
    """Token views, each personal token marked suspended when its person fails the MFA gate
    (the same rule the token is refused by at use: issue 9 item 5); one check per person."""
    tokens = list(tokens)
    suspended: dict[int, bool] = {}
    for t in tokens:
        if t.user_id not in suspended:
            suspended[t.user_id] = not t.user.is_service_account and mfa_state(
                user_id=t.user_id,
                require_webauthn_for_admins=settings.SAFEGUARD_REQUIRE_WEBAUTHN_FOR_ADMINS,
            ) != MFAState.OK
    return [TokenView(id=t.id, name=t.name, prefix=t.prefix, user_email=t.user.email,
                      scopes=tuple(t.scopes), created_at=t.created_at, expires_at=t.expires_at,
                      last_used_at=t.last_used_at, revoked_at=t.revoked_at,
                      suspended=suspended[t.user_id]) for t in tokens]


def _token_view(t: ApiToken) -> TokenView:
    return _token_views([t])[0]


def token_list(*, user_id: int | None = None) -> list[TokenView]:
    """Tokens, newest first; never the secret (it is not stored)."""
    qs = ApiToken.objects.select_related("user").order_by("-created_at")
    if user_id is not None:
        qs = qs.filter(user_id=user_id)
    return _token_views(qs)


def token_page(*, cursor: str | None, limit: int) -> Page[TokenView]:
    """One cursor page of tokens by id (oldest first)."""
    page = paginate(ApiToken.objects.select_related("user"), cursor=cursor, limit=limit,
                    scope="accounts.tokens")
    return Page(items=_token_views(page.items), next_cursor=page.next_cursor)


def organisation() -> OrganisationView:
    """The organisation's contacts (R-ORG-1); defaults until an administrator sets them."""
    org = Organisation.objects.filter(id=1).first() or Organisation()
    return OrganisationView(name=org.name, dpo_name=org.dpo_name, dpo_email=org.dpo_email,
                            security_hotline=org.security_hotline,
                            security_email=org.security_email)


def mfa_coverage() -> dict[str, float | int]:
    """R-KPI-8: share of active privileged users (holding any role but agent) with a factor."""
    privileged = User.objects.filter(
        is_active=True, is_service_account=False,
        role_assignments__role__in=Role.objects.exclude(slug="agent"),
    ).distinct()
    total = privileged.count()
    covered = User.objects.filter(
        id__in=privileged.values("id"), authenticator__type__in=FACTOR_TYPES
    ).distinct().count()
    return {"privileged": total, "with_mfa": covered,
            "coverage": (covered / total) if total else 1.0}


# --- four eyes ---

def grant_request_view(row: GrantRequest) -> GrantRequestView:
    return GrantRequestView(
        id=row.id, user_id=row.user_id, user_email=row.user.email, role_slug=row.role.slug,
        role_name=row.role.name,
        sensitive=tuple(sorted(role_permissions(row.role)
                               & rbac.sensitive_permissions())),
        requested_by=row.requested_by.email if row.requested_by else "",
        requested_by_id=row.requested_by_id, requested_at=row.requested_at, reason=row.reason,
        expires_at=row.expires_at, status=row.status,
        decided_by=row.decided_by.email if row.decided_by else "", decided_at=row.decided_at)


def grant_request_list(*, status: str | None = "pending") -> list[GrantRequestView]:
    """Grant requests, newest first (pending only by default). Callers run
    ``services.grant_requests_expire()`` first so none past its expiry shows as pending."""
    qs = GrantRequest.objects.select_related("user", "role", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return [grant_request_view(r) for r in qs.order_by("-requested_at", "-id")[:200]]


# --- notification centre (issue 15) ------------------------------------------------------------

def _notification_view(n: Notification) -> NotificationView:
    label = (NotificationKind(n.kind).label if n.kind in NotificationKind.values else n.kind)
    return NotificationView(id=n.id, kind=n.kind, kind_label=str(label), title=n.title,
                            url=n.url, created_at=n.created_at, read_at=n.read_at)


def notification_unread_count(*, user_id: int) -> int:
    """How many of the user's notifications are unread (the header badge)."""
    return Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()


def notification_page(*, user_id: int, unread_only: bool = False, cursor: str | None = None,
                      limit: int = 50) -> Page[NotificationView]:
    """The user's own notifications, newest first, cursor-paginated; nobody sees another's."""
    qs = Notification.objects.filter(user_id=user_id)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    scope = f"accounts.notifications:{user_id}:{int(unread_only)}"
    limit = max(1, min(limit, 200))
    qs = qs.order_by("-id")
    if cursor:
        qs = qs.filter(id__lt=decode_cursor(cursor, scope=scope))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=[_notification_view(n) for n in rows],
                next_cursor=encode_cursor(rows[-1].id, scope=scope) if more else None)


def notification_get(*, user_id: int, notification_id: int) -> NotificationView | None:
    """One of the user's own notifications, or None."""
    row = Notification.objects.filter(pk=notification_id, user_id=user_id).first()
    return _notification_view(row) if row else None


def user_display_name(*, user_id: int) -> str:
    """How a staff member is named in notification text: their full name, else the part of
    their e-mail before the @ (an address would be masked by the notification screening)."""
    row = User.objects.filter(pk=user_id).values("full_name", "email").first()
    if row is None:
        return "someone"
    return row["full_name"] or row["email"].split("@", 1)[0]


def users_active_since(*, user_ids: Iterable[int], since: datetime) -> frozenset[int]:
    """Of ``user_ids``, the active people with a signed-in session seen since ``since`` (the
    wallboard's "agents available", issue 15); service accounts never count."""
    from allauth.usersessions.models import UserSession

    ids = [int(i) for i in user_ids]
    if not ids:
        return frozenset()
    return frozenset(UserSession.objects.filter(
        user_id__in=ids, last_seen_at__gte=since, user__is_active=True,
        user__is_service_account=False).values_list("user_id", flat=True).distinct())
