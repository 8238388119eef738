"""Authenticating an inbound webhook request: size, HMAC signature, replay window, and a
one-use cache of accepted signatures (the format is in :mod:`safeguard.channels.signing`)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from safeguard.channels import signing
from safeguard.channels.contracts import (
    PayloadTooLarge,
    SignatureReplayed,
    WebhookNotConfigured,
)

HEADER = "X-Safeguard-Signature"


def request_verify(request: HttpRequest, *, now: float | None = None) -> bytes:
    """The request's body once its signature is valid, fresh and never seen before; raises a
    4xx ChannelError otherwise. A signature is spent as soon as it is accepted."""
    secrets = list(settings.SAFEGUARD_WEBHOOK_SECRETS)
    if not secrets:
        raise WebhookNotConfigured("Set SAFEGUARD_WEBHOOK_SECRET (docs/channels.md).")
    limit = settings.SAFEGUARD_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise PayloadTooLarge(f"At most {limit} bytes.")
    body = request.body
    if len(body) > limit:
        raise PayloadTooLarge(f"At most {limit} bytes.")
    tolerance = settings.SAFEGUARD_WEBHOOK_TOLERANCE_SECONDS
    verified = signing.verify(header=request.headers.get(HEADER), body=body, secrets=secrets,
                              now=time.time() if now is None else now, tolerance=tolerance)
    # Kept past the window's far edge, so a replay is refused for as long as it could verify.
    if not cache.add(f"sg:webhook-sig:{verified.signature}", verified.timestamp,
                     timeout=2 * tolerance + 60):
        raise SignatureReplayed("This signature was already used; sign each request anew.")
    return body
