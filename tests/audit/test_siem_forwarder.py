"""SIEM forwarder without a syslog peer: file sink, cursors, backoff, CLI, periodic job, config."""

from __future__ import annotations

import json
import os
from random import Random

import pytest
from django.core.management import CommandError, call_command

from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.audit.siem import config, services, sinks, tasks
from safeguard.audit.siem import forwarder as forwarder_module
from safeguard.audit.siem import selectors as siem_selectors
from safeguard.audit.siem.contracts import CursorConflict, SiemConfigError, SinkSpec
from safeguard.audit.siem.forwarder import Backoff, Forwarder
from safeguard.audit.siem.sinks import FileSink, SinkError

ADMIN = Actor(kind="user", id="1", label="admin@example.org")


def record_events(n: int) -> list[int]:
    return [audit.record(action="role.granted", actor=ADMIN, subject=("user", i),
                         data={"role": "agent", "i": i}) for i in range(n)]


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# --- file sink ----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_file_sink_writes_one_json_line_per_event_and_fsyncs_before_the_cursor_moves(
        tmp_path, monkeypatch):
    # given 12 events and a JSON-lines file sink
    record_events(12)
    order: list[str] = []
    real_fsync, real_advance = os.fsync, forwarder_module.services.cursor_advance
    monkeypatch.setattr(sinks.os, "fsync", lambda fd: (order.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(forwarder_module.services, "cursor_advance",
                        lambda **kw: (order.append("commit"), real_advance(**kw)))
    path = tmp_path / "siem" / "audit.jsonl"
    fwd = Forwarder(name="file", sink=FileSink(path=path), fmt="ecs", batch_size=5)
    # when the forwarder runs until caught up
    result = fwd.run(until_caught_up=True)
    fwd.close()
    # then the file holds every event once, in order, as ECS JSON
    events = audit_selectors.event_batch_after(after_seq=0, limit=1000)
    docs = read_jsonl(path)
    assert [d["event"]["sequence"] for d in docs] == [e.seq for e in events]
    assert docs[0]["event"]["action"] == "role.granted"
    assert (result.shipped, result.batches) == (12, 3)
    # and each batch reached the disk before its cursor commit
    assert [o for o in order if o == "commit"] == ["commit"] * 3
    for i, step in enumerate(order):
        if step == "commit":
            assert order[i - 1] == "fsync"
    assert siem_selectors.cursor_position(name="file") == events[-1].seq
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)


@pytest.mark.django_db
def test_file_sink_cuts_a_torn_last_line_left_by_a_crash(tmp_path):
    # given a file whose last line was cut short by a crash (its batch was never committed)
    path = tmp_path / "audit.jsonl"
    path.write_text('{"complete":1}\n{"complete":2}\n{"event":{"sequ', encoding="utf-8")
    record_events(3)
    # when a forwarder appends to it
    fwd = Forwarder(name="torn", sink=FileSink(path=path), fmt="ocsf")
    fwd.run(until_caught_up=True)
    fwd.close()
    # then the torn line is gone and every line is valid JSON
    docs = read_jsonl(path)
    assert docs[:2] == [{"complete": 1}, {"complete": 2}]
    assert [d["metadata"]["sequence"] for d in docs[2:]] == [
        e.seq for e in audit_selectors.event_batch_after(after_seq=0, limit=10)]


def test_file_sink_repairs_a_file_that_is_only_a_torn_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"never finish')
    sink = FileSink(path=path)
    sink.send([])  # an empty batch never opens the file
    assert path.read_bytes() == b'{"never finish'
    sink._open()
    assert path.read_bytes() == b""
    sink.close()


@pytest.mark.django_db
def test_unwritable_file_is_a_retryable_failure_and_the_cursor_stays(tmp_path):
    # given a sink path whose parent is a regular file
    (tmp_path / "not-a-dir").write_text("x")
    record_events(2)
    fwd = Forwarder(name="unwritable", sink=FileSink(path=tmp_path / "not-a-dir" / "a.jsonl"),
                    fmt="cef")
    # when a single pass is attempted
    with pytest.raises(SinkError, match="not-a-dir"):
        fwd.run(until_caught_up=True, retry=False)
    # then nothing moved
    assert siem_selectors.cursor_position(name="unwritable") == 0


# --- cursors ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_cursor_only_moves_forward_and_detects_a_second_forwarder():
    # given a cursor another forwarder already moved to 5
    services.cursor_ensure(name="twin")
    services.cursor_advance(name="twin", from_seq=0, to_seq=5)
    # when a second forwarder that read 0 tries to commit
    with pytest.raises(CursorConflict, match="another forwarder with the same name"):
        services.cursor_advance(name="twin", from_seq=0, to_seq=3)
    # then the cursor is untouched, and moving backwards is refused outright
    assert siem_selectors.cursor_position(name="twin") == 5
    with pytest.raises(ValueError, match="only moves forward"):
        services.cursor_advance(name="twin", from_seq=5, to_seq=4)


@pytest.mark.django_db
def test_forwarder_stops_on_a_cursor_conflict_instead_of_retrying(tmp_path, monkeypatch):
    record_events(2)
    fwd = Forwarder(name="racer", sink=FileSink(path=tmp_path / "a.jsonl"), fmt="ocsf")

    def other_forwarder_won(**kwargs):
        raise CursorConflict("moved by someone else")

    monkeypatch.setattr(forwarder_module.services, "cursor_advance", other_forwarder_won)
    with pytest.raises(CursorConflict):
        fwd.run(until_caught_up=True)
    fwd.close()


# --- backoff ------------------------------------------------------------------------------------

def test_backoff_doubles_with_jitter_up_to_the_cap_and_resets():
    backoff = Backoff(base=1.0, cap=8.0, rng=Random(3))
    delays = [backoff.next_delay() for _ in range(6)]
    ceilings = [1, 2, 4, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True)), delays
    assert len(set(delays)) == 6  # jittered, not lockstep
    backoff.reset()
    assert 0.5 <= backoff.next_delay() <= 1.0


