"""SIEM mappings (pure): OCSF class per action, ECS fields, CEF escaping; docs table in step."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safeguard.audit.contracts import Actor, EventView
from safeguard.audit.siem import formats

AT = datetime(2025, 3, 4, 5, 6, 7, 891234, tzinfo=UTC)
USER = Actor(kind="user", id="5", label="agent@example.org")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "siem.md"


def event(action: str = "auth.login", *, actor: Actor = USER, subject=("user", "5"),
          outcome: str = "success", data=None, source_ip: str | None = "192.0.2.10",
          user_agent: str = "Mozilla/5.0", request_id: str = "req-1", seq: int = 42) -> EventView:
    return EventView(seq=seq, at=AT, actor=actor, action=action,
                     subject_type=subject[0] if subject else "",
                     subject_id=str(subject[1]) if subject else "", outcome=outcome,
                     source_ip=source_ip, user_agent=user_agent, request_id=request_id,
                     data=dict(data or {}))


# --- a reference CEF parser, written from the spec, independent of the renderer ---------------

_CEF_UNESCAPE = {"\\": "\\", "=": "=", "|": "|", "n": "\n", "r": "\r"}


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF line into its 7 header fields and unescaped extension pairs."""
    header: list[str] = []
    current, i = "", 0
    while len(header) < 7:
        ch = line[i]
        if ch == "\\":
            current += line[i + 1]
            i += 2
        elif ch == "|":
            header.append(current)
            current, i = "", i + 1
        else:
            current += ch
            i += 1
    pairs: dict[str, str] = {}
    for m in re.finditer(r"(\w+)=((?:\\.|[^\\=])*?)(?= \w+=|$)", line[i:]):
        pairs[m.group(1)] = re.sub(r"\\(.)", lambda e: _CEF_UNESCAPE[e.group(1)], m.group(2))
    return header, pairs


# --- OCSF ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "class_uid", "category_uid", "activity_id"), [
    ("auth.login", 3002, 3, 1),
    ("auth.login_failed", 3002, 3, 1),
    ("auth.logout", 3002, 3, 2),
    ("auth.mfa_failed", 3002, 3, 1),
    ("auth.mfa_passed", 3002, 3, 1),
    ("auth.step_up", 3002, 3, 99),
    ("auth.password_spray_guess", 3002, 3, 99),  # unknown auth.* stays Authentication
    ("mfa.enrolled", 3001, 3, 10),
    ("mfa.removed", 3001, 3, 11),
    ("mfa.recovery_codes_regenerated", 3001, 3, 99),
    ("role.granted", 3001, 3, 7),
    ("role.revoked", 3001, 3, 8),
    ("role.created", 3004, 3, 1),
    ("role.changed", 3004, 3, 3),
    ("user.created", 3001, 3, 1),
    ("user.enabled", 3001, 3, 2),
    ("user.disabled", 3001, 3, 5),
    ("user.renamed", 3001, 3, 99),
    ("session.revoked", 3001, 3, 99),
    ("api_token.created", 3001, 3, 99),
    ("api_token.revoked", 3001, 3, 99),
    ("api_token.used", 6003, 6, 99),
    ("access.denied", 6003, 6, 99),
    ("detection.raised", 2004, 2, 1),
    ("detection.updated", 2004, 2, 2),
    ("detection.closed", 2004, 2, 3),
    ("organisation.changed", 3004, 3, 3),
    ("case.viewed", 6001, 6, 2),
    ("customer.revealed", 6001, 6, 2),
    ("case.exported", 6001, 6, 7),
    ("case.created", 3004, 3, 1),
    ("case.closed", 3004, 3, 99),
])
def test_ocsf_class_and_activity_per_action(action, class_uid, category_uid, activity_id):
    # given an event of each kind the platform records (and a few it will)
    # when it is mapped to OCSF
    doc = formats.to_ocsf(event(action))
    # then it lands in the class and activity of the mapping table
    assert (doc["class_uid"], doc["category_uid"], doc["activity_id"]) == (
        class_uid, category_uid, activity_id)
    assert doc["type_uid"] == class_uid * 100 + activity_id
    assert doc["type_name"] == f"{doc['class_name']}: {doc['activity_name']}"


