"""Webhook signatures: HMAC-SHA256 over ``timestamp + "." + body`` (no Django; plain data).

Header (the format of docs/channels.md)::

    X-Safeguard-Signature: t=1718000000,v1=5f2b…e1

``t`` is Unix seconds; each ``v1`` is the lower-case hex HMAC-SHA256 of ``b"<t>." + body`` under
one shared secret. A sender rotating secrets may send several ``v1`` values; the receiver accepts
the request when any of them matches any of its configured secrets. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

from safeguard.channels.contracts import (
    SignatureError,
    SignatureExpired,
    SignatureMalformed,
    SignatureMissing,
)

SCHEME = "v1"
MAX_HEADER = 1024  # a sane header is well under this; longer is an attack or a bug
MAX_SIGNATURES = 8


@dataclass(frozen=True)
class Verified:
    """A request whose signature matched: its timestamp and the signature that matched."""

    timestamp: int
    signature: str


def compute(*, secret: str, timestamp: int, body: bytes) -> str:
    """The lower-case hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def header_value(*, secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The header a sender sets: ``t=<timestamp>,v1=<sig>[,v1=<sig>…]`` (one per secret)."""
    sigs = ",".join(f"{SCHEME}={compute(secret=s, timestamp=timestamp, body=body)}"
                    for s in secrets)
    return f"t={timestamp},{sigs}"


def parse(header: str) -> tuple[int, tuple[str, ...]]:
    """Split a header into its timestamp and ``v1`` signatures; anything odd is malformed."""
    if len(header) > MAX_HEADER:
        raise SignatureMalformed("The signature header is too long.")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep or not value:
            raise SignatureMalformed("Expected t=<unix seconds>,v1=<hex> pairs.")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureMalformed("t must appear once, as Unix seconds.")
            timestamp = int(value)
        elif key == SCHEME:
            if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
                raise SignatureMalformed("v1 must be 64 lower-case hex digits.")
            signatures.append(value)
        # Unknown schemes (a future v2) are skipped, so senders can add them ahead of us.
    if timestamp is None or not signatures:
        raise SignatureMalformed("Both t and at least one v1 are required.")
    if len(signatures) > MAX_SIGNATURES:
        raise SignatureMalformed("Too many signatures.")
    return timestamp, tuple(signatures)


def verify(
    *, header: str | None, body: bytes, secrets: Sequence[str], now: float, tolerance: int
) -> Verified:
    """Check the header against every configured secret and the replay window, or raise."""
    if not header:
        raise SignatureMissing("Sign the request: X-Safeguard-Signature: t=…,v1=….")
    timestamp, signatures = parse(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureExpired(
            f"The timestamp is more than {tolerance} s away from the receiver's clock.")
    for secret in secrets:
        expected = compute(secret=secret, timestamp=timestamp, body=body)
        for candidate in signatures:
            if hmac.compare_digest(expected, candidate):
                return Verified(timestamp=timestamp, signature=candidate)
    raise SignatureError("No signature matches a configured secret.")
