"""SIEM export to a real syslog daemon: a private rsyslog on loopback (RECIPES.md).

Each test starts its own rsyslogd in the foreground (imtcp on a free 127.0.0.1 port, its own
work directory, omfile writing the raw message) and stops it by its pid. Covered: order, framing
and payload of every format; TLS; a peer that goes away mid-stream and comes back on the same
port; a forwarder that crashes between delivery and cursor commit; a forwarder process killed
with SIGKILL. Every outage test asserts no loss, and allows duplicates only where at-least-once
delivery must produce them (the batch in flight when the failure struck).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from glob import glob
from pathlib import Path
from random import Random

import pytest

from safeguard.audit import context
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.audit.siem import formats
from safeguard.audit.siem import forwarder as forwarder_module
from safeguard.audit.siem import selectors as siem_selectors
from safeguard.audit.siem.forwarder import Backoff, Forwarder
from safeguard.audit.siem.sinks import SinkError, SyslogSink

RSYSLOGD = "/usr/sbin/rsyslogd"
VERSION = forwarder_module._product_version()
OSSL_DRIVER = glob("/usr/lib/*/rsyslog/lmnsd_ossl.so")
pytestmark = pytest.mark.skipif(not os.access(RSYSLOGD, os.X_OK),
                                reason="rsyslog is not installed (apt-get install rsyslog)")

USER = Actor(kind="user", id="5", label="Zoë 日本 <agent@example.org>")  # multi-byte on purpose
# <PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG, as the sink writes it.
RFC5424 = re.compile(r'^<(\d+)>1 (\S+) (\S+) safeguard (\d+) (\S+) '
                     r'\[safeguard@32473 seq="(\d+)" format="(\w+)"\] (.*)$')


# --- the private rsyslog ------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    """Whether something listens on 127.0.0.1:port (read from /proc: probing would connect)."""
    needle = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as fh:
        return any(line.split()[1] == needle and line.split()[3] == "0A"
                   for line in fh.readlines()[1:])


def wait_until(predicate: Callable[[], bool], *, timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` (every 10 ms) until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.01)


class Rsyslog:
    """One private rsyslogd: imtcp on 127.0.0.1:port, writing %rawmsg% and parsed fields."""

    def __init__(self, root: Path, *, tls: dict[str, Path] | None = None) -> None:
        self.root = root
        self.port = _free_port()
        self.tls = tls
        self.raw = root / "raw.log"
        self.parsed = root / "parsed.log"
        self.proc: subprocess.Popen[bytes] | None = None
        (root / "work").mkdir(parents=True, exist_ok=True)
        self.conf = root / "rsyslog.conf"
        self.conf.write_text(self._config())

    def _config(self) -> str:
        tls_global = tls_module = ""
        if self.tls:
            tls_global = (f' DefaultNetstreamDriver="ossl"'
                          f' DefaultNetstreamDriverCAFile="{self.tls["ca"]}"'
                          f' DefaultNetstreamDriverCertFile="{self.tls["cert"]}"'
                          f' DefaultNetstreamDriverKeyFile="{self.tls["key"]}"')
            tls_module = (' StreamDriver.Name="ossl" StreamDriver.Mode="1"'
                          ' StreamDriver.AuthMode="anon"')
        return f"""
