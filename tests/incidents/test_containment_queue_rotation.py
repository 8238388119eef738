"""Containment: force step-up for a queue's cases, start a key rotation (R-IR-7; decision
0226). Each takes effect at once: the queue's case page asks for the second factor again and
API tokens are refused for its cases; the rotation job exists, runs and shows its progress.
Reversal restores the queue; a rotation is not reversible; bad input changes nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit
from safeguard.cases.models import Case, Queue
from safeguard.incidents.models import ContainmentAction
from safeguard.protection import keyring
from safeguard.protection.models import RotationJob
from tests.cases.conftest import inbound, make_agent, make_queue
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _incident(client: Client) -> int:
    response = client.post("/incidents/", {
        "title": "Agent account taken over", "severity": "sev1", "category": "account_takeover",
        "aware_at": (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])


@pytest.fixture
def desk():  # type: ignore[no-untyped-def]
    make_queue("billing")
    make_queue("vip")
    vip = Case.objects.get(id=inbound("VIP parcel", queue="vip").case_id)
    billing = Case.objects.get(id=inbound("Billing parcel", email="bo@example.com",
                                          queue="billing").case_id)
    agent = make_agent("billing", "vip")
    return agent, vip, billing


def test_queue_step_up_asks_for_a_fresh_factor_on_its_cases_until_reversed(desk) -> None:
    agent, vip, billing = desk
    # an agent signed in 30 minutes ago (second factor no longer fresh), and an API token
    page = signed_in_client(agent, mfa_at=time.time() - 1800)
    issued = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="script",
                                  scopes=["cases.view"], expires_in_days=5)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {issued.secret}"}
    api = Client()
    assert page.get(f"/cases/{vip.number}/").status_code == 200
    assert api.get(f"/api/v1/cases/{vip.number}", **bearer).status_code == 200
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    queue = Queue.objects.get(slug="vip")
    # when the analyst forces step-up on the vip queue
    response = staff.post(f"/incidents/{iid}/contain/queue/",
                          {"queue": queue.id, "reason": "agent account taken over"})
    assert response.status_code == 302
    # then the agent's next page of a vip case asks for the second factor again ...
    response = page.get(f"/cases/{vip.number}/")
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert page.get(f"/cases/{vip.number}/conversation/").status_code == 302
    # ... the API token is refused for vip cases, while billing cases are untouched
    refused = api.get(f"/api/v1/cases/{vip.number}", **bearer)
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"
    assert api.get(f"/api/v1/cases/{billing.number}", **bearer).status_code == 200
    assert page.get(f"/cases/{billing.number}/").status_code == 200
    # ... and a fresh second factor opens the case as before
    assert signed_in_client(agent).get(f"/cases/{vip.number}/").status_code == 200
    action = ContainmentAction.objects.get(incident_id=iid)
    assert (action.kind, action.target_id, action.target_label) == (
        "queue_step_up", queue.id, "queue vip")
    assert audit.event_list(action="queue.step_up_forced")[0].subject_id == str(queue.id)
    assert audit.event_list(action="case.step_up_refused")[0].subject_id == str(vip.number)
    # when reversed, the stale session and the token work again
    staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/", {"reason": "password reset"})
    assert page.get(f"/cases/{vip.number}/").status_code == 200
    assert api.get(f"/api/v1/cases/{vip.number}", **bearer).status_code == 200
    queue.refresh_from_db()
    assert queue.step_up_forced_at is None
    action.refresh_from_db()
    assert action.reversal_reason == "password reset"


def test_queue_step_up_refuses_bad_input_and_a_second_force(desk) -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    queue = Queue.objects.get(slug="vip")
    bad = staff.post(f"/incidents/{iid}/contain/queue/", {"queue": 999999, "reason": "x"},
                     follow=True)
    assert "Nothing changed" in bad.content.decode()
    staff.post(f"/incidents/{iid}/contain/queue/", {"queue": queue.id, "reason": "first"})
    again = staff.post(f"/incidents/{iid}/contain/queue/", {"queue": queue.id, "reason": "2nd"},
                       follow=True)
    assert "already under forced step-up" in again.content.decode()
    assert ContainmentAction.objects.count() == 1
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post(f"/incidents/{iid}/contain/queue/",
                        {"queue": queue.id, "reason": "x"}).status_code == 403


def test_key_rotation_starts_the_real_job_which_runs_and_shows_progress(
        django_capture_on_commit_callbacks) -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    inbound("Parcel late", queue=make_queue("billing"))  # rows under the data key
    old = keyring.primary_key_id("data")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"/incidents/{iid}/contain/rotation/",
                              {"keysets": ["data"], "reason": "key material may be exposed"})
    assert response.status_code == 302
    assert keyring.primary_key_id("data") != old
    action = ContainmentAction.objects.get(incident_id=iid)
    job = RotationJob.objects.get(id=action.target_id)
    assert action.kind == "key_rotation"
    assert job.status == "done"  # Huey runs the queued job at once in tests
    assert job.rewritten > 0
    page = staff.get(f"/incidents/{iid}/").content.decode()
    assert f"Rotation job {job.id} (data): done" in page
    assert f"{job.rewritten} rewritten" in page
    # a rotation cannot be undone
    response = staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/", follow=True)
    assert "cannot be undone" in response.content.decode()
    action.refresh_from_db()
    assert action.reversed_at is None


def test_key_rotation_refuses_unknown_keysets_and_stale_factor() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    keyring.primary_key_id("data")  # keys exist
    jobs = RotationJob.objects.count()
    bad = staff.post(f"/incidents/{iid}/contain/rotation/",
                     {"keysets": ["everything"], "reason": "x"}, follow=True)
    assert "Nothing changed" in bad.content.decode()
    stale = signed_in_client(analyst, mfa_at=time.time() - 3600)
    response = stale.post(f"/incidents/{iid}/contain/rotation/",
                          {"keysets": ["data"], "reason": "x"})
    assert "reauthenticate" in response["Location"]
    assert RotationJob.objects.count() == jobs
    assert ContainmentAction.objects.count() == 0
