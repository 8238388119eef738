"""Validators for candidate values: Luhn and card IIN ranges, IBAN, SSN, ABA, NINO, dates.

Pure functions over digit strings. The scanner calls them only on candidates its
regular expressions found, so they favour clarity over micro-speed (R-OPS-2, R-DATA-2).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache

from stdnum import numdb
from stdnum.util import get_cc_module

# (low, high, prefix digits, brand, allowed lengths): real issuer identification number
# ranges. Order matters only where ranges nest (Discover's UnionPay co-brand before 62).
_IIN_RANGES: tuple[tuple[int, int, int, str, frozenset[int]], ...] = (
    (4, 4, 1, "visa", frozenset({13, 16, 19})),
    (51, 55, 2, "mastercard", frozenset({16})),
    (2221, 2720, 4, "mastercard", frozenset({16})),
    (34, 34, 2, "amex", frozenset({15})),
    (37, 37, 2, "amex", frozenset({15})),
    (6011, 6011, 4, "discover", frozenset(range(16, 20))),
    (644, 649, 3, "discover", frozenset(range(16, 20))),
    (65, 65, 2, "discover", frozenset(range(16, 20))),
    (622126, 622925, 6, "discover", frozenset(range(16, 20))),
    (3528, 3589, 4, "jcb", frozenset(range(16, 20))),
    (300, 305, 3, "diners", frozenset(range(14, 20))),
    (3095, 3095, 4, "diners", frozenset(range(14, 20))),
    (36, 36, 2, "diners", frozenset(range(14, 20))),
    (38, 39, 2, "diners", frozenset(range(16, 20))),
    (62, 62, 2, "unionpay", frozenset(range(16, 20))),
    (8100, 8171, 4, "unionpay", frozenset(range(16, 20))),
    (2200, 2204, 4, "mir", frozenset(range(16, 20))),
    (5018, 5018, 4, "maestro", frozenset(range(13, 20))),
    (5020, 5020, 4, "maestro", frozenset(range(13, 20))),
    (5038, 5038, 4, "maestro", frozenset(range(13, 20))),
    (5893, 5893, 4, "maestro", frozenset(range(13, 20))),
    (6304, 6304, 4, "maestro", frozenset(range(13, 20))),
    (6759, 6759, 4, "maestro", frozenset(range(13, 20))),
    (6761, 6763, 4, "maestro", frozenset(range(13, 20))),
)

PAN_MIN_DIGITS = 13
PAN_MAX_DIGITS = 19


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    double = False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        double = not double
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that, appended to ``payload``, makes the whole string pass Luhn."""
    for candidate in "0123456789":
        if luhn_valid(payload + candidate):
            return candidate
    raise AssertionError("unreachable: one of ten digits always completes Luhn")


def card_brand(digits: str) -> str | None:
    """The card brand whose IIN range and length admit ``digits``, or None."""
    length = len(digits)
    if not PAN_MIN_DIGITS <= length <= PAN_MAX_DIGITS:
        return None
    head = int(digits[:6])
    for low, high, lengths, brand in _IIN_TABLE:
        if low <= head <= high and length in lengths:
            return brand
    return None


# The ranges scaled to six-digit prefixes, so one integer conversion serves every range.
_IIN_TABLE: tuple[tuple[int, int, frozenset[int], str], ...] = tuple(
    (low * 10 ** (6 - width), (high + 1) * 10 ** (6 - width) - 1, lengths, brand)
    for low, high, width, brand, lengths in _IIN_RANGES
)


def pan_brand(digits: str) -> str | None:
    """The brand of a valid card number (IIN range, length and Luhn), or None."""
    brand = card_brand(digits)
    if brand is None or not luhn_valid(digits):
        return None
    return brand


_IBAN_DIGITS = str.maketrans({c: str(ord(c) - 55) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})
_BBAN_PART = re.compile(r"(\d+)!([nac])")
_BBAN_CLASS = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}


class _IbanCountry:
    """One country's IBAN rules from python-stdnum: length, BBAN structure, national check."""

    __slots__ = ("bban", "length", "national")

    def __init__(self, structure: str, national: Callable[[str], bool] | None) -> None:
        parts = _BBAN_PART.findall(structure)
        self.length = 4 + sum(int(n) for n, _ in parts)
        self.bban = re.compile("".join(f"{_BBAN_CLASS[k]}{{{n}}}" for n, k in parts))
        self.national = national


