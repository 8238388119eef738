"""CVV and expiry dates, looked for only next to a card number finding.

A three- or four-digit number or a month/year is everywhere in a conversation; next to a
card number it is card data (PCI DSS sensitive authentication data). So these types are
searched in a short window around each card finding, and reported when a cue word names
them ("cvv", "expires") or when they follow the card directly with nothing but separators
in between (R-OPS-2).
"""

from __future__ import annotations

import re
from bisect import bisect_left

from .context import CVV_CONTEXT, EXPIRY_CONTEXT
from .contracts import CVV, EXPIRY, Finding
from .state import ScanState

_AFTER = 72
_BEFORE = 56
_EXPIRY = re.compile(
    r"(?<![0-9/.:])(?P<m>0?[1-9]|1[0-2])(?P<sep>[ ]?[/\-][ ]?|[ ])(?P<y>(?:20)?[0-9]{2})"
    r"(?![0-9/:]|[.,][0-9])"
)
_CVV = re.compile(r"(?<![0-9/.:,])[0-9]{3,4}(?![0-9/:]|[.,][0-9])")
_SEPARATORS_ONLY = re.compile(r"[\s,;:.\-/()]*")


def scan_card_extras(state: ScanState, cards: list[Finding]) -> None:
    """Add CVV and EXPIRY candidates around each card finding in ``cards``."""
    spans = sorted((card.start, card.end) for card in cards)
    starts = [a for a, _ in spans]
    for card in cards:
        lo = max(0, card.start - _BEFORE)
        hi = min(len(state.text), card.end + _AFTER)
        # Other cards' digits are never this card's expiry or code.
        first = max(0, bisect_left(starts, lo) - 1)
        taken = [span for span in spans[first : bisect_left(starts, hi)] if span[1] > lo]
        anchor = card.end
        if EXPIRY in state.wanted:
            anchor = _expiry(state, card, lo, hi, taken)
        if CVV in state.wanted:
            _cvv(state, card, lo, hi, taken, anchor)


def _adjacent(text: str, anchor: int, start: int) -> bool:
    return start >= anchor and _SEPARATORS_ONLY.fullmatch(text, anchor, start) is not None


def _expiry(state: ScanState, card: Finding, lo: int, hi: int, taken: list[tuple[int, int]]) -> int:
    """Add expiry candidates; returns where a CVV right after the card may start."""
    anchor = card.end
    for match in _EXPIRY.finditer(state.text, lo, hi):
        a, b = match.span()
        if any(a < y and b > x for x, y in taken):
            continue
        cue = EXPIRY_CONTEXT.nearest(state.lowered, a, b)
        adjacent = _adjacent(state.text, anchor, a)
        if cue is not None and cue[0]:
            score, why = 0.9, f"month/year near card; context +{cue[1]}"
        elif adjacent and match.group("sep") != " ":
            score, why = 0.7, "month/year right after card"
        elif adjacent:
            score, why = 0.6, "month year right after card"
        else:
            continue
        state.add(Finding(EXPIRY, a, b, score, why, "card.expiry"))
        taken.append((a, b))
        if adjacent:
            anchor = b
    return anchor


def _cvv(
    state: ScanState,
    card: Finding,
    lo: int,
    hi: int,
    taken: list[tuple[int, int]],
    anchor: int,
) -> None:
    expected = 4 if card.value_hint == "amex" else 3
    for match in _CVV.finditer(state.text, lo, hi):
        a, b = match.span()
        if any(a < y and b > x for x, y in taken):
            continue
        cue = CVV_CONTEXT.nearest(state.lowered, a, b)
        if cue is not None and cue[0]:
            score, why = 0.9, f"3-4 digits near card; context +{cue[1]}"
        elif b - a == expected and _adjacent(state.text, anchor, a):
            score, why = 0.65, "security-code length right after card"
        else:
            continue
        state.add(Finding(CVV, a, b, score, why, "card.cvv"))
        taken.append((a, b))
