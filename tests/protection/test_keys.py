"""Key hierarchy: providers, split-knowledge unseal, rotation, re-encryption, status (R-OPS-4)."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
import tink
from django.core.management import CommandError, call_command
from django.utils import timezone
from tink import aead

from safeguard.audit.models import Event
from safeguard.protection import keyring, selectors, services
from safeguard.protection.contracts import (
    KeysAlreadyInitialised,
    KeysError,
    KeysSealed,
    KmsUnavailable,
    UnsealRefused,
)
from safeguard.protection.models import RotationJob, Token
from tests.factories import SYSTEM
from tests.protection.conftest import PAN_AMEX, PAN_MC2, PAN_VISA

pytestmark = pytest.mark.django_db


def _fresh_process():
    """Forget every in-memory key, as a new worker process would start."""
    keyring.reset_caches()


# --- local provider: split knowledge ------------------------------------------------------


def test_init_issues_five_shares_of_which_three_unseal(local_keys, settings):
    # given an installation initialised with 5 shares, threshold 3
    assert (len(local_keys.shares), local_keys.threshold) == (5, 3)
    assert "shares hidden" in repr(local_keys)
    _fresh_process()
    # then it is sealed: nothing can be encrypted
    with pytest.raises(KeysSealed):
        services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    # when three custodians unseal (any three)
    result = services.keys_unseal(mnemonics=[local_keys.shares[i] for i in (4, 0, 2)],
                                  actor=SYSTEM)
    # then the key is left owner-only for this machine's processes, and work resumes
    path = settings.SAFEGUARD_KEK_RUNTIME_DIR / os.path.basename(result.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert result.shares_used == 3
    _fresh_process()
    token = services.token_tokenize(pan=PAN_VISA, actor=SYSTEM).token
    assert selectors.token_metadata(token=token.token).last4 == "1111"
    assert Event.objects.filter(action="keys.unsealed", outcome="success").count() == 1


def test_unseal_with_fewer_than_the_threshold_is_refused_and_audited(local_keys, settings):
    _fresh_process()
    with pytest.raises(UnsealRefused, match="3 different shares are needed to unseal; 2 given"):
        services.keys_unseal(mnemonics=local_keys.shares[:2], actor=SYSTEM)
    # a share repeated does not count twice
    with pytest.raises(UnsealRefused, match="2 given"):
        services.keys_unseal(mnemonics=[local_keys.shares[0]] * 2 + [local_keys.shares[1]],
                             actor=SYSTEM)
    assert not any(settings.SAFEGUARD_KEK_RUNTIME_DIR.glob("kek-*")) if (
        settings.SAFEGUARD_KEK_RUNTIME_DIR.exists()) else True
    failures = Event.objects.filter(action="keys.unseal", outcome="failure")
    assert failures.count() == 2
    # no share word ever reaches the audit log
    words = set(local_keys.shares[0].split())
    assert not words & set(json.dumps(list(failures.values_list("data", flat=True))).split())


def test_a_mistyped_share_is_refused_without_echoing_it(local_keys):
    words = local_keys.shares[1].split()
    words[5] = "academic" if words[5] != "academic" else "acid"
    with pytest.raises(UnsealRefused, match="Share 2 is not a valid share") as refused:
        services.keys_unseal(mnemonics=[local_keys.shares[0], " ".join(words),
                                        local_keys.shares[2]], actor=SYSTEM)
    assert words[0] not in refused.value.detail.split()


def test_shares_of_another_installation_are_refused(local_keys, settings):
    # given shares of a different key (another install's init)
    import secrets

    import shamir_mnemonic

    foreign = shamir_mnemonic.generate_mnemonics(1, [(3, 5)], secrets.token_bytes(32), b"",
                                                 True, 0)[0]
    with pytest.raises(UnsealRefused, match="do not open this installation"):
        services.keys_unseal(mnemonics=foreign[:3], actor=SYSTEM)
    with pytest.raises(UnsealRefused, match="different key sets"):
        services.keys_unseal(mnemonics=[foreign[0], *local_keys.shares[:2]], actor=SYSTEM)


def test_split_knowledge_needs_a_real_threshold(settings):
    settings.SAFEGUARD_KEK_PROVIDER = "local"
    for shares, threshold in ((5, 1), (2, 3), (17, 3), (None, 3)):
        with pytest.raises(KeysError):
            services.keys_init(provider="local", shares=shares, threshold=threshold,
                               actor=SYSTEM)


def test_init_twice_is_refused(local_keys):
    with pytest.raises(KeysAlreadyInitialised):
        services.keys_init(provider="local", shares=5, threshold=3, actor=SYSTEM)


def test_seal_removes_the_unsealed_key(local_keys):
    services.keys_unseal(mnemonics=local_keys.shares[:3], actor=SYSTEM)
    assert services.keys_seal(actor=SYSTEM) is True
    _fresh_process()
    assert selectors.keys_status().sealed is True
    with pytest.raises(KeysSealed):
        services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)


def test_cli_init_prints_shares_once_and_unseal_reads_a_share_file(settings, tmp_path):
    settings.SAFEGUARD_KEK_PROVIDER = "local"
    out = io.StringIO()
    call_command("keys", "init", "--shares", "5", "--threshold", "3", stdout=out)
    printed = out.getvalue()
    shares = [line.strip() for line in printed.splitlines() if len(line.split()) == 33]
    assert len(shares) == 5
    assert "shown now and never again" in printed
    share_file = tmp_path / "shares.txt"
    share_file.write_text("# custodians\n" + "\n".join(shares[1:4]) + "\n")
    _fresh_process()
    out = io.StringIO()
    call_command("keys", "unseal", "--share-file", str(share_file), stdout=out,
                 stderr=io.StringIO())
    assert "Unsealed with 3 shares" in out.getvalue()
    share_file.write_text(shares[0] + "\n")
    with pytest.raises(CommandError, match="3 different shares are needed"):
        call_command("keys", "unseal", "--share-file", str(share_file))
    # nothing of the shares is stored anywhere in the database
    from django.apps import apps

    for model in apps.get_models():
        for row in model._base_manager.values_list():
            assert shares[0].split()[10] + " " + shares[0].split()[11] not in str(row)


# --- rotation ---------------------------------------------------------------------------------


def test_rotation_keeps_old_data_readable_and_the_job_moves_it_to_the_new_key():
    # given three cards encrypted under the first data key
    tokens = [services.token_tokenize(pan=p, actor=SYSTEM).token.token
              for p in (PAN_VISA, PAN_MC2, PAN_AMEX)]
    old = keyring.primary_key_id("data")
    # when the data keyset rotates (job not yet run)
    job = services.keys_rotate(keysets=["data"], actor=SYSTEM, enqueue=False)
    new = keyring.primary_key_id("data")
    # then old rows still decrypt under the new keyset, even in a fresh process
    assert new != old
    _fresh_process()
    assert sorted(Token.objects.get(token=t).pan for t in tokens) == sorted(
        [PAN_VISA, PAN_MC2, PAN_AMEX])
    assert selectors.key_usage()["data"] == {old: 3}
    # when the job runs
    view = services.keys_reencrypt(job_id=job.id)
    # then every row is under the new key and still reads; a final sweep found nothing left
    assert (view.status, view.scanned, view.rewritten, view.passes) == ("done", 6, 3, 2)
    assert selectors.key_usage()["data"] == {new: 3}
    assert Token.objects.get(token=tokens[0]).pan == PAN_VISA


def test_reencryption_is_resumable_and_idempotent():
    for pan in (PAN_VISA, PAN_MC2, PAN_AMEX):
        services.token_tokenize(pan=pan, actor=SYSTEM)
    job = services.keys_rotate(keysets=["data", "fingerprint"], actor=SYSTEM, enqueue=False)
    # when the job stops after one batch of one row (a crash, a deploy)
    partial = services.keys_reencrypt(job_id=job.id, batch_size=1, max_batches=1)
    assert (partial.status, partial.scanned, partial.rewritten) == ("running", 1, 1)
    assert RotationJob.objects.get(id=job.id).cursor
    # then a rerun continues from the cursor (plus the final sweep), and a re-run of the
    # finished job is one more sweep that changes nothing
    done = services.keys_reencrypt(job_id=job.id, batch_size=1)
    assert (done.status, done.scanned, done.rewritten, done.passes) == ("done", 6, 3, 2)
    again = services.keys_reencrypt(job_id=job.id)
    assert (again.status, again.scanned, again.rewritten, again.passes) == ("done", 9, 3, 3)
    fp = keyring.primary_key_id("fingerprint")
    assert selectors.key_usage()["fingerprint"] == {fp: 3}
    # the same card still maps to the same token after the fingerprint key changed
    assert not services.token_tokenize(pan=PAN_VISA, actor=SYSTEM).created


def test_tokenize_finds_cards_under_an_old_fingerprint_key_before_the_job_runs():
    first = services.token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    services.keys_rotate(keysets=["fingerprint"], actor=SYSTEM, enqueue=False)
    again = services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    assert (again.created, again.token.token) == (False, first)


def test_rotation_queues_the_job_after_commit(django_capture_on_commit_callbacks):
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    with django_capture_on_commit_callbacks(execute=True):
        job = services.keys_rotate(keysets=["data"], actor=SYSTEM)
    assert RotationJob.objects.get(id=job.id).status == "done"  # Huey runs immediately in tests


def test_cli_rotate_wait_and_status(capsys):
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    out = io.StringIO()
    call_command("keys", "rotate", "--keyset", "all", "--wait", stdout=out,
                 stderr=io.StringIO())
    assert "rewritten under the new keys" in out.getvalue()
    out = io.StringIO()
    call_command("keys", "status", "--json", "--usage", stdout=out)
    status = json.loads(out.getvalue())
    assert (status["provider"], status["initialised"]) == ("dev", True)
    primaries = [k for k in status["keys"] if k["primary"]]
    assert {k["keyset"] for k in primaries} == {"data", "index", "fingerprint"}
    assert all(k["values"] in (0, 1) for k in status["keys"])
    assert sum(k["values"] for k in status["keys"] if k["keyset"] == "data") == 1


def test_status_flags_keys_older_than_the_rotation_policy(settings):
    settings.SAFEGUARD_KEY_ROTATION_DAYS = 365
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    later = timezone.now() + timedelta(days=400)
    with time_machine.travel(later, tick=False):
        status = selectors.keys_status()
        assert {k.keyset for k in status.overdue} == {"data", "index", "fingerprint"}
        assert all(k.age_days == 400 for k in status.overdue)
        with pytest.raises(CommandError, match="older than the 365-day rotation policy"):
            call_command("keys", "status", stdout=io.StringIO(), stderr=io.StringIO())
        overdue = services.keys_age_check()
        assert len(overdue) == 3
        assert Event.objects.filter(action="keys.rotation_overdue").count() == 1
        services.keys_rotate(keysets=["data", "index", "fingerprint"], actor=SYSTEM,
                             enqueue=False)
        assert selectors.keys_status().overdue == ()


def test_unknown_keyset_is_refused():
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    with pytest.raises(KeysError, match="unknown keyset"):
        services.keys_rotate(keysets=["nope"], actor=SYSTEM, enqueue=False)


# --- dev and kms providers ----------------------------------------------------------------


def test_dev_provider_initialises_itself_with_an_owner_only_file(settings):
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    path = settings.SAFEGUARD_DEV_KEK_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "dev key-encryption key" in selectors.keys_status().warnings[0]


def test_a_wrong_dev_key_file_is_refused(settings):
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    settings.SAFEGUARD_DEV_KEK_FILE.unlink()
    _fresh_process()
    with pytest.raises(KeysError, match="does not match"):
        services.token_tokenize(pan=PAN_MC2, actor=SYSTEM)


class _FakeKms(tink.KmsClient):
    """A KMS reached through Tink's client registry, as the AWS/GCP/Vault clients are."""

    def __init__(self):
        self.remote = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(
            aead.Aead)
        self.calls = 0

    def does_support(self, key_uri):
        return key_uri.startswith("fake-kms://")

    def get_aead(self, key_uri):
        self.calls += 1
        return self.remote


