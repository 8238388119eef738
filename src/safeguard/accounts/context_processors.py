"""Template context: the navigation filtered by the user's permissions, and the org contacts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from safeguard.accounts import rbac, selectors
from safeguard.accounts.enums import MFAState
from safeguard.accounts.guards import request_permissions


def navigation(request: HttpRequest) -> dict[str, Any]:
    items = []
    unread = None
    user = getattr(request, "user", None)
    mfa_ok = getattr(request, "mfa_state", MFAState.OK) == MFAState.OK
    if user is not None and user.is_authenticated and mfa_ok:
        perms = request_permissions(request)
        for entry in rbac.nav_entries():
            if entry.permission == rbac.AUTHENTICATED or entry.permission in perms:
                try:
                    url = reverse(entry.url_name)
                except NoReverseMatch:
                    continue
                active = request.path == url or (url != "/" and request.path.startswith(url))
                items.append({"label": entry.label, "url": url, "active": active,
                              "key": entry.key})
        unread = selectors.notification_unread_count(user_id=user.pk)
    # notifications_unread: the header badge (issue 15); None when no badge is shown.
    return {"nav_items": items, "org": selectors.organisation(), "notifications_unread": unread}
