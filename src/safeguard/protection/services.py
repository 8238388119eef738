"""Public services of the protection app: every write and every rule (STYLE.md).

Other apps call these as ``protection.screen(...)``; the model fields other apps use live in
``safeguard.protection.fields``. The implementation is split by sub-domain: ``screening``,
``vault``, ``keyring``/``kek``, ``rotation``, ``rescan``, ``guard``, ``scanning``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable, Mapping

import tink
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from tink import aead

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.protection import (
    blind,
    friendly,
    keyring,
    rescan,
    rotation,
    scanning,
    screening,
    throttle,
    vault,
)
from safeguard.protection.contracts import (
    Detokenized,
    IssuedShares,
    JobView,
    RescanView,
    Screened,
    Tokenized,
    TokenizeRateLimited,
    TokenizeRefused,
    TokenView,
    UnsealResult,
)
from safeguard.protection.enums import JobStatus
from safeguard.protection.guard import check_instance
from safeguard.protection.models import RotationJob
from safeguard.protection.scanner import Finding, KnownValues

__all__ = [
    "card_numbers_in",
    "card_refs_for_people",
    "check_instance",
    "findings_for_display",
    "identifier_candidates",
    "identifier_hash",
    "identifier_token",
    "is_identifier_hash",
    "keys_age_check",
    "keys_init",
    "keys_reencrypt",
    "keys_rotate",
    "keys_seal",
    "keys_unseal",
    "known_values",
    "mask_pans",
    "redact_for_logs",
    "redact_for_siem",
    "rescan_run",
    "screen",
    "stash_open",
    "stash_seal",
    "throttle_count",
    "throttle_key",
    "throttle_used",
    "token_detokenize",
    "token_tokenize",
    "token_tokenize_api",
]


def screen(
    text: str,
    *,
    field: str,
    customer: Mapping[str, Iterable[str]] | KnownValues | None = None,
) -> Screened:
    """Apply ``field``'s policy to ``text``: cards tokenized, the rest masked/hashed/dropped/kept.

    Nothing upstream of this call may be persisted; the returned text holds no card number.
    """
    return screening.screen(text, field=field, customer=customer)


def findings_for_display(text: str, *,
                         customer: Mapping[str, Iterable[str]] | KnownValues | None = None
                         ) -> list[Finding]:
    """E-mail addresses, phone numbers and the customer's known values in stored text, for
    masking on display (issue 15, R-DATA-2); reads nothing, stores nothing."""
    return screening.findings_for_display(text, customer=customer)


def known_values(values: Mapping[str, Iterable[str]]) -> KnownValues | None:
    """One customer's known values compiled into a reusable matcher (Aho-Corasick automata
    and phone variants): build it once per profile and pass it to :func:`findings_for_display`
    or :func:`screen` for every text of that customer — building it is most of a short text's
    scan (issue 10: the case view rebuilt it for each of a thread's messages). ``None`` when
    there are no values."""
    return KnownValues(values) if values else None


def token_tokenize(*, pan: str, actor: Actor) -> Tokenized:
    """Tokenize a card number: the same number always yields the same token; audited. For
    trusted callers (demo loader, CLI, tests); the API goes through :func:`token_tokenize_api`."""
    return vault.tokenize(pan=pan, actor=actor, source="api")


def token_tokenize_api(*, pan: str, actor: Actor, service_account: bool) -> TokenView:
    """Tokenize for an API caller without making the vault a card-number oracle (issue 9 §3):
    only a service account's token may call it (refused and audited otherwise); each caller is
    limited to SAFEGUARD_TOKENIZE_PER_MINUTE calls (429, the first refusal of a window audited);
    and the answer is the same for a new and a known card — no ``created`` flag, no creation
    time — so only the audit log knows which it was."""
    if not service_account:
        audit.record(action="vault.tokenize_denied", actor=actor, outcome="denied",
                     data={"why": "not a service account"})
        raise TokenizeRefused("Tokenizing through the API is for service accounts (payment "
                              "gateway, IVR); card numbers staff receive are tokenized by "
                              "screening.")
    limit = settings.SAFEGUARD_TOKENIZE_PER_MINUTE
    used, retry = throttle.count(scope="tokenize", key=f"{actor.kind}:{actor.id}",
                                 window_seconds=60)
    if used > limit:
        if used == limit + 1:  # one event per window: a flood cannot flood the log
            audit.record(action="vault.tokenize_denied", actor=actor, outcome="denied",
                         data={"why": "rate limit", "limit_per_minute": limit})
        raise TokenizeRateLimited(f"At most {limit} tokenize calls a minute; try again later.",
                                  retry_after=retry)
    return vault.tokenize(pan=pan, actor=actor, source="api").token


def token_detokenize(*, token: str, actor: Actor, reason: str, human: bool,
                     step_up_fresh: bool) -> Detokenized:
    """Reveal the card number behind a token (gateway hand-off): step-up for humans, a reason
    from everyone, and an audit event for every attempt, refused or not."""
    return vault.detokenize(token=token, actor=actor, reason=reason, human=human,
                            step_up_fresh=step_up_fresh)


def keys_init(*, provider: str, actor: Actor, shares: int | None = None,
              threshold: int | None = None, kms_uri: str = "") -> IssuedShares | None:
    """Create the KEK record and keysets once; the local provider returns shares to show once."""
    return keyring.keys_init(provider=provider, actor=actor, shares=shares, threshold=threshold,
                             kms_uri=kms_uri)


def keys_unseal(*, mnemonics: Iterable[str], actor: Actor) -> UnsealResult:
    """Recombine M custodian shares into the KEK for this machine; fewer are refused."""
    return keyring.keys_unseal(mnemonics=mnemonics, actor=actor)


def keys_seal(*, actor: Actor) -> bool:
    """Remove this machine's unsealed KEK file."""
    return keyring.keys_seal(actor=actor)


def keys_rotate(*, keysets: Iterable[str], actor: Actor, enqueue: bool = True) -> JobView:
    """Add a new primary key to each keyset and queue the re-encryption job for old rows."""
    names = list(dict.fromkeys(keysets))
    with transaction.atomic():
        keyring.keys_rotate(keysets=names, actor=actor)
        job = rotation.job_create(keysets=names)
        if enqueue:
            from safeguard.protection import tasks

            transaction.on_commit(lambda: tasks.reencrypt(job.id))
    return rotation.job_view(job)


def keys_reencrypt(*, job_id: int, batch_size: int | None = None,
                   max_batches: int | None = None,
                   progress: rotation.Progress | None = None,
                   actor: Actor | None = None) -> JobView:
    """Run or resume a re-encryption job; safe to run twice (rows already moved are skipped).

    It finishes only after the keyset cache period and a final sweep that found nothing under
    an old key; a job another live runner holds is refused, a stale one is resumed (audited).
    """
    return rotation.job_run(job_id=job_id, batch_size=batch_size, max_batches=max_batches,
                            progress=progress, actor=actor)


def keys_age_check() -> list[str]:
    """Daily: audit primary keys older than the rotation policy and resume unfinished jobs."""
    from safeguard.protection import selectors, tasks

    status = selectors.keys_status()
    overdue = [f"{k.keyset}:{k.key_id}" for k in status.overdue]
    if overdue:
        audit.record(action="keys.rotation_overdue", actor=Actor.system("protection.keys"),
                     outcome="failure",
                     data={"keys": overdue, "policy_days": settings.SAFEGUARD_KEY_ROTATION_DAYS,
                           "checked_at": timezone.now().isoformat()})
    for job in RotationJob.objects.exclude(status=JobStatus.DONE):
        if job.status != JobStatus.RUNNING or rotation.job_is_stale(job):
            tasks.reencrypt(job.id)
    return overdue


def rescan_run(*, fix: bool, actor: Actor, restart: bool = False,
               only: list[str] | None = None, batch_size: int | None = None,
               max_batches: int | None = None,
               progress: rescan.Progress | None = None) -> RescanView:
    """Scan stored text for card numbers (resumable); with ``fix`` tokenize them in place."""
    record = rescan.run_start(fix=fix, restart=restart)
    return rescan.run(run_id=record.id, actor=actor, batch_size=batch_size, only=only,
                      max_batches=max_batches, progress=progress)


def identifier_hash(value: str, *, purpose: str) -> str:
    """The keyed hash an equality-only identifier is stored as (R-OPS-2, R-DATA-1): letters
    only, so nothing readable is kept and no identifier can make a save fail the no-PAN guard."""
    return blind.identifier_hash(value, purpose=purpose)


def identifier_candidates(value: str, *, purpose: str) -> list[str]:
    """Every stored form ``value`` may have (one per index key): look up with ``__in``."""
    return blind.identifier_candidates(value, purpose=purpose)


def is_identifier_hash(value: str) -> bool:
    """Whether ``value`` is already a stored identifier hash."""
    return blind.is_identifier_hash(value)


def identifier_token(value: str, *, purpose: str, length: int = 26) -> str:
    """A short letters-only keyed token, for identifiers we mint again from our own row ids."""
    return blind.identifier_token(value, purpose=purpose, length=length)


def card_numbers_in(text: str) -> int:
    """How many card numbers the no-PAN guard finds in ``text`` (Luhn + IIN, at any score, as
    the guard refuses them); nothing is tokenized or stored. For content that is withheld
    rather than stored when it holds one (attachments, R-OPS-2)."""
    return len(scanning.find_pans(text))


def throttle_count(*, scope: str, key: str, window_seconds: int, now: float | None = None
                   ) -> tuple[int, int]:
    """Count one event in a fixed-window counter of the security-state store: ``(events in
    this window, seconds until it ends)``. Keys are keyed HMACs (issue 17 item 9)."""
    return throttle.count(scope=scope, key=key, window_seconds=window_seconds, now=now)


def throttle_used(*, scope: str, key: str, window_seconds: int, now: float | None = None) -> int:
    """Events counted for ``key`` in the current window of ``throttle_count``."""
    return throttle.used(scope=scope, key=key, window_seconds=window_seconds, now=now)


def throttle_key(scope: str, key: str, window_seconds: int, at: float) -> str:
    """The cache key of a ``throttle_count`` counter (for the tests of keyed keys)."""
    return throttle.key_for(scope, key, window_seconds, at)


def card_refs_for_people(text: str) -> str:
    """Stored text as a person may read it: tokenized cards without their vault token (the
    tokens are deterministic, so showing them would make screening a card-number oracle)."""
    return screening.card_refs_for_people(text)


def text_for_customers(text: str) -> str:
    """Stored (screened) text in plain words for a customer's screen, an outgoing e-mail or a
    list row: "card ending 1111", a typed expiry or CVV gone, "(phone number)" for a hashed
    one; never a vault token or an internal placeholder (issue 15, item 7)."""
    return friendly.for_customers(text)


def mask_pans(text: str) -> str:
    """Mask card numbers in a value nobody screened (User-Agent, labels) before it is stored."""
    return scanning.mask_pans(text)


def redact_for_logs(text: str) -> str:
    """Mask every log-sensitive type (``SAFEGUARD_LOG_REDACT_TYPES``) in a log line.

    Meant for ``safeguard.ops.logging`` (its Luhn-only ``redact_text`` is the floor);
    ``scanning.log_redact_processor`` is the structlog processor form.
    """
    return scanning.redact_for_logs(text)


def redact_for_siem(text: str) -> str:
    """Mask every type in ``SAFEGUARD_SIEM_MASK_TYPES`` in a free-text field of an exported audit
    event (the SIEM field policy, docs/siem.md); the default SAFEGUARD_SIEM_TEXT_MASKER."""
    return scanning.redact_for_siem(text)


_STASH_AD = b"safeguard:stash:v1:"


def stash_seal(plaintext: bytes, *, context: str) -> str:
    """Encrypt a short-lived stash (a form held across step-up) under the ``data`` keyset, bound
    to ``context`` (associated data); text-safe for a session. Raises KeysError when the keys
    are not available (callers then keep nothing)."""
    blob = keyring.data_aead().encrypt(plaintext, _STASH_AD + context.encode())
    return base64.urlsafe_b64encode(blob).decode("ascii")


def stash_open(sealed: str, *, context: str) -> bytes | None:
    """The plaintext of ``stash_seal``; None when it does not decrypt under ``context`` (tampered,
    another user's, or its key is gone)."""
    return _stash_decrypt(sealed, context=context, primitive=keyring.data_aead)


def keys_forget_cached() -> None:
    """Forget the keysets this process holds unwrapped (after the database was swapped for a
    restored copy, decision 0276): the next use reads the restored rows."""
    keyring.reset_caches()


def stash_export() -> dict[str, str]:
    """The wrapped ``data`` keyset and the KEK's identity and check value, for a backup's header
    (decision 0276); no key in it."""
    return keyring.data_export()


def stash_open_exported(sealed: str, *, context: str, export: dict[str, str]) -> bytes | None:
    """``stash_open`` with an exported ``data`` keyset (``stash_export``) instead of the
    database's: a backup opens on an empty database with the KEK present. None when it does not
    decrypt; KeysError when the KEK present is not the one the keyset was wrapped with."""
    primitive = keyring.data_aead_exported(export)
    return _stash_decrypt(sealed, context=context, primitive=lambda: primitive)


def _stash_decrypt(sealed: str, *, context: str, primitive: Callable[[], aead.Aead]
                   ) -> bytes | None:
    """The plaintext of a stash under ``primitive`` (called once the text decodes); None when
    it does not decode or decrypt."""
    try:
        blob = base64.urlsafe_b64decode(sealed.encode("ascii"))
        return primitive().decrypt(blob, _STASH_AD + context.encode())
    except (tink.TinkError, binascii.Error, ValueError, UnicodeError):
        return None
