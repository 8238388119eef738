"""``{% privacy_tabs_allowed request as can %}``: which privacy tabs the signed-in user may open.

The tabs under Privacy are links to pages guarded by different permissions; a compliance
manager or auditor holds only ``privacy.view_inventory`` and must not be shown tabs that
answer 403 (R-OPS-8 least privilege: show only what the holder can use).
"""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from safeguard.accounts.guards import request_permissions
from safeguard.privacy.permissions import (
    INVENTORY_VIEW,
    PUBLICATIONS_MANAGE,
    REQUESTS_MANAGE,
    RETENTION_MANAGE,
)

register = template.Library()


@register.simple_tag
def privacy_tabs_allowed(request: HttpRequest) -> dict[str, bool]:
    perms = request_permissions(request)
    return {"inventory": INVENTORY_VIEW in perms, "retention": RETENTION_MANAGE in perms,
            "requests": REQUESTS_MANAGE in perms, "publications": PUBLICATIONS_MANAGE in perms}
