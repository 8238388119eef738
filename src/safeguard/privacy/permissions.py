"""Permissions declared by the privacy app (R-DATA-1, R-DATA-3, R-REG-4)."""

from safeguard.accounts import rbac

INVENTORY_VIEW = rbac.declare(
    "privacy.view_inventory",
    "See the data inventory (Records of Processing Activities) and the retention matrix",
    roles=("privacy_officer", "compliance_manager", "auditor"), read_only=True,
)
RETENTION_MANAGE = rbac.declare(
    "privacy.manage_retention",
    "Edit the retention matrix (versioned, with a reason), place and release legal holds "
    "(release by a second person), run retention dry runs, verify archives",
    roles=("privacy_officer",),
)

REQUESTS_MANAGE = rbac.declare(
    "privacy.manage_requests",
    "Record data-subject requests, verify them against the customer's identity verification, "
    "extend and acknowledge them, fulfil them (access bundles, erasure, rectification, "
    "restriction) and close unverifiable ones with a letter",
    roles=("privacy_officer",),
)

PUBLICATIONS_MANAGE = rbac.declare(
    "privacy.manage_publications",
    "Publish privacy-notice versions and keep the public subprocessor register",
    roles=("privacy_officer",),
)

rbac.nav("Privacy", url_name="privacy:inventory", permission=INVENTORY_VIEW, order=700)