def test_ocsf_common_fields_of_a_login():
    # given a successful login from a known address
    doc = formats.to_ocsf(event("auth.login"), product_version="1.2.3")
    # then the base event attributes are filled exactly
    assert doc["time"] == 1741064767891
    assert doc["severity_id"] == 1
    assert doc["severity"] == "Informational"
    assert (doc["status_id"], doc["status"]) == (1, "Success")
    assert doc["metadata"] == {
        "version": "1.3.0", "uid": "42", "sequence": 42, "event_code": "auth.login",
        "log_name": "audit", "correlation_uid": "req-1",
        "product": {"name": "Safeguard", "vendor_name": "Safeguard", "version": "1.2.3"},
    }
    assert doc["actor"] == {"user": {"uid": "5", "name": "agent@example.org", "type_id": 1,
                                     "type": "User"}}
    assert doc["user"] == {"uid": "5", "name": "agent@example.org"}
    assert doc["src_endpoint"] == {"ip": "192.0.2.10"}
    assert doc["http_request"] == {"user_agent": "Mozilla/5.0", "uid": "req-1"}


def test_ocsf_failed_login_of_anonymous_caller_names_the_target_account_only():
    # given a failed login by an anonymous caller against a known account
    ev = event("auth.login_failed", actor=Actor.anonymous(), outcome="failure",
               data={"identifier": "3f2a", "known_account": True})
    doc = formats.to_ocsf(ev)
    # then the status is Failure, severity Low, and no actor is invented
    assert (doc["status_id"], doc["status"], doc["severity_id"]) == (2, "Failure", 2)
    assert "actor" not in doc
    assert doc["user"] == {"uid": "5"}
    assert doc["unmapped"]["data"] == {"identifier": "3f2a", "known_account": True}


def test_ocsf_mfa_events_are_flagged_as_mfa():
    assert formats.to_ocsf(event("auth.mfa_failed", outcome="failure"))["is_mfa"] is True
    assert formats.to_ocsf(event("auth.step_up"))["is_mfa"] is True
    assert "is_mfa" not in formats.to_ocsf(event("auth.login"))


def test_ocsf_role_grant_names_the_policy_and_target_user():
    doc = formats.to_ocsf(event("role.granted", subject=("user", 7), data={"role": "admin"}))
    assert doc["user"] == {"uid": "7"}
    assert doc["policy"] == {"name": "admin", "uid": "admin"}
    assert doc["activity_name"] == "Attach Policy"


def test_ocsf_api_token_events_carry_the_token_as_credential():
    # given a token issued for user 9 and later used to call the API
    created = formats.to_ocsf(event("api_token.created", subject=("api_token", 3),
                                    data={"user": 9, "prefix": "sg_ab"}))
    token = Actor(kind="token", id="3", label="bot@example.org")
    used = formats.to_ocsf(event("api_token.used", actor=token, subject=("api_token", 3)))
    # then the account change names user 9 and credential 3, and the API call's actor is
    # the token's user by name, never by the token id as a user id
    assert created["user"] == {"uid": "9", "credential_uid": "3"}
    assert used["actor"] == {"user": {"name": "bot@example.org", "credential_uid": "3",
                                      "type_id": 1, "type": "User"}}
    assert used["api"]["operation"] == "api_token.used"
    assert used["resources"] == [{"uid": "3", "type": "api_token"}]


def test_ocsf_access_denied_is_a_failed_api_activity_with_the_missing_permission():
    ev = event("access.denied", outcome="denied", subject=None,
               data={"permission": "cases.view", "path": "/api/v1/cases", "method": "GET"})
    doc = formats.to_ocsf(ev)
    assert (doc["class_uid"], doc["activity_id"], doc["activity_name"]) == (6003, 2, "Read")
    assert (doc["status_id"], doc["status_detail"]) == (2, "denied: needs cases.view")
    assert doc["severity_id"] == 3
    assert doc["api"]["operation"] == "cases.view"
    assert doc["http_request"]["url"] == {"path": "/api/v1/cases"}
    assert doc["http_request"]["http_method"] == "GET"


