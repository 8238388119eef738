"""Permissions and navigation declared by the detection app (R-OPS-6, R-OPS-9, R-OPS-8).

Analysts triage; auditors read (``read_only`` hands ``detection.view`` to them); agents hold
none of these — alerts are often about agents.
"""

from safeguard.accounts import rbac

VIEW = rbac.declare(
    "detection.view",
    "See security alerts with their evidence and clocks, suppressions and the detection run",
    roles=("security_analyst",), read_only=True,
)
TRIAGE = rbac.declare(
    "detection.triage",
    "Acknowledge, investigate and close alerts (one or in bulk), open an incident from one",
    roles=("security_analyst",),
)
SUPPRESS = rbac.declare(
    "detection.suppress",
    "Silence one rule for one entity for a bounded time, with a reason (audited)",
    roles=("security_analyst",),
)

rbac.nav("Alerts", url_name="detection:queue", permission=VIEW, order=790)
