"""Demo data of the protection app: dev keys (with their warning) and one tokenized test card."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings

from safeguard.audit.contracts import Actor
from safeguard.protection import keyring, services

ORDER = 10  # before apps that store encrypted data


def load(*, say: Callable[[str], None]) -> None:
    actor = Actor.system("demo")
    if keyring.master_info() is None:
        if settings.SAFEGUARD_KEK_PROVIDER != "dev":
            say("Keys: not initialised; run `safeguard keys init` (docs/keys.md).")
            return
        services.keys_init(provider="dev", actor=actor)
        say("Keys: dev key-encryption key generated (demo only; see docs/keys.md).")
    # A published test card number (Visa test range), tokenized like any card.
    token = services.token_tokenize(pan="4111 1111 1111 1111", actor=actor).token
    say(f"Vault: test card tokenized as {token.token} ({token.brand} {token.masked}).")
