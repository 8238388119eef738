"""IMAP polling against a real IMAP server: a private Dovecot on loopback (apt-get install
dovecot-imapd), one per module with its own config, passwd file and maildir (emptied before
each test), stopped by its pid.
Mail is put in with IMAP APPEND, exactly as another client would. Covered: ingest, resume by
UID after a crash, duplicates, auto-replies, UIDVALIDITY change, TLS with a private CA, the
`imap-poll` command."""

from __future__ import annotations

import datetime as dt
import imaplib
import ipaddress
import itertools
import os
import pwd
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.core.management import call_command
from django.core.management.base import CommandError

from safeguard.channels import imap
from safeguard.channels import services as channel_services
from safeguard.channels.contracts import ImapNotConfigured
from safeguard.channels.models import ImapCursor
from tests.channels.conftest import SUPPORT, all_cases, all_messages, free_port, mail
from tests.factories import ref_hash

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
pytestmark = [
    pytest.mark.skipif(not os.access(DOVECOT, os.X_OK),
                       reason="Dovecot is not installed (apt-get install dovecot-imapd)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a private Dovecot needs root to start"),
    pytest.mark.django_db,
]

USER = SUPPORT
PASSWORD = "imap-test-password"


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Dovecot:
    port: int
    tls_port: int
    cert: Path
    password_file: Path
    mailbox: str = "INBOX"

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, *messages: bytes) -> None:
        conn = self.client()
        try:
            for raw in messages:
                typ, data = conn.append(self.mailbox, None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self) -> dict[int, bytes]:
        conn = self.client()
        try:
            conn.select(self.mailbox)
            _, data = conn.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            conn.logout()
        out = {}
        for item in data:
            match = re.search(rb"UID (\d+)", item) if isinstance(item, bytes) else None
            if match:
                out[int(match[1])] = item
        return out


@pytest.fixture(scope="module")
def dovecot_server() -> Iterator[Dovecot]:
    # Dovecot's mail processes run as the dovecot user: the directory must be theirs to enter
    # (pytest's own tmp_path is 0700 root), so it lives in a private 0755 temp directory.
    root = Path(tempfile.mkdtemp(prefix="safeguard-dovecot-"))
    root.chmod(0o755)
    dove = pwd.getpwnam("dovecot")
    (root / "home").mkdir()
    os.chown(root / "home", dove.pw_uid, dove.pw_gid)
    (root / "run").mkdir()
    (root / "state").mkdir()
    cert, key = _self_signed(root)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    password_file = root / "imap-password"
    password_file.write_text(PASSWORD + "\n")
    port, tls_port = free_port(), free_port()
    conf = root / "dovecot.conf"
    conf.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={dove.pw_uid} gid={dove.pw_gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Dovecot(port=port, tls_port=tls_port, cert=cert, password_file=password_file)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                server.client().logout()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() \
                        else ""
                    pytest.fail(f"dovecot did not start: {proc.stderr.read()!r} {log}")
                time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)


_mailboxes = itertools.count(1)


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Dovecot:
    """The module's Dovecot with a new, empty mailbox for this test (UIDs start at 1)."""
    dovecot_server.mailbox = f"Test{next(_mailboxes)}"
    conn = dovecot_server.client()
    try:
        typ, data = conn.create(dovecot_server.mailbox)
        assert typ == "OK", data
    finally:
        conn.logout()
    return dovecot_server


@pytest.fixture
def imap_settings(settings, mail_routes, dovecot):
    settings.SAFEGUARD_IMAP_HOST = "127.0.0.1"
    settings.SAFEGUARD_IMAP_PORT = dovecot.port
    settings.SAFEGUARD_IMAP_SECURITY = "none"  # loopback only; TLS has its own test
    settings.SAFEGUARD_IMAP_USER = USER
    settings.SAFEGUARD_IMAP_PASSWORD_FILE = str(dovecot.password_file)
    settings.SAFEGUARD_IMAP_MAILBOX = dovecot.mailbox
    settings.SAFEGUARD_IMAP_QUEUE = ""
    settings.SAFEGUARD_IMAP_AFTER = "seen"
    settings.SAFEGUARD_IMAP_BATCH = 50
    return settings


def _mail(n: int, **kw) -> bytes:
    kw.setdefault("message_id", f"<imap{n}@customer.example>")
    kw.setdefault("subject", f"Question {n}")
    kw.setdefault("body", f"Question number {n}.")
    return mail(**kw).as_bytes()


def test_poll_ingests_new_mail_and_remembers_where_it_stopped(imap_settings, dovecot):
    # given two mails in the mailbox
    dovecot.append(_mail(1), _mail(2))
    account = imap.account_from_settings()
    # when the mailbox is polled
    first = imap.poll_once(account=account)
    # then both become cases, the cursor is at UID 2 and the mails are marked seen
    assert (first.fetched, first.stored, first.last_uid) == (2, 2, 2)
    assert sorted(m.external_id for m in all_messages("email")) == sorted([
        ref_hash("<imap1@customer.example>"), ref_hash("<imap2@customer.example>")])
    assert all(b"\\Seen" in f for f in dovecot.flags().values())
    cursor = ImapCursor.objects.get()
    assert cursor.last_uid == 2
    assert cursor.uidvalidity > 0
    # and a second poll fetches nothing, a third only what arrived since
    assert imap.poll_once(account=account).fetched == 0
    dovecot.append(_mail(3, In_Reply_To="<imap1@customer.example>"))
    third = imap.poll_once(account=account)
    assert (third.fetched, third.stored, third.last_uid) == (1, 1, 3)
    assert len(all_cases()) == 2  # the third joined the first's case


