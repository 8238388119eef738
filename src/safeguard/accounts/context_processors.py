"""Template context: the navigation filtered by the user's permissions, and the org contacts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from safeguard.accounts import rbac, selectors
from safeguard.accounts.enums import MFAState
from safeguard.accounts.guards import request_permissions, step_up_action_pending


def navigation(request: HttpRequest) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
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
                items.append({"label": entry.label, "url": url, "active": False,
                              "key": entry.key})
        current = active_nav_url(request.path, [str(i["url"]) for i in items])
        for item in items:
            item["active"] = item["url"] == current
        unread = selectors.notification_unread_count(user_id=user.pk)
    # notifications_unread: the header badge (issue 15); None when no badge is shown.
    return {"nav_items": items, "org": selectors.organisation(),
            "notifications_unread": unread,
            "step_up_action": step_up_action_pending(request)}


def active_nav_url(path: str, urls: list[str]) -> str | None:
    """The one navigation entry to highlight (issue 15, item 9): the exact page, else the
    longest entry the path lies under ("/cases/kpi/" is KPIs, not also Cases)."""
    if path in urls:
        return path
    under = [u for u in urls if u != "/" and path.startswith(u)]
    return max(under, key=len) if under else None
