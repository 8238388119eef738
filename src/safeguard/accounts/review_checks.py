"""System checks of the access-review schedule (decision 0128); ids safeguard.E325-E329."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# Who reviews a user's grants first (reviews.py): their manager, else a role owner; or role
# owners only.
REVIEWER_ORDERS = ("manager_then_role_owner", "role_owner")


def schedule_is_sound(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E325: the period does not divide the year; E326: due days out of 1..28 x months;
    E327: escalation days out of 0..90; E328: autostart is not a boolean; E329: an unknown
    reviewer order."""
    errors: list[checks.CheckMessage] = []
    months = getattr(settings, "SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS", 3)
    due = getattr(settings, "SAFEGUARD_ACCESS_REVIEW_DUE_DAYS", 21)
    escalation = getattr(settings, "SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS", 3)
    valid_months = isinstance(months, int) and months in (1, 2, 3, 4, 6, 12)
    if not valid_months:
        errors.append(checks.Error(
            f"SAFEGUARD_ACCESS_REVIEW_PERIOD_MONTHS is {months!r}: a review period must divide "
            "the year.", hint="Use 1, 2, 3 (quarterly, the default), 4, 6 or 12.",
            id="safeguard.E325"))
    limit = 28 * (months if valid_months else 1)
    if not isinstance(due, int) or not 1 <= due <= limit:
        errors.append(checks.Error(
            f"SAFEGUARD_ACCESS_REVIEW_DUE_DAYS is {due!r}: a campaign must be due within its "
            "period.", hint=f"Use 1..{limit} (28 days per month of the period; default 21).",
            id="safeguard.E326"))
    if not isinstance(escalation, int) or not 0 <= escalation <= 90:
        errors.append(checks.Error(
            f"SAFEGUARD_ACCESS_REVIEW_ESCALATION_DAYS is {escalation!r}.",
            hint="Use 0..90 days after the due date (default 3).", id="safeguard.E327"))
    if not isinstance(getattr(settings, "SAFEGUARD_ACCESS_REVIEW_AUTOSTART", True), bool):
        errors.append(checks.Error(
            "SAFEGUARD_ACCESS_REVIEW_AUTOSTART must be true or false.", id="safeguard.E328"))
    order = getattr(settings, "SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER", "manager_then_role_owner")
    if order not in REVIEWER_ORDERS:
        errors.append(checks.Error(
            f"SAFEGUARD_ACCESS_REVIEW_REVIEWER_ORDER is {order!r}.",
            hint=f"Use one of {', '.join(REVIEWER_ORDERS)} (default manager_then_role_owner).",
            id="safeguard.E329"))
    return errors


def register() -> None:
    checks.register(schedule_is_sound)
