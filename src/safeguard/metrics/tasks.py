"""Periodic jobs of the metrics app: archive the review packs of closed periods."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from safeguard.metrics import archive


@db_periodic_task(crontab(minute="7"), name="metrics.review_packs")
def review_packs() -> None:
    """Hourly: generate and archive each scheduled pack whose period closed (and whose day
    offset passed) and is not archived yet; idempotent (docs/metrics.md, Archive)."""
    archive.packs_generate_due()
