"""Suite-wide fixtures. pytest-env (pyproject) sets SAFEGUARD_ENV=test before Django loads;
DATABASE_URL comes from the caller (SQLite by default, PostgreSQL in .ci/run)."""

import os

import pytest
from hypothesis import settings as hypothesis_settings

# Local runs explore new random examples (and find new bugs); CI replays a fixed set, so a gate
# never fails on an example nobody has seen before. .ci/run sets HYPOTHESIS_PROFILE=ci.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _fresh_keys(settings, tmp_path_factory):
    """Each test gets its own dev KEK file and empty key, policy and scanner caches: keysets are
    cached per process while their rows roll back (or are flushed) with each test."""
    from safeguard.protection import keyring, policy, scanning

    base = tmp_path_factory.mktemp("keys")
    settings.SAFEGUARD_DEV_KEK_FILE = base / "dev-kek.json"
    settings.SAFEGUARD_KEK_RUNTIME_DIR = base / "run"
    settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK = True  # tmp_path is on disk; kek tests turn it off
    settings.SAFEGUARD_KEYSET_CACHE_SECONDS = 0  # no process caches: rotations settle at once
    keyring.reset_caches()
    policy.reset()
    scanning.reset()
    yield
    keyring.reset_caches()
    policy.reset()
    scanning.reset()


@pytest.fixture(autouse=True)
def _no_read_writer_left():
    """A test whose requests started the audit read writer (decision 0282: production's
    integration modes on PostgreSQL) ends it, so its connection does not outlive the test."""
    yield
    from safeguard.audit import readwriter

    if readwriter.current() is not None:
        readwriter.stop()


def _patch_flush_for_append_only_tables() -> None:
    """Transactional tests end with a flush (TRUNCATE / DELETE) that the audit log's append-only
    triggers rightly refuse. Around that flush only, drop the triggers and put them back with
    the migration's own code — exactly what a database owner could do, which is why the log is
    also Merkle-committed and signed."""
    import importlib

    from django.db import connection
    from django.test import TransactionTestCase

    guards = [importlib.import_module(f"safeguard.audit.migrations.{name}")
              for name in ("0002_append_only_triggers", "0004_sequence_guard",
                                 "0005_queue_integrator")]
    original = TransactionTestCase._fixture_teardown

    def _fixture_teardown(self):  # type: ignore[no-untyped-def]
        with connection.schema_editor(atomic=False) as editor:
            for guard in guards:
                guard.backwards(None, editor)
        try:
            original(self)
        finally:
            with connection.schema_editor(atomic=False) as editor:
                for guard in guards:
                    guard.forwards(None, editor)

    TransactionTestCase._fixture_teardown = _fixture_teardown


_patch_flush_for_append_only_tables()
