"""Periodic jobs of the accounts app: thin, idempotent, calling one service each (security-state
purge, four-eyes grant-request expiry)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from safeguard.accounts import services


@db_periodic_task(crontab(minute="*/15"),
                  name="accounts.security_state_purge")
def security_state_purge() -> int:
    """Every 15 minutes: delete expired security-state rows (lockout counters, used codes,
    nonces past their window); live ones stay: the store never forgets a counter early
    (R-OPS-8)."""
    return services.security_state_purge()


@db_periodic_task(crontab(minute="*/5"), name="accounts.grant_requests_expire")
def grant_requests_expire() -> None:
    """Every five minutes: expire undecided grant requests (each audited as
    ``role.grant_expired``), so the log shows the expiry near when it happened, not only when
    someone next opens the list. Idempotent."""
    services.grant_requests_expire()


@db_task(name="accounts.password_reset_mail_send")
def password_reset_mail_send(*, user_ids: list[int], base_url: str) -> int:
    """Send the password-reset mail after the request committed (one job per request, known
    address or not: issue 9 item 7)."""
    return services.password_reset_mail_send(user_ids=user_ids, base_url=base_url)


# The access-review job lives beside its service (decision 0128); imported so Huey registers it.
from safeguard.accounts import review_tasks  # noqa: E402, F401
