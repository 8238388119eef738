"""allauth adapters: no self sign-up, MFA secrets encrypted at rest, MFA cannot be removed."""

from __future__ import annotations

import base64
import os
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

_VERSION = "v1"
_AAD = b"safeguard.accounts.mfa-secret"


def _derive(material: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"safeguard mfa secrets v1").derive(material.encode())


def _mfa_key() -> bytes:
    """AES-256 key for MFA secrets: HKDF of SAFEGUARD_MFA_SECRET_KEY (required in production;
    elsewhere it falls back to the secret key)."""
    return _derive(settings.SAFEGUARD_MFA_SECRET_KEY or settings.SECRET_KEY)


def _decryption_keys() -> list[bytes]:
    """The current key first, then SAFEGUARD_MFA_SECRET_KEY_FALLBACKS (a key rotation)."""
    return [_mfa_key(), *(_derive(k) for k in settings.SAFEGUARD_MFA_SECRET_KEY_FALLBACKS)]


def encrypt_secret(text: str) -> str:
    """AES-256-GCM with a random nonce; the result is versioned for later key rotation."""
    nonce = os.urandom(12)
    ct = AESGCM(_mfa_key()).encrypt(nonce, text.encode(), _AAD)
    return f"{_VERSION}:{base64.urlsafe_b64encode(nonce + ct).decode()}"


def decrypt_secret(blob: str) -> str:
    version, _, payload = blob.partition(":")
    if version != _VERSION:
        raise ValueError("unknown MFA secret format")
    raw = base64.urlsafe_b64decode(payload)
    for key in _decryption_keys():
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD).decode()
        except InvalidTag:
            continue
    raise ValueError("MFA secret does not decrypt with the current or any fallback key")


class StaffAuthenticationBackend(AuthenticationBackend):
    """allauth's backend, refusing service accounts: they act through API tokens only, so no
    password (reset or otherwise) ever opens a session for one — nor keeps one open."""

    def user_can_authenticate(self, user: Any) -> bool:
        return bool(super().user_can_authenticate(user)
                    and not getattr(user, "is_service_account", False))


_LOGIN_EPOCH = "safeguard_login_epoch"


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """allauth reserves a slot of the ``login_failed`` limit before the password is checked
        (given back on success), in the durable store with atomic writes: concurrent guesses
        are all counted. A sign-in refused by the lockout — right password or not — is audited
        (issue 9 items 1 and 9)."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            from safeguard.accounts import services

            services.login_locked_out(
                identifier=str(credentials.get("email") or credentials.get("username") or ""))
            raise

    def pre_login(self, request: HttpRequest, user: Any, **kwargs: Any) -> HttpResponse | None:
        """After the password stage: remember the account's session epoch, so a disable (and
        re-enable) before the login completes voids this login in progress."""
        response = super().pre_login(request, user, **kwargs)
        if response is None:
            request.session[_LOGIN_EPOCH] = int(getattr(user, "session_epoch", 0))
        return response

    def login(self, request: HttpRequest, user: Any) -> None:
        """The last step of every sign-in (after the second factor): re-read the account; a
        user disabled meanwhile, or disabled and re-enabled (a new epoch), is refused and the
        refusal audited (issue 17 item 6, R-WORK-4)."""
        from allauth.core.exceptions import ImmediateHttpResponse

        from safeguard.accounts import services
        from safeguard.accounts.models import User

        fresh = User.objects.filter(pk=user.pk).values(
            "is_active", "is_service_account", "session_epoch").first()
        started = request.session.pop(_LOGIN_EPOCH, None)
        reason = ("account not found" if fresh is None else
                  "account disabled" if not fresh["is_active"] else
                  "service account" if fresh["is_service_account"] else
                  "account disabled during sign-in"
                  if started is None or started != fresh["session_epoch"] else "")
        if reason:
            if fresh is not None:
                services.login_refused(user_id=user.pk, reason=reason)
            request.session.flush()  # the pending login goes with it
            raise ImmediateHttpResponse(self.respond_user_inactive(request, user))
        super().login(request, user)

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Staff accounts are created by administrators (R-WORK-3), never by sign-up."""
        return False

    def send_password_reset_mail(self, user: Any, email: str, context: dict[str, Any]) -> None:
        """Service accounts have no password to reset: the mail is silently not sent (the
        page looks the same, so it tells nobody which addresses are service accounts)."""
        if getattr(user, "is_service_account", False):
            return
        super().send_password_reset_mail(user, email, context)


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        """TOTP secrets and recovery-code seeds never reach the database in clear."""
        return encrypt_secret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return decrypt_secret(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Staff must keep a second factor: the last TOTP/WebAuthn one cannot be removed."""
        if authenticator.type == Authenticator.Type.RECOVERY_CODES:
            return True
        others = Authenticator.objects.filter(
            user_id=authenticator.user_id,
            type__in=(Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN),
        ).exclude(pk=authenticator.pk)
        return others.exists()
