"""The review-pack archive (R-MEAS-1): packs of closed periods generated once (idempotent,
resumable after a crash half-way), stored sealed with their SHA-256, listed, downloaded with
an audit event; the scheduler picks the previous period once its day offset has passed."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
import time_machine

from safeguard.audit import selectors as audit
from safeguard.metrics import archive, packs, tasks
from safeguard.metrics.contracts import MetricsError
from safeguard.metrics.models import ReviewPack
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def fast_render(monkeypatch):
    """Render a small stand-in PDF (the real rendering is tested in test_packs)."""
    calls: list[str] = []

    def render(pack: packs.Pack) -> bytes:
        calls.append(f"{pack.kind}:{pack.period.label}")
        return f"%PDF-1.7 {pack.title} {pack.period.label}".encode()

    monkeypatch.setattr(archive, "render", render)
    return calls


def generated_events() -> list:
    return audit.event_list(action="metrics.review_pack_generated")


def test_archiving_twice_keeps_one_pack(fast_render):
    first, created = archive.pack_archive(kind="quarterly", period="2026-Q3", actor=SYSTEM)
    again, created_again = archive.pack_archive(kind="quarterly", period="2026-Q3", actor=SYSTEM)
    assert (created, created_again) == (True, False)
    assert first.id == again.id
    assert ReviewPack.objects.count() == 1
    assert fast_render == ["quarterly:2026-Q3"]  # rendered once
    body = b"%PDF-1.7 Quarterly security review 2026-Q3"
    assert first.sha256 == hashlib.sha256(body).hexdigest()
    assert first.generated_by == "scheduler"
    # stored sealed: the PDF's bytes are not in the row
    row = ReviewPack.objects.get()
    assert b"Quarterly" not in row.sealed.encode()
    assert len(generated_events()) == 1
    assert generated_events()[0].data["sha256"] == first.sha256


def test_a_run_killed_half_way_is_completed_once_by_the_next(fast_render, monkeypatch):
    def crash(pack: packs.Pack) -> bytes:
        raise KeyboardInterrupt("worker killed while rendering")

    real = archive.render
    monkeypatch.setattr(archive, "render", crash)
    with pytest.raises(KeyboardInterrupt):
        archive.pack_archive(kind="monthly", period="2026-08", actor=SYSTEM)
    row = ReviewPack.objects.get()
    assert (row.status, row.sealed, row.attempts) == ("generating", "", 1)
    assert generated_events() == []
    # the archive page shows it as not finished, without a download
    client = signed_in_client(make_user(roles=("supervisor",)))
    html = client.get("/metrics/reviews/archive/").content.decode()
    assert "generating (attempt 1)" in html
    # the next run completes the same row
    monkeypatch.setattr(archive, "render", real)
    view, created = archive.pack_archive(kind="monthly", period="2026-08", actor=SYSTEM)
    assert created is True
    assert ReviewPack.objects.count() == 1
    row = ReviewPack.objects.get()
    assert (row.status, row.attempts, row.id) == ("done", 2, view.id)
    assert len(generated_events()) == 1
    # and a third run changes nothing
    assert archive.pack_archive(kind="monthly", period="2026-08", actor=SYSTEM)[1] is False
    assert len(generated_events()) == 1


def installed_on(when: datetime) -> None:
    """The installation's first audit event."""
    from safeguard.audit import services as audit_services

    with time_machine.travel(when, tick=False):
        audit_services.record(action="tests.installed", actor=SYSTEM)


def test_scheduler_generates_each_previous_period_once(fast_render, settings):
    settings.SAFEGUARD_REVIEW_PACKS_SCHEDULED = "monthly,quarterly,yearly"
    settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET = 3
    installed_on(datetime(2025, 6, 1, tzinfo=UTC))
    # 2 October: the offset has not passed for September / Q3
    with time_machine.travel(datetime(2026, 10, 2, 9, 0, tzinfo=UTC), tick=False):
        made = archive.packs_generate_due()
    assert [(m.kind, m.period) for m in made] == [("yearly", "2025")]
    with time_machine.travel(NOW, tick=False):
        made = archive.packs_generate_due()
        again = archive.packs_generate_due()
        tasks.review_packs()  # the periodic job (jobs run in place in tests)
    assert sorted((m.kind, m.period) for m in made) == [("monthly", "2026-09"),
                                                        ("quarterly", "2026-Q3")]
    assert again == []
    assert sorted(ReviewPack.objects.values_list("kind", "period")) == [
        ("monthly", "2026-09"), ("quarterly", "2026-Q3"), ("yearly", "2025")]
    assert len(generated_events()) == 3
    assert all(e.actor.id == "metrics.review_packs" for e in generated_events())


