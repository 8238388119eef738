"""Every channel live in the demo (issue 15, item 10; R-OPS-5): the integration token works for
the REST ingest and nothing else, and the demo's SMTP server routes the Northwind addresses."""

from __future__ import annotations

import smtplib
import stat
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from safeguard.accounts import selectors as accounts_selectors
from safeguard.audit.contracts import Actor
from safeguard.cases import services as cases
from safeguard.ops.demo import channels as demo_channels
from safeguard.ops.management.commands.demo import Command
from tests.channels.conftest import all_cases, free_port, mail

BODY = {"sender": {"email": "carol@customer.example", "name": "Carol"},
        "subject": "Order 1234", "text": "Where is my order?", "external_id": "crm-demo-1"}


@pytest.fixture
def data_dir(settings, tmp_path) -> Path:
    settings.DATA_DIR = tmp_path / "var"
    return settings.DATA_DIR


@pytest.mark.django_db
def test_the_integration_token_ingests_and_holds_nothing_else(data_dir):
    # given the demo's integration credential
    token = demo_channels.integration_ensure()
    # then it acts as a service account whose role holds channels.ingest only
    assert token is not None
    assert token.email == "crm-integration@demo.safeguard.test"
    role = accounts_selectors.role_get(slug="integration")
    assert set(role.permissions) == {"channels.ingest"}
    user = accounts_selectors.user_get_by_email(email=token.email)
    assert user.is_service_account is True
    path = data_dir / "demo_api_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == token.secret
    # and a second run mints nothing new: the same secret, one token
    again = demo_channels.integration_ensure()
    assert again == token
    assert len(accounts_selectors.token_list(user_id=user.id)) == 1
    # when it posts a customer message, a case is created on the api channel
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token.secret}"}
    created = Client().post("/api/v1/channels/messages", data=BODY,
                            content_type="application/json", **auth)
    assert created.status_code == 201, created.content
    [case] = all_cases()
    assert case.channel == "api"
    assert created.json()["case_number"] == case.number
    # but it reads no case
    listing = Client().get("/api/v1/cases/", **auth)
    assert listing.status_code == 403


@pytest.mark.django_db
def test_the_summary_names_every_channel_and_the_token(data_dir, settings):
    settings.SAFEGUARD_WEBHOOK_SECRETS = ["x" * 64]
    settings.SAFEGUARD_DEMO_SMTPD = True
    settings.SAFEGUARD_EMAIL_QUEUES = dict(django_settings.DEMO_EMAIL_QUEUES)
    token = demo_channels.integration_ensure()
    lines: list[str] = []
    demo_channels.channels_summary(say=lines.append, port=8123, token=token)
    text = "\n".join(lines)
    assert "http://127.0.0.1:8123/chat/" in text
    assert "http://127.0.0.1:8123/contact/" in text
    assert (f"SMTP on 127.0.0.1:{settings.SAFEGUARD_SMTPD_PORT} for billing@northwind.example, "
            "fraud@northwind.example, help@northwind.example, support@northwind.example") in text
    assert "POST http://127.0.0.1:8123/channels/voice/events" in text
    assert f"Authorization: Bearer {token.secret}" in text
    assert "role integration: channels.ingest only" in text


@pytest.mark.django_db(transaction=True)
def test_the_demo_smtp_server_routes_the_northwind_addresses(settings, data_dir):
    # given the demo's mail routing and its SMTP server on a free loopback port
    settings.SAFEGUARD_EMAIL_QUEUES = dict(django_settings.DEMO_EMAIL_QUEUES)
    settings.SAFEGUARD_DEMO_SMTPD = True
    settings.SAFEGUARD_SMTPD_PORT = free_port()
    cases.queue_create(actor=Actor.system("tests"), slug="billing", name="Billing")
    server = Command()._smtpd()
    assert server is not None
    try:
        # when a customer writes to the billing address
        with smtplib.SMTP("127.0.0.1", settings.SAFEGUARD_SMTPD_PORT, timeout=10) as client:
            refused = client.send_message(mail(to="billing@northwind.example"))
            # and to an address nobody routes
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.send_message(mail(to="nobody@northwind.example",
                                         message_id="<m9@customer.example>"))
    finally:
        server.stop()
        server.handler.close()
    # then the first is a case in the billing queue, the second was refused at RCPT
    assert refused == {}
    [case] = all_cases()
    assert (case.channel, case.queue.slug) == ("email", "billing")


@pytest.mark.django_db
def test_a_taken_smtp_port_is_said_and_the_console_serves_anyway(settings, data_dir, capsys):
    import socket

    settings.SAFEGUARD_DEMO_SMTPD = True
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings.SAFEGUARD_SMTPD_PORT = taken.getsockname()[1]
        command = Command()
        assert command._smtpd() is None
    assert "set SAFEGUARD_SMTPD_PORT to a free port" in capsys.readouterr().err
