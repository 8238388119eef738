"""Fixtures of the protection tests: fresh key caches, a private dev KEK, Shamir set-ups."""

from __future__ import annotations

import pytest

PAN_VISA = "4111111111111111"
PAN_MC2 = "2223003122003222"  # Mastercard 2-series
PAN_AMEX = "378282246310005"




@pytest.fixture
def local_keys(settings, db):
    """An installation initialised with the local provider, 5 shares, threshold 3 (sealed)."""
    from safeguard.audit.contracts import Actor
    from safeguard.protection import services

    settings.SAFEGUARD_KEK_PROVIDER = "local"
    return services.keys_init(provider="local", shares=5, threshold=3,
                              actor=Actor.system("tests"))
