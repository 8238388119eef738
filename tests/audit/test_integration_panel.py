"""The audit page's Integration panel (issue 10, R-IR-5): the queue's length and its oldest
entry's wait against the inclusion bound, and the integration delay of the newest events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import checks
from django.template.defaultfilters import floatformat
from django.utils import timezone

from safeguard.audit import checks as audit_checks
from safeguard.audit import selectors, services
from safeguard.audit.models import Event, QueuedEntry
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _events_with_delays(delays_ms: list[int], *, first_seq: int = 1) -> None:
    base = timezone.now() - timedelta(hours=1)
    Event.objects.bulk_create([
        Event(seq=first_seq + i, at=base + timedelta(seconds=i), actor_kind="system",
              action="case.viewed", leaf_hash="0" * 64,
              integrated_at=(None if d is None else
                             base + timedelta(seconds=i, milliseconds=d)))
        for i, d in enumerate(delays_ms)])


def test_delay_percentiles_are_those_of_the_newest_events(settings):
    # given 100 events that waited 10, 20, ... 1000 ms, and two older ones with no time
    _events_with_delays([None, None], first_seq=1)
    _events_with_delays([10 * (i + 1) for i in range(100)], first_seq=3)
    settings.SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS = 1000
    status = selectors.integration_status()
    # then the figures are the nearest-rank percentiles of the 100 measured delays
    assert (status.measured, status.delay_p50_ms, status.delay_p99_ms, status.delay_max_ms) == (
        100, 500.0, 990.0, 1000.0)
    assert (status.queued, status.oldest_wait_seconds, status.over_bound) == (0, None, False)
    # and a window of 10 reads only the newest 10 (910 ... 1000 ms)
    settings.SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS = 10
    status = selectors.integration_status()
    assert (status.window, status.measured, status.delay_p50_ms, status.delay_p99_ms) == (
        10, 10, 950.0, 1000.0)


def test_an_entry_waiting_past_the_bound_is_reported_as_over_it(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS = 120
    now = timezone.now()
    QueuedEntry.objects.create(at=now - timedelta(seconds=30), actor_kind="system",
                               action="case.viewed")
    status = selectors.integration_status(now=now)
    assert (status.queued, round(status.oldest_wait_seconds), status.over_bound) == (1, 30, False)
    QueuedEntry.objects.create(at=now - timedelta(seconds=300), actor_kind="system",
                               action="case.viewed")
    status = selectors.integration_status(now=now)
    assert (status.queued, round(status.oldest_wait_seconds), status.over_bound) == (2, 300, True)


def test_the_page_shows_a_stalled_queue_and_the_delays(settings, monkeypatch):
    settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS = 120
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)  # its sign-in events are integrated, with their delays
    # given an integrator that cannot run here (another holds the lock) and an entry 5 min old
    monkeypatch.setattr(services, "integrate", lambda **kwargs: 0)
    QueuedEntry.objects.create(at=timezone.now() - timedelta(seconds=300), actor_kind="system",
                               action="case.viewed")
    page = client.get("/audit/").content.decode()
    panel = page[page.index('id="integration"'):page.index("Signed tree head")]
    assert '<span class="badge bad">stalled</span>' in panel
    assert 'data-queued="1"' in panel
    assert "bound 120 s" in panel
    status = selectors.integration_status()
    assert status.measured == Event.objects.exclude(integrated_at=None).count() > 0
    assert f'data-p50="{floatformat(status.delay_p50_ms, 0)}"' in panel
    assert f'data-p99="{floatformat(status.delay_p99_ms, 0)}"' in panel


def test_the_page_says_up_to_date_when_nothing_waits():
    analyst = make_user(roles=("security_analyst",))
    page = signed_in_client(analyst).get("/audit/").content.decode()
    assert '<span class="badge ok">up to date</span>' in page


@pytest.mark.parametrize(("window", "ok"), [(9, False), (10, True), (100_000, True),
                                            (100_001, False)])
def test_the_delay_window_is_checked(settings, window, ok):
    settings.SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS = window
    ids = [e.id for e in audit_checks.integration() if isinstance(e, checks.Error)]
    assert ("safeguard.E253" not in ids) is ok
