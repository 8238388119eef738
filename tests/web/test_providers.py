"""The provider registry: a missing name is None (unavailable), a conflicting one raises."""

import pytest

from safeguard.web import providers


def _one() -> int:
    return 1


def _two() -> int:
    return 2


def test_register_get_and_names() -> None:
    providers.register("test.providers.one", _one)
    providers.register("test.providers.one", _one)  # idempotent for the same callable
    assert providers.get("test.providers.one") is _one
    assert providers.get("test.providers.absent") is None
    assert "test.providers.one" in providers.names("test.providers.")


def test_conflict_and_bad_names_raise() -> None:
    providers.register("test.providers.conflict", _one)
    with pytest.raises(providers.ProviderConflict):
        providers.register("test.providers.conflict", _two)
    assert providers.get("test.providers.conflict") is _one
    for bad in ("", " lead", "has space"):
        with pytest.raises(ValueError, match="dotted name"):
            providers.register(bad, _one)
