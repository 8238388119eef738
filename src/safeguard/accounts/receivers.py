"""Authentication events into the audit log.

The one place this app listens to signals: Django and allauth announce sign-ins, failures and
MFA changes only that way. Each receiver is a thin adapter that records one event; no rule lives
here. Connected in AccountsConfig.ready().
"""

from __future__ import annotations

from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa import signals as mfa_signals
from django.contrib.auth import signals as auth_signals
from django.http import HttpRequest

from safeguard.accounts import services
from safeguard.accounts.models import User
from safeguard.accounts.services import identifier_fingerprint
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor


def _actor(user: Any) -> Actor:
    return Actor(kind="user", id=str(user.pk), label=user.email)


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit.record(action="auth.login", actor=_actor(user), subject=("user", user.pk))
    # allauth.usersessions indexed this session first (its receiver is connected earlier).
    session = getattr(request, "session", None)
    services.sessions_enforce_limit(user_id=user.pk,
                                    current_session_key=getattr(session, "session_key", None))


def on_logged_out(sender: Any, request: HttpRequest, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.record(action="auth.logout", actor=_actor(user), subject=("user", user.pk))


def on_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                    **kwargs: Any) -> None:
    typed = str(credentials.get("email") or credentials.get("username") or "")
    known = User.objects.filter(email__iexact=typed.strip()).values_list("id", flat=True).first()
    audit.record(
        action="auth.login_failed", actor=Actor.anonymous(), outcome="failure",
        subject=("user", known) if known else None,
        data={"identifier": identifier_fingerprint(typed), "known_account": known is not None},
    )


def on_mfa_added(sender: Any, request: HttpRequest, user: User, authenticator: Any,
                 **kwargs: Any) -> None:
    audit.record(action="mfa.enrolled", actor=_actor(user), subject=("user", user.pk),
                 data={"type": authenticator.type})
    if authenticator.type in ("totp", "webauthn") and request is not None:
        # Enrolling proved possession of the factor in this session: record it as passed, so
        # the enrolling session opens — and only this one (others must pass the factor).
        record_authentication(request, user, "mfa", type=authenticator.type,
                              id=authenticator.pk, enrolled=True)


def on_mfa_removed(sender: Any, request: HttpRequest, user: User, authenticator: Any,
                   **kwargs: Any) -> None:
    audit.record(action="mfa.removed", actor=_actor(user), subject=("user", user.pk),
                 data={"type": authenticator.type})
    services.tokens_note_factor_removed(user_id=user.pk)


def on_mfa_reset(sender: Any, request: HttpRequest, user: User, authenticator: Any,
                 **kwargs: Any) -> None:
    audit.record(action="mfa.recovery_codes_regenerated", actor=_actor(user),
                 subject=("user", user.pk))


def on_mfa_used(sender: Any, request: HttpRequest, user: User, authenticator: Any,
                reauthenticated: bool = False, **kwargs: Any) -> None:
    audit.record(action="auth.step_up" if reauthenticated else "auth.mfa_passed",
                 actor=_actor(user), subject=("user", user.pk),
                 data={"type": authenticator.type})


def on_mfa_failed(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    audit.record(action="auth.mfa_failed", actor=_actor(user), subject=("user", user.pk),
                 outcome="failure", data={"reauthentication": bool(kwargs.get("reauthentication"))})


def connect() -> None:
    auth_signals.user_logged_in.connect(on_logged_in, dispatch_uid="sg_audit_login")
    auth_signals.user_logged_out.connect(on_logged_out, dispatch_uid="sg_audit_logout")
    auth_signals.user_login_failed.connect(on_login_failed, dispatch_uid="sg_audit_login_failed")
    mfa_signals.authenticator_added.connect(on_mfa_added, dispatch_uid="sg_audit_mfa_added")
    mfa_signals.authenticator_removed.connect(on_mfa_removed, dispatch_uid="sg_audit_mfa_removed")
    mfa_signals.authenticator_reset.connect(on_mfa_reset, dispatch_uid="sg_audit_mfa_reset")
    mfa_signals.authenticator_used.connect(on_mfa_used, dispatch_uid="sg_audit_mfa_used")
    mfa_signals.authentication_failed.connect(on_mfa_failed, dispatch_uid="sg_audit_mfa_failed")
