"""Blind indexes and keyed hashes: equality lookup on encrypted values without decrypting.

A blind index is HMAC-SHA256 (a Tink PRF from the ``index`` keyset, or ``fingerprint`` for the
vault) over a domain label and the *normalised* value, so ``Ann@Example.com `` and
``ann@example.com`` index alike. The stored form is ``0x01 | key id (4 bytes) | 32-byte MAC``:
the key id lets lookups try every key during a rotation and lets the rotation job find rows
still under an old key. The domain label (``purpose``, by default ``<model label>.<field>``)
keeps the same e-mail in two tables from producing the same index.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from django.conf import settings

from safeguard.protection import emailid, keyring

NORMALISERS = frozenset({"text", "email", "phone", "digits", "exact", "email_exact",
                         "email_skeleton"})
MAC_BYTES = 32
_SPACE = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"[^0-9]")


def normalise(value: str, kind: str) -> str:  # noqa: PLR0911 - one return per normaliser
    """The canonical form two spellings of one value share (``kind`` is a NORMALISERS name)."""
    if kind not in NORMALISERS:
        raise ValueError(f"unknown normaliser {kind!r}; use one of {sorted(NORMALISERS)}")
    if kind == "exact":
        return value
    if kind == "email_exact":  # no NFKC, no Unicode folding: see protection.emailid
        return emailid.exact_address(value,
                                     fold_domains=settings.SAFEGUARD_EMAIL_CASEFOLD_DOMAINS)
    if kind == "email_skeleton":
        return emailid.skeleton(value)
    text = unicodedata.normalize("NFKC", value)
    if kind == "digits":
        return _NOT_DIGIT.sub("", text)
    if kind == "phone":
        region = (settings.SAFEGUARD_SCANNER_REGIONS or ["US"])[0]
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return _NOT_DIGIT.sub("", text)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    # Folding, NFKC and removing spaces can each enable the others (a cedilla after a removed
    # space composes): repeat to a fixed point so one value always indexes alike.
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", _SPACE.sub(" ", text.strip()).casefold())
        folded = folded.replace(" ", "") if kind == "email" else _SPACE.sub(" ", folded.strip())
        if folded == text:
            break
        text = folded
    return text


def _message(value: str, *, normaliser: str, purpose: str) -> bytes:
    return b"safeguard:bidx:v1:" + purpose.encode() + b"\x00" + normalise(
        value, normaliser).encode()


def compute(value: str, *, normaliser: str, keyset: str, purpose: str) -> bytes:
    """The blind index of ``value`` under the keyset's primary key (what a write stores)."""
    prfs = keyring.prf_set(keyset)
    key_id = prfs.primary_id()
    mac = prfs.primary().compute(_message(value, normaliser=normaliser, purpose=purpose),
                                 MAC_BYTES)
    return bytes([keyring.TINK_PREFIX]) + key_id.to_bytes(4, "big") + mac


def candidates(value: str, *, normaliser: str, keyset: str, purpose: str) -> list[bytes]:
    """The index under every key of the keyset: look up with ``__in`` during a rotation."""
    msg = _message(value, normaliser=normaliser, purpose=purpose)
    prfs = keyring.prf_set(keyset)
    return [bytes([keyring.TINK_PREFIX]) + key_id.to_bytes(4, "big") + p.compute(msg, MAC_BYTES)
            for key_id, p in sorted(prfs.all().items())]


def keyed_hash(value: str, *, purpose: str, length: int = 12) -> str:
    """A short keyed hash for screened text: equal values give equal hashes, no dictionary attack.

    At most 12 hex characters, so a hash can never look like a card number to the guard.
    """
    prfs = keyring.prf_set("index")
    mac = prfs.primary().compute(b"safeguard:hash:v1:" + purpose.encode() + b"\x00"
                                 + normalise(value, "text").encode(), MAC_BYTES)
    return mac.hex()[: min(length, 12)]


# --- identifier hashes (issue 8 item 3; R-OPS-2, R-DATA-1) ---------------------------------------
# Identifiers that only need equality (Message-IDs, References, external ids, chat conversation
# ids) are kept as a keyed hash and nothing else. The hash is the full blind index (key id and
# 32-byte MAC) written with the sixteen letters a–p instead of hex digits: no digit at all, so a
# stored hash can never look like a card number to the no-PAN guard, and no header a customer's
# mail client chose can make a save fail.
_ID_LETTERS = "abcdefghijklmnop"
IDENTIFIER_HASH_LENGTH = 2 * (1 + 4 + MAC_BYTES)
IDENTIFIER_HASH_RE = re.compile(rf"[a-p]{{{IDENTIFIER_HASH_LENGTH}}}")


def _id_purpose(purpose: str) -> str:
    return f"identifier:{purpose}"


def _letters(raw: bytes) -> str:
    return "".join(_ID_LETTERS[b >> 4] + _ID_LETTERS[b & 0x0F] for b in raw)


def identifier_hash(value: str, *, purpose: str) -> str:
    """The keyed hash of an identifier under the ``index`` keyset's primary key (what a write
    stores). Compared exactly (surrounding whitespace aside): Message-IDs are case-sensitive."""
    return _letters(compute(value.strip(), normaliser="exact", keyset="index",
                            purpose=_id_purpose(purpose)))


def identifier_candidates(value: str, *, purpose: str) -> list[str]:
    """The identifier's hash under every key of the keyset: look up with ``__in``, so rows
    hashed before an index-key rotation still match."""
    return [_letters(raw) for raw in candidates(value.strip(), normaliser="exact",
                                                keyset="index", purpose=_id_purpose(purpose))]


def is_identifier_hash(value: str) -> bool:
    """Whether ``value`` already has the stored form (so hashing twice is avoided)."""
    return bool(IDENTIFIER_HASH_RE.fullmatch(value))


def identifier_token(value: str, *, purpose: str, length: int = 26) -> str:
    """A short letters-only keyed token of ``value`` (at most 64 letters): for identifiers we
    mint ourselves and must be able to mint again from our own row id (outbound Message-IDs)."""
    mac = keyring.prf_set("index").primary().compute(
        b"safeguard:token:v1:" + purpose.encode() + b"\x00" + value.encode(), MAC_BYTES)
    return _letters(mac)[: min(length, 2 * MAC_BYTES)]
