"""Demo data of the accounts app: one user per built-in role, TOTP pre-enrolled.

Deterministic: the same e-mail always gets the same TOTP secret, so ``safeguard totp EMAIL``
and the printed instructions stay valid across ``safeguard demo`` runs. Demo mode only.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.db import transaction

from safeguard.accounts import services
from safeguard.accounts.contracts import UserNotFound
from safeguard.accounts.models import User
from safeguard.audit.contracts import Actor

ORDER = 10
DEMO_PASSWORD = "Safeguard-demo-2026"  # noqa: S105 - published on purpose, demo mode only
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin@demo.safeguard.test", "Ada Admin", "administrator"),
    ("agent@demo.safeguard.test", "Alex Agent", "agent"),
    ("supervisor@demo.safeguard.test", "Sam Supervisor", "supervisor"),
    ("analyst@demo.safeguard.test", "Ines Analyst", "security_analyst"),
    ("privacy@demo.safeguard.test", "Priya Privacy", "privacy_officer"),
    ("compliance@demo.safeguard.test", "Colm Compliance", "compliance_manager"),
    ("auditor@demo.safeguard.test", "Aude Auditor", "auditor"),
)


def demo_totp_secret(email: str) -> str:
    """A fixed base32 TOTP secret per demo e-mail (never used outside demo mode)."""
    digest = hashlib.sha256(f"safeguard-demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode()


def _require_demo() -> None:
    if not (settings.DEMO or settings.TESTING):
        raise RuntimeError("demo users exist only in demo mode (SAFEGUARD_ENV=demo)")


@transaction.atomic
def load(*, say: Callable[[str], None] = print) -> None:
    """Create the demo users (idempotent) and set the organisation's demo contacts."""
    _require_demo()
    services.roles_ensure_builtin()
    actor = Actor.system("demo")
    for email, name, role in DEMO_USERS:
        if User.objects.filter(email=email).exists():
            continue
        view = services.user_create(actor=actor, email=email, full_name=name,
                                    password=DEMO_PASSWORD, roles=[role])
        user = User.objects.get(id=view.id)
        TOTP.activate(user, demo_totp_secret(email))
        RecoveryCodes.activate(user)
    services.organisation_update(
        actor=actor, name="Northwind Contact Centre (demo)", dpo_name="Dana Protection",
        dpo_email="dpo@demo.safeguard.test", security_hotline="+44 20 7946 0000",
        security_email="security@demo.safeguard.test")
    say(f"Demo users: {len(DEMO_USERS)} ready.")


def summary(*, say: Callable[[str], None] = print) -> None:
    """The demo users and how to sign in: printed after every load (issue 15), so it is the
    last thing on screen before the server starts."""
    say(f"Demo users (password for all: {DEMO_PASSWORD}):")
    for email, _, role in DEMO_USERS:
        say(f"  {role:<20} {email}")
    say("Second factor: each has TOTP enrolled; `safeguard totp EMAIL` prints the current code "
        "(the demo data directory only), `safeguard totp --secret EMAIL` the secret for an "
        "authenticator app.")


def current_totp(email: str) -> str:
    """The TOTP code a demo user's authenticator would show now."""
    _require_demo()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise UserNotFound(f"No user {email}.")
    auth = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if auth is None:
        raise UserNotFound(f"{email} has no TOTP authenticator.")
    secret = decrypt(auth.data["secret"])
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))
