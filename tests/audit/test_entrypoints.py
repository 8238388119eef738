"""Audit API, pages and CLI: proofs to auditors, search and export, verify exit codes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from safeguard.audit import merkle, services
from safeguard.audit.contracts import Actor
from tests.audit.test_log import triggers_bypassed
from tests.factories import make_user, signed_in_client

pytestmark = pytest.mark.django_db
ACTOR = Actor(kind="user", id="9", label="bo@example.test")


def _log(n: int) -> None:
    for i in range(n):
        services.record(action="case.viewed", actor=ACTOR, subject=("case", i))


def test_auditor_gets_heads_and_proofs_that_verify():
    auditor = make_user(roles=("auditor",))
    client = signed_in_client(auditor)  # its own login events are in the log too
    _log(9)
    services.head_sign()
    heads = client.get("/api/v1/audit/heads").json()
    root = bytes.fromhex(heads["latest"]["root_hash"])
    size = heads["latest"]["size"]
    assert "BEGIN PUBLIC KEY" in heads["public_key_pem"]
    proof = client.get(f"/api/v1/audit/proofs/inclusion?seq=5&size={size}").json()
    assert merkle.verify_inclusion_leaf(bytes.fromhex(proof["leaf_hash"]), 4, size,
                                        [bytes.fromhex(h) for h in proof["path"]], root)
    cons = client.get(f"/api/v1/audit/proofs/consistency?first=3&second={size}").json()
    assert merkle.verify_consistency(3, size, bytes.fromhex(cons["first_root"]), root,
                                     [bytes.fromhex(h) for h in cons["path"]])


def test_proof_for_a_missing_event_is_a_problem():
    auditor = make_user(roles=("auditor",))
    _log(2)
    services.head_sign()
    response = signed_in_client(auditor).get("/api/v1/audit/proofs/inclusion?seq=99")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/proof-unavailable")


def test_agent_may_not_read_the_audit_api_or_page():
    agent = make_user(roles=("agent",))
    client = signed_in_client(agent)
    assert client.get("/api/v1/audit/heads").status_code == 403
    assert client.get("/audit/").status_code == 403


def test_event_search_filters_by_action_prefix_and_actor():
    analyst = make_user(roles=("security_analyst",))
    services.record(action="auth.login_failed", actor=Actor.anonymous(), outcome="failure")
    _log(3)
    client = signed_in_client(analyst)
    api = client.get("/api/v1/audit/events?action=auth.&outcome=failure").json()
    assert [e["action"] for e in api["items"]] == ["auth.login_failed"]
    page = client.get("/audit/?actor=bo%40example&action=case.viewed").content.decode()
    assert page.count('<td class="mono">case.viewed</td>') == 3


def test_export_streams_csv_and_jsonl_and_is_audited():
    analyst = make_user(roles=("security_analyst",))
    _log(3)
    client = signed_in_client(analyst)
    csv_body = b"".join(client.get("/audit/export/?action=case.viewed&format=csv")
                        .streaming_content).decode()
    assert csv_body.splitlines()[0].startswith("seq,at,actor_kind")
    assert len(csv_body.splitlines()) == 4
    jsonl = b"".join(client.get("/audit/export/?action=case.viewed&format=jsonl")
                     .streaming_content).decode().splitlines()
    assert [json.loads(line)["subject_id"] for line in jsonl] == ["0", "1", "2"]
    from safeguard.audit import selectors

    assert selectors.event_list(action="audit.exported")[0].data["format"] == "jsonl"
    assert client.get("/audit/export/?format=xml").status_code == 400


def test_verify_from_the_page_runs_in_the_background_and_shows_the_result(
        django_capture_on_commit_callbacks):
    analyst = make_user(roles=("security_analyst",))
    _log(4)
    services.head_sign()
    client = signed_in_client(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/audit/verify/")
    assert response.status_code == 302
    page = client.get("/audit/").content.decode()
    assert '<span class="badge ok">verified</span>' in page
    from safeguard.audit import selectors

    assert selectors.verification_latest().ok is True
    assert selectors.event_list(action="audit.verification_started")


def test_cli_verify_ok_and_failure_names_the_bad_sequence():
    _log(12)
    services.head_sign()
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    assert "audit log verified: OK" in out.getvalue()
    with triggers_bypassed() as cursor:
        cursor.execute("UPDATE audit_event SET outcome = 'failure' WHERE seq = 6")
    with pytest.raises(CommandError, match="first bad sequence number: 6"):
        call_command("audit", "verify", stdout=StringIO())


def test_cli_prove_and_head():
    _log(5)
    out = StringIO()
    call_command("audit", "head", stdout=out)
    assert json.loads(out.getvalue())["size"] == 5
    out = StringIO()
    call_command("audit", "prove", "3", stdout=out)
    assert json.loads(out.getvalue())["tree_size"] == 5
    with pytest.raises(CommandError, match="not within a tree of size 5"):
        call_command("audit", "prove", "6")


def test_csv_export_neutralises_spreadsheet_formulas():
    analyst = make_user(roles=("security_analyst",))
    services.record(action="case.viewed", actor=Actor(kind="user", id="1",
                                                       label="=HYPERLINK(\"http://x\")"))
    body = b"".join(signed_in_client(analyst).get("/audit/export/?action=case.viewed&format=csv")
                    .streaming_content).decode()
    assert "'=HYPERLINK" in body
