"""Deployment checks of the customers app (`safeguard check --deploy`), ids safeguard.E150-E159.

* E150: one-time codes that verify a contact are too weak (long-lived or many tries).
* E151: customer rows still carry the e-mail index of before decision 0101 (no look-alike index):
  run ``safeguard customers reindex-email``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import DatabaseError

MAX_CODE_MINUTES = 60
MAX_CODE_ATTEMPTS = 10


def contact_codes_are_strong(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A 6-digit code may be guessed at most ATTEMPTS times in MINUTES: keep both small."""
    minutes = settings.SAFEGUARD_CONTACT_CODE_MINUTES
    attempts = settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS
    if minutes > MAX_CODE_MINUTES or attempts > MAX_CODE_ATTEMPTS:
        return [checks.Error(
            f"Contact verification codes live {minutes} minutes and allow {attempts} wrong "
            "tries: too easy to guess.",
            hint=f"Set SAFEGUARD_CONTACT_CODE_MINUTES <= {MAX_CODE_MINUTES} and "
                 f"SAFEGUARD_CONTACT_CODE_ATTEMPTS <= {MAX_CODE_ATTEMPTS}.",
            id="safeguard.E150")]
    return []


def customers_reindexed(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Rows without a look-alike index escape the look-alike check until re-indexed."""
    from safeguard.customers.models import Customer

    try:
        pending = Customer.objects.filter(email__isnull=False,
                                          email_skeleton_index__isnull=True).count()
    except DatabaseError:  # no database yet (or unmigrated): other checks say so
        return []
    if pending:
        return [checks.Error(
            f"{pending} customer row(s) still carry the e-mail index of before the exact "
            "e-mail identity: look-alike senders of those customers are not flagged.",
            hint="Run `safeguard customers reindex-email` (resumable; lookups keep working).",
            id="safeguard.E151")]
    return []


def register() -> None:
    checks.register(contact_codes_are_strong, deploy=True)
    checks.register(customers_reindexed, checks.Tags.database, deploy=True)
