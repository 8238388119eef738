"""Permissions declared by the audit log (R-IR-5, R-OPS-6)."""

from safeguard.accounts import rbac

EVENTS_VIEW = rbac.declare(
    "audit.view", "Search and export audit events",
    roles=("security_analyst", "compliance_manager", "privacy_officer"), read_only=True,
)
VERIFY = rbac.declare(
    "audit.verify", "See verification status, signed tree heads and proofs; run verification",
    roles=("security_analyst", "compliance_manager"), read_only=True,
)

rbac.nav("Audit log", url_name="audit:index", permission=EVENTS_VIEW, order=800, key="l")