def test_a_crash_mid_batch_resumes_at_the_first_unhandled_uid(imap_settings, dovecot,
                                                              monkeypatch):
    # given three mails and an ingest that fails hard on the second
    dovecot.append(_mail(1), _mail(2), _mail(3))
    account = imap.account_from_settings()
    real = channel_services.email_receive
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs["raw"])
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real(**kwargs)

    monkeypatch.setattr(channel_services, "email_receive", flaky)
    # when the poll crashes
    with pytest.raises(RuntimeError):
        imap.poll_once(account=account)
    # then the cursor stays after the first mail
    assert ImapCursor.objects.get().last_uid == 1
    # and the next poll picks up exactly the rest, with no duplicate
    monkeypatch.setattr(channel_services, "email_receive", real)
    resumed = imap.poll_once(account=account)
    assert (resumed.fetched, resumed.stored, resumed.last_uid) == (2, 2, 3)
    assert len(all_messages("email")) == 3


def test_batches_are_bounded(imap_settings, dovecot):
    dovecot.append(*(_mail(n) for n in range(1, 6)))
    account = imap.account_from_settings()
    assert imap.poll_once(account=account, batch=2).last_uid == 2
    assert imap.poll_once(account=account, batch=2).last_uid == 4
    assert imap.poll_once(account=account, batch=2).fetched == 1


def test_duplicates_auto_replies_and_bounces_store_nothing(imap_settings, dovecot):
    dovecot.append(
        _mail(1),
        _mail(1),  # the same Message-ID delivered twice
        _mail(2, Auto_Submitted="auto-replied", subject="Out of office"),
        b"Return-Path: <>\r\n" + _mail(3, frm="Mail Delivery <postmaster@mx.example>"),
    )
    result = imap.poll_once(account=imap.account_from_settings())
    assert (result.fetched, result.stored, result.duplicates, result.ignored) == (4, 1, 1, 2)
    assert len(all_messages("email")) == 1


def test_a_uidvalidity_change_restarts_the_cursor_without_duplicates(imap_settings, dovecot):
    dovecot.append(_mail(1), _mail(2))
    account = imap.account_from_settings()
    imap.poll_once(account=account)
    # given the server renumbered the mailbox (a restore, a migration)
    ImapCursor.objects.update(uidvalidity=1)
    # when it is polled again
    again = imap.poll_once(account=account)
    # then everything is read again, and nothing is stored twice
    assert (again.fetched, again.stored, again.duplicates) == (2, 0, 2)
    assert len(all_messages("email")) == 2


def test_mail_for_no_mapped_address_is_passed_over_unless_a_queue_is_set(imap_settings,
                                                                          dovecot):
    dovecot.append(_mail(1, to="someone-else@example.org"))
    account = imap.account_from_settings()
    skipped = imap.poll_once(account=account)
    assert (skipped.refused, skipped.last_uid) == (1, 1)
    assert all_messages("email") == []
    # with SAFEGUARD_IMAP_QUEUE set, such mail lands there
    imap_settings.SAFEGUARD_IMAP_QUEUE = "general"
    dovecot.append(_mail(2, to="someone-else@example.org"))
    assert imap.poll_once(account=account).stored == 1


def test_tls_is_verified_against_the_configured_ca(imap_settings, dovecot):
    imap_settings.SAFEGUARD_IMAP_SECURITY = "ssl"
    imap_settings.SAFEGUARD_IMAP_PORT = dovecot.tls_port
    # an unknown certificate is refused
    with pytest.raises(ssl.SSLCertVerificationError):
        imap.poll_once(account=imap.account_from_settings())
    # with the private CA configured, the same server is trusted
    dovecot.append(_mail(1))
    imap_settings.SAFEGUARD_IMAP_CA_FILE = str(dovecot.cert)
    assert imap.poll_once(account=imap.account_from_settings()).stored == 1


def test_starttls_upgrades_the_plain_port(imap_settings, dovecot):
    imap_settings.SAFEGUARD_IMAP_SECURITY = "starttls"
    imap_settings.SAFEGUARD_IMAP_CA_FILE = str(dovecot.cert)
    dovecot.append(_mail(1))
    assert imap.poll_once(account=imap.account_from_settings()).stored == 1


def test_the_imap_poll_command_runs_once(imap_settings, dovecot, capsys):
    dovecot.append(_mail(1))
    call_command("imap-poll", "--once")
    out = capsys.readouterr().out
    assert "fetched 1, stored 1" in out
    assert PASSWORD not in out


def test_a_wrong_password_fails_the_command_cleanly(imap_settings, dovecot, tmp_path):
    wrong = tmp_path / "pw"
    wrong.write_text("wrong")
    imap_settings.SAFEGUARD_IMAP_PASSWORD_FILE = str(wrong)
    with pytest.raises(CommandError, match=re.escape("IMAP poll of support@example.com@")):
        call_command("imap-poll", "--once")


def test_plaintext_imap_is_refused_off_loopback(settings, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("x")
    settings.SAFEGUARD_IMAP_HOST = "imap.example.com"
    settings.SAFEGUARD_IMAP_SECURITY = "none"
    settings.SAFEGUARD_IMAP_USER = "u"
    settings.SAFEGUARD_IMAP_PASSWORD_FILE = str(pw)
    with pytest.raises(ImapNotConfigured, match="clear"):
        imap.account_from_settings()
    settings.SAFEGUARD_IMAP_HOST = ""
    with pytest.raises(ImapNotConfigured):
        imap.account_from_settings()
