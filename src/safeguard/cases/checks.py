"""Deployment checks of attachment screening (issue 8; docs/cases.md "Attachments").

safeguard.E210: image or PDF attachments are accepted but Tesseract OCR is not installed (every
image would be quarantined instead of screened). safeguard.E211: a language named in
SAFEGUARD_ATTACHMENT_OCR_LANG is not installed. safeguard.E212: a screening limit is not a
positive number.

Composer and case list (issue 15): safeguard.E418, the presence report interval is not positive
or the time a report counts is not longer than it (everyone would flicker away between
reports); safeguard.E419, a limit of the case list or the composer is not positive.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from django.conf import settings
from django.core import checks

LIMITS = ("SAFEGUARD_ATTACHMENT_SCREEN_MAX_BYTES", "SAFEGUARD_ATTACHMENT_MAX_PAGES",
          "SAFEGUARD_ATTACHMENT_MAX_IMAGES", "SAFEGUARD_ATTACHMENT_MAX_PIXELS",
          "SAFEGUARD_ATTACHMENT_OCR_SECONDS", "SAFEGUARD_ATTACHMENT_OCR_THREADS",
          "SAFEGUARD_ATTACHMENT_MAX_UNZIPPED_BYTES", "SAFEGUARD_ATTACHMENT_MAX_ZIP_MEMBERS",
          "SAFEGUARD_ATTACHMENT_MAX_ZIP_RATIO", "SAFEGUARD_ATTACHMENT_MAX_TEXT")


def _ocr_needed() -> bool:
    return any(t.startswith("image/") or t == "application/pdf"
               for t in settings.SAFEGUARD_ATTACHMENT_TYPES)


def attachment_screening(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E210–E212: what attachment screening needs on this machine, and sane limits."""
    errors: list[checks.CheckMessage] = [
        checks.Error(f"{name} must be a positive number.",
                     hint="Unset it to use the documented default.", id="safeguard.E212")
        for name in LIMITS if getattr(settings, name) <= 0]
    if not _ocr_needed():
        return errors
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        errors.append(checks.Error(
            "Image and PDF attachments are accepted but Tesseract OCR is not installed: images "
            "would be quarantined instead of screened for card numbers.",
            hint="apt-get install tesseract-ocr, or drop image types from "
                 "SAFEGUARD_ATTACHMENT_TYPES.", id="safeguard.E210"))
        return errors
    try:
        listed = subprocess.run([tesseract, "--list-langs"], capture_output=True,  # noqa: S603
                                text=True, timeout=10, check=False).stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        listed = []
    missing = [lang for lang in settings.SAFEGUARD_ATTACHMENT_OCR_LANG.split("+")
               if lang not in listed]
    if missing:
        errors.append(checks.Error(
            f"Tesseract has no language data for {', '.join(missing)} "
            "(SAFEGUARD_ATTACHMENT_OCR_LANG): every image would be quarantined.",
            hint="Install tesseract-ocr-<lang> or change SAFEGUARD_ATTACHMENT_OCR_LANG.",
            id="safeguard.E211"))
    return errors


COMPOSER_LIMITS = ("SAFEGUARD_CASE_SEARCH_SCAN_MAX", "SAFEGUARD_LIST_PAGE_SIZE",
                   "SAFEGUARD_MENTIONS_MAX", "SAFEGUARD_CHAT_TYPING_SECONDS")


def composer_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E418–E419: collision detection's timing and the list and composer limits."""
    errors: list[checks.CheckMessage] = []
    every, ttl = settings.SAFEGUARD_PRESENCE_SECONDS, settings.SAFEGUARD_PRESENCE_TTL_SECONDS
    if every <= 0 or ttl <= every:
        errors.append(checks.Error(
            f"SAFEGUARD_PRESENCE_SECONDS ({every}) must be positive and below "
            f"SAFEGUARD_PRESENCE_TTL_SECONDS ({ttl}).",
            hint="Keep the defaults (5 and 20) or a TTL of about four report intervals.",
            id="safeguard.E418"))
    errors.extend(checks.Error(f"{name} must be a positive number.",
                               hint="Unset it to use the documented default.",
                               id="safeguard.E419")
                  for name in COMPOSER_LIMITS if getattr(settings, name) <= 0)
    return errors


def register() -> None:
    checks.register(attachment_screening, "safeguard", deploy=True)
    checks.register(composer_settings, "safeguard")
