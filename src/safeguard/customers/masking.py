"""Masking of customer values for display (R-DATA-2): a pure core, no Django, property-tested.

Every function takes the clear value and returns what a screen may show: a fixed shape that
keeps a hint for recognition (an initial, the last four digits, the city) and hides the
length and the rest of the value, so two values that differ only in their hidden part mask
alike. Each accepts any input (empty, malformed, odd Unicode) without raising.

    mask_email("maria.lopez@example.com")  -> "m•••@e•••.com"
    mask_email("maria.lopez@еxample.com")  -> "m•••@е•••.com [non-ASCII characters]"
    mask_phone("+44 20 7946 0132")         -> "•••• 0132"
    mask_name("John Smith")                -> "J. S•••"
    mask_address({"city": "Leeds", ...})   -> "Leeds, GB"
    mask_iban("GB33BUKB20201555555555")    -> "GB•• •••• 5555"
"""

from __future__ import annotations

import re
from collections.abc import Mapping

HIDDEN = "•••"
NON_ASCII_MARK = " [non-ASCII characters]"
DIGITS_HIDDEN = "••••"
DATE_HIDDEN = "••••-••-••"
# Fewer digits than this and the last four would give away most of the number.
MIN_DIGITS_FOR_LAST4 = 7
_NOT_DIGIT = re.compile(r"[^0-9]")
_SPACE = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")
_TLD = re.compile(r"[A-Za-z]{2,24}")


def _first(text: str) -> str:
    """The first visible character of ``text`` ('' when there is none)."""
    for ch in text:
        if not ch.isspace():
            return ch
    return ""


def mask_email(value: str | None) -> str:
    """``m•••@e•••.com``: the first letters of mailbox and domain, and the top-level domain."""
    text = (value or "").strip()
    if not text:
        return ""
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        return HIDDEN
    labels = domain.split(".")
    tld = labels[-1] if len(labels) > 1 else ""
    masked = f"{_first(local)}{HIDDEN}@{_first(labels[0])}{HIDDEN}"
    # Only a well-formed top-level domain is shown; anything else could be the hidden part.
    masked += f".{tld.lower()}" if _TLD.fullmatch(tld) else ""
    # A Cyrillic or full-width look-alike masks like the real address: say so (R-DATA-2 keeps
    # the value hidden, the marker keeps the difference visible).
    return masked + (NON_ASCII_MARK if not text.isascii() else "")


def last_digits(value: str | None, count: int = 4) -> str:
    """The last ``count`` digits of a value, or '' when it has too few digits to show any."""
    digits = _NOT_DIGIT.sub("", value or "")
    return digits[-count:] if len(digits) >= MIN_DIGITS_FOR_LAST4 else ""


def mask_phone(value: str | None) -> str:
    """``•••• 0132``: the last four digits of a phone number."""
    if not (value or "").strip():
        return ""
    last4 = last_digits(value)
    return f"{DIGITS_HIDDEN} {last4}" if last4 else DIGITS_HIDDEN


def mask_name(value: str | None) -> str:
    """``J. S•••``: the first name's initial and the family name's first letter."""
    parts = _SPACE.split((value or "").strip())
    parts = [p for p in parts if p]
    if not parts:
        return ""
    if len(parts) == 1:
        return f"{_first(parts[0])}{HIDDEN}"
    return f"{_first(parts[0])}. {_first(parts[-1])}{HIDDEN}"


def mask_address(value: Mapping[str, object] | None) -> str:
    """``Leeds, GB``: the city and country only; street, number and postcode stay hidden."""
    if not value:
        return ""
    city = _SPACE.sub(" ", str(value.get("city") or "")).strip()
    country = _NOT_ALNUM.sub("", str(value.get("country") or "")).upper()[:2]
    shown = ", ".join(p for p in (city, country) if p)
    if shown:
        return shown
    return HIDDEN if any(str(v or "").strip() for v in value.values()) else ""


def mask_date(value: str | None) -> str:
    """A date of birth is hidden entirely: ``••••-••-••``."""
    return DATE_HIDDEN if (value or "").strip() else ""


def mask_iban(value: str | None) -> str:
    """``GB•• •••• 5555``: the country code and the last four characters of an IBAN."""
    compact = _NOT_ALNUM.sub("", value or "").upper()
    if not compact:
        return ""
    if len(compact) < 8 or not compact[:2].isalpha():
        return DIGITS_HIDDEN
    return f"{compact[:2]}•• {DIGITS_HIDDEN} {compact[-4:]}"


def mask_payout(value: Mapping[str, object] | None) -> str:
    """An IBAN as :func:`mask_iban`, another account number as ``•••• 1234``."""
    if not value:
        return ""
    iban = str(value.get("iban") or "")
    if iban.strip():
        return mask_iban(iban)
    last4 = last_digits(str(value.get("account_number") or ""))
    if last4:
        return f"{DIGITS_HIDDEN} {last4}"
    return DIGITS_HIDDEN if any(str(v or "").strip() for v in value.values()) else ""


# --- clear formats (what an audited reveal returns) -----------------------------------------


def format_address(value: Mapping[str, object] | None) -> str:
    """One line: ``line1, line2, postcode city, region, country``."""
    if not value:
        return ""

    def get(key: str) -> str:
        return _SPACE.sub(" ", str(value.get(key) or "")).strip()

    town = " ".join(p for p in (get("postcode"), get("city")) if p)
    return ", ".join(p for p in (get("line1"), get("line2"), town, get("region"),
                                 get("country").upper()) if p)


def format_iban(value: str) -> str:
    """An IBAN in groups of four, as printed on statements."""
    compact = _NOT_ALNUM.sub("", value).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))


def format_payout(value: Mapping[str, object] | None) -> str:
    """``GB33 BUKB 2020 1555 5555 55 · BIC BUKBGB22 · holder J Smith`` (present parts only)."""
    if not value:
        return ""
    parts = []
    if str(value.get("iban") or "").strip():
        parts.append(format_iban(str(value["iban"])))
    if str(value.get("account_number") or "").strip():
        routing = str(value.get("routing_number") or value.get("sort_code") or "").strip()
        parts.append(" / ".join(p for p in (routing, str(value["account_number"]).strip()) if p))
    if str(value.get("bic") or "").strip():
        parts.append(f"BIC {str(value['bic']).strip().upper()}")
    if str(value.get("holder") or "").strip():
        parts.append(f"holder {str(value['holder']).strip()}")
    return " · ".join(parts)
