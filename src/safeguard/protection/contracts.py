"""Public contracts of the protection app: frozen views handed out and the app's errors.

No view carries a card number except :class:`Detokenized`, which exists only for the
payment-gateway hand-off and is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from safeguard.web.errors import ApplicationError, Conflict, NotFound, PermissionDenied

MASK_DOTS = "••••"


@dataclass(frozen=True)
class TokenView:
    """A vault token with its display metadata (PCI display rule: brand and last four only)."""

    token: str
    brand: str
    last4: str
    created_at: datetime

    @property
    def masked(self) -> str:
        """``•••• 1111``: the most of the number any screen shows."""
        return f"{MASK_DOTS} {self.last4}"


@dataclass(frozen=True)
class Tokenized:
    """The outcome of tokenizing one card number: ``created`` is False for a known card."""

    token: TokenView
    created: bool


@dataclass(frozen=True)
class Detokenized:
    """The card number behind a token, for the gateway hand-off only; never log or store it."""

    token: TokenView
    pan: str

    def __repr__(self) -> str:  # a stray log line or traceback must not print the number
        return f"Detokenized(token={self.token.token!r}, pan='{MASK_DOTS} {self.token.last4}')"


@dataclass(frozen=True)
class ScreenedFinding:
    """One finding after screening: ``start``/``end`` point into :attr:`Screened.text`."""

    type: str
    action: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Screened:
    """Text safe to store under a field's policy: the only thing a service may persist."""

    text: str
    findings: tuple[ScreenedFinding, ...] = ()
    tokens: tuple[TokenView, ...] = ()
    field: str = ""
    policy_version: int = 0


@dataclass(frozen=True)
class KeyInfo:
    """One key of a keyset, with its age against the rotation policy (governance evidence)."""

    keyset: str
    key_id: int
    primary: bool
    status: str
    created_at: datetime | None
    age_days: int | None
    overdue: bool


@dataclass(frozen=True)
class JobView:
    id: int
    status: str
    keysets: tuple[str, ...]
    scanned: int
    rewritten: int
    models_done: tuple[str, ...]
    created_at: datetime
    finished_at: datetime | None
    error: str
    passes: int = 0
    runner: str = ""
    stale: bool = False  # "running" but its runner is gone (killed): resume it


@dataclass(frozen=True)
class KeysStatus:
    """What `safeguard keys status` reports."""

    initialised: bool
    provider: str
    sealed: bool
    rotation_days: int
    created_at: datetime | None
    threshold: int | None = None
    shares: int | None = None
    kms_uri: str = ""
    keys: tuple[KeyInfo, ...] = ()
    jobs: tuple[JobView, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def overdue(self) -> tuple[KeyInfo, ...]:
        return tuple(k for k in self.keys if k.primary and k.overdue)


@dataclass(frozen=True)
class IssuedShares:
    """Custodian shares from `keys init` with the local provider: shown once, never stored."""

    shares: tuple[str, ...]
    threshold: int

    def __repr__(self) -> str:
        return f"IssuedShares(<{len(self.shares)} shares hidden>, threshold={self.threshold})"


@dataclass(frozen=True)
class UnsealResult:
    path: str
    on_tmpfs: bool
    shares_used: int


@dataclass(frozen=True)
class RescanFindingView:
    """A card number found in stored text: where it is, never what it is."""

    model: str
    pk: str
    field: str
    type: str
    start: int
    end: int
    fixed: bool


@dataclass(frozen=True)
class RescanView:
    id: int
    status: str
    fix: bool
    scanned: int
    findings: tuple[RescanFindingView, ...] = field(default_factory=tuple)
    models_done: tuple[str, ...] = ()
    created_at: datetime | None = None
    finished_at: datetime | None = None


# --- errors ---------------------------------------------------------------------------------


class ProtectionError(ApplicationError):
    code = "protection-error"
    title = "Data protection refused the request"


class PanRefused(ProtectionError):
    """A write would have stored a card number outside the vault (R-OPS-2); nothing was written."""

    code = "pan-refused"
    title = "Card numbers are never stored"


class InvalidCardNumber(ProtectionError):
    status = 422
    code = "invalid-card-number"
    title = "Not a valid card number"


class TokenNotFound(NotFound):
    code = "token-not-found"


class StepUpRequired(PermissionDenied):
    code = "step-up-required"
    title = "A fresh second factor is required"


class TokenizeRateLimited(ProtectionError):
    """Too many tokenize calls from one caller in the window (SAFEGUARD_TOKENIZE_PER_MINUTE)."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int = 60) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


class TokenizeRefused(PermissionDenied):
    code = "tokenize-service-accounts-only"
    title = "Only service accounts tokenize through the API"


class ReasonRequired(ProtectionError):
    status = 422
    code = "reason-required"
    title = "A reason is required"


class PolicyError(ProtectionError):
    """The screening policy file is malformed; the message names the entry."""

    code = "policy-error"
    title = "Invalid screening policy"


class KeysError(ProtectionError):
    code = "keys-error"
    title = "Key management refused the request"


class KeysNotInitialised(KeysError):
    status = 503
    code = "keys-not-initialised"
    title = "Keys are not initialised"


class KeysSealed(KeysError):
    status = 503
    code = "keys-sealed"
    title = "Keys are sealed"


class KeysAlreadyInitialised(Conflict):
    code = "keys-initialised"
    title = "Keys are already initialised"


class UnsealRefused(KeysError):
    code = "unseal-refused"
    title = "Unseal refused"


class KmsUnavailable(KeysError):
    status = 503
    code = "kms-unavailable"
    title = "The key management service is unavailable or not configured"


class CiphertextInvalid(Exception):
    """A stored ciphertext does not decrypt for its row: tampered, moved or keys lost (a 500)."""


class EncryptedFieldMisuse(TypeError):
    """An encrypted field was used in a way that would bypass row binding (update(), lookups)."""
