"""The digit pass: one regular expression finds every digit-bearing candidate, Python validates.

Candidates are runs of at least seven digits joined by single separators (space, dash, dot,
slash, parentheses), dotted quads, and digits glued to two letters (IBAN, UK NINO). Each run
is classified once: IPv4, card number (Luhn + IIN, also a card followed or preceded by
other groups such as an expiry or CVV), US SSN, ABA routing number, and only then phone
numbers through libphonenumber's matcher on the run. Short numbers (prices, quantities,
times, years) never reach Python (R-OPS-2, R-DATA-2).
"""

from __future__ import annotations

import ipaddress
import re
from itertools import pairwise

import phonenumbers

from . import checks
from .context import (
    IBAN_CONTEXT,
    IP_CONTEXT,
    NINO_CONTEXT,
    PAN_CONTEXT,
    PHONE_CONTEXT,
    ROUTING_CONTEXT,
    SSN_CONTEXT,
)
from .contracts import IBAN, IP_ADDRESS, PAN, PHONE, UK_NINO, US_ROUTING, US_SSN, Finding
from .state import ScanState

_SEP = r"(?:[ \u00a0]?[-./()\u2010-\u2013]{1,2}[ \u00a0]?|[ \u00a0])"

# The first element is a bare character class so the regex engine can skip to the next digit
# quickly; the lookbehind then rejects starts in the middle of a number.
_CANDIDATE = re.compile(
    r"[0-9](?<![0-9][0-9])(?:"
    r"(?P<iban>(?<=(?<![A-Za-z0-9])[A-Za-z]{2}[0-9])[0-9](?:[ ]?[A-Za-z0-9]{4}){2,8})"
    r"|(?P<nino>(?<=(?<![A-Za-z0-9])[A-Z]{2}[0-9])[0-9]{5}"
    r"|(?<=(?<![A-Za-z0-9])[A-Z]{2}[ ][0-9])[0-9](?:[ ]?[0-9]{2}){2})"
    rf"|(?P<run>(?:{_SEP}?[0-9]){{6,}})"
    r"|(?P<ipv4>[0-9]{0,2}(?:\.[0-9]{1,3}){3})"
    r")"
)
_RUN_AT = re.compile(rf"[0-9](?:{_SEP}?[0-9]){{6,}}")
_GROUP = re.compile(r"[0-9]+")
_NINO_AT = re.compile(
    r"([A-Z]{2})[ ]?([0-9]{2})[ ]?([0-9]{2})[ ]?([0-9]{2})(?:[ ]?([A-D]))?(?![A-Za-z0-9])"
)

_CURRENCY = frozenset("$£€¥₹")
_GLUE = frozenset("-#_/")
_PHONE_MIN_DIGITS = 7
_PHONE_MAX_DIGITS = 17

_DIGIT_TYPES = frozenset({PAN, US_SSN, US_ROUTING, PHONE, IP_ADDRESS, IBAN, UK_NINO})


def wanted(state: ScanState) -> bool:
    """Whether the digit pass has anything to do for this scan."""
    return not state.wanted.isdisjoint(_DIGIT_TYPES)


def scan_digits(state: ScanState) -> list[Finding]:
    """Run the digit pass over ``state.text``; returns the card findings (for CVV/expiry)."""
    text = state.text
    cards: list[Finding] = []
    search = _CANDIDATE.search
    pos = 0
    while True:
        match = search(text, pos)
        if match is None:
            return cards
        kind = match.lastgroup
        start = match.start()
        if kind in ("run", "ipv4"):
            _classify_run(state, start, match.end(), cards)
            pos = match.end()
        else:
            end = _iban(state, start) if kind == "iban" else None
            if end is None:
                end = _nino(state, start)
            if end is None:
                glued = _RUN_AT.match(text, start)
                if glued is not None:
                    _classify_run(state, start, glued.end(), cards)
                    end = glued.end()
                else:
                    end = start + 1
            pos = end


