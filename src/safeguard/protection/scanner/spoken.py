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
_WORD = "(?:" + "|".join(sorted([*_DIGIT_WORDS, *_REPEAT], key=len, reverse=True)) + ")"
# Card numbers start with 2-6; the first alternative is literal-led so the engine skips fast.
_START = "(?:two|three|four|for|five|six|double|triple)"
_RUN = re.compile(_START + r"(?![a-z])(?:[\s,.\-]{1,3}" + _WORD + r"(?![a-z])){6,}")
_TOKEN = re.compile(r"[a-z]+")


def scan_spoken(state: ScanState, cards: list[Finding]) -> None:
    """Add card findings for spoken card numbers; appends them to ``cards`` too."""
    lowered = state.lowered
    pos = 0
    while True:
        match = _RUN.search(lowered, pos)
        if match is None:
            return
        start, end = match.span()
        if start and lowered[start - 1].isalpha():
            pos = start + 1
            continue
        found = _decode(state, start, end)
        if found is not None:
            cards.append(found)
            state.add(found)
        pos = end


def _decode(state: ScanState, start: int, end: int) -> Finding | None:
    lowered = state.lowered
    # (digits, start, end) per spoken digit group; "double five" is one group "55".
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
    best: tuple[int, int, str] | None = None
    best_len = 0
    for i in range(len(tokens)):
        if tokens[i][0][0] not in "23456":
            continue
        digits = ""
        for j in range(i, len(tokens)):
            digits += tokens[j][0]
            if len(digits) > checks.PAN_MAX_DIGITS:
                break
            if len(digits) > best_len and len(digits) >= checks.PAN_MIN_DIGITS:
                brand = checks.pan_brand(digits)
                if brand is not None:
                    best, best_len = (i, j, brand), len(digits)
    if best is None:
        return None
    i, j, brand = best
    a, b = tokens[i][1], tokens[j][2]
    score, why = PAN_CONTEXT.score(lowered, a, b, 0.85)
    return Finding(PAN, a, b, score, f"luhn+iin:{brand}; spoken digits{why}", "pan.spoken", brand)
