"""System checks of the wallboard and automations (issue 15; docs/desk.md).

safeguard.E410: the wallboard's event stream lasts as long as, or longer than, the web worker
timeout of the shipped gunicorn configuration (a sync worker streaming that long is killed).
safeguard.E411: auto-close closes resolved cases before the first-contact-resolution reopen
window ends (a customer writing again would open a new case, and FCR would count the first as
resolved at first contact). safeguard.E412 (deploy): surveys are sent on resolution but
SAFEGUARD_CSAT_BASE_URL is empty, so an e-mailed survey would carry a path without a host.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

# docs/deploy/gunicorn.conf.py: timeout = 30 (a sync worker silent this long is killed).
WORKER_TIMEOUT_SECONDS = 30


def desk_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E410, E411: the wallboard stream fits a worker; auto-close respects the FCR window."""
    errors: list[checks.CheckMessage] = []
    if settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS >= WORKER_TIMEOUT_SECONDS:
        errors.append(checks.Error(
            f"SAFEGUARD_WALLBOARD_STREAM_SECONDS ({settings.SAFEGUARD_WALLBOARD_STREAM_SECONDS})"
            f" is not below the web worker timeout ({WORKER_TIMEOUT_SECONDS} s): gunicorn would "
            "kill the worker serving the wallboard.",
            hint="Keep it under the timeout of docs/deploy/gunicorn.conf.py (default 25 s); the "
                 "browser reconnects on its own.", id="safeguard.E410"))
    days = settings.SAFEGUARD_AUTOCLOSE_DAYS
    if 0 < days < settings.SAFEGUARD_FCR_REOPEN_WINDOW_DAYS:
        errors.append(checks.Error(
            f"SAFEGUARD_AUTOCLOSE_DAYS ({days}) is shorter than "
            f"SAFEGUARD_FCR_REOPEN_WINDOW_DAYS ({settings.SAFEGUARD_FCR_REOPEN_WINDOW_DAYS}): a "
            "case would close before a reopen could count against first-contact resolution.",
            hint="Set SAFEGUARD_AUTOCLOSE_DAYS to at least the reopen window, or 0 (never).",
            id="safeguard.E411"))
    return errors


def desk_deploy(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E412: automatic surveys need the site's public address for e-mailed links."""
    if settings.SAFEGUARD_CSAT_AUTO_SEND and not settings.SAFEGUARD_CSAT_BASE_URL:
        return [checks.Error(
            "Surveys are sent on resolution (SAFEGUARD_CSAT_AUTO_SEND) but "
            "SAFEGUARD_CSAT_BASE_URL is empty: an e-mailed survey link would have no host.",
            hint="Set SAFEGUARD_CSAT_BASE_URL=https://your-help-site, or "
                 "SAFEGUARD_CSAT_AUTO_SEND=false.", id="safeguard.E412")]
    return []


def register() -> None:
    checks.register(desk_settings, "safeguard")
    checks.register(desk_deploy, "safeguard", deploy=True)