global(workDirectory="{self.root / 'work'}" maxMessageSize="64k"{tls_global})
module(load="imtcp"{tls_module})
input(type="imtcp" address="127.0.0.1" port="{self.port}")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="list") {{
  property(name="app-name") constant(value="|")
  property(name="msgid") constant(value="|")
  property(name="structured-data") constant(value="|")
  property(name="msg" droplastlf="on") constant(value="\\n")
}}
action(type="omfile" file="{self.raw}" template="raw")
action(type="omfile" file="{self.parsed}" template="parsed")
"""

    def start(self) -> None:
        assert self.proc is None, "already running"
        pidfile = self.root / "rsyslogd.pid"
        pidfile.unlink(missing_ok=True)
        # The child holds its own copy of the descriptor; ours is closed even when the start
        # fails (an unclosed file here failed the *next* test through warnings-as-errors).
        with open(self.root / "rsyslogd.out", "ab") as log:
            self.proc = subprocess.Popen(
                [RSYSLOGD, "-n", "-f", str(self.conf), "-i", str(pidfile)],
                stdout=log, stderr=subprocess.STDOUT)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"rsyslogd exited: {(self.root / 'rsyslogd.out').read_text()}")
            return _listening(self.port)

        wait_until(up, what=f"rsyslogd to listen on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        """SIGTERM to our own rsyslogd (by its pid) and wait until it is gone."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def lines(self) -> list[str]:
        if not self.raw.exists():
            return []
        return self.raw.read_text(encoding="utf-8").splitlines()

    def parsed_lines(self) -> list[str]:
        return self.parsed.read_text(encoding="utf-8").splitlines() if self.parsed.exists() else []

    def wait_for_lines(self, n: int, *, timeout: float = 10.0) -> list[str]:
        wait_until(lambda: len(self.lines()) >= n, timeout=timeout,
                   what=f"{n} lines in rsyslog's output (have {len(self.lines())})")
        return self.lines()


def _require_rsyslogd() -> None:
    """Skip (never error) a test whose peer is not installed: `make system-packages`."""
    if not os.access(RSYSLOGD, os.X_OK):
        pytest.skip("rsyslog is not installed (make system-packages, or apt-get install rsyslog)")


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    _require_rsyslogd()
    server = Rsyslog(tmp_path / "rsyslog")
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- helpers ------------------------------------------------------------------------------------

ACTIONS = ["auth.login", "role.granted", "auth.login_failed", "mfa.enrolled", "access.denied",
           "api_token.used", "case.viewed"]


def record_events(n: int, *, start: int = 0) -> list[int]:
    """Record ``n`` varied events (with request context) and return their sequence numbers."""
    seqs = []
    for i in range(start, start + n):
        action = ACTIONS[i % len(ACTIONS)]
        token = context.bind(context.RequestContext(source_ip="192.0.2.7", user_agent="UA|=\\",
                                                    request_id=f"req-{i}"))
        try:
            seqs.append(audit.record(
                action=action, actor=USER, subject=("user", 5),
                outcome={"auth.login_failed": "failure", "access.denied": "denied"}.get(
                    action, "success"),
                data={"i": i, "note": "a=b|c\\d \"quoted\" ]"}))
        finally:
            context.reset(token)
    return seqs


def seqs_of(lines: list[str]) -> list[int]:
    return [int(m.group(6)) for m in map(RFC5424.match, lines) if m]


