"""The bulk-load mode of the audit queue: entries wait until the loader integrates them once
(the demo's history load, issue 15; R-IR-5 — nothing is lost, nothing is numbered twice)."""

from __future__ import annotations

import pytest

from safeguard.audit import services
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event, QueuedEntry

pytestmark = pytest.mark.django_db(transaction=True)


def test_deferred_entries_wait_then_integrate_once_in_order(settings):
    settings.SAFEGUARD_AUDIT_INTEGRATION = "deferred"
    seqs = [services.record(action="case.viewed", actor=Actor.system("load"),
                            subject=("case", n)) for n in range(5)]
    # then nothing is numbered yet: all five wait in the queue, committed
    assert seqs == [None] * 5
    assert QueuedEntry.objects.count() == 5
    assert Event.objects.count() == 0
    # when the loader integrates at its end
    assert services.integrate(wait=True) == 5
    # then each is in the log once, in the order recorded, and the queue is empty
    assert list(Event.objects.order_by("seq").values_list("subject_id", flat=True)) == [
        "0", "1", "2", "3", "4"]
    assert QueuedEntry.objects.count() == 0
    assert services.integrate(wait=True) == 0
