"""Fixtures of the governance tests."""

from __future__ import annotations

import pytest

from safeguard.governance import selectors


@pytest.fixture(autouse=True)
def _fresh_library(settings):
    settings.SAFEGUARD_GOVERNANCE_LIBRARY_DIR = ""
    selectors.reset()
    yield
    selectors.reset()
