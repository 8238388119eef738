"""Jobs of the accounts app: closing four-eyes grant requests past their expiry."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from safeguard.accounts import services


@db_periodic_task(crontab(minute="*/5"), name="accounts.grant_requests_expire")
def grant_requests_expire() -> None:
    """Every five minutes: expire undecided grant requests (each audited as
    ``role.grant_expired``), so the log shows the expiry near when it happened, not only when
    someone next opens the list. Idempotent."""
    services.grant_requests_expire()