@lru_cache(maxsize=256)
def _iban_country(country: str) -> _IbanCountry | None:
    info = numdb.get("iban").info(country)
    structure = info[0][1].get("bban") if info and info[0][0] == country else None
    if not structure:
        return None
    module = get_cc_module(country, "iban")
    return _IbanCountry(structure, module.is_valid if module is not None else None)


def iban_length(country: str) -> int | None:
    """The IBAN length python-stdnum's registry gives for a country code, or None."""
    rules = _iban_country(country.upper())
    return rules.length if rules is not None else None


def iban_mod97(compact: str) -> bool:
    """The IBAN finding rule (ISO 13616): country in the registry, its exact length, mod-97 = 1.

    This is what makes an IBAN a finding. The BBAN structure and national checks of
    `iban_valid` only raise confidence: a scanner errs towards finding, and python-stdnum does
    not know every bank's national check (the textbook ``BE68 5390 0754 7034`` fails its BE one).
    """
    if len(compact) < 5 or not compact.isascii() or not compact.isalnum():
        return False
    compact = compact.upper()
    rules = _iban_country(compact[:2])
    if rules is None or len(compact) != rules.length or not compact[2:4].isdigit():
        return False
    return int((compact[4:] + compact[:4]).translate(_IBAN_DIGITS)) % 97 == 1


def iban_valid(compact: str) -> bool:
    """What `stdnum.iban.is_valid` decides, with the per-country rules cached.

    Country known to the registry, exact length, mod-97 check digits, BBAN structure and,
    where python-stdnum has one (BE, ES, ...), the national account check.
    """
    if len(compact) < 5 or not compact.isascii() or not compact.isalnum():
        return False
    compact = compact.upper()
    rules = _iban_country(compact[:2])
    if rules is None or len(compact) != rules.length or not compact[2:4].isdigit():
        return False
    if int((compact[4:] + compact[:4]).translate(_IBAN_DIGITS)) % 97 != 1:
        return False
    if not rules.bban.fullmatch(compact[4:]):
        return False
    return rules.national is None or rules.national(compact)


_SSN_BLOCKED = frozenset({"078051120", "457555462", "219099999"})  # stdnum's list: famous fakes


def ssn_valid(digits: str) -> bool:
    """US SSN structure rules: no area 000/666/9xx, no group 00, no serial 0000, no known fakes.

    The rules of `stdnum.us.ssn` (a test holds the two to the same answers), inlined
    because the scanner calls this on every nine-digit candidate.
    """
    return (
        len(digits) == 9
        and digits.isdigit()
        and digits[0] != "9"
        and digits[:3] not in ("000", "666")
        and digits[3:5] != "00"
        and digits[5:] != "0000"
        and digits not in _SSN_BLOCKED
    )


_ABA_PREFIXES = frozenset(
    [f"{n:02d}" for n in range(13)]
    + [f"{n:02d}" for n in range(21, 33)]
    + [f"{n:02d}" for n in range(61, 73)]
    + ["80"]
)


def aba_valid(digits: str) -> bool:
    """ABA routing transit number: nine digits, a Federal Reserve prefix and the 3-7-1 checksum."""
    if len(digits) != 9 or not digits.isdigit() or digits[:2] not in _ABA_PREFIXES:
        return False
    d = [ord(c) - 48 for c in digits]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])
    return total % 10 == 0 and digits != "000000000"


_NINO_BAD_FIRST = frozenset("DFIQUV")
_NINO_BAD_SECOND = frozenset("DFIOQUV")
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def nino_prefix_valid(prefix: str) -> bool:
    """UK National Insurance number prefix rules (HMRC): letters allowed in each position."""
    return (
        len(prefix) == 2
        and prefix.isalpha()
        and prefix.isupper()
        and prefix[0] not in _NINO_BAD_FIRST
        and prefix[1] not in _NINO_BAD_SECOND
        and prefix not in _NINO_BAD_PREFIXES
    )


def plausible_date(year: int, month: int, day: int) -> bool:
    """A real calendar date with a year between 1900 and 2099."""
    if not 1900 <= year <= 2099:
        return False
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True
