"""The operator's holiday calendar feeding the request clock (R-DATA-7): the `holidays`
library for SAFEGUARD_DSR_HOLIDAY_COUNTRIES, the GDPR roll over them, CCPA unaffected except
for its ten-business-day acknowledgement, the clock states, and system checks E310/E311."""

from __future__ import annotations

from datetime import date

import pytest
from django.core import checks as dj_checks
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from safeguard.privacy import clock
from safeguard.privacy.checks import dsr_settings
from safeguard.privacy.deadlines import response_due


def test_no_countries_means_weekends_only(settings):
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = ""
    assert clock.operator_holidays(date(2026, 1, 1)) == frozenset()
    assert clock.due_on("gdpr", date(2026, 3, 3)) == date(2026, 4, 3)  # Good Friday counts


def test_english_bank_holidays_roll_the_gdpr_date(settings):
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "GB-ENG"
    days = clock.operator_holidays(date(2026, 1, 1))
    assert {date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25),
            date(2026, 12, 28)} <= days  # Good Friday, Easter Monday, Christmas, Boxing Day (sub.)
    # 3 Apr Good Friday -> weekend -> 6 Apr Easter Monday -> Tuesday 7 Apr
    assert clock.due_on("gdpr", date(2026, 3, 3)) == date(2026, 4, 7)
    # 25 Dec (Fri) -> weekend -> 28 Dec substitute Boxing Day -> Tuesday 29 Dec
    assert clock.due_on("gdpr", date(2026, 11, 25)) == date(2026, 12, 29)
    # extended: 3 months from 25 Sep 2026 = 25 Dec -> 29 Dec; the pure contract agrees
    assert clock.due_on("gdpr", date(2026, 9, 25), extended=True) == \
        response_due("gdpr", date(2026, 9, 25), extended=True, holidays=days) == date(2026, 12, 29)
    # CCPA has no weekend or holiday rule for the answer; its acknowledgement skips holidays
    assert clock.due_on("ccpa", date(2026, 11, 10)) == date(2026, 12, 25)
    assert clock.acknowledge_by("ccpa", date(2026, 12, 18)) == date(2027, 1, 6)
    assert clock.acknowledge_by("gdpr", date(2026, 12, 18)) is None


def test_several_countries_are_joined(settings):
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "DE, FR"
    days = clock.operator_holidays(date(2026, 1, 1))
    assert date(2026, 10, 3) in days  # German Unity Day
    assert date(2026, 7, 14) in days  # Bastille Day
    # 14 Jul 2026 is a Tuesday; received 14 Jun -> rolls to Wednesday 15 Jul
    assert clock.due_on("gdpr", date(2026, 6, 14)) == date(2026, 7, 15)


@hsettings(max_examples=60, deadline=None)
@given(received=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)))
def test_property_with_a_real_calendar_the_date_is_a_working_day_not_before_the_plain_one(
        received):
    from django.conf import settings

    old = settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "GB-ENG"
    try:
        days = clock.operator_holidays(received)
        for extended in (False, True):
            due = clock.due_on("gdpr", received, extended=extended)
            assert due.weekday() < 5
            assert due not in days
            assert due >= response_due("gdpr", received, extended=extended)
            assert (due - response_due("gdpr", received, extended=extended)).days <= 5
        assert clock.due_on("gdpr", received, extended=True) >= clock.due_on("gdpr", received)
    finally:
        settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = old


@pytest.mark.parametrize(("today", "ack", "state"), [
    (date(2026, 3, 10), None, "on_track"),
    (date(2026, 3, 17), None, "ack_due"),
    (date(2026, 3, 17), date(2026, 3, 5), "on_track"),
    (date(2026, 4, 10), None, "due_soon"),   # 6 days before 16 Apr (default 7)
    (date(2026, 4, 16), None, "due_soon"),   # the due day itself
    (date(2026, 4, 17), date(2026, 3, 5), "overdue"),
])
def test_clock_states(today, ack, state):
    assert clock.clock_state(today=today, due=date(2026, 4, 16), ack_by=date(2026, 3, 16),
                             acknowledged=ack) == state


def test_system_checks_refuse_an_unknown_country_and_a_bad_limit(settings):
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "GB-ENG,DE"
    assert dsr_settings() == []
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "XX"
    settings.SAFEGUARD_DSR_PUBLIC_LIMIT = "lots"
    found = dsr_settings()
    assert [m.id for m in found] == ["safeguard.E310", "safeguard.E311"]
    assert all(m.level == dj_checks.ERROR for m in found)
    settings.SAFEGUARD_DSR_HOLIDAY_COUNTRIES = "GB-XYZ"
    assert [m.id for m in dsr_settings()] == ["safeguard.E310", "safeguard.E311"]