def _classify_run(state: ScanState, start: int, end: int, cards: list[Finding]) -> None:
    text = state.text
    before = text[start - 1] if start else " "
    if before in _CURRENCY or (before == " " and start > 1 and text[start - 2] in _CURRENCY):
        return  # an amount
    glued_left = before.isalpha() or (before in _GLUE and start > 1 and text[start - 2].isalnum())
    glued_right = end < len(text) and (
        text[end].isalpha()
        or (text[end] in _GLUE and end + 1 < len(text) and text[end + 1].isalpha())
    )
    glued = glued_left or glued_right
    groups = [(m.start(), m.end()) for m in _GROUP.finditer(text, start, end)]
    digits = "".join(text[a:b] for a, b in groups)
    if not glued and len(groups) >= 4 and IP_ADDRESS in state.wanted and _ipv4(state, groups):
        return
    if len(digits) < checks.PAN_MIN_DIGITS and len(digits) < _PHONE_MIN_DIGITS:
        return
    card = _card(state, groups, digits, glued_left, glued_right)
    if card is not None:
        cards.append(card)
        state.add(card)
        return
    if glued:
        return  # part of an identifier such as INV-2024-00123 or 1Z999AA1...
    strong_ssn = False
    if len(digits) == 9 and (US_SSN in state.wanted or US_ROUTING in state.wanted):
        strong_ssn = _ssn_or_routing(state, groups, digits)
    if not strong_ssn and PHONE in state.wanted:
        _phones(state, start, end, digits)


def _ipv4(state: ScanState, groups: list[tuple[int, int]]) -> bool:
    text = state.text
    found = False
    for i in range(len(groups) - 3):
        window = groups[i : i + 4]
        if any(text[a:b] != "." for (_, a), (b, _) in pairwise(window)):
            continue
        if i > 0 and text[groups[i - 1][1] : window[0][0]] == ".":
            continue
        if i + 4 < len(groups) and text[window[-1][1] : groups[i + 4][0]] == ".":
            continue
        a, b = window[0][0], window[-1][1]
        if any(y - x > 3 for x, y in window):
            continue
        try:
            ipaddress.IPv4Address(text[a:b])
        except ValueError:
            continue
        score, why = IP_CONTEXT.score(state.lowered, a, b, 0.85)
        state.add(Finding(IP_ADDRESS, a, b, score, f"ipv4{why}", "ip.v4", "v4"))
        found = True
    return found


def _card(
    state: ScanState,
    groups: list[tuple[int, int]],
    digits: str,
    glued_left: bool,
    glued_right: bool,
) -> Finding | None:
    text = state.text
    n = len(digits)
    if n < checks.PAN_MIN_DIGITS:
        return None
    brand = checks.pan_brand(digits) if n <= checks.PAN_MAX_DIGITS else None
    a, b = groups[0][0], groups[-1][1]
    first, last = 0, len(groups) - 1
    base, how = 0.9, "luhn+iin"
    if brand is None and len(groups) > 1:
        # A card number followed (or preceded) by other groups in the same run, e.g.
        # "4111 1111 1111 1111 12 27 123": try windows anchored at either end of the run.
        best: tuple[int, int, str] | None = None
        counts = [y - x for x, y in groups]
        for i, j in _anchored_windows(len(groups)):
            width = sum(counts[i : j + 1])
            if not checks.PAN_MIN_DIGITS <= width <= checks.PAN_MAX_DIGITS:
                continue
            if best is not None and width <= best[1] - best[0]:
                continue
            window_digits = "".join(text[x:y] for x, y in groups[i : j + 1])
            window_brand = checks.pan_brand(window_digits)
            if window_brand is not None:
                best = (i, j, window_brand)
        if best is None:
            return None
        first, last, brand = best
        a, b = groups[first][0], groups[last][1]
        base, how = 0.8, "luhn+iin (within a longer number)"
    if brand is None:
        return None
    if (glued_left and first == 0) or (glued_right and last == len(groups) - 1):
        base, how = 0.6, how + " (glued to an identifier)"
    score, why = PAN_CONTEXT.score(state.lowered, a, b, base)
    return Finding(PAN, a, b, score, f"{how}:{brand}{why}", "pan.digits", brand)


def _anchored_windows(count: int) -> list[tuple[int, int]]:
    windows = [(0, j) for j in range(count - 2, -1, -1)]
    windows += [(i, count - 1) for i in range(1, count)]
    return windows


_SSN_BASE = {"-": 0.85, " ": 0.65, ".": 0.55, "": 0.45}


