"""DSR clocks (R-DATA-7): GDPR Art. 12(3) and CCPA § 1798.130, a pure function with the
contract of issue 16. Month ends, leap years, weekends, holidays, extensions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.privacy.deadlines import acknowledge_due, is_working_day, response_due

DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
HOLIDAYS = st.frozensets(st.dates(min_value=date(2000, 1, 1), max_value=date(2101, 6, 30)),
                         max_size=20)


@pytest.mark.parametrize(("received", "extended", "due"), [
    (date(2026, 5, 31), False, date(2026, 6, 30)),   # 31 June does not exist: last day (Tue)
    (date(2026, 5, 31), True, date(2026, 8, 31)),    # three months, 31 Aug is a Monday
    (date(2026, 3, 4), False, date(2026, 4, 6)),     # 4 Apr 2026 is a Saturday -> Monday 6th
    (date(2026, 3, 10), False, date(2026, 4, 10)),   # a Friday: stays
    (date(2024, 1, 31), False, date(2024, 2, 29)),   # leap year: 29 Feb (Thursday)
    (date(2023, 1, 31), False, date(2023, 2, 28)),   # not a leap year: 28 Feb (Tuesday)
    (date(2023, 11, 30), True, date(2024, 2, 29)),   # extended across a leap February
    (date(2026, 1, 3), False, date(2026, 2, 3)),     # Tuesday
    (date(2026, 11, 30), True, date(2027, 3, 1)),    # 28 Feb 2027 is a Sunday -> Monday 1 Mar
])
def test_gdpr_one_month_and_extension_by_the_calendar(received, extended, due):
    assert response_due("gdpr", received, extended=extended) == due


def test_gdpr_end_on_a_holiday_moves_to_the_next_working_day():
    # 25 Dec 2026 is a Friday; with 25 and 28 Dec as holidays the weekend and Monday pass too
    holidays = {date(2026, 12, 25), date(2026, 12, 28)}
    assert response_due("gdpr", date(2026, 11, 25)) == date(2026, 12, 25)
    assert response_due("gdpr", date(2026, 11, 25), holidays=holidays) == date(2026, 12, 29)


@pytest.mark.parametrize(("received", "extended", "due"), [
    (date(2026, 3, 1), False, date(2026, 4, 15)),
    (date(2026, 3, 1), True, date(2026, 5, 30)),     # a Saturday: no weekend rule for CCPA
    (date(2024, 1, 20), False, date(2024, 3, 5)),    # through a leap February
    (date(2026, 12, 31), False, date(2027, 2, 14)),  # a Sunday, unchanged
])
def test_ccpa_45_days_and_extension_in_calendar_days(received, extended, due):
    assert response_due("ccpa", received, extended=extended,
                        holidays={due}) == due  # holidays do not move a CCPA date


def test_ccpa_acknowledgement_within_ten_business_days():
    # received Friday 6 Mar 2026: ten business days later is Friday 20 Mar; a holiday adds one
    assert acknowledge_due("ccpa", date(2026, 3, 6)) == date(2026, 3, 20)
    assert acknowledge_due("ccpa", date(2026, 3, 6), holidays={date(2026, 3, 9)}) == \
        date(2026, 3, 23)
    assert acknowledge_due("gdpr", date(2026, 3, 6)) is None


def test_an_unknown_regime_is_refused():
    with pytest.raises(ValueError, match="unknown regime"):
        response_due("lgpd", date(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown regime"):
        acknowledge_due("hipaa", date(2026, 1, 1))


@given(received=DAYS, holidays=HOLIDAYS, extended=st.booleans())
def test_property_a_gdpr_due_date_is_a_working_day_after_receipt(received, holidays, extended):
    due = response_due("gdpr", received, extended=extended, holidays=holidays)
    assert due > received
    assert is_working_day(due, holidays)
    # never more than a week of non-working days past the calendar end (weekend + holidays)
    assert due - received <= timedelta(days=92 + 1 + len(holidays) + 2) if extended else \
        due - received <= timedelta(days=31 + 1 + len(holidays) + 2)


@given(received=DAYS, holidays=HOLIDAYS, regime=st.sampled_from(["gdpr", "ccpa"]))
def test_property_an_extended_date_is_never_earlier_than_the_plain_one(received, holidays,
                                                                       regime):
    plain = response_due(regime, received, holidays=holidays)
    extended = response_due(regime, received, extended=True, holidays=holidays)
    assert extended > plain


@given(received=DAYS)
def test_property_gdpr_plain_date_is_one_calendar_month_on_or_just_after(received):
    due = response_due("gdpr", received)
    # the calendar end is the same day next month or that month's last day
    months = (due.year - received.year) * 12 + due.month - received.month
    assert months in (1, 2)
    if months == 1 and due.day != received.day:
        assert due.day < received.day or due.weekday() == 0  # clamped, or moved to a Monday


@given(received=DAYS)
def test_property_ccpa_is_exactly_45_and_90_days(received):
    assert (response_due("ccpa", received) - received).days == 45
    assert (response_due("ccpa", received, extended=True) - received).days == 90


@given(received=DAYS, holidays=HOLIDAYS)
def test_property_ccpa_ignores_weekends_and_holidays(received, holidays):
    # no weekend rule: the holidays change nothing, even when the 45th day is one of them
    assert response_due("ccpa", received, holidays=holidays | {received + timedelta(days=45)}) \
        == received + timedelta(days=45)
    assert response_due("ccpa", received, extended=True, holidays=holidays) == \
        received + timedelta(days=90)
