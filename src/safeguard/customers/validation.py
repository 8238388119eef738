"""Input rules for customer values: one place, used by services (never by forms or schemas).

Each ``clean_*`` returns the canonical stored form or raises :class:`CustomerInvalid` naming the
field; the message never repeats the value (it may be personal data).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError

from safeguard.customers.contracts import CustomerInvalid

NAME_MAX = 200
LINE_MAX = 200
ADDRESS_KEYS = ("line1", "line2", "postcode", "city", "region", "country")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SPACE = re.compile(r"\s+")


def _invalid(field: str, message: str) -> CustomerInvalid:
    return CustomerInvalid(f"{field}: {message}", errors={field: message})


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field, "must be text")
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise _invalid(field, "must not contain control characters")
    if len(text) > max_length:
        raise _invalid(field, f"must be at most {max_length} characters")
    if required and not text:
        raise _invalid(field, "is required")
    return text


def clean_name(value: Any) -> str:
    name = _text(value, "name", max_length=NAME_MAX)
    if sum(ch.isdigit() for ch in name) > 4:
        raise _invalid("name", "must be a name, not a number")
    return name


def clean_email(value: Any, *, field: str = "email") -> str | None:
    """A syntactically valid address, domain lower-cased; '' or None means none."""
    text = _text(value, field, max_length=254)
    if not text:
        return None
    try:
        validate_email(text)
    except ValidationError:
        raise _invalid(field, "is not a valid e-mail address") from None
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_phone(value: Any, *, field: str = "phone") -> str | None:
    """A possible phone number in E.164 (regions from SAFEGUARD_SCANNER_REGIONS for local ones)."""
    text = _text(value, field, max_length=40)
    if not text:
        return None
    region = (settings.SAFEGUARD_SCANNER_REGIONS or ["US"])[0]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise _invalid(field, "is not a phone number") from None
    if not phonenumbers.is_possible_number(number):
        raise _invalid(field, "is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_address(value: Any) -> dict[str, str] | None:
    """``line1, line2, postcode, city, region, country`` (ISO 3166 alpha-2); None when empty."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid("address", "must be an object with line1, postcode, city, country")
    unknown = sorted(set(value) - set(ADDRESS_KEYS))
    if unknown:
        raise _invalid("address", f"unknown parts {unknown}")
    out = {k: _text(value.get(k), f"address.{k}", max_length=LINE_MAX) for k in ADDRESS_KEYS}
    out["country"] = out["country"].upper()
    if out["country"] and not _COUNTRY.fullmatch(out["country"]):
        raise _invalid("address.country", "must be a two-letter country code")
    if not any(out.values()):
        return None
    if not out["line1"] or not out["city"]:
        raise _invalid("address", "needs at least line1 and city")
    return {k: v for k, v in out.items() if v}


def clean_date_of_birth(value: Any) -> str | None:
    """An ISO date between 1900-01-01 and today; None when empty."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise _invalid("date_of_birth", "must be a date (YYYY-MM-DD)") from None
    if not isinstance(value, date):
        raise _invalid("date_of_birth", "must be a date (YYYY-MM-DD)")
    if value < date(1900, 1, 1) or value > timezone.localdate():
        raise _invalid("date_of_birth", "must be between 1900-01-01 and today")
    return value.isoformat()


def _clean_iban(raw: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        out["iban"] = stdnum_iban.validate(raw["iban"])
    except StdnumError:
        raise _invalid("payout.iban", "is not a valid IBAN") from None
    if raw["bic"]:
        try:
            out["bic"] = stdnum_bic.validate(raw["bic"])
        except StdnumError:
            raise _invalid("payout.bic", "is not a valid BIC") from None
    return out


def _clean_account(raw: dict[str, str]) -> dict[str, str]:
    digits = re.sub(r"[\s-]", "", raw["account_number"])
    if not digits.isdigit() or not 6 <= len(digits) <= 17:
        raise _invalid("payout.account_number", "must be 6 to 17 digits")
    out = {"account_number": digits}
    routing = re.sub(r"[\s-]", "", raw["routing_number"])
    if routing and (not routing.isdigit() or not 6 <= len(routing) <= 9):
        raise _invalid("payout.routing_number", "must be 6 to 9 digits")
    if routing:
        out["routing_number"] = routing
    return out


def clean_payout(value: Any) -> dict[str, str] | None:
    """Either an IBAN (checksum-validated, optional BIC) or an account and routing number."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid("payout", "must be an object with iban (or account_number) and holder")
    allowed = {"iban", "bic", "account_number", "routing_number", "holder"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _invalid("payout", f"unknown parts {unknown}")
    raw = {k: _text(value.get(k), f"payout.{k}", max_length=LINE_MAX) for k in sorted(allowed)}
    if not any(raw.values()):
        return None
    if raw["iban"]:
        out = _clean_iban(raw)
    elif raw["account_number"]:
        out = _clean_account(raw)
    else:
        raise _invalid("payout", "needs an iban or an account_number")
    if raw["holder"]:
        out["holder"] = clean_name(raw["holder"])
    return out


def clean_language(value: Any) -> str:
    text = _text(value, "language", max_length=16)
    if text and not _LANGUAGE.fullmatch(text):
        raise _invalid("language", "must be a language tag such as en or pt-BR")
    return text


def clean_amount(value: Any) -> Decimal:
    """A positive amount with at most two decimals."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _invalid("amount", "must be a number such as 120.50") from None
    if not amount.is_finite() or amount <= 0 or amount > Decimal("1000000000"):
        raise _invalid("amount", "must be a positive amount")
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise _invalid("amount", "must have at most two decimals")
    return amount.quantize(Decimal("0.01"))


def clean_currency(value: Any) -> str:
    text = _text(value, "currency", max_length=3).upper()
    if not _CURRENCY.fullmatch(text):
        raise _invalid("currency", "must be a three-letter ISO 4217 code")
    return text


def clean_reason(value: Any, *, field: str = "reason", required: bool = True) -> str:
    return _text(value, field, max_length=500, required=required)