def test_ocsf_detection_finding_has_finding_info_and_its_own_severity():
    ev = event("detection.raised", actor=Actor.system("detection"), subject=("user", 5),
               data={"severity": "high", "title": "Impossible travel", "rule": "ueba.travel",
                     "finding_id": "F-17"})
    doc = formats.to_ocsf(ev)
    assert (doc["class_uid"], doc["category_uid"], doc["activity_id"]) == (2004, 2, 1)
    assert (doc["severity_id"], doc["severity"]) == (4, "High")
    assert (doc["status_id"], doc["status"]) == (1, "New")
    assert doc["is_alert"] is True
    assert doc["finding_info"] == {"uid": "F-17", "title": "Impossible travel",
                                   "analytic": {"name": "ueba.travel", "type_id": 1,
                                                "type": "Rule"}}
    assert doc["actor"]["app_name"] == "detection"


def test_ocsf_default_classes_name_the_subject():
    viewed = formats.to_ocsf(event("case.viewed", subject=("case", 12)))
    changed = formats.to_ocsf(event("organisation.changed", subject=("organisation", 1)))
    assert viewed["web_resources"] == [{"uid": "12", "type": "case"}]
    assert changed["entity"] == {"uid": "1", "type": "organisation"}


# --- ECS ----------------------------------------------------------------------------------------

def test_ecs_document_of_a_role_grant():
    doc = formats.to_ecs(event("role.granted", subject=("user", 7), data={"role": "admin"}),
                         product_version="1.2.3")
    assert doc["@timestamp"] == "2025-03-04T05:06:07.891234Z"
    assert doc["ecs"] == {"version": "8.11.0"}
    assert doc["event"] == {
        "kind": "event", "category": ["iam"], "type": ["user", "change"],
        "action": "role.granted", "outcome": "success", "id": "42", "sequence": 42,
        "severity": 1, "provider": "safeguard", "module": "safeguard",
        "dataset": "safeguard.audit",
    }
    assert doc["user"] == {"id": "5", "name": "agent@example.org", "target": {"id": "7"}}
    assert doc["source"] == {"ip": "192.0.2.10"}
    assert doc["user_agent"] == {"original": "Mozilla/5.0"}
    assert doc["http"] == {"request": {"id": "req-1"}}
    assert doc["labels"] == {"actor_kind": "user", "subject_type": "user", "subject_id": "7"}
    assert doc["safeguard"]["audit"] == {"seq": 42, "outcome": "success",
                                         "data": {"role": "admin"}}


def test_ecs_outcomes_categories_and_token_actor():
    denied = formats.to_ecs(event("access.denied", outcome="denied", subject=None))
    failed = formats.to_ecs(event("auth.login_failed", actor=Actor.anonymous(),
                                  outcome="failure"))
    token = formats.to_ecs(event("api_token.used",
                                 actor=Actor(kind="token", id="3", label="bot@example.org"),
                                 subject=("api_token", 3)))
    detection = formats.to_ecs(event("detection.raised", data={"severity": "critical"}))
    # ECS knows only success/failure/unknown: denied is a failure with a reason
    assert (denied["event"]["outcome"], denied["event"]["reason"]) == ("failure", "denied")
    assert denied["event"]["type"] == ["access", "denied"]
    assert failed["event"]["category"] == ["authentication"]
    assert failed["user"] == {"id": "5"}
    # a token id is not a user id
    assert token["user"] == {"name": "bot@example.org"}
    assert token["labels"]["api_token_id"] == "3"
    assert (detection["event"]["kind"], detection["event"]["severity"]) == ("alert", 5)


# --- CEF ----------------------------------------------------------------------------------------

def test_cef_escaping_follows_the_spec():
    # given values holding every character CEF treats specially
    assert formats.cef_escape_header(r"a|b\c") == r"a\|b\\c"
    assert formats.cef_escape_header("line1\r\nline2\nline3") == "line1 line2 line3"
    assert formats.cef_escape_value(r"a=b\c|d") == r"a\=b\\c|d"  # pipes are legal in values
    assert formats.cef_escape_value("x\r\ny\nz\rw") == r"x\ny\nz\rw"


