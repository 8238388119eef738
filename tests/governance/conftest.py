"""Fixtures of the governance tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from safeguard.governance import selectors


@pytest.fixture(autouse=True)
def _fresh_library(settings):
    settings.SAFEGUARD_GOVERNANCE_LIBRARY_DIR = ""
    selectors.reset()
    yield
    selectors.reset()


@pytest.fixture
def builtin_roles():
    """Transactional tests flush the role rows the accounts data migration made; put them back
    (the backup tests restore and drill databases whose users hold these roles)."""
    from importlib import import_module

    from django.apps import apps

    import_module("safeguard.accounts.migrations.0002_builtin_roles").create(apps, None)


@pytest.fixture
def stores(settings, tmp_path) -> dict[str, Path]:
    """The file stores kept outside the database, in this test's own directory."""
    settings.SAFEGUARD_GOVERNANCE_EVIDENCE_DIR = tmp_path / "evidence"
    settings.SAFEGUARD_ARCHIVE_DIR = tmp_path / "archives"
    return {"evidence": tmp_path / "evidence", "archives": tmp_path / "archives"}
