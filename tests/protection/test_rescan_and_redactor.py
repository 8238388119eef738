"""`safeguard protection rescan` finds and fixes card numbers older data holds; the log redactor."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from safeguard.accounts.models import User
from safeguard.audit import services as audit
from safeguard.audit.models import Event
from safeguard.protection import services
from safeguard.protection.models import RescanRun, Token
from safeguard.protection.scanning import find_pans, log_redact_processor, redact_for_logs
from tests.factories import SYSTEM, make_user
from tests.protection.conftest import PAN_MC2, PAN_VISA


def _sneak(sql, params):
    """Write like a legacy system would: straight through the driver, past both guards."""
    raw = connection.connection
    if connection.vendor == "sqlite":
        sql = sql.replace("%s", "?")
    cursor = raw.cursor()
    cursor.execute(sql, params)
    cursor.close()


@pytest.fixture
def legacy_data(db):
    connection.ensure_connection()
    ann = make_user(full_name="Ann")
    bob = make_user(full_name="Bob")
    _sneak("UPDATE accounts_user SET full_name = %s WHERE id = %s",
           [f"Ann paid with {PAN_VISA}", ann.pk])
    _sneak("UPDATE accounts_user SET full_name = %s WHERE id = %s",
           [f"Bob {PAN_MC2[:4]} {PAN_MC2[4:8]} {PAN_MC2[8:12]} {PAN_MC2[12:]}", bob.pk])
    # the audit log is append-only (database triggers): a legacy import appended the card
    seq = audit.record(action="case.noted", actor=SYSTEM, data={"note": "clean"}) + 1000
    _sneak("INSERT INTO audit_event (seq, at, actor_kind, actor_id, actor_label, action, "
           "subject_type, subject_id, outcome, user_agent, request_id, data, leaf_hash) "
           "VALUES (%s, %s, 'system', 'legacy', 'legacy', 'legacy.import', '', '', 'success', "
           "'', '', %s, %s)",
           [seq, "2020-01-01 00:00:00", json.dumps({"note": f"card {PAN_VISA}"}), "ab" * 32])
    return ann, bob, seq


def test_rescan_reports_where_cards_are_without_printing_them(legacy_data):
    ann, bob, seq = legacy_data
    out, err = io.StringIO(), io.StringIO()
    call_command("protection", "rescan", "--jsonl", stdout=out, stderr=err)
    findings = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {(f["model"], f["pk"], f["field"], f["fixed"]) for f in findings} == {
        ("accounts.user", str(ann.pk), "full_name", False),
        ("accounts.user", str(bob.pk), "full_name", False),
        ("audit.event", str(seq), "data", False),
    }
    assert PAN_VISA not in out.getvalue() + err.getvalue()
    assert "3 card number(s) found" in err.getvalue()
    # report only: nothing changed
    assert PAN_VISA in User.objects.get(pk=ann.pk).full_name


def test_rescan_fix_tokenizes_in_place_but_never_rewrites_the_audit_log(legacy_data):
    ann, bob, seq = legacy_data
    view = services.rescan_run(fix=True, actor=SYSTEM)
    ann_name = User.objects.get(pk=ann.pk).full_name
    token = Token.objects.get(last4="1111")
    assert ann_name == f"Ann paid with [card visa •••• 1111 {token.token}]"
    assert find_pans(User.objects.get(pk=bob.pk).full_name) == []
    fixed = {(f.model, f.fixed) for f in view.findings}
    assert fixed == {("accounts.user", True), ("audit.event", False)}
    assert PAN_VISA in json.dumps(Event.objects.get(seq=seq).data)  # reported, left as is
    assert Event.objects.filter(action="protection.pan_removed").count() == 2
    with pytest.raises(SystemExit) as exited:
        call_command("protection", "rescan", "--fix", "--restart", "--fail-on-findings",
                     stdout=io.StringIO(), stderr=io.StringIO())
    assert exited.value.code == 1  # the audit-log finding stays open for a human


def test_rescan_resumes_from_its_cursor(legacy_data):
    ann, bob, _ = legacy_data
    first = services.rescan_run(fix=False, actor=SYSTEM, only=["accounts.user"],
                                batch_size=1, max_batches=1)
    assert (first.status, len(first.findings)) == ("running", 1)
    resumed = services.rescan_run(fix=False, actor=SYSTEM, only=["accounts.user"],
                                  batch_size=1)
    assert (resumed.id, resumed.status) == (first.id, "done")
    assert {f.pk for f in resumed.findings} == {str(ann.pk), str(bob.pk)}
    assert RescanRun.objects.count() == 1


# --- the logging redactor -----------------------------------------------------------------


def test_log_redaction_masks_cards_ssn_and_iban_but_not_ordinary_text():
    line = (f"charge {PAN_VISA} for ssn 123-45-6789 iban GB82 WEST 1234 5698 7654 32 "
            "order 1234567890123 at 2024-05-01")
    assert redact_for_logs(line) == (
        "charge [REDACTED-PAN] for ssn [REDACTED-US_SSN] iban [REDACTED-IBAN] "
        "order 1234567890123 at 2024-05-01")


def test_the_structlog_processor_walks_nested_values():
    event = {"event": f"paid {PAN_VISA}", "extra": {"cards": [PAN_MC2]}, "count": 3}
    assert log_redact_processor(None, "info", event) == {
        "event": "paid [REDACTED-PAN]", "extra": {"cards": ["[REDACTED-PAN]"]}, "count": 3}


@settings(max_examples=100, deadline=None)
@given(prefix=st.text(max_size=30), suffix=st.text(max_size=30),
       sep=st.sampled_from(["", " ", "-"]))
def test_no_card_number_survives_log_redaction(prefix, suffix, sep):
    written = sep.join(PAN_MC2[i:i + 4] for i in range(0, 16, 4))
    assert find_pans(redact_for_logs(f"{prefix} {written} {suffix}")) == []
