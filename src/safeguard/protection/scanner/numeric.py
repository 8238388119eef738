"""The digit pass: one regular expression finds every digit-bearing candidate, Python validates.

The pass reads the folded view of the text (normalise.py), so every script's digits, dashes and
spaces arrive here as ASCII. Candidates are runs of at least seven digits joined by single
separators (space, dash, dot, slash, parentheses), dotted quads, and digits glued to two
letters (IBAN, UK NINO); a separator with a space beside its punctuation (" - ", " / ") ends
one number and starts the next. Card numbers whose groups are split by wider separators
(line breaks, tabs, double spaces, commas, underscores) have a pass of their own,
`scan_separated_cards`. Each run is classified once: IPv4, card numbers (Luhn + IIN; a card
may be followed by more groups such as its expiry and CVV, or by another card), US SSN, ABA
routing number, and only then phone numbers (phones.py). Short numbers (prices, quantities,
times, years) fail inside the regular expression and never reach Python (R-OPS-2, R-DATA-2).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from itertools import pairwise

from . import checks, phones
from .context import (
    IBAN_CONTEXT,
    IP_CONTEXT,
    NINO_CONTEXT,
    PAN_CONTEXT,
    ROUTING_CONTEXT,
    SSN_CONTEXT,
)
from .contracts import IBAN, IP_ADDRESS, PAN, PHONE, UK_NINO, US_ROUTING, US_SSN, Finding
from .state import ScanState


def _candidate_pattern(digit: str, alnum: str, space: str, dash: str) -> str:
    sep = f"(?:{space}?[-./(){dash}]{{1,2}}{space}?|{space})"
    # The first element is a single digit so the regex engine can skip to the next digit
    # quickly; the lookbehind then rejects starts in the middle of a number.
    return (
        rf"{digit}(?<!{digit}{digit})(?:"
        rf"(?P<iban>(?<=(?<!{alnum})[A-Za-z]{{2}}{digit}){digit}(?:[ ]?{alnum}{{4}}){{2,8}})"
        rf"|(?P<nino>(?<=(?<!{alnum})[A-Z]{{2}}{digit}){digit}{{5}}"
        rf"|(?<=(?<!{alnum})[A-Z]{{2}}[ ]{digit}){digit}(?:[ ]?{digit}{{2}}){{2}})"
        rf"|(?P<run>(?:{sep}?{digit}){{6,}})"
        rf"|(?P<ipv4>{digit}{{0,2}}(?:\.{digit}{{1,3}}){{3}})"
        r")"
    )


_SEP = r"(?:[ \u00a0]?[-./()\u2010-\u2013]{1,2}[ \u00a0]?|[ \u00a0])"
_CANDIDATE = re.compile(_candidate_pattern("[0-9]", "[A-Za-z0-9]", "[ \u00a0]", "\u2010-\u2013"))
# The same pattern over a Latin-1 copy of the text with every digit turned into "0": a
# one-byte literal prefix lets the engine jump between digits several times faster than a
# character class does. Offsets are the same because Latin-1 is one byte per character.
_CANDIDATE_BYTES = re.compile(_candidate_pattern("0", "[A-Za-z0]", "[ \xa0]", "").encode("latin-1"))
_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_RUN_AT = re.compile(rf"[0-9](?:{_SEP}?[0-9]){{6,}}")
_GROUP = re.compile(r"[0-9]+")
_NINO_AT = re.compile(
    r"([A-Z]{2})[ ]?([0-9]{2})[ ]?([0-9]{2})[ ]?([0-9]{2})(?:[ ]?([A-D]))?(?![A-Za-z0-9])"
)

_CURRENCY = frozenset("$£€¥₹")
_GLUE = frozenset("-#_/")

_DIGIT_TYPES = frozenset({PAN, US_SSN, US_ROUTING, PHONE, IP_ADDRESS, IBAN, UK_NINO})


def wanted(state: ScanState) -> bool:
    """Whether the digit pass has anything to do for this scan."""
    return not state.wanted.isdisjoint(_DIGIT_TYPES)


# Identifiers shaped like a UUID are never card numbers, SSNs or phones: their digit groups can
# join into a Luhn-valid run by chance (about 1 UUID in 3,000), which would make every write
# carrying that id look like a card number.
UUID_SHAPE = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])")


def _uuid_end(spans: list[tuple[int, int]], pos: int) -> int | None:
    """The end of the UUID covering ``pos``, if any."""
    for a, b in spans:
        if a <= pos < b:
            return b
    return None


def scan_digits(state: ScanState) -> list[Finding]:
    """Run the digit pass over ``state.text``; returns the card findings (for CVV/expiry)."""
    text = state.text
    cards: list[Finding] = []
    uuids = [m.span() for m in UUID_SHAPE.finditer(text)] if "-" in text else []
    # Beyond Latin-1 (e.g. "€", "–") the text itself is searched.
    masked = _masked(text)
    pos = 0
    while True:
        match = (
            _CANDIDATE_BYTES.search(masked, pos) if masked is not None
            else _CANDIDATE.search(text, pos)
        )  # fmt: skip
        if match is None:
            return cards
        kind = match.lastgroup
        start = match.start()
        inside = _uuid_end(uuids, start) if uuids else None
        if inside is not None:
            pos = inside
            continue
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


# Group separators a card number may be written with once the text is folded (normalise.py):
# any whitespace, a dash, "_", ",", "." or "/", at most three in a row between groups of one to
# six digits. The digit pass reads a narrower class (single space, dash, dot, slash); this
# pass looks only at the runs that the narrower class does not cover.
_SEPARATOR_CLASS = "[\t\n\x0b\x0c\r _,./-]"
_MAX_SEPARATOR = 3
_MAX_GROUP = 8
# The lookahead drops, inside the engine, runs too short to hold 13 digits and two separators.
_SHORTEST = checks.PAN_MIN_DIGITS + 2
_SEPARATED = re.compile(
    rf"[0-9](?<![0-9][0-9])(?=[0-9{_SEPARATOR_CLASS[1:-1]}]{{{_SHORTEST - 1}}})"
    rf"[0-9]{{0,{_MAX_GROUP - 1}}}"
    rf"(?:{_SEPARATOR_CLASS}{{1,{_MAX_SEPARATOR}}}[0-9]{{1,{_MAX_GROUP}}}){{1,18}}(?![0-9])"
)
_SEPARATED_BYTES = re.compile(
    rf"0(?<!00)(?=[0{_SEPARATOR_CLASS[1:-1]}]{{{_SHORTEST - 1}}})0{{0,{_MAX_GROUP - 1}}}"
    rf"(?:{_SEPARATOR_CLASS}{{1,{_MAX_SEPARATOR}}}0{{1,{_MAX_GROUP}}}){{1,18}}(?!0)".encode()
)
_WHITESPACE = re.compile(r"\s+")


def scan_separated_cards(state: ScanState, cards: list[Finding]) -> None:
    """Card numbers whose groups are split by wider separators; appends them to ``cards``.

    "4532\n0015\n…", "4532, 0015, …", "4532_0015_…", tabs, double spaces, CRLF: runs of
    digit groups joined by one to three separator characters (the bounds above). A run the
    digit pass reads whole (single spaces, dashes, dots) is left to it. Each group may start a
    card; the longest window of whole groups that passes Luhn and an IIN range wins.
    """
    text = state.text
    masked = _masked(text)
    pos = 0
    while True:
        match = (
            _SEPARATED_BYTES.search(masked, pos) if masked is not None
            else _SEPARATED.search(text, pos)
        )  # fmt: skip
        if match is None:
            return
        start, end = match.span()
        pos = end
        if end - start < _SHORTEST or _RUN_AT.fullmatch(text, start, end):
            continue
        groups = [(m.start(), m.end()) for m in _GROUP.finditer(text, start, end)]
        _separated_windows(state, groups, cards)


def _separated_windows(state: ScanState, groups: list[tuple[int, int]],
                       cards: list[Finding]) -> None:
    text = state.text
    taken = [(c.start, c.end) for c in cards]
    i = 0
    while i < len(groups):
        a = groups[i][0]
        # A card the digit pass found may go on past a wider separator ("6 204 183073 048899\t7"
        # whose first 16 digits also pass Luhn): a window from its start may only lengthen it.
        extends = max((y for x, y in taken if x == a), default=None)
        if ((extends is None and any(x < groups[i][1] and a < y for x, y in taken))
                or (i == 0 and _after_currency(text, a))):
            i += 1
            continue
        best: tuple[int, str] | None = None
        digits = ""
        for j in range(i, len(groups)):
            digits += text[groups[j][0] : groups[j][1]]
            if len(digits) > checks.PAN_MAX_DIGITS:
                break
            if len(digits) >= checks.PAN_MIN_DIGITS and _consistent(text, groups[i : j + 1]):
                brand = checks.pan_brand(digits)
                if brand is not None:
                    best = (j, brand)
        if best is None:
            i += 1
            continue
        j, brand = best
        b = groups[j][1]
        if extends is not None and b <= extends:
            i += 1
            continue
        score, why = PAN_CONTEXT.score(state.lowered, a, b, 0.9)
        card = Finding(PAN, a, b, score, f"luhn+iin (separators normalised):{brand}{why}",
                       "pan.digits", brand)
        cards.append(card)
        state.add(card)
        taken.append((a, b))
        i = j + 1


def _consistent(text: str, groups: list[tuple[int, int]]) -> bool:
    """Whether the separators inside a window read as one number, not a list of numbers.

    Commas and line breaks also separate list items ("555-123-4567, 555-987-6543", one
    number per line), so where they occur every separator must have the same punctuation
    once whitespace is set aside, and with commas the groups must be of one length (the
    last may be shorter) or a card's own grouping (4-6-5, 4-6-4).
    """
    seps = [text[b:c] for (_, b), (c, _) in pairwise(groups)]
    joined = "".join(seps)
    comma = "," in joined
    if not comma and not any(ch in joined for ch in "\n\r\x0b\x0c"):
        return True
    cores = {_WHITESPACE.sub("", s) for s in seps}
    if len(cores) != 1:
        return False
    if not comma:
        return True
    sizes = [y - x for x, y in groups]
    return (all(n == sizes[0] for n in sizes[:-1]) and sizes[-1] <= sizes[0]) or sizes in (
        [4, 6, 5], [4, 6, 4])


def _after_currency(text: str, start: int) -> bool:
    before = text[start - 1] if start else " "
    return before in _CURRENCY or (before == " " and start > 1 and text[start - 2] in _CURRENCY)


def _masked(text: str) -> bytes | None:
    """``text`` in Latin-1 with every digit turned into "0", or None beyond Latin-1."""
    try:
        return text.encode("latin-1").translate(_TO_ZERO)
    except UnicodeEncodeError:
        return None


_SHORT_PREFIX_DIGITS = 3


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
    if (
        not glued
        and len(groups) >= 4
        and IP_ADDRESS in state.wanted
        and "." in text[start:end]
        # A whole run that is a card stays a card: "4 0000 0.0.0.0 0006" hides no address.
        and checks.pan_brand("".join(text[a:b] for a, b in groups)) is None
        and _ipv4(state, groups)
    ):
        return
    first = 0  # groups before it are taken by cards
    probe = 0  # where the next card may start: past short leading groups ("0 4111…")
    while True:
        # Cards first: a card takes its groups, and the rest of the run is looked at again
        # ("4111 1111 1111 1111 5555 5555 5555 4444" is two cards in one run).
        head = groups[probe : probe + checks.PAN_MAX_DIGITS + 1]
        complete = probe + len(head) == len(groups)
        card = _card(state, head, complete, glued_left and probe == 0, glued_right and complete)
        if card is None and len(groups) - probe > 1 and (
                groups[probe][1] - groups[probe][0] <= _SHORT_PREFIX_DIGITS):
            # A short group before a card ("0 4111…", "ref 12 4111 1111 …") is a typo, a list
            # number or a count, not the start of a tracking number: look past it.
            probe += 1
            continue
        if card is None:
            break
        cards.append(card)
        state.add(card)
        first = next(i for i in range(probe, len(groups)) if groups[i][1] == card.end) + 1
        probe = first
        if first == len(groups):
            return
    if glued:
        return  # part of an identifier such as INV-2024-00123 or 1Z999AA1...
    for rest in _numbers(text, groups[first:]):
        digits = "".join(text[a:b] for a, b in rest)
        strong_ssn = False
        if len(digits) == 9 and (US_SSN in state.wanted or US_ROUTING in state.wanted):
            strong_ssn = _ssn_or_routing(state, rest, digits)
        if not strong_ssn and PHONE in state.wanted and len(digits) >= phones.MIN_DIGITS:
            phones.scan_phones(state, rest)


# A separator with a space on one side of its punctuation ("809-61-1296 - 06.08.1990",
# "555 123 4567 / 555 987 6543") ends one number and starts another.
_BETWEEN_NUMBERS = re.compile(r"\s[-./]\s?|[-./]\s")


def _numbers(text: str, groups: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The run's groups split into numbers at separators that join two numbers."""
    if not groups or _BETWEEN_NUMBERS.search(text, groups[0][1], groups[-1][0]) is None:
        return [groups]  # the common case: one number
    numbers = [groups[:1]]
    for (_, end), (start, stop) in pairwise(groups):
        if start - end > 1 and _BETWEEN_NUMBERS.fullmatch(text, end, start):
            numbers.append([])
        numbers[-1].append((start, stop))
    return [n for n in numbers if n]


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
        if any(y - x > 3 for x, y in window) or _dotted_beyond(text, a, b):
            continue
        try:
            ipaddress.IPv4Address(text[a:b])
        except ValueError:
            continue
        score, why = IP_CONTEXT.score(state.lowered, a, b, 0.85)
        state.add(Finding(IP_ADDRESS, a, b, score, f"ipv4{why}", "ip.v4", "v4"))
        found = True
    return found


