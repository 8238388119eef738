"""The chat widget, business hours, out-of-hours message and the customer's chat status
(issue 15; R-OPS-5). Pure hours arithmetic first, then the pages."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time

import pytest
from django.core.checks import run_checks
from django.test import Client, override_settings

from safeguard.channels import hours, selectors
from tests.channels.conftest import stored_counts

START = {"name": "Alice Example", "email": "alice@customer.example",
         "message": "Hi, where is my parcel?"}
SHOP = "http://127.0.0.1:8765"


# --- business hours (pure) ------------------------------------------------------------------


def test_hours_parse_days_ranges_and_split_times():
    spec = hours.parse("mon-wed,fri 09:00-12:00 13:00-17:30; sat 10:00-24:00")
    assert spec[0] == ((time(9), time(12)), (time(13), time(17, 30)))
    assert 3 not in spec  # thursday closed
    assert spec[4] == spec[0]
    assert spec[5] == ((time(10), time.max),)
    assert hours.parse("") == {}


@pytest.mark.parametrize("bad", ["mon", "moon 09:00-17:00", "fri-mon 09:00-17:00",
                                 "mon 9-17", "mon 17:00-09:00", "mon 25:00-26:00"])
def test_hours_refuse_what_they_cannot_read(bad):
    with pytest.raises(hours.HoursError):
        hours.parse(bad)


def test_is_open_at_the_edges_and_on_holidays():
    spec = hours.parse("mon-fri 09:00-17:00; sat 10:00-24:00")
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday
    assert hours.is_open(monday, spec)
    assert not hours.is_open(monday.replace(hour=8, minute=59), spec)
    assert not hours.is_open(monday.replace(hour=17), spec)  # the end is exclusive
    # saturday until midnight
    assert hours.is_open(datetime(2026, 12, 12, 23, 59, 59, tzinfo=UTC), spec)
    assert not hours.is_open(datetime(2026, 12, 13, 12, tzinfo=UTC), spec)  # sunday
    assert not hours.is_open(monday, spec, lambda d: d == date(2026, 12, 7))
    assert hours.is_open(monday, None)


@override_settings(SAFEGUARD_CHAT_HOURS="mon-fri 09:00-17:00",
                   SAFEGUARD_CHAT_TIMEZONE="Europe/Berlin", SAFEGUARD_CHAT_HOLIDAYS="DE")
def test_chat_is_open_uses_the_time_zone_and_the_holiday_calendar():
    # 08:30 UTC on a Monday is 09:30 in Berlin (winter time): open
    assert selectors.chat_is_open(at=datetime(2026, 12, 7, 8, 30, tzinfo=UTC))
    # 16:30 UTC is 17:30 in Berlin: closed
    assert not selectors.chat_is_open(at=datetime(2026, 12, 7, 16, 30, tzinfo=UTC))
    # Christmas Day 2026 is a Friday and a German public holiday: closed all day
    assert not selectors.chat_is_open(at=datetime(2026, 12, 25, 10, 0, tzinfo=UTC))


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(SAFEGUARD_CHAT_HOURS="sun 00:00-00:01", SAFEGUARD_CHAT_TIMEZONE="UTC",
                   SAFEGUARD_CHAT_OUT_OF_HOURS_MESSAGE="We are closed; back on Monday.")
def test_out_of_hours_the_chat_shows_the_message_and_starts_nothing(time_machine):
    time_machine.move_to(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))  # a Monday noon
    client = Client()
    page = client.get("/chat/")
    assert page.status_code == 200
    assert "We are closed; back on Monday." in page.content.decode()
    assert 'href="/contact/"' in page.content.decode()
    before = stored_counts()
    refused = client.post("/chat/", START)
    assert refused.status_code == 409
    assert stored_counts() == before
    widget = client.get("/chat/widget.js").content.decode()
    assert '"open": false' in widget


@pytest.mark.django_db
@override_settings(SAFEGUARD_CHAT_WIDGET_ORIGINS=[SHOP])
def test_the_widget_script_is_loadable_cross_origin_and_carries_its_configuration():
    response = Client().get("/chat/widget.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert response["Cache-Control"] == "no-store"  # opening hours change: never cached
    config = re.search(r"var CONFIG = (\{.*?\});", response.content.decode())[1]
    assert json.loads(config) == {"origins": [SHOP], "open": True,
                                  "closed_label": "Leave us a message"}
    assert "/*SAFEGUARD_CONFIG*/" not in response.content.decode()


@pytest.mark.django_db
@override_settings(SAFEGUARD_CHAT_WIDGET_ORIGINS=[SHOP])
def test_only_the_embedded_chat_may_be_framed_and_only_by_the_listed_origins():
    client = Client()
    framed = client.get("/chat/?embed=1")
    assert "frame-ancestors 'self' " + SHOP in framed["Content-Security-Policy"]
    assert "X-Frame-Options" not in framed
    assert 'action="/chat/?embed=1"' in framed.content.decode()
    assert 'class="topbar"' not in framed.content.decode()
    plain = client.get("/chat/")
    assert "frame-ancestors 'none'" in plain["Content-Security-Policy"]
    assert plain["X-Frame-Options"] == "DENY"
    # starting from the frame keeps the conversation in the frame
    started = client.post("/chat/?embed=1", START)
    assert started.status_code == 302
    assert started["Location"].endswith("/?embed=1")
    chat = client.get(started["Location"])
    assert "frame-ancestors 'self' " + SHOP in chat["Content-Security-Policy"]
    assert 'data-queue-position="1"' in chat.content.decode()


@pytest.mark.django_db
def test_without_listed_origins_nothing_may_frame_the_chat():
    framed = Client().get("/chat/?embed=1")
    assert "frame-ancestors 'none'" in framed["Content-Security-Policy"]
    assert framed["X-Frame-Options"] == "DENY"


@override_settings(SAFEGUARD_CHAT_HOURS="mon 9-17",
                   SAFEGUARD_CHAT_WIDGET_ORIGINS=["shop.example"], SAFEGUARD_CHAT_HOLIDAYS="XX",
                   SAFEGUARD_PRESENCE_SECONDS=30,
                   SAFEGUARD_PRESENCE_TTL_SECONDS=20, SAFEGUARD_LIST_PAGE_SIZE=0)
def test_checks_name_each_bad_setting():
    ids = sorted({m.id for m in run_checks() if m.id and m.id.startswith("safeguard.E41")})
    assert ids == ["safeguard.E415", "safeguard.E416", "safeguard.E417", "safeguard.E418",
                   "safeguard.E419"]
