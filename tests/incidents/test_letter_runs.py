"""Customer letters as a background job (R-IR-6): a "generate letters" action records a batch
(who, when, how many, queued/running/done/failed, counts); the huey job (immediate under test)
writes one letter per customer in chunks, each letter and the batch's cursor committed
together, so a job killed half-way resumes without a gap or a duplicate; the communications
page shows the progress and polls it with htmx (no inline script) while a batch runs."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from safeguard.audit import selectors as audit_selectors
from safeguard.incidents import checks, communications
from safeguard.incidents.contracts import IncidentError
from safeguard.incidents.models import Communication, LetterRun
from tests.factories import make_user, signed_in_client
from tests.incidents import test_communications as base
from tests.incidents.test_communications import ANALYST, _affected, _customer, _plan, _read

pytestmark = pytest.mark.django_db


@pytest.fixture
def org() -> None:
    base.org.__wrapped__()  # type: ignore[attr-defined]


@pytest.fixture
def incident() -> int:
    return base.incident.__wrapped__()  # type: ignore[attr-defined, no-any-return]


def _five() -> tuple[list[str], list]:  # type: ignore[type-arg]
    start = timezone.now() - timedelta(hours=3)
    ids = [_customer(f"Person {n}", f"p{n}@example.test", "DE") for n in range(5)]
    for n, cid in enumerate(ids):
        _read(cid, start + timedelta(minutes=n))
    return ids, _affected(start - timedelta(minutes=1), start + timedelta(hours=1))


def _worker_dies_after(letters: int, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Let the job store ``letters`` letters, then fail as a killed worker would; returns the
    real store function, to put back for the resumed run."""
    real = communications._store
    calls = {"n": 0}

    def dies(**kwargs):  # type: ignore[no-untyped-def]
        if calls["n"] == letters:
            raise RuntimeError("worker killed")
        calls["n"] += 1
        return real(**kwargs)

    monkeypatch.setattr(communications, "_store", dies)
    return real