def sample(name: str, metric: str, **labels: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(metric, {"forwarder": name, **labels}) or 0.0


def make_forwarder(name: str, server: Rsyslog, *, fmt: str = "ocsf", batch: int = 500,
                   sleep: Callable[[float], None] | None = None,
                   backoff: Backoff | None = None, tls=None) -> Forwarder:
    sink = SyslogSink(host="127.0.0.1", port=server.port, fmt=fmt, tls=tls,
                      hostname="sg-test", send_timeout=5)
    return Forwarder(name=name, sink=sink, fmt=fmt, batch_size=batch, sleep=sleep,
                     backoff=backoff or Backoff(base=0.01, cap=0.2, rng=Random(1)))


# --- order, framing, format ---------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["ocsf", "ecs", "cef"])
def test_events_reach_rsyslog_in_order_with_framing_and_payload_intact(rsyslog, fmt):
    # given 30 events, some with multi-byte labels and characters special to every format
    record_events(30)
    events = audit_selectors.event_batch_after(after_seq=0, limit=10_000)
    name = f"order-{fmt}"
    fwd = make_forwarder(name, rsyslog, fmt=fmt, batch=7)
    # when the forwarder ships them in batches of 7 over one connection
    result = fwd.run(until_caught_up=True)
    fwd.close()
    lines = rsyslog.wait_for_lines(len(events))
    # then rsyslog received exactly one message per event, in sequence order
    assert (result.shipped, result.batches, result.failures) == (len(events), 5, 0)
    assert seqs_of(lines) == [e.seq for e in events]
    assert len(lines) == len(events)
    # and each message is RFC 5424 with the right header and the exact payload (a wrong octet
    # count would cut or merge the multi-byte messages)
    for line, ev in zip(lines, events, strict=True):
        m = RFC5424.match(line)
        assert m is not None, line
        pri, ts, host, _pid, msgid, seq, fmt_sd, payload = m.groups()
        assert int(pri) == 13 * 8 + formats.syslog_severity(formats.severity_id(ev))
        assert ts == formats.iso_utc(ev.at)
        assert (host, msgid, int(seq), fmt_sd) == ("sg-test", ev.action, ev.seq, fmt)
        assert payload == formats.render(ev, fmt=fmt, product_version=VERSION)
    # and rsyslog's own RFC 5424 parser agrees on APP-NAME, MSGID and structured data
    parsed = rsyslog.parsed_lines()
    assert [p.split("|", 3)[:3] for p in parsed] == [
        ["safeguard", e.action, f'[safeguard@32473 seq="{e.seq}" format="{fmt}"]']
        for e in events]
    if fmt != "cef":
        assert json.loads(parsed[0].split("|", 3)[3]) == json.loads(
            formats.render(events[0], fmt=fmt, product_version=VERSION))
    # and the cursor and the metrics say everything was delivered
    assert siem_selectors.cursor_position(name=name) == events[-1].seq
    assert sample(name, "safeguard_siem_lag_events") == 0
    assert sample(name, "safeguard_siem_events_shipped_total") == len(events)


# --- a peer that goes away ----------------------------------------------------------------------

@pytest.mark.django_db
def test_peer_outage_mid_stream_backs_off_and_loses_nothing(rsyslog):
    # given a forwarder that shipped 20 events and holds its connection open
    record_events(20)
    delays: list[float] = []
    lag_while_down: list[float] = []
    name = "outage"

    def sleep(seconds: float) -> None:
        # the forwarder's backoff waits: restart the peer (same port) after the third failure
        delays.append(seconds)
        lag_while_down.append(sample(name, "safeguard_siem_lag_events"))
        if len(delays) == 3:
            rsyslog.start()
        time.sleep(min(seconds, 0.05))

    fwd = make_forwarder(name, rsyslog, batch=6, sleep=sleep,
                         backoff=Backoff(base=0.02, cap=1.0, rng=Random(7)))
    assert fwd.run(until_caught_up=True).shipped == 20
    rsyslog.wait_for_lines(20)
    # when the peer goes away mid-stream, 15 more events happen, and the forwarder carries on
    rsyslog.stop()
    record_events(15, start=20)
    result = fwd.run(until_caught_up=True)
    fwd.close()
    # then it failed while the peer was down, waiting longer each time (with jitter)
    assert result.failures == 3
    assert sample(name, "safeguard_siem_failures_total", reason="sink") == 3
    assert [0.01 <= delays[0] <= 0.02, 0.02 <= delays[1] <= 0.04, 0.04 <= delays[2] <= 0.08] \
        == [True, True, True], delays
    assert lag_while_down == [15, 15, 15]
    # and once the peer was back every event arrived: none lost. Duplicates are allowed only at
    # the outage boundary (events recorded during the outage, re-sent if a batch was cut off);
    # everything shipped before the outage arrives exactly once
    lines = rsyslog.wait_for_lines(35)
    events = audit_selectors.event_batch_after(after_seq=0, limit=10_000)
    counts = Counter(seqs_of(lines))
    assert set(counts) == {e.seq for e in events}
    assert all(counts[e.seq] == 1 for e in events[:20])
    assert {s for s, c in counts.items() if c > 1} <= {e.seq for e in events[20:]}
    # and first arrivals are still in sequence order
    first_seen = list(dict.fromkeys(seqs_of(lines)))
    assert first_seen == sorted(first_seen)
    assert siem_selectors.cursor_position(name=name) == events[-1].seq
    assert sample(name, "safeguard_siem_lag_events") == 0


@pytest.mark.django_db
def test_unreachable_peer_without_retry_raises_and_keeps_the_cursor(rsyslog):
    # given events and a peer that is down
    record_events(3)
    rsyslog.stop()
    fwd = make_forwarder("down-once", rsyslog)
    # when a single pass is attempted (the CLI's --once)
    with pytest.raises(SinkError, match="cannot connect"):
        fwd.run(until_caught_up=True, retry=False)
    # then nothing moved
    assert siem_selectors.cursor_position(name="down-once") == 0
    assert sample("down-once", "safeguard_siem_lag_events") == 3


# --- a forwarder that crashes -------------------------------------------------------------------

class Crash(BaseException):
    """Stands in for the process dying: nothing in the forwarder catches it."""


@pytest.mark.django_db
def test_crash_after_delivery_before_cursor_commit_resumes_without_loss(rsyslog, monkeypatch):
    # given 25 events and a forwarder (batches of 10) that dies after the peer accepted its
    # second batch but before that batch's cursor commit
    record_events(25)
    real_advance = forwarder_module.services.cursor_advance
    calls = []

    def advance_then_die(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise Crash
        real_advance(**kwargs)

    monkeypatch.setattr(forwarder_module.services, "cursor_advance", advance_then_die)
    crashing = make_forwarder("crash", rsyslog, batch=10)
    with pytest.raises(Crash):
        crashing.run(until_caught_up=True)
    crashing.close()  # the dead process's socket
    monkeypatch.undo()
    events = audit_selectors.event_batch_after(after_seq=0, limit=10_000)
    assert siem_selectors.cursor_position(name="crash") == events[9].seq
    rsyslog.wait_for_lines(20)
    # when a new forwarder with the same name starts
    resumed = make_forwarder("crash", rsyslog, batch=10)
    result = resumed.run(until_caught_up=True)
    resumed.close()
    # then it resumes from the committed cursor: every event arrived, and exactly the batch that
    # was in flight at the crash arrived twice (at-least-once, never lost)
    lines = rsyslog.wait_for_lines(35)
    counts = Counter(seqs_of(lines))
    assert result.shipped == 15
    assert set(counts) == {e.seq for e in events}
    assert sorted(s for s, c in counts.items() if c == 2) == [e.seq for e in events[10:20]]
    assert max(counts.values()) == 2
    assert siem_selectors.cursor_position(name="crash") == events[-1].seq


@pytest.mark.slow
def test_forwarder_process_killed_mid_stream_resumes_without_loss(rsyslog, tmp_path):
    # given a separate database (a file, so other processes share it) holding 300 events
    env = {**os.environ, "SAFEGUARD_ENV": "test", "SAFEGUARD_DATA_DIR": str(tmp_path / "data"),
           "DJANGO_SETTINGS_MODULE": "safeguard.settings"}
    env.pop("DATABASE_URL", None)
    total, batch = 300, 2
    subprocess.run([sys.executable, "-c", (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "from django.db import transaction\n"
        "from safeguard.audit import services\n"
        "from safeguard.audit.contracts import Actor\n"
        "call_command('migrate', verbosity=0)\n"
        "with transaction.atomic():\n"
        f"    for i in range({total}):\n"
        "        services.record(action='auth.login', actor=Actor(kind='user', id='5',"
        " label='Zoë'), subject=('user', 5), data={'i': i})\n")],
        env=env, check=True, timeout=120)
    safeguard = str(Path(sys.executable).parent / "safeguard")
    metrics_port = _free_port()
    forward = [safeguard, "siem", "forward", "--name", "killed", "--format", "ocsf",
               "--sink", f"syslog+tcp://127.0.0.1:{rsyslog.port}"]
    # when the continuous forwarder (small batches) is killed with SIGKILL mid-stream
    proc = subprocess.Popen([*forward, "--batch", str(batch), "--metrics-port",
                             str(metrics_port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rsyslog.wait_for_lines(20, timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                    timeout=5) as resp:
            exposition = resp.read().decode()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert re.search(r'^safeguard_siem_lag_events\{forwarder="killed"\} \d', exposition, re.M)
    with sqlite3.connect(tmp_path / "data" / "safeguard.sqlite3") as db:
        cursor_at_kill = db.execute(
            "SELECT last_seq FROM audit_forwardercursor WHERE name = 'killed'").fetchone()[0]
    assert cursor_at_kill < total, "the forwarder finished before it was killed: no crash tested"
    # and a new one catches up in one pass
    done = subprocess.run([*forward, "--once"], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"cursor at {total}" in done.stdout
    # then every event arrived complete at least once, and re-sent ones all belong to the one
    # batch that may have been in flight when the process died
    lines = rsyslog.wait_for_lines(total)
    complete: Counter[int] = Counter()
    for line in lines:
        m = RFC5424.match(line)
        try:
            payload = json.loads(m.group(8)) if m else None
        except json.JSONDecodeError:
            continue  # a frame cut off by the kill; its event is re-sent whole
        if payload is not None:
            complete[payload["metadata"]["sequence"]] += 1
    assert set(complete) == set(range(1, total + 1))
    resent = {s for s, c in Counter(seqs_of(lines)).items() if c > 1}
    assert resent <= set(range(cursor_at_kill + 1, cursor_at_kill + batch + 1))


# --- TLS ----------------------------------------------------------------------------------------

def _make_ca_and_server_cert(root: Path, name: str) -> dict[str, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    srv = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
           .issuer_name(ca_name).public_key(srv_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now - dt.timedelta(minutes=5))
           .not_valid_after(now + dt.timedelta(days=1))
           .add_extension(x509.SubjectAlternativeName(
               [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
           .sign(ca_key, hashes.SHA256()))
    root.mkdir(parents=True, exist_ok=True)
    files = {"ca": root / "ca.pem", "cert": root / "server.pem", "key": root / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(srv_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return files


@pytest.fixture
def tls_rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    if not OSSL_DRIVER:
        pytest.skip("rsyslog's OpenSSL driver is not installed (apt-get install rsyslog-openssl)")
    server = Rsyslog(tmp_path / "rsyslog-tls",
                     tls=_make_ca_and_server_cert(tmp_path / "pki", "server"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.mark.django_db
def test_tls_peer_with_a_trusted_certificate_receives_events(tls_rsyslog, settings):
    # given a TLS syslog peer whose CA is configured
    from safeguard.audit.siem import config

    settings.SAFEGUARD_SIEM_TLS_CA = str(tls_rsyslog.tls["ca"])
    record_events(5)
    fwd = make_forwarder("tls-ok", tls_rsyslog, tls=config.tls_context())
    # when the forwarder ships over TLS
    result = fwd.run(until_caught_up=True)
    fwd.close()
    # then every event arrived intact and in order
    lines = tls_rsyslog.wait_for_lines(5)
    events = audit_selectors.event_batch_after(after_seq=0, limit=100)
    assert result.shipped == len(events)
    assert seqs_of(lines) == [e.seq for e in events]


@pytest.mark.django_db
def test_tls_peer_with_an_untrusted_certificate_is_refused(tls_rsyslog, settings, tmp_path):
    # given a TLS peer whose certificate was issued by a CA we do not trust
    from safeguard.audit.siem import config

    other = _make_ca_and_server_cert(tmp_path / "other-pki", "other")
    settings.SAFEGUARD_SIEM_TLS_CA = str(other["ca"])
    record_events(2)
    fwd = make_forwarder("tls-bad", tls_rsyslog, tls=config.tls_context())
    # when the forwarder tries once
    with pytest.raises(SinkError, match="certificate verify failed"):
        fwd.run(until_caught_up=True, retry=False)
    # then nothing was delivered and the cursor did not move
    assert siem_selectors.cursor_position(name="tls-bad") == 0
    assert tls_rsyslog.lines() == []
    assert sample("tls-bad", "safeguard_siem_failures_total", reason="sink") == 1
