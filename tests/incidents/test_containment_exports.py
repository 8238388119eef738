"""Containment: freeze every data export (R-IR-7; decision 0226). The export right after the
freeze is refused (423) and the attempt recorded; reversal restores exports; bad input, a stale
second factor or a missing permission changes nothing."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from safeguard.audit import selectors as audit
from safeguard.audit.models import ExportFreeze
from safeguard.incidents.models import ContainmentAction
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _incident(client: Client) -> int:
    response = client.post("/incidents/", {
        "title": "Bulk export by an agent", "severity": "sev1", "category": "insider_misuse",
        "aware_at": (timezone.localtime() - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    return int(response["Location"].rstrip("/").rsplit("/", 1)[-1])


def _affected_query(user_id: int) -> str:
    now = timezone.localtime()
    since = (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    until = (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    return f"kind=user&value={user_id}&since={since}&until={until}"


def test_freeze_refuses_every_export_at_once_and_reversal_restores_them() -> None:
    # given an analyst (who may export the audit log and the affected-customer list)
    analyst = make_user(roles=("security_analyst", "privacy_officer"))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    assert staff.get("/audit/export/?format=csv").status_code == 200
    # when exports are frozen from the incident
    response = staff.post(f"/incidents/{iid}/contain/exports/",
                          {"reason": "exfiltration path unknown"}, follow=True)
    assert "Data exports frozen" in response.content.decode()
    freeze = ExportFreeze.objects.get()
    action = ContainmentAction.objects.get(incident_id=iid)
    assert (action.kind, action.target_id, action.reason) == (
        "exports_freeze", freeze.id, "exfiltration path unknown")
    assert freeze.reference == f"incident {iid}"
    # then the very next export of each kind is refused with 423 and says why
    refused = staff.get("/audit/export/?format=csv")
    assert refused.status_code == 423
    assert "Data exports are frozen" in refused.content.decode()
    assert "exfiltration path unknown" in refused.content.decode()
    assert staff.get(f"/incidents/affected.csv?{_affected_query(analyst.id)}").status_code == 423
    assert staff.get(f"/privacy/requests/{uuid.uuid4()}/export.zip").status_code == 423
    public = Client().get("/data-request/bundle/not-a-token/")
    assert public.status_code == 423
    assert "Downloads are paused" in public.content.decode()
    assert "exfiltration" not in public.content.decode()  # no internal reason for the public
    # and every refused attempt is in the audit log, naming the export
    names = sorted(e.data["export"] for e in audit.event_list(action="export.refused"))
    assert names == ["audit.events", "incidents.affected_csv", "privacy.bundle_link",
                     "privacy.dsr_bundle"]
    assert audit.event_list(action="export.frozen")[0].subject_id == str(freeze.id)
    page = staff.get(f"/incidents/{iid}/").content.decode()
    assert "Data exports frozen" in page
    # when the freeze is reversed (with a reason), exports work again
    staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/", {"reason": "path closed"})
    action.refresh_from_db()
    assert (action.reversed_by, action.reversal_reason) == (analyst.email, "path closed")
    assert action.reversed_at is not None
    freeze.refresh_from_db()
    assert (freeze.lifted_by, freeze.lift_reason) == (analyst.email, "path closed")
    assert staff.get("/audit/export/?format=csv").status_code == 200
    assert staff.get(f"/incidents/affected.csv?{_affected_query(analyst.id)}").status_code == 200
    assert Client().get("/data-request/bundle/not-a-token/").status_code == 404
    # a reversed action cannot be reversed again
    again = staff.post(f"/incidents/{iid}/contain/{action.id}/reverse/", follow=True)
    assert "already been reversed" in again.content.decode()


def test_two_freezes_keep_exports_frozen_until_both_are_lifted() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    first, second = _incident(staff), _incident(staff)
    staff.post(f"/incidents/{first}/contain/exports/", {"reason": "one"})
    staff.post(f"/incidents/{second}/contain/exports/", {"reason": "two"})
    a = ContainmentAction.objects.get(incident_id=first)
    staff.post(f"/incidents/{first}/contain/{a.id}/reverse/")
    assert staff.get("/audit/export/?format=csv").status_code == 423
    b = ContainmentAction.objects.get(incident_id=second)
    staff.post(f"/incidents/{second}/contain/{b.id}/reverse/")
    assert staff.get("/audit/export/?format=csv").status_code == 200


def test_freeze_needs_a_reason_a_fresh_second_factor_and_the_permission() -> None:
    analyst = make_user(roles=("security_analyst",))
    staff = signed_in_client(analyst)
    iid = _incident(staff)
    # no reason: nothing changes
    response = staff.post(f"/incidents/{iid}/contain/exports/", {"reason": "  "}, follow=True)
    assert "Nothing changed" in response.content.decode()
    # a stale second factor: the re-prompt, nothing changes
    stale = signed_in_client(analyst, mfa_at=time.time() - 3600)
    response = stale.post(f"/incidents/{iid}/contain/exports/", {"reason": "x"})
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    # read-only: 403
    auditor = signed_in_client(make_user(roles=("auditor",)))
    assert auditor.post(f"/incidents/{iid}/contain/exports/", {"reason": "x"}).status_code == 403
    assert ExportFreeze.objects.count() == 0
    assert ContainmentAction.objects.count() == 0
    assert audit.event_list(action="export.frozen") == []
