"""Retention periods and the governing rule (R-DATA-3, R-REG-4): calendar-aware periods;
Purview's principles: retention wins over deletion, the longest period wins."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.privacy.periods import (
    ACTIONS,
    Applicable,
    Period,
    governing,
    parse_period,
    period_end,
)


@pytest.mark.parametrize(("text", "period", "human"), [
    ("P90D", Period(days=90), "90 days"),
    ("P7Y", Period(years=7), "7 years"),
    ("P1Y6M", Period(years=1, months=6), "1 year 6 months"),
    ("P13M", Period(months=13), "13 months"),
])
def test_periods_parse_and_print(text, period, human):
    assert parse_period(text) == period
    assert str(period) == text
    assert period.human() == human


@pytest.mark.parametrize("bad", ["", "P", "P0D", "90", "P-1D", "PT5H", "7 years", "P1W", "P1.5Y"])
def test_a_malformed_or_zero_period_is_refused(bad):
    with pytest.raises(ValueError, match="period"):
        parse_period(bad)


@pytest.mark.parametrize(("start", "period", "end"), [
    (date(2020, 2, 29), "P1Y", date(2021, 2, 28)),   # leap day + 1 year: 28 Feb
    (date(2020, 2, 29), "P4Y", date(2024, 2, 29)),
    (date(2026, 1, 31), "P1M", date(2026, 2, 28)),
    (date(2026, 1, 1), "P90D", date(2026, 4, 1)),
    (date(2019, 6, 30), "P7Y", date(2026, 6, 30)),
    (date(2026, 1, 31), "P1M1D", date(2026, 3, 1)),  # months first, then days
])
def test_period_end_is_calendar_aware(start, period, end):
    assert period_end(start, parse_period(period)) == end


def test_the_longest_period_governs_whatever_its_action():
    qa = Applicable("call_recording_qa", "delete", date(2026, 4, 1))
    financial = Applicable("financial_record", "anonymise", date(2033, 1, 1))
    case = Applicable("case_record", "anonymise", date(2028, 1, 1))
    assert governing([qa, financial, case]) == financial


def test_on_equal_ends_retention_beats_deletion():
    day = date(2030, 1, 1)
    rules = [Applicable("a", "delete", day), Applicable("b", "review", day),
             Applicable("c", "anonymise", day)]
    assert governing(rules).action == "review"
    assert governing(rules[::2]).action == "anonymise"


def test_no_rule_or_an_unknown_action_is_an_error():
    with pytest.raises(ValueError, match="no retention rule"):
        governing([])
    with pytest.raises(ValueError, match="unknown retention action"):
        governing([Applicable("x", "shred", date(2030, 1, 1))])


RULES = st.lists(st.builds(Applicable, st.sampled_from(["a", "b", "c", "d"]),
                           st.sampled_from(ACTIONS),
                           st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))),
                 min_size=1, max_size=8)


@given(rules=RULES)
def test_property_nothing_ends_later_than_the_governing_rule(rules):
    winner = governing(rules)
    assert winner in rules
    assert all(r.ends <= winner.ends for r in rules)
    # among the rules ending with it, none is less destructive
    tied = [r for r in rules if r.ends == winner.ends]
    assert ACTIONS.index(winner.action) == min(ACTIONS.index(r.action) for r in tied)


@given(start=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)),
       years=st.integers(0, 30), months=st.integers(0, 24), days=st.integers(0, 400))
def test_property_a_longer_period_never_ends_earlier(start, years, months, days):
    if years == months == days == 0:
        days = 1
    short = period_end(start, Period(years, months, days))
    assert short > start
    assert period_end(start, Period(years, months, days + 1)) > short
    assert period_end(start, Period(years + 1, months, days)) >= short
