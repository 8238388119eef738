"""Public contracts of the channels app: its errors and the outcomes its adapters hand back."""

from __future__ import annotations

from dataclasses import dataclass

from safeguard.web.errors import ApplicationError


class ChannelError(ApplicationError):
    """A channel refused its input; nothing was stored."""

    code = "channel-error"
    title = "The message cannot be accepted"


class SignatureError(ChannelError):
    """A webhook's signature is missing, malformed, stale, wrong or replayed."""

    status = 401
    code = "signature-invalid"
    title = "Webhook signature refused"


class SignatureMissing(SignatureError):
    code = "signature-missing"
    title = "Webhook signature missing"


class SignatureMalformed(SignatureError):
    status = 400
    code = "signature-malformed"
    title = "Webhook signature header is malformed"


class SignatureExpired(SignatureError):
    code = "signature-expired"
    title = "Webhook signature is outside the replay window"


class SignatureReplayed(SignatureError):
    status = 409
    code = "signature-replayed"
    title = "Webhook signature was already used"


class WebhookNotConfigured(ChannelError):
    """No shared secret is configured: every webhook is refused (deny by default)."""

    status = 503
    code = "webhook-not-configured"
    title = "Webhooks are not configured"


class ImapNotConfigured(ChannelError):
    """SAFEGUARD_IMAP_* is incomplete, or would send the password in clear."""

    status = 503
    code = "imap-not-configured"
    title = "IMAP polling is not configured"


class PayloadInvalid(ChannelError):
    """The body is not valid JSON or does not match the event schema."""

    status = 422
    code = "payload-invalid"
    title = "The webhook payload is invalid"


class PayloadTooLarge(PayloadInvalid):
    status = 413
    code = "payload-too-large"
    title = "The webhook payload is too large"


class RecipientUnknown(ChannelError):
    """No queue is mapped to this e-mail address (SAFEGUARD_EMAIL_QUEUES)."""

    status = 404
    code = "recipient-unknown"
    title = "No queue receives mail for this address"


class EmailUnparseable(ChannelError):
    """An e-mail beyond the parsing bounds (header size, MIME depth or parts): retrying cannot
    help, so the relay gets a permanent refusal (``smtp_reply``)."""

    status = 422
    code = "email-unparseable"
    title = "The message cannot be parsed"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)
        self.reason = reason

    @property
    def smtp_reply(self) -> str:
        return f"554 5.6.0 Message refused: {self.reason}"


class RateLimited(ChannelError):
    """Too many requests from one client or to one recipient in the window."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int = 60) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class DeliverySuppressed(ChannelError):
    """An outbound e-mail was deliberately not sent (loop safety or the auto-reply limit)."""

    status = 409
    code = "delivery-suppressed"
    title = "Delivery suppressed"


@dataclass(frozen=True)
class EmailOutcome:
    """What became of one inbound e-mail: stored, a duplicate, or ignored (with the reason)."""

    status: str  # "stored" | "duplicate" | "ignored"
    reason: str = ""
    case_number: str = ""
    case_id: str = ""
    message_id: str = ""  # the RFC 5322 Message-ID, never the body

    @property
    def stored(self) -> bool:
        return self.status == "stored"
