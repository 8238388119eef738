"""Health history (R-MEAS-5): one sample per interval from the readiness checks, pruned after
the retention; uptime per day from the samples, with gaps counted unknown — never up."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from safeguard.ops import health_history, selectors, tasks
from safeguard.ops.models import HealthSample
from safeguard.web import providers

pytestmark = pytest.mark.django_db


@pytest.fixture
def health(monkeypatch, settings):
    """Readiness checks under the test's control: ``state["down"]`` names failing checks."""
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 3600
    state: dict[str, list[str]] = {"down": []}

    def checks() -> list[selectors.Check]:
        return [selectors.Check(n, n not in state["down"], "") for n in
                ("database", "jobs", "keys")]

    monkeypatch.setattr(selectors, "readiness_checks", checks)
    return state


def sample_at(when: datetime) -> tuple[bool, bool]:
    with time_machine.travel(when, tick=False):
        return health_history.sample_record()


def test_one_sample_per_interval_with_the_failing_checks(health):
    t = datetime(2026, 12, 1, 10, 5, tzinfo=UTC)
    assert sample_at(t) == (True, True)
    health["down"] = ["keys"]
    assert sample_at(t + timedelta(minutes=30)) == (False, True)  # same hour: kept as it was
    assert sample_at(t + timedelta(hours=1)) == (True, False)
    rows = list(HealthSample.objects.order_by("slot").values_list("slot", "up", "failed"))
    assert rows == [(datetime(2026, 12, 1, 10, tzinfo=UTC), True, []),
                    (datetime(2026, 12, 1, 11, tzinfo=UTC), False, ["keys"])]


def test_the_periodic_job_samples_and_prunes_old_samples(health, settings):
    settings.SAFEGUARD_HEALTH_HISTORY_DAYS = 90
    old = datetime(2026, 8, 1, 0, 0, tzinfo=UTC)
    sample_at(old)
    with time_machine.travel(old + timedelta(days=90, hours=1), tick=False):
        tasks.health_sample()
    assert HealthSample.objects.count() == 1
    assert HealthSample.objects.get().slot == old + timedelta(days=90, hours=1)


def test_uptime_per_day_counts_gaps_as_unknown(health):
    day1 = datetime(2026, 12, 1, tzinfo=UTC)
    # day 1: 20 of 24 hourly samples (4 gaps), 2 of them down
    for h in range(20):
        health["down"] = ["database"] if h in (3, 4) else []
        sample_at(day1 + timedelta(hours=h, minutes=1))
    # day 2: the worker was down all day: no sample at all
    # day 3: 6 samples so far, all up; it is 11:30
    health["down"] = []
    day3 = day1 + timedelta(days=2)
    for h in range(6):
        sample_at(day3 + timedelta(hours=h))
    with time_machine.travel(day3 + timedelta(hours=11, minutes=30), tick=False):
        u = providers.get("ops.uptime_90d")(days=3)
    assert u["days"] == [
        {"date": date(2026, 12, 1), "up_ratio": 18 / 20, "samples": 20, "expected": 24},
        {"date": date(2026, 12, 2), "up_ratio": None, "samples": 0, "expected": 24},
        {"date": date(2026, 12, 3), "up_ratio": 1.0, "samples": 6, "expected": 12}]
    assert u["samples"] == 26
    assert u["overall"] == pytest.approx(24 / 26)  # gaps are not counted as up
    assert u["coverage"] == pytest.approx(26 / 60)
    assert u["interval_seconds"] == 3600


def test_no_samples_means_no_figure(health):
    with time_machine.travel(datetime(2026, 12, 3, tzinfo=UTC), tick=False):
        u = health_history.uptime_90d()
    assert u["overall"] is None
    assert u["samples"] == 0
    assert len(u["days"]) == 90
    assert all(d["up_ratio"] is None for d in u["days"])
    assert u["days"][-1]["date"] == date(2026, 12, 3)
    with pytest.raises(ValueError, match="days"):
        health_history.uptime(days=0)


def test_the_provider_is_registered_by_ops():
    assert providers.get("ops.uptime_90d") is health_history.uptime_90d


def test_bad_settings_are_checked(settings):
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 7  # below 60 and does not divide a day
    settings.SAFEGUARD_HEALTH_HISTORY_DAYS = 30
    assert sorted(m.id for m in health_history.check_settings()) == ["safeguard.E569",
                                                                     "safeguard.E570"]
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 700  # does not divide 86400
    settings.SAFEGUARD_HEALTH_HISTORY_DAYS = 400
    assert [m.id for m in health_history.check_settings()] == ["safeguard.E569"]
    settings.SAFEGUARD_HEALTH_SAMPLE_SECONDS = 300
    assert health_history.check_settings() == []


def test_the_health_page_shows_the_history(health):
    from tests.factories import make_user, signed_in_client

    client = signed_in_client(make_user(roles=("administrator",)))
    assert "no samples yet" in client.get("/ops/health/").content.decode()
    now = datetime.now(tz=UTC)
    sample_at(now - timedelta(hours=2))
    health["down"] = ["keys"]
    sample_at(now - timedelta(hours=1))
    html = client.get("/ops/health/").content.decode()
    panel = html[html.index('id="health-history"'):]
    panel = panel[:panel.index("</section>")]
    assert "50.00 %" in panel
    assert "of 2 samples up" in panel
    assert "down (keys)" in panel
