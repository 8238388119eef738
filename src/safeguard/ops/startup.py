"""What a production process checks before it serves or works (issue 17, R-OPS-1).

Called by the WSGI entry point and ``safeguard worker``: a production process never starts
without an audit witness, nor on a demo database (published passwords, derivable TOTP
secrets) or on one holding demo users. An unmarked database (migrated before the mark existed)
is marked production here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from safeguard.ops import services
from safeguard.ops.contracts import InstallationRefused


def refuse_demo_database() -> None:
    """Raise ImproperlyConfigured (the process exits) unless the database is fit for production
    and an audit witness is configured."""
    if not settings.PRODUCTION:
        return
    if not (settings.SAFEGUARD_AUDIT_WITNESS_FILE or settings.SAFEGUARD_AUDIT_WITNESS_SYSLOG):
        raise ImproperlyConfigured(
            "Production requires an audit witness (R-IR-5): set SAFEGUARD_AUDIT_WITNESS_FILE "
            "(a file on another volume, created once) and/or SAFEGUARD_AUDIT_WITNESS_SYSLOG.")
    try:
        services.installation_mark_production()
        services.installation_require_production()
    except InstallationRefused as exc:
        raise ImproperlyConfigured(exc.detail) from None
    except DatabaseError as exc:
        # Fail closed: what cannot be checked is not served.
        raise ImproperlyConfigured(
            f"Cannot check the database before starting ({type(exc).__name__}: {exc}); is it "
            "reachable and migrated (`safeguard migrate`)?") from None
