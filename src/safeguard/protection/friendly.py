"""Screened text in words a customer reads (issue 15, item 7; R-OPS-2, R-DATA-2). Pure: no Django.

Screening leaves placeholders in stored text: ``[card visa •••• 1111 tok_…]`` for a tokenized
card, ``[EXPIRY]`` for a masked expiry date, ``[PHONE #c70e…]`` for a keyed hash,
``[PHONE ••••0132]`` for a mask that keeps the last four, ``[KNOWN_EMAIL]`` for the customer's
own value. They are right for the record and wrong on a customer's screen or in a queue list:
there a card reads "card ending 1111", an expiry date or a card verification code the customer
typed simply disappears (with the "exp"/"cvv" label left in front of it), and every other
placeholder becomes a plain noun in brackets: "(phone number)", "phone number ending 0132".
Nothing is revealed: every word comes from the placeholder itself.
"""

from __future__ import annotations

import re

_CARD = r"card [a-z0-9_]+ •••• (?P<card4>[0-9]{4})(?: [A-Za-z0-9_]+)?"
_TYPED = r"(?P<type>[A-Z][A-Z0-9_]{1,63})(?: #(?P<hash>[0-9a-f]+)| ••••(?P<last4>[0-9]{4}))?"
PLACEHOLDER = re.compile(rf"(?:(?P<pre>\b[A-Za-z-]+)[ \t]+)?\[(?:{_CARD}|{_TYPED})\]")

# Types whose value simply disappears from customer-facing text (the customer typed it; nobody
# needs to see that something was there).
VANISH = frozenset({"EXPIRY", "CVV"})
NOUNS = {
    "PAN": "card number",
    "EMAIL": "e-mail address",
    "PHONE": "phone number",
    "IBAN": "bank account",
    "US_SSN": "social security number",
    "UK_NINO": "National Insurance number",
    "DATE_OF_BIRTH": "date of birth",
    "IP_ADDRESS": "IP address",
    "US_ROUTING": "routing number",
    "NAME": "name",
    "ADDRESS": "address",
}
# A word the customer put before the value that the plain words already say ("my card
# [card …]" reads "my card ending 1111", not "my card card ending 1111").
ALIASES = {
    "card": {"card"},
    "PHONE": {"phone", "number", "mobile", "tel"},
    "EMAIL": {"email", "e-mail", "mail", "address"},
    "IBAN": {"iban", "account"},
}
_GONE = "\x00"  # where a vanished value stood, until its label is tidied away
# A label whose value vanished (the marker follows it) or was dropped at storage (the CVV: only
# punctuation or the line's end follows the label).
_LABEL = (r"(?:exp(?:iry|ires|iration)?(?: date)?|valid(?: thru| until)?|cvv2?|cvc2?|csc"
          r"|security code)")
_ORPHAN = re.compile(
    rf"[ \t]*\b{_LABEL}\b[ \t]*:?[ \t]*(?:{_GONE}|(?=[.,;!?)]|[ \t]*$|[ \t]*{_GONE}))",
    re.IGNORECASE | re.MULTILINE)
_SPACE_BEFORE_STOP = re.compile(rf"[ \t]*{_GONE}[ \t]*(?=[.,;!?)]|$)", re.MULTILINE)


def noun(kind: str) -> str:
    """What a finding type is called in plain words (KNOWN_EMAIL: "e-mail address")."""
    base = kind.removeprefix("KNOWN_")
    return NOUNS.get(base, base.lower().replace("_", " "))


def _word(match: re.Match[str]) -> str:
    pre = match.group("pre") or ""
    if match.group("card4"):
        kind, words = "card", f"card ending {match.group('card4')}"
    else:
        kind = match.group("type")
        base = kind.removeprefix("KNOWN_")
        if kind in VANISH:
            words = _GONE
        elif match.group("last4"):
            words = f"{noun(kind)} ending {match.group('last4')}"
        else:
            words = f"({noun(kind)})"
        kind = base
    if not pre:
        return words
    if pre.lower() in ALIASES.get(kind, set()) and words != _GONE:
        return f"{pre} {words.split(' ', 1)[1]}" if kind == "card" else words
    return f"{pre} {words}"


def for_customers(text: str) -> str:
    """``text`` with every screening placeholder in plain words; text without one unchanged."""
    if "[" not in text:
        return text
    out = PLACEHOLDER.sub(_word, text)
    out = _ORPHAN.sub("", out)
    out = _SPACE_BEFORE_STOP.sub("", out)
    out = re.sub(rf"[ \t]*{_GONE}[ \t]*", " ", out)
    return re.sub(r"(?<=\S) {2,}(?=\S)", " ", out)
