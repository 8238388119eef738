"""Incident pages and containment through them (R-IR-1, R-IR-7): a disabled agent's next API
call fails and their open page session is gone; step-up and permissions are enforced; bad
input changes nothing."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.accounts.models import ApiToken, User
from safeguard.audit import selectors as audit
from safeguard.incidents import selectors
from safeguard.incidents.models import ContainmentAction, Incident
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _incident(client: Client) -> int:
    response = client.post("/incidents/", {
        "title": "Agent bulk-reading profiles", "severity": "sev1", "category": "insider_misuse",
        "aware_at": (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M"),
        "jurisdictions": ["EU-GDPR", "US-CA"], "summary": "Seen by UEBA"})
    assert response.status_code == 302
    return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])


def test_disable_agent_from_an_incident_takes_effect_at_once_and_can_be_reversed() -> None:
    # given an analyst and an agent signed in on a page, with an API token
    analyst = make_user(roles=("security_analyst",))
    agent = make_user(roles=("agent",))
    page = signed_in_client(agent)
    assert page.get("/").status_code == 200  # indexes the session
    issued = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="script",
                                  scopes=["cases.view"], expires_in_days=5)
    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.secret}").status_code == 200
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    # when the analyst disables the agent from the incident
    response = staff.post(f"/incidents/{iid}/contain/user/",
                          {"user": agent.id, "reason": "bulk reads under investigation"})
    assert response.status_code == 302
    # then the agent's next API call and page request fail, and their session is gone
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.secret}").status_code == 401
    assert page.get("/").status_code == 302
    assert UserSession.objects.filter(user=agent).count() == 0
    assert User.objects.get(id=agent.id).is_active is False
    action = ContainmentAction.objects.get(incident_id=iid)
    assert (action.kind, action.target_id, action.target_label) == (
        "user_disable", agent.id, agent.email)
    taken = audit.event_list(action="incident.containment_taken")[0]
    assert taken.data == {"action": action.id, "kind": "user_disable", "target": agent.id}
    assert audit.event_list(action="user.disabled")[0].subject_id == str(agent.id)
    # and reversing re-enables the user, but the old token stays revoked
    staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/")
    assert User.objects.get(id=agent.id).is_active is True
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.secret}").status_code == 401
    assert selectors.action_list(incident_id=iid)[0].reversed_at is not None


def test_revoke_one_token_from_an_incident() -> None:
    analyst = make_user(roles=("security_analyst",))
    agent = make_user(roles=("agent",))
    keep = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="a", scopes=["cases.view"],
                                expires_in_days=5)
    bad = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="b", scopes=["cases.view"],
                               expires_in_days=5)
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    staff.post(f"/incidents/{iid}/contain/token/", {"token": bad.token.id, "reason": "leaked"})
    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {bad.secret}").status_code == 401
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {keep.secret}").status_code == 200
    # a revoked token cannot be "reversed"
    action = ContainmentAction.objects.get(incident_id=iid)
    response = staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/", follow=True)
    assert b"cannot be restored" in response.content
    assert ApiToken.objects.get(id=bad.token.id).revoked_at is not None


def test_containment_needs_a_fresh_second_factor_and_the_permission() -> None:
    analyst = make_user(roles=("security_analyst",))
    agent = make_user(roles=("agent",))
    stale = signed_in_client(analyst, mfa_at=time.time() - 3600)
    iid = _incident(signed_in_client(analyst))
    response = stale.post(f"/incidents/{iid}/contain/user/", {"user": agent.id, "reason": "x"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert User.objects.get(id=agent.id).is_active is True
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.get(f"/incidents/{iid}/").status_code == 200  # read-only may look
    assert auditor.post(f"/incidents/{iid}/contain/user/",
                        {"user": agent.id, "reason": "x"}).status_code == 403
    assert auditor.post(f"/incidents/{iid}/advance/", {"to_state": "triaged"}).status_code == 403
    assert signed_in_client(agent).get("/incidents/").status_code == 403
    assert User.objects.get(id=agent.id).is_active is True
    assert ContainmentAction.objects.count() == 0


def test_incident_page_shows_clocks_roles_notices_and_refuses_bad_input() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    staff.post(f"/incidents/{iid}/roles/", {"role": "commander", "user": analyst.id})
    page = staff.get(f"/incidents/{iid}/").content.decode()
    assert "Incident Commander" in page
    assert analyst.email in page
    assert "Lead supervisory authority" in page
    assert "GDPR Art. 33(1)" in page
    assert "no fixed period" in page  # California residents
    assert "min left" in page  # the triage clock runs
    before = audit.last_seq()
    bad = staff.post("/incidents/", {"title": "x", "severity": "sev1", "category": "nope",
                                     "aware_at": "2026-01-01T10:00"})
    assert bad.status_code == 400
    skip = staff.post(f"/incidents/{iid}/advance/", {"to_state": "closed"}, follow=True)
    assert b"it can move only to triaged" in skip.content
    assert Incident.objects.get(id=iid).state == "detected"
    assert Incident.objects.count() == 1
    assert audit.last_seq() == before


def test_incident_list_links_affected_customers_only_for_who_may_open_it() -> None:
    """The auditor may read incidents but not the affected-customer query: no link that
    answers 403; the analyst gets the link and it opens."""
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert 'href="/incidents/affected/"' not in auditor.get("/incidents/").content.decode()
    assert auditor.get("/incidents/affected/").status_code == 403
    analyst = signed_in_client(make_user(roles=("security_analyst",)))
    assert 'href="/incidents/affected/"' in analyst.get("/incidents/").content.decode()
    assert analyst.get("/incidents/affected/").status_code == 200
