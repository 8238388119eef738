"""Breach-notification clocks (R-REG-3): the pure core safeguard.incidents.clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.incidents import clocks

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_gdpr_is_72_elapsed_hours_in_the_input_zone() -> None:
    aware = datetime(2026, 6, 1, 9, 30, tzinfo=BERLIN)
    due = clocks.regulator_due("EU-GDPR", aware)
    assert due == datetime(2026, 6, 4, 9, 30, tzinfo=BERLIN)
    assert due is not None
    assert due.tzinfo is BERLIN


def test_gdpr_across_berlin_spring_forward_moves_the_wall_clock() -> None:
    # 2026-03-29 02:00 CET -> 03:00 CEST: 72 real hours end one wall-clock hour later.
    aware = datetime(2026, 3, 27, 10, 0, tzinfo=BERLIN)
    due = clocks.regulator_due("EU-GDPR", aware)
    assert due == datetime(2026, 3, 30, 11, 0, tzinfo=BERLIN)
    assert due - aware == timedelta(hours=73)  # same tzinfo: wall-clock difference
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)


def test_gdpr_across_berlin_fall_back_moves_the_wall_clock() -> None:
    # 2026-10-25 03:00 CEST -> 02:00 CET: 72 real hours end one wall-clock hour earlier.
    aware = datetime(2026, 10, 23, 10, 0, tzinfo=BERLIN)
    due = clocks.regulator_due("UK-GDPR", aware)
    assert due == datetime(2026, 10, 26, 9, 0, tzinfo=BERLIN)
    assert due.astimezone(UTC) - aware.astimezone(UTC) == timedelta(hours=72)


def test_pci_across_new_york_both_transitions() -> None:
    # 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST.
    spring = clocks.regulator_due("PCI-ACQUIRER", datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK))
    fall = clocks.regulator_due("PCI-ACQUIRER", datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK))
    assert spring == datetime(2026, 3, 8, 13, 0, tzinfo=NEW_YORK)
    assert fall == datetime(2026, 11, 1, 11, 0, tzinfo=NEW_YORK)


def test_an_elapsed_deadline_in_the_repeated_fall_back_hour_keeps_its_fold() -> None:
    # Awareness at 01:30 EDT (first pass): 24 h later is 00:30 EST next day; the answer must be a
    # real instant whatever the fold.
    aware = datetime(2026, 10, 31, 1, 30, tzinfo=NEW_YORK)
    due = clocks.regulator_due("PCI-ACQUIRER", aware)
    assert due is not None
    assert due.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    aware_second = datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # 06:30 UTC
    due2 = clocks.regulator_due("PCI-ACQUIRER", aware_second)
    assert due2 is not None
    assert due2.astimezone(UTC) == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)


def test_days_count_calendar_days_to_the_end_of_the_last_day_across_dst() -> None:
    # HIPAA: 60 calendar days after discovery on 2026-03-01 (EST) -> end of 2026-04-30 (EDT).
    aware = datetime(2026, 3, 1, 15, 45, tzinfo=NEW_YORK)
    due = clocks.regulator_due("US-HIPAA", aware)
    assert due == datetime(2026, 4, 30, 23, 59, 59, 999999, tzinfo=NEW_YORK)
    assert due.utcoffset() == timedelta(hours=-4)


def test_days_over_a_leap_day() -> None:
    # 30 days after 2028-02-15 is 2028-03-16 (2028 is a leap year: 29 February counts).
    aware = datetime(2028, 2, 15, 8, 0, tzinfo=UTC)
    assert clocks.regulator_due("US-FL", aware) == datetime(2028, 3, 16, 23, 59, 59, 999999,
                                                           tzinfo=UTC)
    not_leap = datetime(2027, 2, 15, 8, 0, tzinfo=UTC)
    assert clocks.regulator_due("US-FL", not_leap) == datetime(2027, 3, 17, 23, 59, 59, 999999,
                                                              tzinfo=UTC)


def test_hours_over_a_leap_day() -> None:
    aware = datetime(2028, 2, 27, 12, 0, tzinfo=UTC)
    assert clocks.regulator_due("EU-GDPR", aware) == datetime(2028, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("code", "expected"), [
    ("EU-GDPR", datetime(2026, 1, 8, 9, 0, tzinfo=UTC)),
    ("UK-GDPR", datetime(2026, 1, 8, 9, 0, tzinfo=UTC)),
    ("PCI-ACQUIRER", datetime(2026, 1, 6, 9, 0, tzinfo=UTC)),
    ("US-HIPAA", datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=UTC)),
    ("US-CA", None),
    ("US-NY", datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)),
    ("US-TX", datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)),
    ("US-FL", datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)),
    ("US-CO", datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)),
    ("US-WA", datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)),
])
def test_every_jurisdiction_row(code: str, expected: datetime | None) -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert clocks.regulator_due(code, aware) == expected


def test_every_row_has_a_citation_an_effective_date_and_one_regulator_notice() -> None:
    table = clocks.load_table()
    assert set(table) >= {"EU-GDPR", "UK-GDPR", "US-HIPAA", "US-CA", "US-NY", "US-TX",
                          "US-FL", "US-CO", "US-WA", "PCI-ACQUIRER"}
    for row in table.values():
        assert row.citation
        assert row.verified
        assert isinstance(row.effective, date)
        assert sum(n.regulator for n in row.notices) == 1
        assert all(n.citation for n in row.notices)


def test_texas_residents_60_days_and_attorney_general_30() -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    owed = clocks.notifications_owed(["US-TX"], aware)
    by = {n.recipient: n for n in owed}
    assert by["Affected Texas residents"].due == datetime(2026, 3, 6, 23, 59, 59, 999999,
                                                          tzinfo=UTC)
    assert by["Texas Attorney General (250 or more residents)"].regulator


def test_naive_input_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        clocks.regulator_due("EU-GDPR", datetime(2026, 1, 1, 12, 0))  # noqa: DTZ001


def test_unknown_jurisdiction_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown jurisdiction 'XX'"):
        clocks.regulator_due("XX", datetime(2026, 1, 1, tzinfo=UTC))


def test_notifications_owed_earliest_first_no_period_last() -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    owed = clocks.notifications_owed(["US-CA", "EU-GDPR", "US-CA"], aware)
    assert [(n.jurisdiction, n.recipient) for n in owed] == [
        ("EU-GDPR", "Lead supervisory authority"),
        ("US-CA", "Affected California residents"),
        ("US-CA", "California Attorney General (sample copy)"),
        ("EU-GDPR", "Data subjects"),
    ]
    assert owed[0].due == datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
    assert [n.due for n in owed[1:]] == [None, None, None]
    assert len(owed) == 4  # duplicates in the input count once


def test_law_enforcement_delay_pauses_the_named_clock_only() -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    delay = clocks.Delay(starts_at=datetime(2026, 1, 10, tzinfo=UTC),
                         ends_at=datetime(2026, 1, 20, tzinfo=UTC), jurisdiction="US-NY",
                         reason="FBI request")
    owed = clocks.notifications_owed(["US-NY", "EU-GDPR"], aware, [delay])
    ny = [n for n in owed if n.jurisdiction == "US-NY"]
    assert {n.due for n in ny} == {datetime(2026, 2, 14, 23, 59, 59, 999999, tzinfo=UTC)}
    gdpr = next(n for n in owed if n.regulator and n.jurisdiction == "EU-GDPR")
    assert gdpr.due == datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


def test_open_delay_leaves_the_clock_paused_and_late_delay_changes_nothing() -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    open_delay = clocks.Delay(starts_at=datetime(2026, 1, 6, tzinfo=UTC), ends_at=None)
    owed = clocks.notifications_owed(["EU-GDPR"], aware, [open_delay])
    authority = next(n for n in owed if n.regulator)
    assert authority.due is None
    assert authority.paused
    after = clocks.Delay(starts_at=datetime(2026, 2, 1, tzinfo=UTC),
                         ends_at=datetime(2026, 2, 5, tzinfo=UTC))
    owed = clocks.notifications_owed(["EU-GDPR"], aware, [after])
    assert next(n for n in owed if n.regulator).due == datetime(2026, 1, 8, 9, 0, tzinfo=UTC)


def test_a_delay_ending_before_it_starts_is_refused() -> None:
    bad = clocks.Delay(starts_at=datetime(2026, 1, 6, tzinfo=UTC),
                       ends_at=datetime(2026, 1, 5, tzinfo=UTC))
    with pytest.raises(ValueError, match="cannot end before"):
        clocks.notifications_owed(["EU-GDPR"], datetime(2026, 1, 5, tzinfo=UTC), [bad])


def test_overrides_set_the_acquirer_period_and_a_bad_table_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    table = clocks.load_table(overrides={"SAFEGUARD_INCIDENTS_PCI_ACQUIRER_HOURS": 6})
    assert table["PCI-ACQUIRER"].regulator_notice.amount == 6
    bad = tmp_path / "t.yaml"
    bad.write_text("jurisdictions:\n  X:\n    name: x\n    citation: c\n    effective: 2020-01-01\n"
                   "    notices:\n      - {recipient: a, citation: c, hours: 3,"
                   " counting: calendar_days, regulator: true}\n", encoding="utf-8")
    with pytest.raises(clocks.TableError, match="counting: elapsed"):
        clocks.load_table(bad)


ZONES = st.sampled_from([UTC, BERLIN, NEW_YORK, ZoneInfo("Australia/Lord_Howe"),
                         timezone(timedelta(hours=5, minutes=30))])


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),  # noqa: DTZ001
                           timezones=ZONES),
       code=st.sampled_from(["EU-GDPR", "UK-GDPR", "PCI-ACQUIRER"]))
def test_hours_periods_are_exact_elapsed_durations(moment: datetime, code: str) -> None:
    due = clocks.regulator_due(code, moment)
    assert due is not None
    assert due.tzinfo is moment.tzinfo
    hours = clocks.jurisdiction_row(code).regulator_notice.amount
    assert due.astimezone(UTC) - moment.astimezone(UTC) == timedelta(hours=hours)


@given(moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),  # noqa: DTZ001
                           timezones=ZONES),
       code=st.sampled_from(["US-HIPAA", "US-NY", "US-TX", "US-FL", "US-CO", "US-WA"]))
def test_day_periods_end_on_the_last_instant_of_the_nth_local_day(moment: datetime,
                                                                  code: str) -> None:
    due = clocks.regulator_due(code, moment)
    days = clocks.jurisdiction_row(code).regulator_notice.amount
    assert due is not None
    assert due.tzinfo is moment.tzinfo
    assert due.date() == moment.date() + timedelta(days=days)
    after = (due.astimezone(UTC) + timedelta(microseconds=1)).astimezone(moment.tzinfo)
    assert after.date() == due.date() + timedelta(days=1)
