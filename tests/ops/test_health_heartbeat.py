"""The health page shows the jobs heartbeat as soon as a worker starts (issue 15, item 9)."""

from __future__ import annotations

import pytest

from safeguard.ops import selectors, tasks
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def test_a_starting_worker_beats_at_once_and_health_says_running():
    admin = make_user(roles=("administrator",))
    client = signed_in_client(admin)
    before = client.get("/ops/health/").content.decode()
    assert "no beat yet" in before
    assert "never ran" not in before
    # when a worker starts (tests run jobs in place: HUEY immediate)
    tasks.heartbeat_now()
    # then the heartbeat has run once and the page says the jobs run
    beat = selectors.heartbeat()
    assert beat.runs == 1
    assert beat.stale is False
    after = client.get("/ops/health/").content.decode()
    assert ">running</span>" in after
    assert "no beat yet" not in after
