"""Fixtures of the detection tests: the customers' test scope provider (so an agent can be given
customers to view), and helpers that put audit events and alerts in place."""

from __future__ import annotations

import pytest

from tests.customers import factories as customer_factories


@pytest.fixture(autouse=True)
def _test_scope(settings):
    settings.SAFEGUARD_CUSTOMER_SCOPE = customer_factories.SCOPE_PROVIDER
    settings.SAFEGUARD_DETECTION_WEBHOOKS = []
    settings.SAFEGUARD_DETECTION_ESCALATION_EMAILS = []
    customer_factories.SCOPES.clear()
    yield
    customer_factories.SCOPES.clear()