def test_cef_line_of_a_tricky_event():
    # given an event whose user agent and data contain CEF's special characters
    ev = event("access.denied", outcome="denied", user_agent="curl|8 a=b\\c\nEvil: x",
               data={"path": "/x?a=1|2"}, subject=None)
    line = formats.render_cef(ev, product_version="1|0")
    # then the line is a single line that parses back to the original values
    assert "\n" not in line
    assert "\r" not in line
    header, ext = parse_cef(line)
    assert header == ["CEF:0", "Safeguard", "Safeguard", "1|0", "access.denied",
                      "access.denied denied", "5"]
    assert ext["requestClientApplication"] == "curl|8 a=b\\c\nEvil: x"
    assert json.loads(ext["cs5"]) == {"path": "/x?a=1|2"}
    assert ext["rt"] == "1741064767891"
    assert ext["externalId"] == "42"
    assert ext["outcome"] == "denied"
    assert ext["cat"] == "API Activity"
    assert ext["suser"] == "agent@example.org"
    assert ext["src"] == "192.0.2.10"


def test_cef_ipv6_source_and_token_actor():
    token = Actor(kind="token", id="3", label="bot@example.org")
    _, ext = parse_cef(formats.render_cef(event("api_token.used", actor=token,
                                                source_ip="2001:db8::1")))
    assert (ext["c6a2"], ext["c6a2Label"]) == ("2001:db8::1", "Source IPv6 Address")
    assert "src" not in ext
    assert "suid" not in ext  # the token id is not a user id
    assert (ext["cs6Label"], ext["cs6"]) == ("apiTokenId", "3")


@pytest.mark.parametrize(("sev", "cef", "syslog"), [
    (1, 1, 6), (2, 3, 5), (3, 5, 4), (4, 7, 3), (5, 9, 2), (6, 10, 1)])
def test_severity_scales(sev, cef, syslog):
    assert formats.cef_severity(sev) == cef
    assert formats.syslog_severity(sev) == syslog


# --- properties over arbitrary text -------------------------------------------------------------

_text = st.text(max_size=40)


@given(label=_text, ua=_text, subject_id=_text, note=_text, action_verb=st.from_regex(
    r"[a-z][a-z_]{0,15}", fullmatch=True))
def test_every_rendering_is_one_encodable_line_that_round_trips(label, ua, subject_id, note,
                                                                 action_verb):
    # given arbitrary (even hostile) text in every free-form field
    ev = event(f"case.{action_verb}", actor=Actor(kind="user", id="5", label=label),
               subject=("case", subject_id), user_agent=ua, data={"note": note})
    for fmt in formats.FORMATS:
        line = formats.render(ev, fmt=fmt)
        # then each format is one line of valid UTF-8
        assert "\n" not in line
        assert "\r" not in line
        line.encode("utf-8")
    # and the JSON formats give every value back exactly
    ocsf = json.loads(formats.render(ev, fmt="ocsf"))
    ecs = json.loads(formats.render(ev, fmt="ecs"))
    assert ocsf["unmapped"]["data"] == {"note": note}
    assert ecs["safeguard"]["audit"]["data"] == {"note": note}
    assert ecs.get("user_agent", {}).get("original", "") == ua
    # and CEF too, wherever the text is encodable (lone surrogates become U+FFFD-like '?')
    if all(not 0xD800 <= ord(c) <= 0xDFFF for c in label + ua + subject_id + note):
        _, ext = parse_cef(formats.render(ev, fmt="cef"))
        # CEF carries one line ending: a CRLF pair travels as \n (see the escaping test above)
        assert ext.get("requestClientApplication", "") == ua.replace("\r\n", "\n")
        assert ext.get("suser", "") == label.replace("\r\n", "\n")
        assert ext.get("cs2", "") == subject_id.replace("\r\n", "\n")
        assert json.loads(ext["cs5"]) == {"note": note}


def test_render_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        formats.render(event(), fmt="xml")


# --- the documented table -----------------------------------------------------------------------

def test_docs_mapping_table_matches_the_code():
    # given the mapping table operators read in docs/siem.md
    rows = re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \| [^|]*\((\d{4})\) \| (\d+) ",
                      DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    documented = {action: (int(cls), int(act)) for action, cls, act in rows}
    # then every explicitly mapped action is documented, with the class and activity it gets
    assert set(formats.ACTIONS) <= set(documented)
    for action, (cls, act) in documented.items():
        got = formats.ocsf_activity(action)
        assert (got.cls.uid, got.activity_id) == (cls, act), action
