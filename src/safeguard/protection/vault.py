"""The card-token vault (R-OPS-2): random tokens, ciphertext only, audited detokenize.

A token is 24 random consonants after ``tok_`` (about 102 bits): no mathematical relation to the
card number (never format-preserving encryption) and no digits, so a token can never look like a
card number. The same card number yields the same token through a keyed fingerprint (HMAC from
the ``fingerprint`` keyset). The number itself is stored only as AEAD ciphertext bound to its
vault row; brand and last four digits are kept for display.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection.contracts import (
    Detokenized,
    InvalidCardNumber,
    ReasonRequired,
    StepUpRequired,
    Tokenized,
    TokenNotFound,
    TokenView,
)
from safeguard.protection.fields import blind_lookup
from safeguard.protection.models import Token
from safeguard.protection.scanner import PAN
from safeguard.protection.scanning import find_pans, scanner

TOKEN_PREFIX = "tok_"  # noqa: S105 - a format prefix, not a secret
TOKEN_ALPHABET = "bcdfghjkmnpqrstvwxz"  # noqa: S105 - consonants: no digits, no words
TOKEN_LENGTH = 24
TOKEN_RE = re.compile(rf"{TOKEN_PREFIX}[{TOKEN_ALPHABET}]{{{TOKEN_LENGTH}}}")
_SEPARATORS = re.compile(r"[\s.\-\u00a0]")
_MAX_INPUT = 64


def _new_token() -> str:
    return TOKEN_PREFIX + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def _view(row: Token) -> TokenView:
    return TokenView(token=row.token, brand=row.brand, last4=row.last4, created_at=row.created_at)


def card_digits(value: str) -> tuple[str, str]:
    """``(digits, brand)`` of a card number typed with spaces, dashes or dots; else an error.

    The error never repeats the input.
    """
    if not isinstance(value, str) or len(value) > _MAX_INPUT:
        raise InvalidCardNumber("A card number is 13 to 19 digits.")
    digits = _SEPARATORS.sub("", value)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        raise InvalidCardNumber("A card number is 13 to 19 digits (spaces or dashes allowed).")
    found = scanner(min_score=0.0).scan(digits, types=[PAN])
    if len(found) != 1 or (found[0].start, found[0].end) != (0, len(digits)):
        raise InvalidCardNumber("Not a valid card number: the Luhn check or the issuer range "
                                "does not match.")
    return digits, found[0].value_hint or "card"


def tokenize(*, pan: str, actor: Actor | None = None, source: str = "") -> Tokenized:
    """The token of a card number: the existing one for a known card, else a new vault entry."""
    digits, brand = card_digits(pan)
    for _ in range(3):
        existing = Token.objects.filter(blind_lookup(Token, "fingerprint", digits)).first()
        if existing is not None:
            if actor is not None:
                audit.record(action="vault.tokenized", actor=actor,
                             subject=("vault_token", existing.token),
                             data={"created": False, "source": source})
            return Tokenized(token=_view(existing), created=False)
        try:
            with transaction.atomic():
                row = Token.objects.create(token=_new_token(), pan=digits, brand=brand,
                                           last4=digits[-4:], created_at=timezone.now())
                audit.record(action="vault.tokenized", actor=actor or Actor.system("vault"),
                             subject=("vault_token", row.token),
                             data={"created": True, "brand": brand, "last4": row.last4,
                                   "source": source})
        except IntegrityError:
            continue  # the same card tokenized concurrently: read the winner's token
        return Tokenized(token=_view(row), created=True)
    raise IntegrityError("could not store the token after concurrent attempts")


def token_get(*, token: str) -> TokenView:
    """Display metadata of a token (brand, last four); unknown tokens are a 404."""
    row = Token.objects.filter(token=token).first() if TOKEN_RE.fullmatch(token or "") else None
    if row is None:
        raise TokenNotFound("No such token.")
    return _view(row)


def detokenize(*, token: str, actor: Actor, reason: str, human: bool,
               step_up_fresh: bool) -> Detokenized:
    """The card number behind a token, for the gateway hand-off; every attempt is audited.

    The caller has checked the ``protection.detokenize`` permission. A human additionally needs
    a second factor passed within the step-up window; everyone needs a reason.
    """
    reason = " ".join((reason or "").split())
    subject = ("vault_token", (token or "")[:40])

    def deny(detail: str) -> None:
        audit.record(action="vault.detokenized", actor=actor, subject=subject, outcome="denied",
                     data={"reason": reason[:500] if not find_pans(reason) else "[withheld]",
                           "denied": detail})

    if human and not step_up_fresh:
        deny("step-up required")
        raise StepUpRequired("Detokenizing needs a second factor passed within the last "
                             f"{settings.SAFEGUARD_STEP_UP_MINUTES} minutes: re-authenticate.")
    if find_pans(reason):
        deny("reason holds a card number")
        raise ReasonRequired("The reason must not contain a card number.")
    if len(reason) < settings.SAFEGUARD_DETOKENIZE_REASON_MIN:
        deny("no reason")
        raise ReasonRequired(f"Say why (at least {settings.SAFEGUARD_DETOKENIZE_REASON_MIN} "
                             "characters); the reason is kept in the audit log.")
    with transaction.atomic():
        row = (Token.objects.select_for_update().filter(token=token).first()
               if TOKEN_RE.fullmatch(token or "") else None)
        if row is not None:
            pan = row.pan
            row.last_detokenized_at = timezone.now()
            row.save(update_fields=["last_detokenized_at"])
            audit.record(action="vault.detokenized", actor=actor, subject=subject,
                         data={"reason": reason[:500], "brand": row.brand, "last4": row.last4})
    if row is None:
        audit.record(action="vault.detokenized", actor=actor, subject=subject, outcome="failure",
                     data={"reason": reason[:500], "denied": "unknown token"})
        raise TokenNotFound("No such token.")
    return Detokenized(token=_view(row), pan=pan)