def test_kms_provider_wraps_keysets_by_envelope_encryption(settings):
    from safeguard.protection.kek import register_tink

    register_tink()
    fake = _FakeKms()
    tink.register_kms_client(fake)
    settings.SAFEGUARD_KEK_PROVIDER = "kms"
    settings.SAFEGUARD_KEK_URI = "fake-kms://projects/p/keys/k"
    services.keys_init(provider="kms", actor=SYSTEM)
    _fresh_process()
    token = services.token_tokenize(pan=PAN_VISA, actor=SYSTEM).token.token
    assert Token.objects.get(token=token).pan == PAN_VISA
    assert fake.calls >= 2  # once at init, once for the fresh process
    assert selectors.keys_status().kms_uri == "fake-kms://projects/p/keys/k"


@pytest.mark.parametrize(("uri", "message"), [
    ("", "SAFEGUARD_KEK_URI is empty"),
    ("hcvault://transit/keys/safeguard", r"pip install 'tink\[hcvault\]'"),
    ("nokms://x", "Cannot reach the KMS key"),
])
def test_kms_misconfiguration_is_a_clear_error_and_creates_nothing(settings, uri, message):
    settings.SAFEGUARD_KEK_PROVIDER = "kms"
    settings.SAFEGUARD_KEK_URI = uri
    with pytest.raises(KmsUnavailable, match=message):
        services.keys_init(provider="kms", actor=SYSTEM)
    assert keyring.master_info() is None


def test_provider_mismatch_is_refused(settings):
    services.token_tokenize(pan=PAN_VISA, actor=SYSTEM)  # dev
    settings.SAFEGUARD_KEK_PROVIDER = "local"
    _fresh_process()
    with pytest.raises(KeysError, match="initialised with the 'dev' provider"):
        services.token_tokenize(pan=PAN_MC2, actor=SYSTEM)


def test_production_refuses_the_dev_provider(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFEGUARD_")}
    env.update(SAFEGUARD_ENV="production", SAFEGUARD_SECRET_KEY="x" * 64,
               SAFEGUARD_MFA_SECRET_KEY="m" * 64,
               SAFEGUARD_DATA_DIR=str(tmp_path), SAFEGUARD_KEK_PROVIDER="dev")
    result = subprocess.run([sys.executable, "-m", "safeguard.cli", "check"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode != 0
    assert "refused in production" in result.stderr
