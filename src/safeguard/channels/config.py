"""Channel settings read at call time (never at import), with the derived values in one place."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

from safeguard.channels.contracts import RecipientUnknown


def email_queues() -> dict[str, str]:
    """Receiving address (lower case) -> queue slug, from SAFEGUARD_EMAIL_QUEUES."""
    return dict(settings.SAFEGUARD_EMAIL_QUEUES)


def _address_of(value: str) -> str:
    from email.utils import parseaddr

    return parseaddr(value)[1].strip().lower()


def from_address() -> str:
    """The bare address of SAFEGUARD_EMAIL_FROM ("Support <help@x>" -> "help@x")."""
    return _address_of(settings.SAFEGUARD_EMAIL_FROM) or _address_of(settings.DEFAULT_FROM_EMAIL)


def own_addresses() -> frozenset[str]:
    """Every address we send from or receive at: mail from one of them is a loop."""
    addresses = set(email_queues()) | {from_address(), _address_of(settings.DEFAULT_FROM_EMAIL)}
    return frozenset(a for a in addresses if a)


def email_domain() -> str:
    """The domain of our Message-IDs: SAFEGUARD_EMAIL_DOMAIN, else that of the From address."""
    return settings.SAFEGUARD_EMAIL_DOMAIN or from_address().rpartition("@")[2] or "localhost"


def loop_token() -> str:
    """The value of X-Safeguard-Loop on our outbound mail; seeing it inbound means a loop."""
    return f"safeguard@{email_domain()}"


def queue_for_address(address: str) -> str | None:
    """The queue for one receiving address, the default queue, or None (not ours)."""
    return email_queues().get(address.strip().lower()) or (
        settings.SAFEGUARD_EMAIL_DEFAULT_QUEUE or None)


def queue_for_recipients(recipients: Iterable[str], *, fallback: str = "") -> str:
    """The queue of the first mapped recipient; RecipientUnknown when none is ours."""
    mapping = email_queues()
    for rcpt in recipients:
        queue = mapping.get(rcpt.strip().lower())
        if queue:
            return queue
    default = fallback or settings.SAFEGUARD_EMAIL_DEFAULT_QUEUE
    if default:
        return str(default)
    raise RecipientUnknown("No queue receives mail for these recipients.")


def optional_queue(value: str) -> str | None:
    """Settings use "" for "the cases app's default queue"; the ingest contract uses None."""
    return value or None


def startup_check() -> None:
    """Run the installation's startup guard (SAFEGUARD_STARTUP_CHECK, a seam filled by ops:
    production needs an audit witness and refuses a demo database or demo users) before a
    long-running receiver starts; a refusal ends the command with the guard's message."""
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import CommandError
    from django.utils.module_loading import import_string

    try:
        import_string(settings.SAFEGUARD_STARTUP_CHECK)()
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
