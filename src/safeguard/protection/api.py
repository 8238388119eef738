"""API of the protection app: tokenize, token metadata, detokenize (gateway hand-off), scan,
key status and rotation. Every operation declares its permission (``auth=access(...)``)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from pydantic import Field

from safeguard.accounts import selectors as accounts
from safeguard.accounts.api_guards import access
from safeguard.accounts.contracts import Principal
from safeguard.accounts.guards import has_recent_mfa
from safeguard.protection import permissions as perms
from safeguard.protection import selectors, services
from safeguard.protection.contracts import StepUpRequired, TokenizeRateLimited, TokenView
from safeguard.protection.enums import KeysetName
from safeguard.protection.scanning import scanner
from safeguard.web.errors import PermissionDenied
from safeguard.web.problem import problem_response

router = Router(tags=["protection"])


class TokenizeIn(Schema):
    pan: str = Field(min_length=1, max_length=64,
                     description="Card number; spaces and dashes allowed. Never logged.")


class TokenOut(Schema):
    token: str
    brand: str
    last4: str
    masked: str
    created_at: datetime


class TokenizedCardOut(Schema):
    token: str
    brand: str
    last4: str
    masked: str


class TokenizeOut(Schema):
    """The same answer for a new and a known card (no ``created`` flag, no creation time), so
    the endpoint does not tell whether a card number was seen before (issue 9 §3)."""

    token: TokenizedCardOut


class DetokenizeIn(Schema):
    reason: str = Field(min_length=1, max_length=500, description="Kept in the audit log.")


class DetokenizeOut(Schema):
    token: str
    pan: str
    brand: str
    last4: str


class ScanIn(Schema):
    text: str = Field(max_length=200_000)
    types: list[str] | None = None


class FindingOut(Schema):
    type: str
    start: int
    end: int
    score: float


class KeyOut(Schema):
    keyset: str
    key_id: int
    primary: bool
    status: str
    created_at: datetime | None
    age_days: int | None
    overdue: bool


class KeysStatusOut(Schema):
    initialised: bool
    provider: str
    sealed: bool
    rotation_days: int
    keys: list[KeyOut]
    warnings: list[str]


class RotateIn(Schema):
    keysets: list[str] = Field(default_factory=lambda: [KeysetName.DATA.value], min_length=1)


class JobOut(Schema):
    id: int
    status: str
    keysets: list[str]


def _token_out(t: TokenView) -> TokenOut:
    return TokenOut(token=t.token, brand=t.brand, last4=t.last4, masked=t.masked,
                    created_at=t.created_at)


def _principal(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


@router.post("/tokens", response=TokenizeOut, auth=access(perms.TOKENIZE),
             summary="Tokenize a card number (service accounts; rate-limited; audited)")
def token_tokenize(request: HttpRequest, body: TokenizeIn) -> HttpResponse | TokenizeOut:
    """Always 200 with the same shape for a new and a known card. Only a service account's API
    token may call it (403 otherwise), at most SAFEGUARD_TOKENIZE_PER_MINUTE calls a minute per
    caller (429 problem with Retry-After). Every call is in the audit log."""
    principal = _principal(request)
    service = (principal.via == "token"
               and accounts.user_get(user_id=principal.user_id).is_service_account)
    try:
        token = services.token_tokenize_api(pan=body.pan, actor=principal.actor,
                                            service_account=service)
    except TokenizeRateLimited as exc:
        response = problem_response(request, status=exc.status, code=exc.code,
                                    title=exc.title, detail=exc.detail, **exc.extra)
        response["Retry-After"] = str(exc.retry_after)
        return response
    return TokenizeOut(token=TokenizedCardOut(token=token.token, brand=token.brand,
                                              last4=token.last4, masked=token.masked))


@router.get("/tokens/{token}", response=TokenOut, auth=access(perms.TOKEN_METADATA),
            summary="Token metadata (brand, last four)")
def token_metadata(request: HttpRequest, token: str) -> TokenOut:
    return _token_out(selectors.token_metadata(token=token))


@router.post("/tokens/{token}/detokenize", response=DetokenizeOut,
             auth=access(perms.DETOKENIZE, step_up_in_service=True),
             summary="Reveal the card number (gateway hand-off)")
def token_detokenize(request: HttpRequest, token: str, body: DetokenizeIn,
                     response: HttpResponse) -> DetokenizeOut:
    """For the payment gateway's service account. A person needs a session with a second
    factor passed within the step-up window; a person's own API token is refused."""
    principal = _principal(request)
    human = principal.via != "token"
    if not human and not accounts.user_get(user_id=principal.user_id).is_service_account:
        raise PermissionDenied("Only a service account's token may detokenize; people use a "
                               "signed-in session with a fresh second factor.")
    try:
        revealed = services.token_detokenize(
            token=token, actor=principal.actor, reason=body.reason, human=human,
            step_up_fresh=human and has_recent_mfa(request))
    except StepUpRequired as exc:
        exc.extra.setdefault("reauthenticate", "/account/mfa/reauthenticate/")
        raise
    response["Cache-Control"] = "no-store"
    return DetokenizeOut(token=revealed.token.token, pan=revealed.pan,
                         brand=revealed.token.brand, last4=revealed.token.last4)


@router.post("/scan", response=list[FindingOut], auth=access(perms.SCAN),
             summary="Find sensitive data in a text (types and offsets, never values)")
def scan(request: HttpRequest, body: ScanIn) -> list[FindingOut]:
    from safeguard.protection.scanner import ScannerError

    try:
        found = scanner().scan(body.text, types=body.types)
    except ScannerError as exc:
        from safeguard.protection.contracts import ProtectionError

        raise ProtectionError(str(exc)) from None
    return [FindingOut(type=f.type, start=f.start, end=f.end, score=f.score) for f in found]


@router.get("/keys", response=KeysStatusOut, auth=access(perms.KEYS_VIEW),
            summary="Key status and ages against the rotation policy")
def keys_status(request: HttpRequest) -> KeysStatusOut:
    status = selectors.keys_status()
    return KeysStatusOut(
        initialised=status.initialised, provider=status.provider, sealed=status.sealed,
        rotation_days=status.rotation_days, warnings=list(status.warnings),
        keys=[KeyOut(keyset=k.keyset, key_id=k.key_id, primary=k.primary, status=k.status,
                     created_at=k.created_at, age_days=k.age_days, overdue=k.overdue)
              for k in status.keys])


@router.post("/keys/rotate", response={202: JobOut},
             auth=access(perms.KEYS_MANAGE, step_up_in_service=True),
             summary="Rotate keysets; re-encryption runs as a job")
def keys_rotate(request: HttpRequest, body: RotateIn) -> Status:
    principal = _principal(request)
    if principal.via != "token" and not has_recent_mfa(request):
        raise StepUpRequired("Rotating keys needs a second factor passed within the step-up "
                             "window: re-authenticate.",
                             reauthenticate="/account/mfa/reauthenticate/")
    job = services.keys_rotate(keysets=body.keysets, actor=principal.actor)
    return Status(202, JobOut(id=job.id, status=job.status, keysets=list(job.keysets)))
