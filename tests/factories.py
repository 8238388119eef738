"""Test factories shared by the suite: staff users with roles and a known TOTP secret."""

from __future__ import annotations

import base64
import hashlib
import itertools
import time
from typing import Any

from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.test import Client

from safeguard.accounts import services
from safeguard.accounts.models import User
from safeguard.audit.contracts import Actor

PASSWORD = "correct-horse-battery-staple-42"
SYSTEM = Actor.system("tests")
_seq = itertools.count(1)


def totp_secret(email: str) -> str:
    return base64.b32encode(hashlib.sha256(email.encode()).digest()[:20]).decode()


def totp_code(email: str, at: float | None = None) -> str:
    """The code an authenticator app would show for the factory user at time ``at``."""
    now = time.time() if at is None else at
    return format_hotp_value(hotp_value(totp_secret(email), int(now) // 30))


def make_user(
    *, email: str | None = None, roles: tuple[str, ...] = (), mfa: bool = True,
    password: str = PASSWORD, **extra: Any,
) -> User:
    """A staff user holding ``roles``; with ``mfa`` a TOTP authenticator is enrolled."""
    email = email or f"user{next(_seq)}@example.test"
    view = services.user_create(actor=SYSTEM, email=email, password=password, roles=roles,
                                **extra)
    user = User.objects.get(id=view.id)
    if mfa:
        TOTP.activate(user, totp_secret(email))
    return user


def signed_in_client(user: User, *, mfa_at: float | None = None) -> Client:
    """A test client with a session that passed password + TOTP (at ``mfa_at``, default now)."""
    client = Client()
    client.force_login(user)
    session = client.session
    at = time.time() if mfa_at is None else mfa_at
    session["account_authentication_methods"] = [
        {"method": "password", "at": at, "email": user.email},
        {"method": "mfa", "at": at, "type": "totp", "id": 1},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


def ref_hash(value: str) -> str:
    """The stored form of a thread reference or external id (issue 8 item 3): a keyed hash."""
    from safeguard.protection.services import identifier_hash

    return identifier_hash(value, purpose="cases.message_ref")


def everything_stored() -> str:
    """Every value of every table, and every file of the data directory, as one text: what
    "no card number at rest" (R-OPS-2) is checked against. Binary values (ciphertext) are read
    as Latin-1 so a plain digit run inside them would still show."""
    import os
    from pathlib import Path

    from django.conf import settings
    from django.db import connection

    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview | bytearray):
                        parts.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value))
    data_dir = Path(settings.DATA_DIR)
    if data_dir.is_dir():
        for root, _, files in os.walk(data_dir):
            for name in files:
                try:
                    parts.append((Path(root) / name).read_bytes().decode("latin-1"))
                except OSError:
                    continue
    return "\n".join(parts)
