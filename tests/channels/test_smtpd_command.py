"""`safeguard smtpd` itself: starts, takes mail over SMTP, stops cleanly on SIGTERM."""

from __future__ import annotations

import io
import os
import signal
import smtplib
import threading
import time

import pytest
from django.core.management import call_command

from tests.channels.conftest import all_messages, free_port, mail
from tests.factories import ref_hash

pytestmark = pytest.mark.django_db(transaction=True)


def test_smtpd_command_serves_until_sigterm(mail_routes):
    port = free_port()
    out = io.StringIO()
    sent: list[dict] = []

    def client() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
                    sent.append(smtp.send_message(mail()))
                break
            except OSError:
                time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    thread = threading.Thread(target=client)
    thread.start()
    call_command("smtpd", "--host", "127.0.0.1", "--port", str(port), stdout=out)
    thread.join()
    assert sent == [{}]
    assert [m.external_id for m in all_messages("email")] == [ref_hash("<m1@customer.example>")]
    assert f"listening on 127.0.0.1:{port}" in out.getvalue()
    assert "stopped" in out.getvalue()
    assert signal.getsignal(signal.SIGTERM) is before  # the command put the handler back


def test_smtpd_on_a_taken_port_says_so_and_exits(mail_routes):
    # given the port already in use (a running demo's own SMTP listener, say)
    import socket

    from django.core.management.base import CommandError

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    before = signal.getsignal(signal.SIGTERM)
    threads = threading.active_count()
    try:
        # when the command is started on it
        with pytest.raises(CommandError) as refused:
            call_command("smtpd", "--host", "127.0.0.1", "--port", str(port))
    finally:
        taken.close()
    # then it names the address and the way out, instead of a traceback and a hung process
    assert f"cannot listen on 127.0.0.1:{port}" in str(refused.value)
    assert "SAFEGUARD_SMTPD_PORT" in str(refused.value)
    assert signal.getsignal(signal.SIGTERM) is before
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == threads  # no worker thread left to keep it alive
