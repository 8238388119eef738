"""The channel settings overview (channels.manage), configuration parsing and rate limits."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from safeguard import settings as project_settings
from safeguard.channels import config, ratelimit
from safeguard.channels.contracts import RateLimited
from tests.channels.conftest import SECRET
from tests.factories import make_user, signed_in_client


@pytest.mark.django_db
def test_settings_overview_is_for_administrators_and_shows_no_secret(mail_routes, settings):
    settings.SAFEGUARD_WEBHOOK_SECRETS = [SECRET]
    admin = signed_in_client(make_user(roles=("administrator",)))
    agent = signed_in_client(make_user(roles=("agent",)))
    page = admin.get("/channels/settings/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "support@example.com" in html
    assert "1 secret configured" in html
    assert SECRET not in html
    assert agent.get("/channels/settings/").status_code == 403
    assert Client().get("/channels/settings/").status_code == 302  # to sign-in


@pytest.mark.django_db
def test_the_nav_shows_channels_to_administrators_only():
    admin = signed_in_client(make_user(roles=("administrator",)))
    agent = signed_in_client(make_user(roles=("agent",)))
    assert 'href="/channels/settings/"' in admin.get("/").content.decode()
    assert 'href="/channels/settings/"' not in agent.get("/").content.decode()


def test_email_queue_setting_is_parsed_and_validated():
    assert project_settings._email_queues(" Support@Example.com = general ,b@x.example=billing") \
        == {"support@example.com": "general", "b@x.example": "billing"}
    assert project_settings._email_queues("") == {}
    for bad in ("support@example.com", "general=support", "a@b.example="):
        with pytest.raises(ImproperlyConfigured):
            project_settings._email_queues(bad)


def test_rate_settings_are_validated(monkeypatch):
    monkeypatch.setenv("X_RATE", "5/h")
    assert project_settings._env_rate("X_RATE", "1/m") == "5/h"
    for bad in ("5", "0/h", "5/0m", "5/week", "-1/h"):
        monkeypatch.setenv("X_RATE", bad)
        with pytest.raises(ImproperlyConfigured):
            project_settings._env_rate("X_RATE", "1/m")


def test_own_addresses_and_domain(mail_routes):
    assert config.own_addresses() >= {"support@example.com", "billing@example.com"}
    assert config.email_domain() == "mail.example.com"
    mail_routes.SAFEGUARD_EMAIL_DOMAIN = ""
    assert config.email_domain() == "example.com"  # from SAFEGUARD_EMAIL_FROM


@pytest.mark.django_db
def test_rate_limit_window():
    assert ratelimit.parse("20/10m") == (20, 600)
    for _ in range(3):
        ratelimit.hit(scope="t", key="k", limit="3/m", now=1000.0)
    with pytest.raises(RateLimited) as exc:
        ratelimit.hit(scope="t", key="k", limit="3/m", now=1001.0)
    assert 0 < exc.value.retry_after <= 61
    assert ratelimit.remaining(scope="t", key="other", limit="3/m", now=1001.0) == 3
    ratelimit.hit(scope="t", key="k", limit="3/m", now=1021.0)  # the next window