def test_backoff_survives_a_very_long_outage():
    backoff = Backoff(base=0.5, cap=60.0, rng=Random(1))
    for _ in range(10_000):
        delay = backoff.next_delay()
    assert 30.0 <= delay <= 60.0


# --- configuration ------------------------------------------------------------------------------

def test_sink_urls_parse_to_specs():
    assert sinks.parse_sink_url("syslog+tcp://siem.example.org:6514") == SinkSpec(
        scheme="syslog+tcp", host="siem.example.org", port=6514)
    assert sinks.parse_sink_url("syslog+tls://[2001:db8::5]:6514?facility=10") == SinkSpec(
        scheme="syslog+tls", host="2001:db8::5", port=6514, facility=10)
    assert sinks.parse_sink_url("file:///var/lib/safeguard/audit.jsonl") == SinkSpec(
        scheme="file", path="/var/lib/safeguard/audit.jsonl")


@pytest.mark.parametrize(("url", "message"), [
    ("http://siem:80", "unsupported sink"),
    ("syslog+udp://siem:514", "unsupported sink"),
    ("syslog+tcp://siem", "needs a host and a port"),
    ("syslog+tcp://:6514", "needs a host and a port"),
    ("syslog+tcp://siem:99999", "not a valid URL"),
    ("syslog+tcp://siem:6514?facility=30", "facility must be 0..23"),
    ("syslog+tcp://siem:6514?ca=/x", "unknown option"),
    ("file://relative/path.jsonl", "absolute path"),
    ("file:///var/lib/", "names a directory"),
])
def test_bad_sink_urls_are_refused_with_a_reason(url, message):
    with pytest.raises(SiemConfigError, match=message):
        sinks.parse_sink_url(url)


