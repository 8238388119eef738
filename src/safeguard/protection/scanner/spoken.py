"""Card numbers spoken as words, the way speech-to-text writes them.

"four one one one, one one one one ..." or "five five double five ... oh four": a run of
number words is decoded into digits (with "oh"/"o" for zero, "double"/"triple" repeating
the next digit, and the homophones "for", "to", "too" inside a run), and any window of
whole words giving 13-19 digits that passes Luhn and an IIN range is a card number. The
candidate search is one regular expression over the lower-cased text (R-OPS-2).
"""

from __future__ import annotations

import re

from . import checks
from .context import PAN_CONTEXT
from .contracts import PAN, Finding
from .state import ScanState

_DIGIT_WORDS: dict[str, str] = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "to": "2",
    "too": "2",
    "three": "3",
    "four": "4",
    "for": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_REPEAT = {"double": 2, "triple": 3}
# Every word of _DIGIT_WORDS and _REPEAT, factored by first letter (a test keeps them equal).
_WORD = "(?:t(?:wo|hree|riple|oo?)|f(?:our|or|ive)|s(?:ix|even)|o(?:ne|h)?|zero|eight|nine|double)"
# Led by a literal space (speech-to-text separates words with spaces), which the regex
# engine finds far faster than any letter class; the word before that space, if it is a
# number word too, is added back in Python.
WORD_PATTERN = re.compile(_WORD)
_RUN = re.compile(" " + _WORD + r"(?![a-z])(?:[\s,.\-]{1,3}" + _WORD + r"(?![a-z])){5,}")
_TOKEN = re.compile(r"[a-z]+")
_OTHER_WHITESPACE = "\t\n\r\x0b\x0c"
_SEPARATOR_CHARS = frozenset(" \t\n\r\x0b\x0c,.-")


def scan_spoken(state: ScanState, cards: list[Finding]) -> None:
    """Add card findings for spoken card numbers; appends them to ``cards`` too."""
    lowered = words_view(state.lowered)
    pos = 0
    while True:
        match = _RUN.search(lowered, pos)
        if match is None:
            return
        space, end = match.span()
        # The separator before the first matched word may be longer than the space the
        # match starts on ("four, five, ..."): step back over it to the word before.
        stop = space
        while stop and space - stop < 2 and lowered[stop - 1] in _SEPARATOR_CHARS:
            stop -= 1
        start = stop
        while start and lowered[start - 1].isalpha():
            start -= 1
        if lowered[start:stop] not in _DIGIT_WORDS and lowered[start:stop] not in _REPEAT:
            start = space + 1
        for found in _decode(state, start, end):
            cards.append(found)
            state.add(found)
        pos = end


def words_view(lowered: str) -> str:
    """The lower-cased view with every whitespace a space: what the run pattern reads.

    Every whitespace separates words ("four,\nfive"); same length, same offsets.
    """
    for ch in _OTHER_WHITESPACE:
        if ch in lowered:
            lowered = lowered.replace(ch, " ")
    return lowered


def has_run(lowered: str) -> bool:
    """Whether ``lowered`` (a lower-cased folded view) holds a run of number words that
    `scan_spoken` would decode: without one it reports nothing (see gate.py)."""
    return _RUN.search(words_view(lowered)) is not None


def _tokens(lowered: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """(digits, start, end) per spoken digit group; "double five" is one group "55"."""
    tokens: list[tuple[str, int, int]] = []
    repeat, repeat_start = 1, -1
    for word in _TOKEN.finditer(lowered, start, end):
        w = word.group(0)
        if w in _REPEAT:
            repeat, repeat_start = _REPEAT[w], word.start()
            continue
        digit = _DIGIT_WORDS[w]
        tokens.append((digit * repeat, repeat_start if repeat > 1 else word.start(), word.end()))
        repeat = 1
    return tokens


def _decode(state: ScanState, start: int, end: int) -> list[Finding]:
    """Every card in a run of number words, left to right, each the longest at its start."""
    lowered = state.lowered
    tokens = _tokens(lowered, start, end)
    found: list[Finding] = []
    i = 0
    while i < len(tokens):
        best: tuple[int, str] | None = None
        if tokens[i][0][0] in "23456":
            digits = ""
            for j in range(i, len(tokens)):
                digits += tokens[j][0]
                if len(digits) > checks.PAN_MAX_DIGITS:
                    break
                if len(digits) >= checks.PAN_MIN_DIGITS:
                    brand = checks.pan_brand(digits)
                    if brand is not None:
                        best = (j, brand)
        if best is None:
            i += 1
            continue
        j, brand = best
        a, b = tokens[i][1], tokens[j][2]
        score, why = PAN_CONTEXT.score(lowered, a, b, 0.85)
        reason = f"luhn+iin:{brand}; spoken digits{why}"
        found.append(Finding(PAN, a, b, score, reason, "pan.spoken", brand))
        i = j + 1
    return found