def test_only_scheduled_kinds_are_generated(fast_render, settings):
    settings.SAFEGUARD_REVIEW_PACKS_SCHEDULED = "quarterly"
    installed_on(datetime(2025, 6, 1, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        made = archive.packs_generate_due()
    assert [(m.kind, m.period) for m in made] == [("quarterly", "2026-Q3")]


def test_periods_before_the_installation_are_not_archived(fast_render):
    # an installation whose first event is on 15 September 2026
    installed_on(datetime(2026, 9, 15, tzinfo=UTC))
    with time_machine.travel(NOW, tick=False):
        made = archive.packs_generate_due()
    # September and Q3 saw it running; 2025 did not
    assert sorted((m.kind, m.period) for m in made) == [("monthly", "2026-09"),
                                                        ("quarterly", "2026-Q3")]


def test_download_is_audited_and_checked(fast_render):
    view, _ = archive.pack_archive(kind="yearly", period="2025", actor=SYSTEM)
    client = signed_in_client(make_user(roles=("auditor",)))
    html = client.get("/metrics/reviews/archive/").content.decode()
    assert 'data-pack="yearly-2025"' in html
    assert view.sha256[:14] in html
    resp = client.get(f"/metrics/reviews/archive/{view.id}/review.pdf")
    assert resp.status_code == 200
    assert resp.content == b"%PDF-1.7 Yearly programme review 2025"
    assert resp["X-Content-SHA256"] == view.sha256
    event = audit.event_list(action="metrics.review_pack_downloaded")[0]
    assert event.data == {"kind": "yearly", "period": "2025", "sha256": view.sha256}
    assert event.subject_id == str(view.id)
    # a tampered copy is refused, and the refusal is audited too
    ReviewPack.objects.filter(id=view.id).update(sha256="0" * 64)
    assert client.get(f"/metrics/reviews/archive/{view.id}/review.pdf").status_code == 404
    assert audit.event_list(action="metrics.review_pack_downloaded")[0].outcome == "failure"
    assert client.get("/metrics/reviews/archive/999/review.pdf").status_code == 404
    agent = signed_in_client(make_user(roles=("agent",)))
    assert agent.get(f"/metrics/reviews/archive/{view.id}/review.pdf").status_code == 403


def test_archive_now_by_a_user(fast_render):
    user = make_user(roles=("compliance_manager",))
    client = signed_in_client(user)
    resp = client.post("/metrics/reviews/archive/new/", {"kind": "quarterly",
                                                         "period": "2026-Q2"})
    assert resp.status_code == 302
    row = ReviewPack.objects.get()
    assert (row.kind, row.period, row.generated_by_id) == ("quarterly", "2026-Q2", user.pk)
    assert archive.pack_list()[0].generated_by == user.email
    assert generated_events()[0].data["by"] == "user"
    # bad input: a clear 400, nothing archived
    for kind, period in (("quarterly", "2026-Q9"), ("weekly", "2026-01"),
                         ("yearly", str(datetime.now(tz=UTC).year)), ("monthly", "2999-01")):
        resp = client.post("/metrics/reviews/archive/new/", {"kind": kind, "period": period})
        assert resp.status_code == 400
        assert resp.content.decode().startswith("Nothing was archived:")
    assert ReviewPack.objects.count() == 1
    # reading needs metrics.view_kpis; archiving needs metrics.archive_reviews
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post("/metrics/reviews/archive/new/", {"kind": "yearly",
                                                          "period": "2025"}).status_code == 403


def test_schedule_settings_are_checked(settings):
    from safeguard.metrics import checks

    settings.SAFEGUARD_REVIEW_PACKS_SCHEDULED = "monthly,weekly"
    settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET = 40
    ids = sorted(m.id for m in checks.check_review_packs())
    assert ids == ["safeguard.E567", "safeguard.E568"]
    settings.SAFEGUARD_REVIEW_PACKS_SCHEDULED = ""
    settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET = 0
    assert checks.check_review_packs() == []
    with pytest.raises(MetricsError):
        archive.pack_archive(kind="monthly", period="2026-13", actor=SYSTEM)