def test_siem_sinks_setting_parses_and_validates():
    specs = config.parse_sinks(" soc=ocsf@syslog+tls://siem:6514 ,\n"
                               "archive=ecs@file:///srv/audit.jsonl,")
    assert [(s.name, s.fmt, s.sink.describe()) for s in specs] == [
        ("soc", "ocsf", "syslog+tls://siem:6514"), ("archive", "ecs", "file:///srv/audit.jsonl")]
    assert config.parse_sinks("") == []
    with pytest.raises(SiemConfigError, match="NAME=FORMAT@URL"):
        config.parse_sinks("soc:syslog+tcp://siem:6514")
    with pytest.raises(SiemConfigError, match="twice"):
        config.parse_sinks("a=ocsf@file:///x,a=ecs@file:///y")
    with pytest.raises(SiemConfigError, match="format 'xml'"):
        config.parse_sinks("a=xml@file:///x")
    with pytest.raises(SiemConfigError, match="forwarder name 'Bad Name'"):
        config.parse_sinks("Bad Name=ocsf@file:///x")


def test_tls_settings_that_point_nowhere_are_a_clear_error(settings, tmp_path):
    settings.SAFEGUARD_SIEM_TLS_CA = str(tmp_path / "missing-ca.pem")
    with pytest.raises(SiemConfigError, match="SAFEGUARD_SIEM_TLS_CA"):
        config.tls_context()


# --- periodic job -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_periodic_job_does_nothing_unless_configured(settings):
    settings.SAFEGUARD_SIEM_SINKS = ""
    record_events(1)
    assert tasks.siem_forward_all() == {}
    assert siem_selectors.cursor_list() == []


@pytest.mark.django_db
def test_periodic_job_ships_every_configured_forwarder(settings, tmp_path):
    # given two configured file forwarders
    a, b = tmp_path / "a.jsonl", tmp_path / "b.cef"
    settings.SAFEGUARD_SIEM_SINKS = f"arch=ecs@file://{a},cef=cef@file://{b}"
    record_events(4)
    # when the periodic job runs (its body, as Huey would call it)
    tasks.siem_forward.call_local()
    # then each forwarder shipped the whole log in its format, and a second run adds nothing
    assert len(read_jsonl(a)) == 4
    assert [line[:6] for line in b.read_text().splitlines()] == ["CEF:0|"] * 4
    assert tasks.siem_forward_all()["arch"].shipped == 0
    assert {c.name: (c.lag) for c in siem_selectors.cursor_list()} == {"arch": 0, "cef": 0}


@pytest.mark.django_db
def test_periodic_job_with_an_invalid_setting_ships_nothing_and_logs(settings, caplog):
    settings.SAFEGUARD_SIEM_SINKS = "oops"
    assert tasks.siem_forward_all() == {}
    assert "SAFEGUARD_SIEM_SINKS is invalid" in caplog.text


# --- command line -------------------------------------------------------------------------------

@pytest.mark.django_db
def test_cli_forward_once_to_a_file_then_status_shows_the_lag(tmp_path, capsys):
    # given 3 events
    record_events(3)
    path = tmp_path / "out.jsonl"
    # when they are forwarded once, and 2 more events happen afterwards
    call_command("siem", "forward", "--name", "cli", "--sink", f"file://{path}",
                 "--format", "ocsf", "--once", "--batch", "2")
    out = capsys.readouterr().out
    record_events(2)
    call_command("siem", "status")
    status = capsys.readouterr().out
    call_command("siem", "status", "--json")
    as_json = json.loads(capsys.readouterr().out)
    # then the file has the 3 events, and status reports the cursor and a lag of 2
    newest = audit_selectors.last_seq()
    assert f"cli: shipped 3 events in 2 batches, cursor at {newest - 2}" in out
    assert [d["class_uid"] for d in read_jsonl(path)] == [3001, 3001, 3001]
    assert status.split()[:5] == ["cli", "cursor", str(newest - 2), "lag", "2"]
    assert as_json["cursors"][0] | {"updated_at": None} == {
        "name": "cli", "last_seq": newest - 2, "lag": 2, "updated_at": None}


