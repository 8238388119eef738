"""Permissions and navigation of access reviews (R-OPS-8; decision 0128). Imported by
``accounts/permissions.py`` so the registry holds them before the first request."""

from safeguard.accounts import rbac

REVIEWS_VIEW = rbac.declare(
    "accounts.view_access_reviews",
    "See access-review campaigns, their progress and signed reports",
    roles=("administrator", "compliance_manager"), read_only=True,
)
REVIEWS_MANAGE = rbac.declare(
    "accounts.manage_access_reviews",
    "Start and close access-review campaigns (the campaign owner; also the escalation reviewer)",
    roles=("administrator", "compliance_manager"),
)
REVIEW_ACCESS = rbac.declare(
    "accounts.review_access",
    "Review access: keep or revoke the grants assigned to you in a campaign (never your own)",
    roles=("administrator", "compliance_manager"),
)

rbac.nav("Access reviews", url_name="accounts:reviews", permission=REVIEWS_VIEW, order=915)
rbac.nav("My access reviews", url_name="accounts:review_queue", permission=REVIEW_ACCESS,
         order=916)
