"""Screening: every text that enters the platform passes here before anything is stored.

``screen(text, field=...)`` scans once (built-in and operator detectors, plus the customer's own
profile values when given), then applies the field's policy to each finding: card numbers become
vault tokens, the rest is masked, hashed, dropped or kept. A last pass over the result proves no
card number survived (R-OPS-2); only the screened text may be persisted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from safeguard.protection import blind, policy, vault
from safeguard.protection.contracts import (
    MASK_DOTS,
    InvalidCardNumber,
    ProtectionError,
    Screened,
    ScreenedFinding,
    TokenView,
)
from safeguard.protection.enums import Action
from safeguard.protection.scanner import (
    KNOWN_PREFIX,
    PAN,
    Finding,
    KnownValues,
    fold,
    fold_text,
)
from safeguard.protection.scanner.gate import CONTACT_TYPES, may_hold_contact
from safeguard.protection.scanning import find_pans, scanner

_WORD_DIGITS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "to": "2", "too": "2",
    "three": "3", "four": "4", "for": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9",
}
_REPEAT = {"double": 2, "triple": 3}
_TOKENS = re.compile(r"[0-9]|[a-z]+")
_ALNUM = re.compile(r"[^0-9A-Za-z]")


def pan_digits(value: str) -> str:
    """The digits of a card number written with separators, in any script, or spoken as words."""
    digits: list[str] = []
    repeat = 1
    for token in _TOKENS.findall(fold_text(value).lower()):
        if token in _REPEAT:
            repeat = _REPEAT[token]
            continue
        digit = token if token.isdigit() else _WORD_DIGITS.get(token, "")
        digits.append(digit * repeat)
        repeat = 1
    return "".join(digits)


def card_replacement(token: TokenView) -> str:
    """How a tokenized card reads in stored text: brand, last four, token."""
    return f"[card {token.brand} {MASK_DOTS} {token.last4} {token.token}]"


_CARD_REF = re.compile(
    rf"(\[card [^\]\s]+ {re.escape(MASK_DOTS)} [0-9]{{4}}) {vault.TOKEN_RE.pattern}\]")


def card_refs_for_people(text: str) -> str:
    """Stored text with each tokenized card's vault token left out (``[card visa •••• 1111]``),
    for every screen a person reads. Tokens are deterministic (the same card, the same token),
    so a person who could see the token of numbers they typed themselves (a note, a chat they
    opened) could compare it with a customer's and recover that card from its first six and
    last four digits; only service accounts (the payment gateway) get token references."""
    return _CARD_REF.sub(r"\1]", text) if "[card " in text else text


def _findings(text: str, known: KnownValues | None) -> list[Finding]:
    found = scanner().scan(text, known=known)
    # Card numbers count at any score, as for the guard: context never keeps one.
    extra = [p for p in find_pans(text)
             if not any(p.start < f.end and f.start < p.end and f.type == PAN for f in found)]
    if not extra:
        return found
    kept = [f for f in found if not any(f.start < p.end and p.start < f.end for p in extra)]
    return sorted([*kept, *extra], key=lambda f: f.start)


def findings_for_display(
    text: str, *, customer: Mapping[str, Iterable[str]] | KnownValues | None = None,
    types: frozenset[str] = frozenset({"EMAIL", "PHONE"}),
) -> list[Finding]:
    """Findings of ``types`` and of the customer's known values (KNOWN_*) in already-stored
    text, left to right without overlaps: what a page masks for display (issue 15, R-DATA-2).
    Stores and changes nothing.

    Every span the scanner reads as one of them is covered, whatever other type won the span
    in the scan's overlap resolution (the customer's own IBAN is also a generic IBAN, which is
    not masked for display): overlapping ones become one finding over their union, labelled
    by a member spanning all of it (a known value first), else by the longest detected one
    (`_covering`).

    A text whose folded view holds no "@", no chain of digits a phone number needs
    (scanner/gate.py) and none of the customer's values (their matcher finds none in that
    view, as it would in the scan) skips the scan: it has nothing to mask (issue 10: most of
    a thread's messages)."""
    known = (customer if isinstance(customer, KnownValues) or customer is None
             else KnownValues(customer))
    if types <= CONTACT_TYPES:
        view = fold(text).text
        if not may_hold_contact(view) and (known is None or not known.find(view)):
            return []
    return _display_findings(text, known, types)


def _display_findings(text: str, known: KnownValues | None,
                      types: frozenset[str]) -> list[Finding]:
    """`findings_for_display` by the full scan (what the gate's tests hold it to): every
    candidate of ``types`` or KNOWN_* before overlap resolution, covered by `_covering`."""
    return _covering([f for f in scanner().candidates(text, known=known)
                      if f.type in types or f.type.startswith(KNOWN_PREFIX)])


def _covering(found: list[Finding]) -> list[Finding]:
    """Findings in text order, without overlaps, covering every character of ``found``: a
    group of overlapping ones becomes one finding over the group's span (`_labelled`). A known
    value labels a span only when it spans all of it (a viewer who revealed that field sees
    nothing else as written), and at the same place a known value wins over a detected one."""
    out: list[Finding] = []
    group: list[Finding] = []
    end = -1
    for f in sorted(found, key=lambda f: (f.start, f.end)):
        if group and f.start < end:
            group.append(f)
            end = max(end, f.end)
            continue
        if group:
            out.append(_labelled(group, end))
        group, end = [f], f.end
    if group:
        out.append(_labelled(group, end))
    return out


def _labelled(group: list[Finding], end: int) -> Finding:
    """One finding over ``group``'s span: a member spanning all of it, a known value first;
    else the longest detected member (the matcher's own findings never overlap each other)."""
    start = group[0].start
    pool = ([f for f in group if (f.start, f.end) == (start, end)]
            or [f for f in group if not f.type.startswith(KNOWN_PREFIX)] or group)
    best = min(pool, key=lambda f: (not f.type.startswith(KNOWN_PREFIX), f.start - f.end,
                                    f.start, f.type))
    return best if (best.start, best.end) == (start, end) else replace(best, start=start, end=end)


def screen(
    text: str,
    *,
    field: str,
    customer: Mapping[str, Iterable[str]] | KnownValues | None = None,
) -> Screened:
    """Apply ``field``'s policy to ``text``; the returned text is the only thing safe to store."""
    if not isinstance(text, str):
        raise ProtectionError(f"screen() takes text, not {type(text).__name__}")
    rules = policy.current()
    known = (customer if isinstance(customer, KnownValues) or customer is None
             else KnownValues(customer))
    out: list[str] = []
    size = 0
    last = 0
    results: list[ScreenedFinding] = []
    tokens: list[TokenView] = []
    for f in _findings(text, known):
        value = text[f.start:f.end]
        action = rules.action(field, f.type)
        replacement = _apply(action, f, value, field, rules, tokens)
        if replacement is None:  # a card number that would not tokenize: never kept
            action, replacement = Action.MASK, rules.mask(f.type, "")
        piece = text[last:f.start]
        out.append(piece)
        size += len(piece)
        out.append(replacement)
        results.append(ScreenedFinding(type=f.type, action=str(action), start=size,
                                       end=size + len(replacement), score=f.score))
        size += len(replacement)
        last = f.end
    out.append(text[last:])
    screened = "".join(out)
    # Belt and braces: kept neighbours could join into a number; mask anything left.
    for p in reversed(find_pans(screened)):
        screened = screened[:p.start] + "[PAN]" + screened[p.end:]
    return Screened(text=screened, findings=tuple(results), tokens=tuple(tokens), field=field,
                    policy_version=rules.version)


def _apply(action: str, f: Finding, value: str, field: str, rules: policy.Policy,
           tokens: list[TokenView]) -> str | None:
    if action == Action.TOKENIZE:
        try:
            tokenized = vault.tokenize(pan=pan_digits(value), source=field)
        except InvalidCardNumber:
            return None
        tokens.append(tokenized.token)
        return card_replacement(tokenized.token)
    if action == Action.MASK:
        return rules.mask(f.type, _ALNUM.sub("", value))
    if action == Action.HASH:
        return f"[{f.type} #{blind.keyed_hash(value, purpose='screen:' + f.type)}]"
    if action == Action.DROP:
        return ""
    return value