@pytest.mark.django_db
def test_cli_forward_once_to_an_unreachable_peer_fails_clearly(tmp_path):
    record_events(1)
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(CommandError, match=r"cannot connect.*cursor of down stays at 0, "
                                           r"nothing is lost"):
        call_command("siem", "forward", "--name", "down", "--sink",
                     f"syslog+tcp://127.0.0.1:{port}", "--format", "cef", "--once")


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [
    (["--sink", "http://x:1", "--format", "ocsf"], "unsupported sink"),
    (["--sink", "syslog+tcp://x", "--format", "ocsf"], "needs a host and a port"),
    (["--sink", "file://x.jsonl", "--format", "ocsf"], "absolute path"),
    (["--sink", "file:///tmp/x", "--format", "xml"], "invalid choice: 'xml'"),
    (["--sink", "file:///tmp/x", "--format", "ecs", "--batch", "0"], "must be at least 1"),
    (["--sink", "file:///tmp/x", "--format", "ecs", "--batch", "ten"], "not a whole number"),
    (["--sink", "file:///tmp/x", "--format", "ecs", "--poll", "-1"], "positive number"),
    (["--sink", "file:///tmp/x", "--format", "ecs", "--metrics-port", "70000"], "0..65535"),
])
def test_cli_forward_refuses_bad_arguments_clearly(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("siem", "forward", "--name", "bad", *args, "--once")
    assert siem_selectors.cursor_list() == []


@pytest.mark.django_db
def test_cli_forward_refuses_a_bad_name():
    with pytest.raises(CommandError, match="forwarder name 'Not OK'"):
        call_command("siem", "forward", "--name", "Not OK", "--sink", "file:///tmp/x",
                     "--format", "ocsf", "--once")


@pytest.mark.django_db
def test_cli_reset_replays_from_a_sequence_number_and_is_audited(tmp_path, capsys):
    # given a forwarder that shipped everything
    record_events(4)
    path = tmp_path / "replay.jsonl"
    forward = ["siem", "forward", "--name", "replay", "--sink", f"file://{path}",
               "--format", "ecs", "--once"]
    call_command(*forward)
    newest = audit_selectors.last_seq()
    # when an operator moves its cursor back to replay the last two events
    call_command("siem", "reset", "--name", "replay", "--to", str(newest - 2))
    assert f"replay: cursor {newest} -> {newest - 2}" in capsys.readouterr().out
    call_command(*forward)
    # then those two (and the reset's own audit event) are shipped again
    seqs = [d["event"]["sequence"] for d in read_jsonl(path)]
    assert seqs[-3:] == [newest - 1, newest, newest + 1]
    reset_event = audit_selectors.event_batch_after(after_seq=newest, limit=1)[0]
    assert (reset_event.action, reset_event.subject_id, reset_event.data) == (
        "siem.cursor_reset", "replay", {"from_seq": newest, "to_seq": newest - 2})
    # and nonsense is refused
    with pytest.raises(CommandError, match="between 0 and the newest"):
        call_command("siem", "reset", "--name", "replay", "--to", "999999")
    with pytest.raises(CommandError, match="no forwarder cursor named 'ghost'"):
        call_command("siem", "reset", "--name", "ghost", "--to", "0")


# --- RFC 5424 framing (pure) --------------------------------------------------------------------

def test_rfc5424_header_fields_are_sanitised_and_frames_count_bytes():
    from datetime import UTC, datetime

    from safeguard.audit.contracts import EventView

    ev = EventView(seq=7, at=datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC), actor=ADMIN,
                   action="custom.ünïcode action that is far too long for msgid",
                   subject_type="", subject_id="", outcome="denied", source_ip=None,
                   user_agent="", request_id="", data={})
    message = sinks.rfc5424_message(sinks.Record(event=ev, payload="ß日本"), facility=10,
                                    hostname="host name", procid="", fmt='o"]\\')
    header, _, payload = message.decode().partition('"] ')
    # MSGID is printable US-ASCII without spaces, at most 32 characters; empty fields are "-"
    assert header.split(" ")[:6] == [
        "<84>1", "2025-01-02T03:04:05.000006Z", "host_name", "safeguard", "-",
        "custom._n_code_action_that_is_fa"]
    assert message.decode().count("[safeguard@32473 seq=\"7\" format=\"o\\\"\\]\\\\\"]") == 1
    assert payload.endswith("ß日本")
    # the frame's length is the message's length in bytes, not characters
    frame = sinks.octet_frame(message)
    length, _, rest = frame.partition(b" ")
    assert int(length) == len(rest) == len(message)
    assert len(message.decode()) < len(message)
