"""Access-review pages: the queue, revocation in place (next request refused), the signed report
(R-OPS-8; decisions 0128, 0129)."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from pypdf import PdfReader

from safeguard.accounts import review_report, reviews, services
from safeguard.accounts.review_models import AccessReviewCampaign, AccessReviewItem
from safeguard.audit.contracts import Actor
from safeguard.audit.models import Event
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = pytest.mark.django_db

START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff():
    alice = make_user(email="alice@example.test", roles=("administrator",))
    bob = make_user(email="bob@example.test", roles=("compliance_manager",))
    carol = make_user(email="carol@example.test", roles=("auditor",))
    token = services.token_issue(actor=SYSTEM, user_id=carol.id, name="reports",
                                 scopes=["accounts.view_users"], expires_in_days=30)
    with time_machine.travel(START, tick=False):
        reviews.campaign_start(actor=SYSTEM)
    return {"alice": alice, "bob": bob, "carol": carol, "token": token}


def _item(key: str) -> AccessReviewItem:
    return AccessReviewItem.objects.get(grant_key=key)


def _token_item(staff) -> AccessReviewItem:
    return _item(f"token:{staff['token'].token.id}")


def _bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_queue_lists_the_reviewers_items_never_their_own(staff):
    a, c = staff["alice"], staff["carol"]
    html = signed_in_client(a).get("/staff/reviews/queue/").content.decode()
    assert "carol@example.test — Role: Auditor" in html
    assert "carol@example.test — API token: reports" in html
    assert "Role: Administrator" not in html  # alice's own grant goes to bob
    assert f'action="/staff/reviews/items/{_item(f"role:{c.id}:auditor").id}/decide/"' in html


def test_revoking_a_role_in_place_refuses_the_next_request(staff):
    a, c = staff["alice"], staff["carol"]
    carol = signed_in_client(c)
    assert carol.get("/staff/users/").status_code == 200  # the auditor sees staff
    # when alice revokes carol's auditor role from her queue
    response = signed_in_client(a).post(
        f"/staff/reviews/items/{_item(f'role:{c.id}:auditor').id}/decide/",
        {"decision": "revoke", "comment": "moved to another team"})
    assert response.status_code == 302
    # then carol's very next request, in the same session, is refused
    assert carol.get("/staff/users/").status_code == 403


def test_revoking_a_token_in_place_fails_its_next_call(staff):
    a = staff["alice"]
    secret = staff["token"].secret
    assert Client().get("/api/v1/me", **_bearer(secret)).status_code == 200
    signed_in_client(a).post(
        f"/staff/reviews/items/{_token_item(staff).id}/decide/",
        {"decision": "revoke", "comment": "not used"})
    assert Client().get("/api/v1/me", **_bearer(secret)).status_code == 401


@pytest.mark.parametrize(("item", "form", "status"), [
    ("unknown", {"decision": "keep"}, 404),
    ("carol-role", {"decision": "revoke", "comment": ""}, 400),
    ("carol-role", {"decision": "delete"}, 400),
    ("alice-role", {"decision": "keep"}, 403),  # alice's own grant
])
def test_bad_input_on_the_page_is_a_4xx_and_changes_nothing(staff, item, form, status):
    a, c = staff["alice"], staff["carol"]
    ids = {"unknown": 999_999, "carol-role": _item(f"role:{c.id}:auditor").id,
           "alice-role": _item(f"role:{a.id}:administrator").id}
    response = signed_in_client(a).post(f"/staff/reviews/items/{ids[item]}/decide/", form)
    assert response.status_code == status
    assert not AccessReviewItem.objects.exclude(decision="pending").exists()
    assert services.selectors.user_role_slugs(user_id=c.id) == ("auditor",)


def test_a_double_decision_on_the_page_is_409(staff):
    a, c = staff["alice"], staff["carol"]
    client = signed_in_client(a)
    url = f"/staff/reviews/items/{_item(f'role:{c.id}:auditor').id}/decide/"
    assert client.post(url, {"decision": "keep"}).status_code == 302
    response = client.post(url, {"decision": "revoke", "comment": "second thoughts"})
    assert response.status_code == 409
    assert "already decided" in response.content.decode()
    assert services.selectors.user_role_slugs(user_id=c.id) == ("auditor",)


def test_deciding_without_a_fresh_second_factor_asks_for_it(staff):
    a, c = staff["alice"], staff["carol"]
    stale = signed_in_client(a, mfa_at=time.time() - 3600)
    response = stale.post(f"/staff/reviews/items/{_item(f'role:{c.id}:auditor').id}/decide/",
                          {"decision": "keep"})
    assert response.status_code == 302
    assert "/reauthenticate/" in response["Location"]
    assert not AccessReviewItem.objects.exclude(decision="pending").exists()


def test_an_agent_cannot_open_the_reviews(staff):
    agent = make_user(roles=("agent",))
    client = signed_in_client(agent)
    assert client.get("/staff/reviews/").status_code == 403
    assert client.get("/staff/reviews/queue/").status_code == 403


def test_the_report_lists_every_decision_and_its_signature_verifies(staff, tmp_path):
    a, b, c = staff["alice"], staff["bob"], staff["carol"]
    services.role_grant(actor=SYSTEM, user_id=c.id, role_slug="agent")  # after the snapshot
    alice = signed_in_client(a)
    alice.post(f"/staff/reviews/items/{_item(f'role:{c.id}:auditor').id}/decide/",
               {"decision": "keep", "comment": "quarterly audit work"})
    alice.post(f"/staff/reviews/items/{_token_item(staff).id}/decide/",
               {"decision": "revoke", "comment": "token unused"})
    # when an administrator closes the campaign with alice's and bob's roles undecided
    campaign = AccessReviewCampaign.objects.get()
    page = signed_in_client(b).get(f"/staff/reviews/{campaign.id}/").content.decode()
    assert "2 of 4 decided" in page
    response = signed_in_client(b).post(f"/staff/reviews/{campaign.id}/close/")
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.close_reason, campaign.closed_by) == (
        "closed", "closed with undecided", "bob@example.test")
    # then the PDF lists every item: user, grant, reviewer, decision, comment, time
    pdf = signed_in_client(b).get(f"/staff/reviews/{campaign.id}/report.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
                    .split())
    assert "Access review 2026-Q4" in text
    assert "Grants reviewed: 4. Kept: 1. Revoked: 1. Undecided: 2." in text
    assert "quarterly audit work" in text
    assert "token unused" in text
    assert text.count("UNDECIDED") == 2
    assert text.count("carol@example.test") >= 2
    assert "alice@example.test" in text
    assert "bob@example.test" in text
    assert "Role: Agent" not in text  # granted after the snapshot: next campaign's business
    # and the detached signature verifies, and fails on a changed byte
    sig = json.loads(signed_in_client(b).get(
        f"/staff/reviews/{campaign.id}/signature.json").content)
    assert sig["sha256"] == campaign.report_sha256
    assert review_report.verify(pdf=pdf.content, signature=sig["signature"],
                                public_key=sig["public_key_pem"])
    assert review_report.verify(pdf=pdf.content, signature=sig["signature"])
    middle = len(pdf.content) // 2
    tampered = pdf.content[:middle] + bytes([pdf.content[middle] ^ 1]) + pdf.content[middle + 1:]
    assert not review_report.verify(pdf=tampered, signature=sig["signature"],
                                    public_key=sig["public_key_pem"])
    closed = Event.objects.get(action="access_review.closed")
    assert (closed.data["undecided"], closed.data["report_sha256"]) == (2, sig["sha256"])
    # the documented OpenSSL check works on the downloaded files
    openssl = shutil.which("openssl")
    if openssl:
        (tmp_path / "key.pem").write_text(sig["public_key_pem"])
        (tmp_path / "report.sig").write_bytes(base64.b64decode(sig["signature"]))
        (tmp_path / "message").write_bytes(review_report.MESSAGE_PREFIX + pdf.content)
        done = subprocess.run(
            [openssl, "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.pem"),
             "-rawin", "-in", str(tmp_path / "message"), "-sigfile",
             str(tmp_path / "report.sig")], capture_output=True, text=True, check=False)
        assert "Signature Verified Successfully" in done.stdout


def test_the_report_of_an_open_campaign_is_not_there_yet(staff):
    campaign = AccessReviewCampaign.objects.get()
    response = signed_in_client(staff["bob"]).get(f"/staff/reviews/{campaign.id}/report.pdf")
    assert response.status_code == 409


def test_starting_by_hand_needs_the_permission_and_refuses_a_second_start(staff):
    bob = signed_in_client(staff["bob"])
    with time_machine.travel(START, tick=False):
        response = bob.post("/staff/reviews/start/", follow=True)
    assert "already started" in response.content.decode()
    assert AccessReviewCampaign.objects.count() == 1
    auditor = make_user(roles=("auditor",))
    assert signed_in_client(auditor).post("/staff/reviews/start/").status_code == 403


def test_the_campaign_list_shows_progress_overdue_and_the_control(staff):
    a, c = staff["alice"], staff["carol"]
    reviews.item_decide(actor=Actor(kind="user", id=str(a.id), label=a.email),
                        item_id=_item(f"role:{c.id}:auditor").id, decision="keep", comment="")
    with time_machine.travel(datetime(2026, 10, 27, tzinfo=UTC), tick=False):
        html = signed_in_client(staff["bob"]).get("/staff/reviews/").content.decode()
    assert '<progress max="4" value="1" aria-label="1 of 4 decided">25%</progress> 1 / 4' in html
    assert "<td>3</td>" in html  # overdue
    assert "past its due date (2026-10-26) with 3 grants undecided" in html


def test_a_close_raced_by_another_is_not_an_error(staff):
    campaign = AccessReviewCampaign.objects.get()
    assert reviews._close_complete(campaign.id, START) is True
    assert reviews._close_complete(campaign.id, START) is False
    assert Event.objects.filter(action="access_review.closed").count() == 1
