"""The tree-head signing key sealed under the protection key hierarchy (R-IR-5, R-OPS-4)."""

from __future__ import annotations

import pytest

from safeguard.audit import services, signing, verification
from safeguard.audit.contracts import Actor
from safeguard.protection.contracts import KeysError

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(settings, tmp_path):
    settings.SAFEGUARD_AUDIT_SIGNER = "safeguard.protection.audit_signer.sealed_signer"
    settings.SAFEGUARD_AUDIT_KEY_FILE = str(tmp_path / "audit-signing.key")
    signing._signer.cache_clear()
    yield tmp_path / "audit-signing.key.sealed"
    signing._signer.cache_clear()


def test_heads_are_signed_with_a_key_sealed_by_the_kek(sealed):
    # given the sealed provider; when a head is signed
    services.record(action="case.viewed", actor=Actor.system("t"))
    head = services.head_sign()
    # then the key file exists, holds no PEM and no raw key, and the log verifies with it
    blob = sealed.read_bytes()
    assert b"PRIVATE KEY" not in blob
    assert sealed.stat().st_mode & 0o777 == 0o600
    assert head is not None
    assert head.key_id == signing.get_signer().key_id
    assert verification.verify().ok


def test_a_copied_sealed_key_is_useless_without_its_kek(sealed, settings, tmp_path):
    from safeguard.protection import keyring

    signing.get_signer()  # creates the sealed key under this test's dev KEK
    # when another installation (another KEK) tries to open the copied file
    settings.SAFEGUARD_DEV_KEK_FILE = tmp_path / "other-kek.json"
    keyring.reset_caches()
    signing._signer.cache_clear()
    with pytest.raises(KeysError, match="does not match this installation's keys"):
        signing.get_signer()


def test_keygen_refuses_to_replace_a_sealed_key(sealed):
    signing.keygen()
    with pytest.raises(FileExistsError):
        signing.keygen()
