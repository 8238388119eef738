"""Probe of the incident containment actions (R-IR-7; decisions 0226, 0134): a queue under
forced step-up leaks no message body through a side door (an API path number written another
way, the case search over message text), and a containment cannot be reversed without the
permission, by GET (CSRF-safe method) or twice."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.audit.models import ExportFreeze
from safeguard.cases.models import Case, Queue
from safeguard.incidents.models import ContainmentAction
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
def forced():  # type: ignore[no-untyped-def]
    """A vip case whose customer wrote a secret word, its queue under forced step-up."""
    make_queue("vip")
    vip = Case.objects.get(id=inbound("the vault word is zanzibar", queue="vip",
                                      subject="Parcel").case_id)
    agent = make_agent("vip")
    staff = signed_in_client(make_user(roles=("security_analyst",)))
    iid = _incident(staff)
    queue = Queue.objects.get(slug="vip")
    assert staff.post(f"/incidents/{iid}/contain/queue/",
                      {"queue": queue.id, "reason": "takeover"}).status_code == 302
    return agent, vip, staff, iid


@pytest.mark.parametrize("written", ["{n}.0", "{n}.00", "+{n}", "00{n}", " {n}"])
def test_the_api_number_written_another_way_is_still_refused(forced, written: str) -> None:
    agent, vip, _, _ = forced
    issued = accounts.token_issue(actor=SYSTEM, user_id=agent.id, name="script",
                                  scopes=["cases.view"], expires_in_days=5)
    response = Client().get(f"/api/v1/cases/{written.format(n=vip.number)}",
                            HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 403, response.content[:200]
    assert "zanzibar" not in response.content.decode()


def test_case_search_cannot_probe_the_bodies_of_a_forced_queue_without_a_fresh_factor(
        forced) -> None:
    agent, vip, _, _ = forced
    stale = signed_in_client(agent, mfa_at=time.time() - 1800)
    # the list still shows the case (its subject), but a search of its message text finds nothing
    assert f"/cases/{vip.number}/" in stale.get("/cases/?q=Parcel").content.decode()
    assert f"/cases/{vip.number}/" not in stale.get("/cases/?q=zanzibar").content.decode()
    # with a fresh second factor the search works as before
    fresh = signed_in_client(agent)
    assert f"/cases/{vip.number}/" in fresh.get("/cases/?q=zanzibar").content.decode()


def test_the_case_pages_of_a_forced_queue_ask_again_whatever_the_path_spelling(forced) -> None:
    agent, vip, _, _ = forced
    stale = signed_in_client(agent, mfa_at=time.time() - 1800)
    n = vip.number
    for path in (f"/cases/{n}/", f"/cases/00{n}/", f"/cases/{n}/conversation/",
                 f"/cases/{n}", f"//cases/{n}/", f"/cases//{n}/", f"/CASES/{n}/"):
        response = stale.get(path)
        assert response.status_code in (301, 302, 404), path
        assert "zanzibar" not in response.content.decode()


def test_reversal_needs_the_permission_a_post_and_happens_once(forced) -> None:
    _, _, staff, iid = forced
    staff.post(f"/incidents/{iid}/contain/exports/", {"reason": "exfiltration"})
    actions = list(ContainmentAction.objects.filter(incident_id=iid).order_by("id"))
    assert len(actions) == 2
    agent_client = signed_in_client(make_user(roles=("agent",)))
    auditor = signed_in_client(make_user(roles=("auditor",)))
    for action in actions:
        url = f"/incidents/{iid}/contain/{action.id}/reverse/"
        assert agent_client.post(url, {"reason": "x"}).status_code == 403
        assert auditor.post(url, {"reason": "x"}).status_code == 403
        assert staff.get(url).status_code == 405  # never by a link
        csrf = Client(enforce_csrf_checks=True)
        csrf.cookies = staff.cookies
        assert csrf.post(url, {"reason": "x"}).status_code == 403  # no CSRF token
    for action in actions:
        action.refresh_from_db()
        assert action.reversed_at is None
    assert ExportFreeze.objects.filter(lifted_at__isnull=True).count() == 1
    assert Queue.objects.get(slug="vip").step_up_forced_at is not None
    # a key rotation is never reversible
    staff.post(f"/incidents/{iid}/contain/rotation/", {"keysets": ["pii"], "reason": "leak"})
    rotation = ContainmentAction.objects.filter(incident_id=iid, kind="key_rotation").first()
    if rotation is not None:
        page = staff.post(f"/incidents/{iid}/contain/{rotation.id}/reverse/", {"reason": "x"},
                          follow=True).content.decode()
        assert "cannot be undone" in page
        rotation.refresh_from_db()
        assert rotation.reversed_at is None
