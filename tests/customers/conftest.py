"""Fixtures of the customers tests: private keys per test, and a test scope provider.

The real scope provider is ``cases.selectors.customer_scope`` (decision 0006); these tests
point ``SAFEGUARD_CUSTOMER_SCOPE`` at :func:`tests.customers.factories.scope_provider`, whose
answers each test sets with ``grant_scope``.
"""

from __future__ import annotations

import pytest

from tests.customers import factories


@pytest.fixture(autouse=True)
def _test_scope(settings):
    """Scope comes from the test provider; every test starts with nobody seeing anything."""
    settings.SAFEGUARD_CUSTOMER_SCOPE = factories.SCOPE_PROVIDER
    factories.SCOPES.clear()
    yield
    factories.SCOPES.clear()
