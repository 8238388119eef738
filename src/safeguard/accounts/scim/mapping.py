"""Stored staff users and roles as SCIM resources, and SCIM resources as the changes they ask for.

No Django here: plain data in, scim2-models resources out (decision 0124). Which attributes map
(decision 0125, docs/scim.md):

=====================================  ==========================================
SCIM (urn:…:core:2.0:User)             Safeguard
=====================================  ==========================================
id                                     the user's id
userName                               kept as sent (unique); the e-mail when not SCIM-made
externalId                             kept as sent
emails (primary, else work, else 1st)  the sign-in e-mail (userName when no e-mail sent)
displayName / name.formatted           full name (else "givenName familyName")
name.givenName / name.familyName       kept as sent, returned unchanged
active                                 active; false runs the leaver path
groups (read-only)                     the roles held (value = role slug)
password                               refused: passwords are never set over SCIM
enterprise extension manager.value     the manager (that user's SCIM id); $ref and
                                       displayName are returned, ignored when sent
other enterprise attributes            accepted, not stored
=====================================  ==========================================

Groups are roles (decision 0126): ``id`` is the role's slug, ``displayName`` the identity
provider's name for it from SAFEGUARD_SCIM_GROUP_ROLES or else the role's name; ``members`` are
the users holding the role.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from scim2_models import (
    Email,
    EnterpriseUser,
    Group,
    GroupMember,
    GroupMembership,
    InvalidValueException,
    Manager,
    Meta,
    Name,
    User,
)

# The User resource this service speaks, with the RFC 7643 §4.3 enterprise extension: its
# ``manager`` is stored (the user's reporting line); its other attributes are accepted, not kept.
UserModel = User[EnterpriseUser]
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# An e-mail address as the sign-in name must be one: the shape Django's EmailField keeps, loosely.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,63}$")


@dataclass(frozen=True)
class UserData:
    """What SCIM shows of one staff user (read from the store by the selectors)."""

    id: int
    email: str
    full_name: str
    active: bool
    user_name: str
    external_id: str
    given_name: str
    family_name: str
    groups: tuple[tuple[str, str], ...]  # (role slug, group display name)
    created: datetime
    modified: datetime
    manager_id: int | None = None
    manager_display: str = ""


@dataclass(frozen=True)
class GroupData:
    """One role as a SCIM group: its slug, the name SCIM knows it by, and its holders."""

    slug: str
    display_name: str
    members: tuple[tuple[int, str], ...]  # (user id, e-mail)
    created: datetime
    modified: datetime


@dataclass(frozen=True)
class UserChanges:
    """The state a SCIM request (POST, PUT, or PATCH applied to the current resource) asks for."""

    user_name: str
    email: str
    full_name: str
    active: bool | None  # None: not sent (a PUT without it leaves the state as it is)
    external_id: str
    given_name: str
    family_name: str
    # the enterprise extension's manager: not sent leaves it as it is; sent as None clears it
    manager_sent: bool = False
    manager_id: int | None = None


def _version(moment: datetime) -> str:
    return f'W/"{int(moment.timestamp() * 1_000_000)}"'


def user_resource(data: UserData, *, base_url: str) -> User[EnterpriseUser]:
    """The SCIM User for ``data``; ``base_url`` is the service's …/scim/v2 address."""
    has_parts = bool(data.given_name or data.family_name)
    name = Name(formatted=data.full_name or None, given_name=data.given_name or None,
                family_name=data.family_name or None) if (data.full_name or has_parts) else None
    user = UserModel(
        id=str(data.id),
        external_id=data.external_id or None,
        user_name=data.user_name,
        name=name,
        display_name=data.full_name or None,
        active=data.active,
        # built without validation: a stored address on an internal domain (.local, .test)
        # that the e-mail validator would refuse must not make the user unlistable
        emails=[Email.model_construct(value=data.email, type=Email.Type.work, primary=True)],
        groups=[GroupMembership(value=slug, display=display, type="direct",
                                ref=cast(Any, f"{base_url}/Groups/{slug}"))
                for slug, display in data.groups] or None,
        meta=Meta(resource_type="User", created=data.created, last_modified=data.modified,
                  location=f"{base_url}/Users/{data.id}", version=_version(data.modified)),
    )
    if data.manager_id is not None:
        user[EnterpriseUser] = EnterpriseUser(manager=Manager(
            value=str(data.manager_id), ref=cast(Any, f"{base_url}/Users/{data.manager_id}"),
            display_name=data.manager_display or None))
    return user


def manager_id(value: Any) -> int | None:
    """A manager as SCIM names it — the manager's ``id`` here, sent as ``{"value": id}`` or (the
    Entra ID and Okta PATCH form) as the bare id — as a user id; None, "" or a value-less
    object clears it. Anything that is not one of our ids is ``invalidValue``."""
    if isinstance(value, Manager):
        value = value.value
    elif isinstance(value, dict):
        value = next((v for k, v in value.items() if str(k).lower() == "value"), None)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    raw = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) \
        else None
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or int(raw) < 1:
        raise InvalidValueException(detail=f"manager {value!r} is not a user id of this service.")
    return int(raw)