def _dotted_beyond(text: str, start: int, end: int) -> bool:
    """Whether more dotted numbers continue the quad ("1.2.3.4.5", "10.0.19041.1.2.3")."""
    before = start >= 2 and text[start - 1] == "." and text[start - 2].isdigit()
    after = end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit()
    return before or after


def _card(
    state: ScanState,
    groups: list[tuple[int, int]],
    complete: bool,
    glued_left: bool,
    glued_right: bool,
) -> Finding | None:
    """A card made of all of ``groups`` or of its leading groups.

    ``complete`` says the groups reach the end of the run; when they do not, a card may use
    every one of them, otherwise the last group is left out of the leading windows.
    """
    text = state.text
    digits = "".join(text[a:b] for a, b in groups)
    if len(digits) < checks.PAN_MIN_DIGITS:
        return None
    a, b = groups[0][0], groups[-1][1]
    last = len(groups) - 1
    base, how = 0.9, "luhn+iin"
    brand = checks.pan_brand(digits) if complete else None
    if brand is None and len(groups) > 1:
        leading = _leading_card(groups if not complete else groups[:-1], digits)
        if leading is None:
            return None
        last, brand = leading
        b = groups[last][1]
        base, how = 0.7, "luhn+iin (start of a longer number)"
    if brand is None:
        return None
    if glued_left or (glued_right and last == len(groups) - 1):
        base, how = 0.6, how + " (glued to an identifier)"
    score, why = PAN_CONTEXT.score(state.lowered, a, b, base)
    return Finding(PAN, a, b, score, f"{how}:{brand}{why}", "pan.digits", brand)


