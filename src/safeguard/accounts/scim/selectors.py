"""Reads of SCIM provisioning: staff users and roles as the identity provider sees them.

Service accounts are not people and are never shown over SCIM; a user the provider deleted
(``ScimIdentity.deleted_at``) is gone for SCIM (404) while the account stays, disabled.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Max, Prefetch

from safeguard.accounts.models import Role as RoleRow
from safeguard.accounts.models import RoleAssignment, ScimIdentity, User
from safeguard.accounts.scim.groupmap import parse_group_roles
from safeguard.accounts.scim.mapping import (
    GroupData,
    UserData,
    group_display_name,
    resolve_group,
)


def role_pairs() -> list[tuple[str, str]]:
    """Every role as (slug, name), by slug."""
    return list(RoleRow.objects.order_by("slug").values_list("slug", "name"))


def _display_names() -> dict[str, str]:
    text = settings.SAFEGUARD_SCIM_GROUP_ROLES
    return {slug: group_display_name(slug, name, mapping_text=text) for slug, name in role_pairs()}


def group_for_name(name: str) -> str | None:
    """The role slug a provider's group name stands for (decision 0126), or None."""
    return resolve_group(name, roles=role_pairs(),
                         mapping=parse_group_roles(settings.SAFEGUARD_SCIM_GROUP_ROLES))


def _visible_users() -> object:
    return (User.objects.filter(is_service_account=False)
            .exclude(scim_identity__deleted_at__isnull=False)
            .select_related("scim_identity", "manager")
            .prefetch_related(Prefetch("role_assignments",
                                       queryset=RoleAssignment.objects.select_related("role"))))


def _user_data(u: User, names: dict[str, str]) -> UserData:
    identity: ScimIdentity | None = getattr(u, "scim_identity", None)
    moments = [u.date_joined, *(m for m in (u.disabled_at,) if m)]
    if identity is not None:
        moments.append(identity.updated_at)
    return UserData(
        id=u.id, email=u.email, full_name=u.full_name, active=u.is_active,
        user_name=identity.user_name if identity else u.email,
        external_id=identity.external_id if identity else "",
        given_name=identity.given_name if identity else "",
        family_name=identity.family_name if identity else "",
        groups=tuple(sorted((a.role.slug, names.get(a.role.slug, a.role.name))
                            for a in u.role_assignments.all())),
        created=identity.created_at if identity else u.date_joined,
        modified=max(moments),
        manager_id=u.manager_id,
        manager_display=(u.manager.full_name or u.manager.email) if u.manager else "",
    )


def scim_user_list() -> list[UserData]:
    """Every person SCIM may see, by id (filtering and paging happen over this list)."""
    names = _display_names()
    return [_user_data(u, names) for u in _visible_users().order_by("id")]  # type: ignore[attr-defined]


def scim_user_get(*, user_id: int) -> UserData | None:
    """One person SCIM may see, or None (a service account or a SCIM-deleted user is None)."""
    u = _visible_users().filter(id=user_id).first()  # type: ignore[attr-defined]
    return None if u is None else _user_data(u, _display_names())


def visible_user_ids(*, user_ids: set[int]) -> set[int]:
    """Those of ``user_ids`` that are people SCIM may see."""
    return set(_visible_users().filter(id__in=user_ids).values_list("id", flat=True))  # type: ignore[attr-defined]


def _group_data(role: RoleRow, names: dict[str, str]) -> GroupData:
    members = (RoleAssignment.objects.filter(role=role, user__is_service_account=False)
               .exclude(user__scim_identity__deleted_at__isnull=False)
               .order_by("user_id").values_list("user_id", "user__email"))
    last_grant = RoleAssignment.objects.filter(role=role).aggregate(m=Max("granted_at"))["m"]
    return GroupData(slug=role.slug, display_name=names.get(role.slug, role.name),
                     members=tuple(members), created=role.created_at,
                     modified=max(m for m in (role.updated_at, last_grant) if m))


def scim_group_list() -> list[GroupData]:
    """Every role as a SCIM group, by slug."""
    names = _display_names()
    return [_group_data(r, names) for r in RoleRow.objects.order_by("slug")]


def scim_group_get(*, slug: str) -> GroupData | None:
    role = RoleRow.objects.filter(slug=slug).first()
    return None if role is None else _group_data(role, _display_names())
