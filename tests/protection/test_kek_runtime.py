"""The unsealed KEK file is checked for owner, mode 0600 and tmpfs on write and on read; a
runtime directory of another local user gives a clear refusal (issue 17 item 7, R-OPS-4)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest

from safeguard.audit import selectors as audit
from safeguard.protection import kek, keyring, services
from safeguard.protection.contracts import KeysSealed, UnsealRefused
from tests.factories import SYSTEM

pytestmark = pytest.mark.django_db
SHM = Path("/dev/shm")  # noqa: S108 - tmpfs on purpose


@pytest.fixture
def shm_dir(settings):
    if not kek.on_tmpfs(SHM):
        pytest.skip(f"{SHM} is not tmpfs here")
    directory = SHM / f"sg-kek-test-{uuid.uuid4().hex[:8]}"
    settings.SAFEGUARD_KEK_RUNTIME_DIR = directory
    settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK = False
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _unsealed_path(local_keys) -> Path:
    result = services.keys_unseal(mnemonics=local_keys.shares[:3], actor=SYSTEM)
    keyring.reset_caches()
    return Path(result.path)


def test_unseal_on_tmpfs_writes_0600_and_the_key_is_read_back(local_keys, shm_dir):
    path = _unsealed_path(local_keys)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert oct(shm_dir.stat().st_mode & 0o777) == "0o700"
    assert services.token_tokenize(pan="4111111111111111", actor=SYSTEM).created is True


def test_a_kek_file_with_mode_0644_is_refused_on_read(local_keys, shm_dir):
    path = _unsealed_path(local_keys)
    path.chmod(0o644)
    with pytest.raises(KeysSealed, match="mode 0o644; it must be 0o600"):
        services.token_tokenize(pan="4111111111111111", actor=SYSTEM)


def test_a_kek_file_of_another_owner_is_refused_on_read(local_keys, shm_dir):
    path = _unsealed_path(local_keys)
    os.chown(path, 65534, 65534)  # nobody: the suite runs as root in CI
    with pytest.raises(KeysSealed, match="belongs to uid 65534"):
        services.token_tokenize(pan="4111111111111111", actor=SYSTEM)


def test_a_runtime_dir_precreated_by_another_user_is_a_clear_audited_refusal(local_keys,
                                                                             shm_dir):
    shm_dir.mkdir(mode=0o700)
    os.chown(shm_dir, 65534, 65534)
    with pytest.raises(UnsealRefused, match="another local user created it"):
        services.keys_unseal(mnemonics=local_keys.shares[:3], actor=SYSTEM)
    failed = audit.event_list(action="keys.unseal")
    assert failed[0].outcome == "failure"
    assert "belongs to uid 65534" in failed[0].data["reason"]


def test_a_runtime_dir_on_disk_is_refused_without_the_override(local_keys, settings, tmp_path):
    settings.SAFEGUARD_KEK_RUNTIME_DIR = tmp_path / "run"
    settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK = False
    with pytest.raises(UnsealRefused, match="is not on tmpfs"):
        services.keys_unseal(mnemonics=local_keys.shares[:3], actor=SYSTEM)
    # with the explicit override it is accepted, and the unseal event says so
    settings.SAFEGUARD_KEK_RUNTIME_ALLOW_DISK = True
    services.keys_unseal(mnemonics=local_keys.shares[:3], actor=SYSTEM)
    event = audit.event_list(action="keys.unsealed")[0]
    assert (event.data["on_tmpfs"], event.data["disk_override"]) == (False, True)