def _leading_card(groups: list[tuple[int, int]], digits: str) -> tuple[int, str] | None:
    """The longest leading run of whole ``groups`` that is a card number: (last, brand).

    A card followed by expiry or CVV digits in the same run ("4111 1111 1111 1111 12 27
    123") is common; a card preceded by other groups is a tracking number, so windows
    that do not start the run are not tried.
    """
    widths: list[int] = []
    width = 0
    for x, y in groups:
        width += y - x
        widths.append(width)
    for last in range(len(widths) - 1, -1, -1):
        if checks.PAN_MIN_DIGITS <= widths[last] <= checks.PAN_MAX_DIGITS:
            brand = checks.pan_brand(digits[: widths[last]])
            if brand is not None:
                return last, brand
    return None


# A bare nine-digit number that fits the SSN structure is reported at the threshold: a
# negative cue ("order", "account", "routing") drops it, a positive one raises it.
_SSN_BASE = {"-": 0.85, " ": 0.65, ".": 0.55, "": 0.5}


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


@lru_cache(maxsize=64)
def _iban_at(length: int) -> re.Pattern[str]:
    # Exactly ``length`` characters, single spaces allowed between them, then a boundary.
    return re.compile(rf"[A-Za-z]{{2}}[0-9](?:[ ]?[A-Za-z0-9]){{{length - 3}}}(?![A-Za-z0-9])")


def _iban(state: ScanState, digit_start: int) -> int | None:
    """Add an IBAN starting two letters before ``digit_start``; returns where to go on."""
    if IBAN not in state.wanted:
        return None
    text = state.text
    start = digit_start - 2
    expected = checks.iban_length(text[start : start + 2].upper())
    if expected is None:
        return None
    match = _iban_at(expected).match(text, start)
    if match is None:
        return None
    compact = match.group(0).replace(" ", "").upper()
    end = match.end()
    if not checks.iban_mod97(compact):
        # IBAN-shaped but wrong (a reference, a typo): not an IBAN, and its digits are not
        # a card or a phone number either, so the whole span is skipped.
        return end
    # Country, length and mod-97 make the finding; the BBAN structure and the national
    # check (where python-stdnum has one) only raise confidence, they never drop it.
    strict = checks.iban_valid(compact)
    base, how = (0.95, "mod97+length+national") if strict else (0.85, "mod97+length")
    score, why = IBAN_CONTEXT.score(state.lowered, start, end, base)
    country = compact[:2]
    reason = f"iban:{how}:{country}{why}"
    state.add(Finding(IBAN, start, end, score, reason, "iban", country))
    return end


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
