"""Every channel live in the demo (issue 15, item 10): what a newcomer needs to try each one.

Chat and the contact form are public pages. E-mail: demo mode routes the Northwind addresses to
their queues (settings ``DEMO_EMAIL_QUEUES``) and ``safeguard demo`` serves SMTP on loopback. Voice:
demo mode signs webhooks with a random secret kept in the data directory. REST ingest: an
integration service account holding a custom role with ``channels.ingest`` only, and an API
token scoped to it, whose secret is kept in the data directory (demo only; published like the
demo passwords) so every ``safeguard demo`` run can print it again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from safeguard.accounts import selectors as accounts_selectors
from safeguard.accounts import services as accounts
from safeguard.accounts.contracts import RoleNotFound, UserNotFound
from safeguard.audit.contracts import Actor

INTEGRATION_EMAIL = "crm-integration@demo.safeguard.test"
INTEGRATION_ROLE = "integration"
INTEGRATION_PERMISSION = "channels.ingest"
TOKEN_FILE = "demo_api_token"  # noqa: S105 - a file name (in DATA_DIR, 0600), not a secret
TOKEN_DAYS = 90


@dataclass(frozen=True)
class IntegrationToken:
    """The demo's REST ingest credential: who it acts as, with which role, and its secret."""

    email: str
    role: str
    permissions: tuple[str, ...]
    secret: str


def _token_path() -> Path:
    return Path(settings.DATA_DIR) / TOKEN_FILE


def integration_ensure() -> IntegrationToken | None:
    """The integration service account, its role and token, created once (idempotent); None when
    the token's secret is no longer on file (a data directory from before this step keeps its
    data; delete the account's token by hand and run again to mint a new one)."""
    if not (settings.DEMO or settings.TESTING):
        raise RuntimeError("the demo integration token exists only in demo mode")
    actor = Actor.system("demo")
    try:
        accounts_selectors.role_get(slug=INTEGRATION_ROLE)
    except RoleNotFound:
        accounts.role_create(
            actor=actor, slug=INTEGRATION_ROLE, name="Integration (REST ingest)",
            description="Service accounts of systems that submit customer messages through "
                        "POST /api/v1/channels/messages; nothing else.",
            permissions=[INTEGRATION_PERMISSION])
    path = _token_path()
    try:
        user = accounts_selectors.user_get_by_email(email=INTEGRATION_EMAIL)
    except UserNotFound:
        user = accounts.user_create(actor=actor, email=INTEGRATION_EMAIL,
                                    full_name="CRM integration (demo)",
                                    roles=[INTEGRATION_ROLE], is_service_account=True)
        issued = accounts.token_issue(actor=actor, user_id=user.id, name="demo CRM integration",
                                      scopes=[INTEGRATION_PERMISSION],
                                      expires_in_days=min(TOKEN_DAYS,
                                                          settings.SAFEGUARD_API_TOKEN_MAX_DAYS))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(issued.secret)
    if not path.exists():
        return None
    return IntegrationToken(email=INTEGRATION_EMAIL, role=INTEGRATION_ROLE,
                            permissions=(INTEGRATION_PERMISSION,),
                            secret=path.read_text().strip())


def channels_summary(*, say: Callable[[str], None], port: int,
                     token: IntegrationToken | None) -> None:
    """How to reach each channel of the running demo (printed before the demo users)."""
    base = f"http://127.0.0.1:{port}"
    say("Channels (all live while the demo serves):")
    say(f"  web chat      {base}/chat/")
    say(f"  contact form  {base}/contact/")
    addresses = ", ".join(sorted(settings.SAFEGUARD_EMAIL_QUEUES)) or "(none routed)"
    if settings.SAFEGUARD_DEMO_SMTPD:
        say(f"  e-mail        SMTP on {settings.SAFEGUARD_SMTPD_HOST}:"
            f"{settings.SAFEGUARD_SMTPD_PORT} for {addresses}")
    else:
        say("  e-mail        SMTP off (SAFEGUARD_DEMO_SMTPD=0); `safeguard smtpd` serves it")
    secret_file = Path(settings.DATA_DIR) / "webhook_secret"
    where = secret_file if secret_file.exists() else "SAFEGUARD_WEBHOOK_SECRET"
    if settings.SAFEGUARD_WEBHOOK_SECRETS:
        say(f"  voice         POST {base}/channels/voice/events, header X-Safeguard-Signature "
            f"(HMAC-SHA256, docs/channels.md) with the secret in {where}")
    if token is None:
        say("  REST ingest   no token on file for this data directory (make clean, then "
            "make demo)")
    else:
        say(f"  REST ingest   POST {base}/api/v1/channels/messages as {token.email} "
            f"(role {token.role}: {', '.join(token.permissions)} only)")
        say(f"                Authorization: Bearer {token.secret}")
