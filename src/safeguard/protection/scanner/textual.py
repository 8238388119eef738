"""Passes anchored on a rare character or cue: e-mail ("@"), IPv6 (":") and dates of birth.

Each pass searches for its anchor with a literal-led regular expression, so the engine
jumps from anchor to anchor, and only then looks around it (R-OPS-2, R-DATA-2).
"""

from __future__ import annotations

import ipaddress
import re

from . import checks
from .context import EMAIL_CONTEXT, IP_CONTEXT
from .contracts import DATE_OF_BIRTH, Finding
from .contracts import EMAIL as EMAIL_TYPE
from .contracts import IP_ADDRESS as IP_TYPE
from .state import ScanState

# ---------------------------------------------------------------------------- e-mail
#: What every e-mail address the pass reports holds: the pass looks for nothing else first.
EMAIL_ANCHOR = "@"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(
    rf"{re.escape(EMAIL_ANCHOR)}((?:{_LABEL}\.)+[A-Za-z]{{2,24}})(?![A-Za-z0-9\-]|\.[A-Za-z0-9])")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-'")
_LOCAL_MAX = 64


def scan_email(state: ScanState) -> None:
    """Add EMAIL candidates: a valid domain after "@" and a local part before it."""
    text = state.text
    for match in _DOMAIN.finditer(text):
        at = match.start()
        start = at
        floor = max(0, at - _LOCAL_MAX)
        while start > floor and text[start - 1] in _LOCAL_CHARS:
            start -= 1
        while start < at and text[start] in ".'":
            start += 1  # a local part does not start with a dot or a quote
        if start == at or text[at - 1] == "." or (start and text[start - 1] in _LOCAL_CHARS):
            continue
        score, why = EMAIL_CONTEXT.score(state.lowered, start, match.end(), 0.9)
        state.add(Finding(EMAIL_TYPE, start, match.end(), score, f"email-syntax{why}", "email"))


# ---------------------------------------------------------------------------- IPv6
_V6_SEED = re.compile(r":(?::|[0-9A-Fa-f]{1,4}:)")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")
_V6_TAIL = frozenset("0123456789abcdefABCDEF:.")


def scan_ipv6(state: ScanState) -> None:
    """Add IP_ADDRESS candidates for IPv6 addresses validated by :mod:`ipaddress`."""
    text = state.text
    size = len(text)
    pos = 0
    while True:
        seed = _V6_SEED.search(text, pos)
        if seed is None:
            return
        start = seed.start()
        while start > 0 and text[start - 1] in _HEX_COLON:
            start -= 1
        end = seed.start()
        while end < size and text[end] in _V6_TAIL:
            end += 1
        pos = max(end, seed.end())
        if (start and (text[start - 1].isalnum() or text[start - 1] in "_.")) or (
            end < size and (text[end].isalnum() or text[end] == "_")
        ):
            continue
        # Trailing sentence punctuation is not part of the address.
        while end > start and (
            text[end - 1] == "." or (text[end - 1] == ":" and text[end - 2 : end] != "::")
        ):
            end -= 1
        candidate = text[start:end]
        if candidate.count(":") < 2:
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        score, why = IP_CONTEXT.score(state.lowered, start, end, 0.85)
        state.add(Finding(IP_TYPE, start, end, score, f"ipv6{why}", "ip.v6", "v6"))


# ---------------------------------------------------------------------------- birth dates
_BIRTH = re.compile(r"born|birth|dob|d\.o\.b")
_BIRTH_CUES = ("born", "birth", "dob", "d.o.b")  # substring tests are far cheaper than a scan
_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE = re.compile(
    r"(?<![0-9])(?:"
    r"(?P<iy>(?:19|20)[0-9]{2})[-/.](?P<im>[0-9]{1,2})[-/.](?P<id>[0-9]{1,2})"
    r"|(?P<na>[0-9]{1,2})[-/.](?P<nb>[0-9]{1,2})[-/.](?P<ny>(?:19|20)?[0-9]{2})"
    rf"|(?P<td>[0-9]{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<tm>{_MON}),?\s+(?P<ty>(?:19|20)[0-9]{{2}})"
    rf"|(?P<um>{_MON})\s+(?P<ud>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<uy>(?:19|20)[0-9]{{2}})"
    r")(?![0-9])"
)
_DOB_WINDOW = 48


def scan_birth_dates(state: ScanState) -> None:
    """Add DATE_OF_BIRTH candidates: a date within a short window after a birth cue."""
    lowered = state.lowered
    if not any(cue in lowered for cue in _BIRTH_CUES):
        return
    pos = 0
    while True:
        cue = _BIRTH.search(lowered, pos)
        if cue is None:
            return
        pos = cue.end()
        if cue.start() and lowered[cue.start() - 1].isalpha():
            continue  # "adobe", "childbirth", "reborn"
        if cue.group(0) == "dob" and lowered[cue.end() : cue.end() + 1].isalpha():
            continue  # "dobson"
        date = _DATE.search(lowered, cue.end(), min(len(lowered), cue.end() + _DOB_WINDOW))
        if date is None or not _real_date(date):
            continue
        a, b = date.span()
        reason = f"date with birth context '{cue.group(0)}'"
        state.add(Finding(DATE_OF_BIRTH, a, b, 0.9, reason, "dob"))
        pos = b


def _year(value: str) -> int:
    year = int(value)
    if len(value) == 2:
        year += 1900 if year > 30 else 2000
    return year


def _real_date(match: re.Match[str]) -> bool:
    if match.group("iy"):
        return checks.plausible_date(
            int(match.group("iy")), int(match.group("im")), int(match.group("id"))
        )
    if match.group("ny"):
        a, b, year = int(match.group("na")), int(match.group("nb")), _year(match.group("ny"))
        return checks.plausible_date(year, b, a) or checks.plausible_date(year, a, b)
    if match.group("ty"):
        month = _MONTHS[match.group("tm")[:3]]
        return checks.plausible_date(int(match.group("ty")), month, int(match.group("td")))
    month = _MONTHS[match.group("um")[:3]]
    return checks.plausible_date(int(match.group("uy")), month, int(match.group("ud")))
