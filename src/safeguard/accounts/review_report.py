"""The signed report of a closed access-review campaign (R-OPS-8; decision 0129).

The PDF is rendered with WeasyPrint from a template, with a URL fetcher that refuses every URL
(nothing in the document can make the server fetch anything, as for the governance statement).
It is signed with the audit signer (Ed25519, ``safeguard.audit.signing``): the signature covers
``MESSAGE_PREFIX`` followed by the PDF bytes exactly as downloaded, so anyone holding the public
key checks it with OpenSSL or a few lines of Python (docs/access-reviews.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.template.loader import render_to_string

from safeguard.accounts.review_contracts import CampaignView, ReviewItemView
from safeguard.audit import signing

MESSAGE_PREFIX = b"safeguard-access-review-report/v1\n"


class _NoFetch(Exception):
    pass


def _refuse(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise _NoFetch(f"external resources are not loaded: {url[:40]}")


def render(*, campaign: CampaignView, items: list[ReviewItemView],
           generated_at: datetime) -> bytes:
    """The report: the campaign, its counts and one row per item — user, grant, reviewer,
    decision (or *undecided*), comment, time."""
    from weasyprint import HTML  # imported on use: loading Pango costs time at start-up

    html = render_to_string("accounts/reviews/report_pdf.html", {
        "campaign": campaign, "items": items, "generated_at": generated_at})
    return bytes(HTML(string=html, url_fetcher=_refuse).write_pdf())


@dataclass(frozen=True)
class Signed:
    sha256: str
    signature: str
    key_id: str


def sign(pdf: bytes) -> Signed:
    """Sign ``MESSAGE_PREFIX + pdf`` with the audit signer."""
    signer = signing.get_signer()
    return Signed(sha256=hashlib.sha256(pdf).hexdigest(),
                  signature=signing.b64(signer.sign(MESSAGE_PREFIX + pdf)),
                  key_id=signer.key_id)


def public_key_pem() -> str:
    """The audit signer's public key (PEM), to verify reports with."""
    return signing.get_signer().public_key_pem()


def verify(*, pdf: bytes, signature: str, public_key: str | None = None) -> bool:
    """Does ``signature`` (base64) sign this PDF? Against ``public_key`` (PEM) when given, else
    against every key the audit log trusts (the signer's and retired ones)."""
    try:
        raw = signing.unb64(signature)
    except ValueError:
        return False
    if public_key is not None:
        loaded = serialization.load_pem_public_key(public_key.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            return False
        verifiers = [signing.Verifier(signing.key_id_for(loaded), loaded)]
    else:
        verifiers = list(signing.trusted_verifiers().values())
    return any(v.verify(MESSAGE_PREFIX + pdf, raw) for v in verifiers)
