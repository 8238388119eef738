"""Suite-wide fixtures. pytest-env (pyproject) sets SAFEGUARD_ENV=test before Django loads;
DATABASE_URL comes from the caller (SQLite by default, PostgreSQL in .ci/run)."""

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache; no test inherits another's failed logins."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
