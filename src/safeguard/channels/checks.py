"""Checks of the chat widget and business hours (issue 15; docs/channels.md "Web chat").

safeguard.E415: SAFEGUARD_CHAT_HOURS cannot be read. safeguard.E416: SAFEGUARD_CHAT_HOLIDAYS is
not a country the ``holidays`` package knows (or the package is missing), or
SAFEGUARD_CHAT_TIMEZONE is not a time zone. safeguard.E417: an origin of
SAFEGUARD_CHAT_WIDGET_ORIGINS is not ``scheme://host[:port]``.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core import checks

from safeguard.channels import hours

_ORIGIN = re.compile(r"^https?://([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?$")


def chat_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E415–E417: the chat's hours, holidays, time zone and widget origins can be used."""
    errors: list[checks.CheckMessage] = []
    try:
        hours.parse(settings.SAFEGUARD_CHAT_HOURS)
    except hours.HoursError as exc:
        errors.append(checks.Error(
            f"SAFEGUARD_CHAT_HOURS cannot be read: {exc}.",
            hint='Write e.g. "mon-fri 09:00-17:00; sat 10:00-14:00", or leave it empty for '
                 "always open.", id="safeguard.E415"))
    try:
        ZoneInfo(settings.SAFEGUARD_CHAT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(checks.Error(
            f"SAFEGUARD_CHAT_TIMEZONE {settings.SAFEGUARD_CHAT_TIMEZONE!r} is not a time zone.",
            hint="Use an IANA name such as Europe/Berlin.", id="safeguard.E416"))
    if settings.SAFEGUARD_CHAT_HOLIDAYS:
        try:
            import holidays

            holidays.country_holidays(settings.SAFEGUARD_CHAT_HOLIDAYS)
        except (ImportError, NotImplementedError, KeyError):
            errors.append(checks.Error(
                f"SAFEGUARD_CHAT_HOLIDAYS {settings.SAFEGUARD_CHAT_HOLIDAYS!r} is not a country "
                "of the holidays package (or the package is not installed).",
                hint="Use an ISO country code such as GB or DE, or leave it empty.",
                id="safeguard.E416"))
    errors.extend(checks.Error(
        f"SAFEGUARD_CHAT_WIDGET_ORIGINS holds {origin!r}, not scheme://host[:port].",
        hint="List the origins of the pages that embed the chat, e.g. https://www.example.com.",
        id="safeguard.E417") for origin in settings.SAFEGUARD_CHAT_WIDGET_ORIGINS
        if not _ORIGIN.match(origin))
    return errors


def register() -> None:
    checks.register(chat_settings, "safeguard")