def test_a_job_killed_half_way_resumes_with_exactly_one_letter_per_customer(
        org: None, incident: int, settings, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        django_capture_on_commit_callbacks) -> None:
    settings.SAFEGUARD_INCIDENTS_LETTERS_CHUNK = 2
    ids, rows = _five()
    _plan(incident)
    real = _worker_dies_after(3, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = communications.letters_batch_start(actor=ANALYST, incident_id=incident,
                                                    customers=rows)
    run = communications.letter_run_get(incident_id=incident, run_id=run_id)
    assert (run.state, run.total, run.done, run.generated) == ("failed", 5, 3, 3)
    assert run.detail == "RuntimeError"
    assert Communication.objects.filter(incident_id=incident).count() == 3
    monkeypatch.setattr(communications, "_store", real)
    with django_capture_on_commit_callbacks(execute=True):
        communications.letters_batch_resume(actor=ANALYST, incident_id=incident, run_id=run_id)
    run = communications.letter_run_get(incident_id=incident, run_id=run_id)
    assert (run.state, run.done, run.generated, run.withheld, run.skipped) == (
        "done", 5, 5, 0, 0)
    letters = list(Communication.objects.filter(incident_id=incident))
    assert sorted(c.recipient_ref for c in letters) == sorted(ids)  # no gap, no duplicate
    for c in letters:
        body = communications.communication_pdf(actor=ANALYST, incident_id=incident,
                                                communication_id=c.id)
        assert hashlib.sha256(body).hexdigest() == c.pdf_sha256
    generated = audit_selectors.event_list(action="incident.communication_generated")
    assert sorted(e.data["sha256"] for e in generated) == sorted(c.pdf_sha256 for c in letters)
    assert [e.data["run"] for e in audit_selectors.event_list(action="incident.letters_failed")
            ] == [run_id]
    # Running the finished job again (a duplicate delivery) writes nothing.
    communications.letters_batch_run(run_id=run_id)
    assert Communication.objects.filter(incident_id=incident).count() == 5
    with pytest.raises(IncidentError, match="finished"):
        communications.letters_batch_resume(actor=ANALYST, incident_id=incident, run_id=run_id)
    # A second batch over the same customers writes no second letter to anyone.
    with django_capture_on_commit_callbacks(execute=True):
        again = communications.letters_batch_start(actor=ANALYST, incident_id=incident,
                                                   customers=rows)
    second = communications.letter_run_get(incident_id=incident, run_id=again)
    assert (second.state, second.done, second.generated, second.skipped) == ("done", 5, 0, 5)
    assert Communication.objects.filter(incident_id=incident).count() == 5


def test_a_cursor_already_past_a_customer_is_never_written_twice(
        org: None, incident: int) -> None:
    _ids, rows = _five()
    _plan(incident)
    run_id = communications.letters_generate(actor=ANALYST, incident_id=incident,
                                             customers=rows[:2])
    assert len(run_id.generated) == 2
    run = LetterRun.objects.get(incident_id=incident)
    # A second worker picking up the same run after it finished: position already past all.
    LetterRun.objects.filter(id=run.id).update(state="running")
    communications.letters_batch_run(run_id=run.id)
    assert Communication.objects.filter(incident_id=incident).count() == 2


def test_changed_content_fails_the_batch_and_bad_input_records_nothing(
        org: None, incident: int, django_capture_on_commit_callbacks, settings  # type: ignore[no-untyped-def]
        ) -> None:
    _ids, rows = _five()
    with pytest.raises(IncidentError, match="Write what the letters say"):
        communications.letters_batch_start(actor=ANALYST, incident_id=incident, customers=rows)
    _plan(incident)
    settings.SAFEGUARD_INCIDENTS_LETTERS_MAX = 4
    with pytest.raises(IncidentError, match="At most 4"):
        communications.letters_batch_start(actor=ANALYST, incident_id=incident, customers=rows)
    assert not LetterRun.objects.exists()
    settings.SAFEGUARD_INCIDENTS_LETTERS_MAX = 500
    with django_capture_on_commit_callbacks(execute=False):
        run_id = communications.letters_batch_start(actor=ANALYST, incident_id=incident,
                                                    customers=rows)
    with pytest.raises(IncidentError, match="already being generated"):
        communications.letters_batch_start(actor=ANALYST, incident_id=incident, customers=rows)
    communications.plan_save(actor=ANALYST, incident_id=incident, what_happened="changed",
                             what_we_did="y", what_you_can_do="z", mitigation="")
    with pytest.raises(IncidentError, match="content changed"):
        communications.letters_batch_run(run_id=run_id)
    run = communications.letter_run_get(incident_id=incident, run_id=run_id)
    assert (run.state, run.done) == ("failed", 0)
    assert not Communication.objects.exists()


def test_page_shows_progress_and_polls_without_inline_script_while_a_batch_runs(
        org: None, incident: int, django_capture_on_commit_callbacks, settings  # type: ignore[no-untyped-def]
        ) -> None:
    settings.SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS = 7
    _ids, rows = _five()
    _plan(incident)
    with django_capture_on_commit_callbacks(execute=False):
        run_id = communications.letters_batch_start(actor=ANALYST, incident_id=incident,
                                                    customers=rows)
    analyst = make_user(roles=("security_analyst",))
    client = signed_in_client(analyst)
    body = client.get(f"/incidents/{incident}/communications/").content.decode()
    assert 'hx-trigger="every 7s"' in body
    assert f"Batch {run_id}: queued" in body
    assert "0 / 5" in body
    assert f"Resume batch {run_id}" in body
    partial = client.get(f"/incidents/{incident}/communications/letters/runs/")
    assert partial.status_code == 200
    text = partial.content.decode()
    assert "<script" not in text
    assert "0 / 5" in text
    assert "<form" not in text
    # Resuming (the job had stopped) runs it: done, and the polling stops.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/incidents/{incident}/communications/letters/runs/{run_id}/"
                           "resume/").status_code == 302
    text = client.get(f"/incidents/{incident}/communications/letters/runs/").content.decode()
    assert f"Batch {run_id}: done" in text
    assert "5 / 5" in text
    assert "hx-trigger" not in text
    assert "5 generated, 0 withheld" in text
    assert Communication.objects.filter(incident_id=incident).count() == 5
    # The generate action itself only queues (and runs under huey immediate): stale second
    # factor or no permission changes nothing.
    stale = signed_in_client(analyst, mfa_at=0)
    assert stale.post(f"/incidents/{incident}/communications/letters/runs/{run_id}/resume/"
                      ).status_code == 302
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post(f"/incidents/{incident}/communications/letters/runs/{run_id}/resume/"
                        ).status_code == 403
    assert LetterRun.objects.count() == 1