def _ssn_or_routing(state: ScanState, groups: list[tuple[int, int]], digits: str) -> bool:
    text = state.text
    a, b = groups[0][0], groups[-1][1]
    sizes = [y - x for x, y in groups]
    strong = False
    if US_SSN in state.wanted and sizes in ([3, 2, 4], [9]) and checks.ssn_valid(digits):
        sep = ""
        if len(groups) == 3:
            first, second = text[groups[0][1] : groups[1][0]], text[groups[1][1] : groups[2][0]]
            sep = first if first == second else "?"
        base = _SSN_BASE.get(sep)
        if base is not None:
            score, why = SSN_CONTEXT.score(state.lowered, a, b, base)
            fmt = {"": "compact", "-": "dashed", " ": "spaced", ".": "dotted"}[sep]
            state.add(Finding(US_SSN, a, b, score, f"ssn-structure:{fmt}{why}", "ssn"))
            strong = sep == "-"
    if US_ROUTING in state.wanted and sizes == [9] and checks.aba_valid(digits):
        score, why = ROUTING_CONTEXT.score(state.lowered, a, b, 0.3)
        state.add(Finding(US_ROUTING, a, b, score, f"aba-checksum{why}", "routing.aba"))
    return strong


def _phones(state: ScanState, start: int, end: int, digits: str) -> None:
    text = state.text
    n = len(digits)
    if not _PHONE_MIN_DIGITS <= n <= _PHONE_MAX_DIGITS + 3:
        return
    lead = start - 1 if start and text[start - 1] in "+(" else start
    international = text[lead] == "+" or digits.startswith(("00", "011"))
    window = text[lead : min(len(text), end + 3)]
    seen: set[tuple[int, int]] = set()
    regions = state.regions[:1] if text[lead] == "+" else state.regions
    for region in regions:
        if not international and not _plausible_national(region, n):
            continue
        for match in phonenumbers.PhoneNumberMatcher(window, region):
            a, b = lead + match.start, lead + match.end
            if b > end or (a, b) in seen:
                continue
            seen.add((a, b))
            base = 0.8 if match.raw_string.startswith("+") else 0.75
            score, why = PHONE_CONTEXT.score(state.lowered, a, b, base)
            hint = phonenumbers.region_code_for_number(match.number)
            state.add(
                Finding(PHONE, a, b, score, f"libphonenumber:valid:{hint}{why}", "phone", hint)
            )


_MIN_NATIONAL: dict[str, int] = {}


def _plausible_national(region: str, digit_count: int) -> bool:
    minimum = _MIN_NATIONAL.get(region)
    if minimum is None:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        general = metadata.general_desc if metadata is not None else None
        lengths = general.possible_length if general is not None else ()
        minimum = min((length for length in lengths if length > 0), default=_PHONE_MIN_DIGITS)
        _MIN_NATIONAL[region] = minimum
    return digit_count >= minimum


def _iban(state: ScanState, digit_start: int) -> int | None:
    if IBAN not in state.wanted:
        return None
    text = state.text
    start = digit_start - 2
    expected = checks.iban_length(text[start : start + 2].upper())
    if expected is None:
        return None
    chars: list[str] = []
    i = start
    size = len(text)
    while i < size and len(chars) < expected:
        c = text[i]
        if c.isascii() and c.isalnum():
            chars.append(c)
        elif not (c == " " and text[i - 1] != " " and i + 1 < size and text[i + 1].isalnum()):
            break
        i += 1
    if len(chars) != expected or (i < size and text[i].isalnum()):
        return None
    compact = "".join(chars).upper()
    if not checks.iban_valid(compact):
        return None
    score, why = IBAN_CONTEXT.score(state.lowered, start, i, 0.95)
    state.add(
        Finding(IBAN, start, i, score, f"iban:mod97+length:{compact[:2]}{why}", "iban", compact[:2])
    )
    return i


def _nino(state: ScanState, digit_start: int) -> int | None:
    if UK_NINO not in state.wanted:
        return None
    text = state.text
    start = digit_start - 3 if text[digit_start - 1] == " " else digit_start - 2
    match = _NINO_AT.match(text, start)
    if match is None or not checks.nino_prefix_valid(match.group(1)):
        return None
    suffix = match.group(5)
    base = 0.75 if suffix else 0.45
    score, why = NINO_CONTEXT.score(state.lowered, start, match.end(), base)
    how = "nino-structure" if suffix else "nino-structure (no suffix letter)"
    state.add(Finding(UK_NINO, start, match.end(), score, f"{how}{why}", "nino"))
    return match.end()