def enterprise_manager(user: User[EnterpriseUser]) -> int | None:
    """The manager a validated (or patched) User names in its enterprise extension."""
    extension = user[EnterpriseUser]
    return manager_id(extension.manager) if extension is not None and extension.manager \
        else None


def group_resource(data: GroupData, *, base_url: str) -> Group:
    """The SCIM Group for a role."""
    return Group(
        id=data.slug,
        display_name=data.display_name,
        members=[GroupMember(value=str(uid), display=email, type="User",
                             ref=cast(Any, f"{base_url}/Users/{uid}"))
                 for uid, email in data.members] or None,
        meta=Meta(resource_type="Group", created=data.created, last_modified=data.modified,
                  location=f"{base_url}/Groups/{data.slug}", version=_version(data.modified)),
    )


# Bidirectional overrides and isolates: they make a stored name read differently on screen.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _text(value: Any, limit: int, what: str, *, identifier: bool = False) -> str:
    """A value as stored: whitespace runs collapsed; a control character (a NUL, which
    PostgreSQL cannot store, included) or a bidirectional override is ``invalidValue``, and
    so, for a sign-in ``identifier``, is a form that Unicode compatibility folds into another
    (fullwidth ``ａ``, the numeral ``Ⅰ``): it would look like someone else's name."""
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise InvalidValueException(detail=f"{what} is longer than {limit} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cs") or c in _BIDI for c in text):
        raise InvalidValueException(detail=f"{what} holds a control character.")
    if identifier and unicodedata.normalize("NFKC", text) != text:
        raise InvalidValueException(
            detail=f"{what} holds compatibility characters (fullwidth letters, ligatures, "
                   "Roman numerals): send its plain form.")
    return text


def user_changes(user: User) -> UserChanges:
    """What a validated SCIM User asks for; a password, a missing or non-address sign-in name
    or an over-long value is ``invalidValue`` (nothing is changed)."""
    if getattr(user, "password", None):
        raise InvalidValueException(
            detail="Passwords are not set over SCIM: the user sets one through the password "
                   "reset and enrols a second factor at first sign-in.")
    user_name = _text(user.user_name, 254, "userName", identifier=True)
    if not user_name:
        raise InvalidValueException(detail="userName is required.")
    emails = list(user.emails or [])
    chosen = (next((e for e in emails if e.primary), None)
              or next((e for e in emails if str(e.type or "") == "work"), None)
              or (emails[0] if emails else None))
    email = _text(chosen.value if chosen and chosen.value else user_name, 254, "email",
                  identifier=True).lower()
    if not _EMAIL.match(email):
        raise InvalidValueException(
            detail="The user needs an e-mail address to sign in with: send emails[primary] or "
                   "a userName that is one.")
    given = _text(user.name.given_name if user.name else "", 150, "name.givenName")
    family = _text(user.name.family_name if user.name else "", 150, "name.familyName")
    full = _text(user.display_name or (user.name.formatted if user.name else "")
                 or f"{given} {family}", 150, "displayName")
    return UserChanges(
        user_name=user_name, email=email, full_name=full,
        active=None if user.active is None else bool(user.active),
        external_id=_text(user.external_id, 200, "externalId"),
        given_name=given, family_name=family,
    )


def resolve_group(name: str, *, roles: list[tuple[str, str]],
                  mapping: dict[str, str]) -> str | None:
    """The role slug a group name stands for: the mapping first, then a role's name or slug
    (case-insensitive); None when nothing matches."""
    key = " ".join(name.split()).casefold()
    slugs = {slug for slug, _ in roles}
    if key in mapping:
        return mapping[key] if mapping[key] in slugs else None
    for slug, role_name in roles:
        if key in (slug.casefold(), role_name.casefold()):
            return slug
    return None


def group_display_name(slug: str, role_name: str, *, mapping_text: str) -> str:
    """The name SCIM shows for a role: its mapped group name when one maps to it (as written
    in the setting), else the role's name."""
    for raw in (mapping_text or "").split(";"):
        name, sep, value = raw.strip().rpartition("=")
        if sep and value.strip() == slug and name.strip():
            return " ".join(name.split())
    return role_name


def member_ids(group: Group) -> set[int]:
    """The user ids a SCIM group's members name; a value that is not one is ``invalidValue``."""
    out: set[int] = set()
    for member in group.members or []:
        raw = str(member.value or "").strip()
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            raise InvalidValueException(detail=f"Member {raw!r} is not a user id of this service.")
        out.add(int(raw))
    return out