def test_the_generate_view_queues_a_batch_that_the_job_finishes(
        org: None, incident: int, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    ids, _rows = _five()
    _plan(incident)
    client = signed_in_client(make_user(roles=("security_analyst",)))
    since = (timezone.now() - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M")
    until = timezone.now().strftime("%Y-%m-%dT%H:%M")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/incidents/{incident}/communications/letters/",
                               {"kind": "user", "value": "77", "since": since, "until": until},
                               follow=True)
    assert "queued for 5 customer(s)" in response.content.decode()
    run = LetterRun.objects.get(incident_id=incident)
    assert (run.state, run.total, run.position, run.generated) == ("done", 5, 5, 5)
    assert sorted(Communication.objects.values_list("recipient_ref", flat=True)) == sorted(ids)


@pytest.mark.parametrize(("chunk", "poll", "ids"), [
    (50, 3, []), (1, 1, []), (1000, 300, []), (0, 3, ["safeguard.E535"]),
    (1001, 3, ["safeguard.E535"]), (50, 0, ["safeguard.E536"]),
    (0, 301, ["safeguard.E535", "safeguard.E536"]),
])
def test_check_e535_e536_letter_job_settings(settings, chunk: int, poll: int,  # type: ignore[no-untyped-def]
                                             ids: list[str]) -> None:
    settings.SAFEGUARD_INCIDENTS_LETTERS_CHUNK = chunk
    settings.SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS = poll
    assert [m.id for m in checks.letters_job()] == ids


def test_a_batch_whose_worker_died_is_queued_again_by_the_periodic_job(
        org: None, incident: int, settings, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
        django_capture_on_commit_callbacks) -> None:
    # given a batch whose worker was killed after two of five customers: killed with -9, its
    # error handler never ran, so the batch still says "running"
    settings.SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS = 600
    ids, rows = _five()
    _plan(incident)
    real = _worker_dies_after(2, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = communications.letters_batch_start(actor=ANALYST, incident_id=incident,
                                                    customers=rows)
    monkeypatch.setattr(communications, "_store", real)
    left = LetterRun.objects.get(id=run_id).progressed_at
    assert left is not None
    LetterRun.objects.filter(id=run_id).update(state="running", detail="")
    # when the periodic job looks before the threshold, nothing is touched
    assert communications.letters_resume_stalled(now=left + timedelta(seconds=599)) == []
    assert LetterRun.objects.get(id=run_id).state == "running"
    # and once the batch has not moved for the threshold, it is queued again and finishes
    with django_capture_on_commit_callbacks(execute=True):
        resumed = communications.letters_resume_stalled(now=left + timedelta(seconds=601))
    assert resumed == [run_id]
    run = communications.letter_run_get(incident_id=incident, run_id=run_id)
    assert (run.state, run.done, run.generated, run.skipped) == ("done", 5, 5, 0)
    assert sorted(Communication.objects.filter(incident_id=incident)
                  .values_list("recipient_ref", flat=True)) == sorted(ids)
    (event,) = audit_selectors.event_list(action="incident.letters_resumed")
    assert (event.data["run"], event.data["done"]) == (run_id, 2)
    assert event.data["stalled_since"] == left.isoformat()
    # a finished batch is never picked up again
    assert communications.letters_resume_stalled(now=left + timedelta(days=1)) == []


@pytest.mark.parametrize("value", [59, 86401, "600"])
def test_the_stalled_threshold_out_of_range_is_e537(settings, value) -> None:  # type: ignore[no-untyped-def]
    settings.SAFEGUARD_INCIDENTS_LETTERS_STALE_SECONDS = value
    assert "safeguard.E537" in [e.id for e in checks.letters_job()]
