"""Pydantic schemas at the edge: a webhook body either matches one of these exactly or is
refused with 422 before anything else runs (unknown fields are refused too)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator
from pydantic import ValidationError as PydanticValidationError

from safeguard.cases.contracts import RecordingIn
from safeguard.cases.enums import RetentionCategory
from safeguard.channels.contracts import PayloadInvalid
from safeguard.web.bounds import BoundedAwareDatetime

CALL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class _CallEvent(_Strict):
    call_id: str = Field(pattern=CALL_ID, description="The telephony platform's call id")


class CallQueued(_CallEvent):
    type: Literal["call.queued"]
    at: BoundedAwareDatetime
    queue: str = Field("", max_length=64, description="Queue slug; empty = default")
    caller_phone: str = Field("", max_length=32)


class CallAnswered(_CallEvent):
    type: Literal["call.answered"]
    at: BoundedAwareDatetime
    agent_email: str = Field("", max_length=254)


class CallEnded(_CallEvent):
    type: Literal["call.ended"]
    at: BoundedAwareDatetime


class Recording(_Strict):
    uri: str = Field(min_length=1, max_length=1000)
    duration_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    media_type: str = Field("audio/wav", max_length=100)
    retention_category: str = Field("", max_length=40)

    @field_validator("retention_category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value and value not in RetentionCategory.values:
            raise ValueError(f"use one of {', '.join(RetentionCategory.values)}")
        return value


class Transcript(_CallEvent):
    type: Literal["transcript"]
    text: str = Field("", max_length=500_000)
    recording: Recording | None = None


class PaymentStarted(_CallEvent):
    type: Literal["payment.started"]
    at: BoundedAwareDatetime


class PaymentStopped(_CallEvent):
    type: Literal["payment.stopped"]
    at: BoundedAwareDatetime


VoiceEvent = Annotated[
    CallQueued | CallAnswered | CallEnded | Transcript | PaymentStarted | PaymentStopped,
    Field(discriminator="type"),
]
_voice_adapter: TypeAdapter[Any] = TypeAdapter(VoiceEvent)


def voice_event_parse(body: bytes) -> dict[str, Any]:
    """The keyword arguments of ``services.voice_event`` for a JSON body, or PayloadInvalid."""
    try:
        event = _voice_adapter.validate_json(body)
    except PydanticValidationError as exc:
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in exc.errors(include_input=False)]
        raise PayloadInvalid(f"{len(errors)} invalid field(s).", errors=errors) from exc
    kwargs: dict[str, Any] = {"kind": event.type, "call_id": event.call_id}
    if isinstance(event, CallQueued):
        kwargs.update(at=event.at, queue=event.queue, caller_phone=event.caller_phone)
    elif isinstance(event, CallAnswered):
        kwargs.update(at=event.at, agent_email=event.agent_email)
    elif isinstance(event, Transcript):
        rec = event.recording
        kwargs.update(transcript=event.text, recording=RecordingIn(
            uri=rec.uri, duration_seconds=rec.duration_seconds, media_type=rec.media_type,
            retention_category=rec.retention_category) if rec else None)
    else:
        kwargs.update(at=event.at)
    return kwargs
