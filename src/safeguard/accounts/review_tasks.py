"""The periodic job of access reviews (decision 0128): thin, idempotent, one service call."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from safeguard.accounts import reviews


@db_periodic_task(crontab(minute="23"), name="accounts.access_reviews_run")
def access_reviews_run() -> dict[str, int]:
    """Every hour: start (or resume) the current period's campaign if it does not exist yet,
    escalate overdue items, close a campaign whose items are all decided. Each step skips what
    is already done, so a run killed half-way and run again creates nothing twice (R-OPS-8)."""
    return reviews.run_schedule()
