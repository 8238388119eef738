"""Permissions declared by the operations shell."""

from safeguard.accounts import rbac

HEALTH_VIEW = rbac.declare(
    "ops.health", "See system health: database, jobs, heartbeat",
    roles=("administrator", "security_analyst"), read_only=True,
)
METRICS_SCRAPE = rbac.declare(
    "ops.metrics", "Scrape Prometheus metrics at /metrics (give it to a monitoring token)",
    roles=("administrator",), read_only=True,
)

rbac.nav("Health", url_name="ops:health", permission=HEALTH_VIEW, order=950)
