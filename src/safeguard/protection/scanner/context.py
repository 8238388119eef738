"""Context words: the nearest cue word around a candidate raises or lowers its score.

A cue is looked for in a window of characters before and after the candidate in the
lower-cased text; the closest cue wins, so "pay invoice 12 with card 4111 ..." counts
"card" and not "invoice". Rules are plain data so custom detectors reuse them (R-DATA-2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def _alternation(words: Iterable[str]) -> str:
    # Longest first so "card number" wins over "card"; spaces match any run of whitespace.
    ordered = sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in ordered)


_DIGIT = re.compile(r"[0-9]")
# A line break, or sentence punctuation and a space, except after an abbreviation that
# introduces a number ("order no. 4155...", "tel. 020 ...").
_SENTENCE_END = re.compile(
    r"\n|(?<![a-z])(?:no|nr|num|ref|acct|tel|ph|mr|mrs|ms|dr|st)\.\s|[.!?]\s"
)
_ABBREVIATION = re.compile(r"(?:no|nr|num|ref|acct|tel|ph|mr|mrs|ms|dr|st)\.\s")


def _sentence_end(text: str, end: int, limit: int) -> int:
    """Where the sentence holding ``end`` stops (no further than ``limit``)."""
    for boundary in _SENTENCE_END.finditer(text, end, limit):
        if not _ABBREVIATION.fullmatch(boundary.group(0)):
            return boundary.start()
    return limit


def _starts_word(text: str, index: int) -> bool:
    return index == 0 or not text[index - 1].isalnum()


class ContextRule:
    """Cue words for one finding type and how much they move its score."""

    __slots__ = (
        "_pattern",
        "_polarity",
        "after",
        "before",
        "boost",
        "negative",
        "penalty",
        "positive",
    )

    def __init__(
        self,
        *,
        positive: Iterable[str] = (),
        negative: Iterable[str] = (),
        boost: float = 0.1,
        penalty: float = 0.3,
        before: int = 64,
        after: int = 24,
    ) -> None:
        self.positive = tuple(positive)
        self.negative = tuple(negative)
        self.boost = boost
        self.penalty = penalty
        self.before = before
        self.after = after
        self._polarity = {" ".join(w.lower().split()): True for w in self.positive}
        self._polarity.update({" ".join(w.lower().split()): False for w in self.negative})
        # Literal-led alternatives (no leading group or lookbehind) let the regex engine skip
        # ahead by first letter; the left word boundary is checked in Python instead.
        words = [*self.positive, *self.negative]
        self._pattern: re.Pattern[str] | None = (
            re.compile(f"(?:{_alternation(words)})(?![a-z0-9])") if words else None
        )

    def nearest(self, lowered: str, start: int, end: int) -> tuple[bool, str] | None:
        """The cue that speaks for ``lowered[start:end]`` as (is_positive, word), or None.

        Labels come before values ("order number 123", "my phone is ..."), so the closest
        cue before the candidate wins, and only without one does the rest of the
        candidate's sentence after it count. A cue followed by another number belongs to
        that number. A positive cue may sit in an earlier sentence or line (the agent's
        question before the customer's answer); a negative one counts only in the
        candidate's own sentence.
        """
        pattern = self._pattern
        if pattern is None:
            return None
        best: tuple[bool, str] | None = None
        for match in pattern.finditer(lowered, max(0, start - self.before), start):
            cue_end = match.end()
            if not _starts_word(lowered, match.start()) or _DIGIT.search(lowered, cue_end, start):
                continue
            positive = self._positive(match.group(0))
            if positive or _sentence_end(lowered, cue_end, start) == start:
                best = (positive, match.group(0))
        if best is not None:
            return best
        limit = _sentence_end(lowered, end, min(len(lowered), end + self.after))
        for match in pattern.finditer(lowered, end, limit):
            if _DIGIT.search(lowered, end, match.start()):
                break
            if _starts_word(lowered, match.start()):
                return self._positive(match.group(0)), match.group(0)
        return None

    def _positive(self, word: str) -> bool:
        return self._polarity.get(" ".join(word.split()), False)

    def score(self, lowered: str, start: int, end: int, base: float) -> tuple[float, str]:
        """The base score moved by the nearest cue, and a reason fragment naming the cue."""
        cue = self.nearest(lowered, start, end)
        if cue is None:
            return base, ""
        positive, word = cue
        word = " ".join(word.split())
        if positive:
            return min(1.0, base + self.boost), f"; context +{word}"
        return max(0.0, base - self.penalty), f"; context -{word}"


# Cues shared by the numeric types: identifiers that are not personal data.
_NOT_PERSONAL = (
    "order",
    "order number",
    "order no",
    "invoice",
    "inv",
    "tracking",
    "tracking number",
    "tracking no",
    "shipment",
    "parcel",
    "package",
    "ups",
    "fedex",
    "usps",
    "isbn",
    "ticket",
    "case number",
    "reference",
    "ref",
    "confirmation",
    "booking",
    "serial",
    "imei",
    "sku",
    "part number",
    "model",
    "timestamp",
    "epoch",
    "transaction id",
)

PAN_CONTEXT = ContextRule(
    positive=(
        "card",
        "card number",
        "credit",
        "debit",
        "visa",
        "mastercard",
        "master card",
        "amex",
        "american express",
        "discover",
        "jcb",
        "diners",
        "maestro",
        "unionpay",
        "pan",
        "cc",
        "long number",
        "payment",
        "pay",
    ),
    negative=_NOT_PERSONAL,
    boost=0.1,
    penalty=0.25,
)

SSN_CONTEXT = ContextRule(
    positive=("ssn", "social security", "social", "ss number", "ss#", "taxpayer", "tin"),
    negative=(
        *_NOT_PERSONAL,
        "phone",
        "routing",
        "routing number",
        "aba",
        "rtn",
        "bank",
        "account",
        "zip",
        "member id",
    ),
    boost=0.45,
    penalty=0.35,
)

ROUTING_CONTEXT = ContextRule(
    positive=("routing", "routing number", "aba", "rtn", "transit", "bank", "wire", "ach"),
    negative=(*_NOT_PERSONAL, "ssn", "social security", "phone"),
    boost=0.6,
    penalty=0.3,
)

PHONE_CONTEXT = ContextRule(
    positive=(
        "phone",
        "telephone",
        "tel",
        "call",
        "callback",
        "call back",
        "mobile",
        "cell",
        "landline",
        "fax",
        "reach",
        "text me",
        "whatsapp",
        "dial",
        "extension",
        "work line",
        "direct line",
        "home line",
        "phone line",
    ),
    negative=(*_NOT_PERSONAL, "account", "account number", "policy", "customer id", "id"),
    boost=0.15,
    penalty=0.4,
)

IBAN_CONTEXT = ContextRule(
    positive=("iban", "account", "bank", "transfer", "sepa", "refund to"),
    boost=0.05,
)

EMAIL_CONTEXT = ContextRule(positive=("email", "e-mail", "mail", "address", "contact"), boost=0.1)

IP_CONTEXT = ContextRule(
    positive=(
        "ip",
        "ip address",
        "ipv4",
        "ipv6",
        "address",
        "server",
        "host",
        "router",
        "gateway",
        "connect",
        "connecting",
        "vpn",
        "dns",
        "network",
        "logged in from",
        "login from",
    ),
    negative=("version", "firmware", "release", "build", "app version", "chapter", "section"),
    boost=0.15,
    penalty=0.4,
)

NINO_CONTEXT = ContextRule(
    positive=("national insurance", "ni number", "ni no", "nino", "insurance number", "nin"),
    negative=_NOT_PERSONAL,
    boost=0.25,
    penalty=0.3,
)

CVV_CONTEXT = ContextRule(
    positive=(
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cid",
        "csc",
        "security code",
        "security number",
        "three digit",
        "3 digit",
        "four digit",
        "4 digit",
        "code on the back",
        "back of the card",
        "verification code",
    ),
    before=32,
    after=0,
)

EXPIRY_CONTEXT = ContextRule(
    positive=(
        "exp",
        "expiry",
        "expires",
        "expiring",
        "expiration",
        "exp date",
        "valid thru",
        "valid through",
        "valid until",
        "good thru",
        "end date",
    ),
    before=32,
    after=0,
)
