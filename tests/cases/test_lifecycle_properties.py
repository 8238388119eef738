"""The pure lifecycle/SLA/KPI core (R-KPI-1..3), property-tested: no Django involved."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from safeguard.cases import lifecycle
from safeguard.cases.lifecycle import Status

statuses = st.sampled_from(list(Status))
T0 = datetime(2025, 1, 1, tzinfo=UTC)
moments = st.integers(min_value=0, max_value=60 * 24 * 30).map(lambda m: T0 + timedelta(minutes=m))
targets = st.builds(lifecycle.SlaTargets,
                    st.none() | st.integers(min_value=1, max_value=10_000),
                    st.none() | st.integers(min_value=1, max_value=100_000))


@given(statuses, statuses)
def test_reopen_is_a_legal_move_back_to_open_only(current, target):
    if lifecycle.is_reopen(current, target):
        assert lifecycle.can_move(current, target)
        assert target == Status.OPEN
        assert current in (Status.RESOLVED, Status.CLOSED)


@given(st.lists(statuses, min_size=1, max_size=30))
def test_any_path_of_legal_moves_never_returns_to_new(path):
    # given a walk that takes only the legal moves of a random sequence
    state, left_new = Status.NEW, False
    for target in path:
        if lifecycle.can_move(state, target):
            state, left_new = target, True
        # then once it left "new" it never comes back, and the offered moves are the legal ones
        assert not (left_new and state == Status.NEW)
        assert set(lifecycle.next_statuses(state)) == lifecycle.TRANSITIONS[state]


def test_closed_can_only_reopen_and_nothing_moves_to_itself():
    assert lifecycle.next_statuses(Status.CLOSED) == (Status.OPEN,)
    assert all(not lifecycle.can_move(s, s) for s in Status)


@given(statuses)
def test_customer_message_reopens_resolved_and_starts_over_after_closed(current):
    after = lifecycle.on_customer_message(current)
    if current == Status.CLOSED:
        assert after is None
    else:
        assert after is not None
        assert after == current or lifecycle.can_move(current, after)
        assert after not in (Status.PENDING, Status.RESOLVED)


@given(statuses)
def test_agent_reply_only_opens_new_cases(current):
    after = lifecycle.on_agent_reply(current)
    assert after == (Status.OPEN if current == Status.NEW else current)


@given(moments, st.none() | moments, st.none() | moments, targets, moments)
def test_sla_breach_means_done_or_now_is_past_due(created, responded, resolved, tg, now):
    state = lifecycle.sla_state(created_at=created, first_response_at=responded,
                                resolved_at=resolved, targets=tg, now=now)
    if tg.first_response_minutes is None:
        assert state.first_response_due is None
        assert not state.first_response_breached
    else:
        due = created + timedelta(minutes=tg.first_response_minutes)
        assert state.first_response_due == due
        assert state.first_response_breached == ((responded or now) > due)
    if tg.resolution_minutes is not None:
        due = created + timedelta(minutes=tg.resolution_minutes)
        assert state.resolution_breached == ((resolved or now) > due)
    assert lifecycle.sla_due(created_at=created, targets=tg) == (state.first_response_due,
                                                                  state.resolution_due)


@given(moments, targets, moments)
def test_sla_badge_is_breached_exactly_when_a_clock_is_breached(created, tg, now):
    state = lifecycle.sla_state(created_at=created, first_response_at=None, resolved_at=None,
                                targets=tg, now=now)
    badge = lifecycle.sla_badge(state, now=now, warn_minutes=30, responded=False,
                                resolved=False)
    assert (badge == "breached") == (state.first_response_breached
                                     or state.resolution_breached)
    if tg.first_response_minutes is None and tg.resolution_minutes is None:
        assert badge == "none"


@given(st.lists(st.integers(min_value=1, max_value=5), max_size=50))
def test_csat_is_the_share_of_fours_and_fives(scores):
    value = lifecycle.csat(scores)
    if not scores:
        assert value is None
    else:
        assert value == sum(1 for s in scores if s >= 4) / len(scores)
        assert 0.0 <= value <= 1.0


def test_csat_of_known_answers():
    assert lifecycle.csat([5, 4, 3, 1]) == 0.5


fcr_cases = st.builds(
    lifecycle.CaseForFcr, resolved_at=moments,
    interactions_before_resolution=st.integers(min_value=1, max_value=4),
    reopened_at=st.none() | st.integers(min_value=0, max_value=60 * 24 * 30).map(
        lambda m: T0 + timedelta(days=31, minutes=m)))


@given(st.lists(fcr_cases, max_size=30), st.integers(min_value=0, max_value=60))
def test_fcr_counts_single_interaction_cases_not_reopened_within_the_window(cases, window):
    value = lifecycle.fcr(cases, reopen_window_days=window)
    if not cases:
        assert value is None
        return
    hits = [c for c in cases if c.interactions_before_resolution == 1 and (
        c.reopened_at is None or c.reopened_at - c.resolved_at > timedelta(days=window))]
    assert value == len(hits) / len(cases)


def test_a_reopen_inside_the_window_breaks_fcr_and_one_after_it_does_not():
    resolved = T0
    inside = lifecycle.CaseForFcr(resolved, 1, resolved + timedelta(days=2))
    outside = lifecycle.CaseForFcr(resolved, 1, resolved + timedelta(days=8))
    assert not lifecycle.first_contact_resolved(inside, reopen_window_days=7)
    assert lifecycle.first_contact_resolved(outside, reopen_window_days=7)
    assert not lifecycle.first_contact_resolved(lifecycle.CaseForFcr(resolved, 2, None),
                                                reopen_window_days=7)


@given(st.lists(st.tuples(moments, st.none() | st.integers(min_value=-100, max_value=3600)),
                max_size=30))
def test_asa_averages_answered_calls_only_and_never_negative(calls):
    waits = [lifecycle.speed_to_answer(q, None if d is None else q + timedelta(seconds=d))
             for q, d in calls]
    assert all(w is None or w >= 0 for w in waits)
    answered = [w for w in waits if w is not None]
    expected = sum(answered) / len(answered) if answered else None
    assert lifecycle.average_speed_to_answer(waits) == expected
