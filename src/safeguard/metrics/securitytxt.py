"""``/.well-known/security.txt`` per RFC 9116 (R-ORG-1, R-MEAS-5), from the organisation's
contacts (accounts) and the SAFEGUARD_SECURITY_TXT_* settings.

Contact comes from the organisation's security e-mail (``mailto:``) and hotline (``tel:``);
Expires is a fixed date the operator sets (a file regenerated with a rolling date would never
expire, and nobody would be made to re-check its contents); the deploy check fails once it has
passed (E561) or is missing or malformed (E562). Canonical defaults to the https URL
of the file on the requested host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from safeguard.accounts import selectors as accounts

_TEL_VISUAL = re.compile(r"[\s\-.()]")


@dataclass(frozen=True)
class SecurityTxt:
    """The file's fields in order; ``problems`` says why it cannot be served (empty = fine)."""

    fields: tuple[tuple[str, str], ...]
    expires: datetime | None
    problems: tuple[str, ...]

    def text(self) -> str:
        return "".join(f"{name}: {value}\n" for name, value in self.fields)


def expires_setting() -> datetime | None:
    """SAFEGUARD_SECURITY_TXT_EXPIRES as an aware UTC datetime; None when unset.
    A value without a time zone is read as UTC; a malformed one raises ValueError."""
    raw = (settings.SAFEGUARD_SECURITY_TXT_EXPIRES or "").strip()
    if not raw:
        return None
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def tel_uri(hotline: str) -> str | None:
    """An RFC 3966 global ``tel:`` URI from a hotline number ("+44 20 7946 0000"), or None
    when it is not a global number (a local number is ambiguous to a finder abroad)."""
    digits = _TEL_VISUAL.sub("", hotline)
    if re.fullmatch(r"\+\d{4,20}", digits):
        return f"tel:{digits}"
    return None


def build(*, host: str | None) -> SecurityTxt:
    """The security.txt for a request to ``host`` (None: Canonical only from the setting)."""
    org = accounts.organisation()
    fields: list[tuple[str, str]] = []
    problems: list[str] = []
    if org.security_email:
        fields.append(("Contact", f"mailto:{org.security_email}"))
    tel = tel_uri(org.security_hotline) if org.security_hotline else None
    if tel:
        fields.append(("Contact", tel))
    if not fields:
        problems.append("the organisation has no security e-mail or international hotline "
                        "number (Organisation settings)")
    try:
        expires = expires_setting()
    except ValueError:
        expires = None
        problems.append("SAFEGUARD_SECURITY_TXT_EXPIRES is not an ISO 8601 date and time")
    else:
        if expires is None:
            problems.append("SAFEGUARD_SECURITY_TXT_EXPIRES is not set")
    if expires is not None:
        fields.append(("Expires", expires.strftime("%Y-%m-%dT%H:%M:%SZ")))
    for name, value in (("Encryption", settings.SAFEGUARD_SECURITY_TXT_ENCRYPTION),
                        ("Policy", settings.SAFEGUARD_SECURITY_TXT_POLICY)):
        if value:
            fields.append((name, value))
    if settings.SAFEGUARD_SECURITY_TXT_LANGUAGES:
        fields.append(("Preferred-Languages", settings.SAFEGUARD_SECURITY_TXT_LANGUAGES))
    canonical = settings.SAFEGUARD_SECURITY_TXT_CANONICAL or (
        f"https://{host}/.well-known/security.txt" if host else "")
    if canonical:
        fields.append(("Canonical", canonical))
    return SecurityTxt(fields=tuple(fields), expires=expires, problems=tuple(problems))
