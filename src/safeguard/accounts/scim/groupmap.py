"""``SAFEGUARD_SCIM_GROUP_ROLES``: which identity-provider group is which role (docs/scim.md).

Apart from :mod:`mapping` so the system check reads it without loading scim2-models, whose
resource models take a good part of a second to build (every process would pay it at start).
"""

from __future__ import annotations

import re

_SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,40}$")


class GroupMapError(ValueError):
    """SAFEGUARD_SCIM_GROUP_ROLES is malformed."""


def parse_group_roles(text: str) -> dict[str, str]:
    """``"Support Agents=agent;Leads=supervisor"`` as ``{"support agents": "agent", ...}``: group
    names compare case-insensitively; a name given twice, an empty side or a value that is not a
    role slug is an error."""
    out: dict[str, str] = {}
    for raw in (text or "").split(";"):
        entry = raw.strip()
        if not entry:
            continue
        name, sep, slug = entry.rpartition("=")
        name, slug = name.strip(), slug.strip()
        if not sep or not name or not _SLUG.match(slug):
            raise GroupMapError(f"{entry!r} is not 'Group name=role-slug'.")
        key = name.casefold()
        if key in out:
            raise GroupMapError(f"the group {name!r} is mapped twice.")
        out[key] = slug
    return out
