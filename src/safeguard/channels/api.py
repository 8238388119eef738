"""REST ingest for integrations: ``POST /api/v1/channels/messages`` (channel "api").

Callers are service accounts whose API token carries ``channels.ingest``. The body is validated
here (unknown fields refused, attachments as base64), then one call of ``cases.services``
stores it; resending the same ``external_id`` answers 200 with the first delivery's ids.
"""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, field_validator

from safeguard.accounts import selectors as accounts
from safeguard.accounts.api_guards import access
from safeguard.cases.contracts import AttachmentIn, SenderIn
from safeguard.channels import services
from safeguard.channels.permissions import INGEST
from safeguard.web.bounds import RANGE_TEXT, BoundedAwareDatetime
from safeguard.web.errors import PermissionDenied

router = Router(tags=["channels"])

MAX_ATTACHMENTS = 10


class SenderSchema(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=32)
    name: str = Field("", max_length=200)
    customer_id: UUID | None = Field(
        None, description="The customer this integration already knows (service accounts only)")
    verified: bool = Field(
        False, description="The integration verified this sender itself (e.g. a signed-in "
        "customer): the message links to the profile holding exactly this address. Service "
        "accounts only; audited as verification method 'integration' (decision 0101).")


class AttachmentSchema(Schema):
    model_config = ConfigDict(extra="forbid")

    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    content_base64: str = Field(min_length=1, description="The file, base64-encoded")

    @field_validator("content_base64")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("content_base64 is not valid base64") from exc
        return value


class IngestMessageIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sender: SenderSchema
    text: str = Field("", max_length=100_000)
    subject: str = Field("", max_length=300)
    thread_ref: str = Field("", max_length=2000,
                            description="Continue a conversation this integration started")
    external_id: str = Field("", max_length=255, description="Your id: resending is idempotent")
    queue: str | None = Field(None, max_length=64, description="Queue slug; omit for default")
    occurred_at: BoundedAwareDatetime | None = Field(None, description=RANGE_TEXT)
    attachments: list[AttachmentSchema] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)


class InboundOut(Schema):
    case_id: UUID
    case_number: int
    interaction_id: UUID
    message_id: UUID
    created_case: bool
    duplicate: bool
    attachments: list[str] = Field(
        default_factory=list,
        description="Each attachment's outcome, in the order sent: screened (stored), withheld "
                    "(it contained a card number: nothing of it was stored) or quarantined "
                    "(it could not be screened: stored encrypted, held for review)")


@router.post("/messages", response={200: InboundOut, 201: InboundOut},
             auth=access(INGEST), summary="Ingest a customer message")
def message_ingest(request: HttpRequest, payload: IngestMessageIn) -> Status:
    """Store one customer message from an integration: 201 when new, 200 for a resend."""
    s = payload.sender
    principal = request.auth  # type: ignore[attr-defined]
    if (s.verified or s.customer_id is not None) and not (
            principal.via == "token"
            and accounts.user_get(user_id=principal.user_id).is_service_account):
        raise PermissionDenied("Only a service account's token may assert a sender's identity "
                               "(verified or customer_id).")
    result = services.api_message_receive(
        sender=SenderIn(email=s.email, phone=s.phone, name=s.name, customer_id=s.customer_id,
                        verified=s.verified),
        text=payload.text, subject=payload.subject, thread_ref=payload.thread_ref,
        external_id=payload.external_id, queue=payload.queue, occurred_at=payload.occurred_at,
        attachments=[AttachmentIn(filename=a.filename, content_type=a.content_type,
                                  content=base64.b64decode(a.content_base64))
                     for a in payload.attachments],
    )
    out = InboundOut(case_id=result.case_id, case_number=result.case_number,
                     interaction_id=result.interaction_id, message_id=result.message_id,
                     created_case=result.created_case, duplicate=result.duplicate,
                     attachments=list(result.attachments))
    return Status(200 if result.duplicate else 201, out)
