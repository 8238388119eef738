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
