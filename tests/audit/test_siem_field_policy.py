"""SIEM field policy (issue 17 item 10, R-IR-5, R-DATA-2): free text an attacker or a person
chose leaves masked and neutralised; structured fields leave as recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from safeguard.accounts import services as accounts
from safeguard.audit import context
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor, EventView
from safeguard.audit.siem import formats
from safeguard.audit.siem.forwarder import Forwarder
from safeguard.audit.siem.sinks import FileSink
from tests.factories import make_user

ADMIN = Actor(kind="user", id="1", label="admin@example.org")
HOSTILE_UA = ("Mozilla/5.0 (contact jane.doe@example.com, +44 20 7946 0958) "
              "\x1b[31m${jndi:ldap://x}\x1b[0m \u202egnp.exe")


def _upper(text: str) -> str:
    return text.upper()


def _event(**kw: object) -> EventView:
    base: dict[str, object] = {
        "seq": 7, "at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "actor": ADMIN,
        "action": "user.disabled", "subject_type": "user", "subject_id": "42",
        "outcome": "success", "source_ip": "192.0.2.1", "user_agent": "ua",
        "request_id": "req-1", "data": {}}
    base.update(kw)
    return EventView(**base)  # type: ignore[arg-type]


def test_policy_masks_free_text_and_keeps_structured_fields_verbatim():
    # given an event with free text in the User-Agent, an anonymous actor's label and the data
    event = _event(actor=Actor.anonymous("guess"), user_agent="agent\x1b[2J\u202eX",
                   data={"reason": "left", "role": "agent", "permission": "a.b",
                         "nested": {"note": ["x", 3]}, "sessions_ended": 2})
    # when the policy is applied with a visible masker
    out = formats.apply_field_policy(event, _upper)
    # then free text is masked and its control/bidi characters removed
    assert out.user_agent == "AGENT [2J X"
    assert out.actor.label == "GUESS"
    assert out.request_id == "REQ-1"
    assert out.subject_id == "42"
    assert out.data == {"reason": "LEFT", "role": "agent", "permission": "a.b",
                        "nested": {"NOTE": ["X", 3]}, "sessions_ended": 2}
    # and structured fields are untouched
    assert (out.seq, out.action, out.outcome, out.source_ip, out.subject_type) == (
        7, "user.disabled", "success", "192.0.2.1", "user")
    # a staff actor's label is set by the platform: verbatim
    assert formats.apply_field_policy(_event(), _upper).actor.label == "admin@example.org"


def test_free_text_is_bounded():
    out = formats.apply_field_policy(_event(user_agent="a" * 5000), lambda t: t)
    assert out.user_agent == "a" * formats.FREE_TEXT_MAX + formats.TRUNCATED


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["ocsf", "ecs", "cef"])
def test_exported_events_carry_no_personal_data_from_free_text(tmp_path, fmt):
    # given a disable reason naming a person's contact details, recorded during a request whose
    # User-Agent an attacker chose
    admin = make_user(roles=("administrator",))
    leaver = make_user(roles=("agent",))
    token = context.bind(context.RequestContext(source_ip="198.51.100.7",
                                                user_agent=HOSTILE_UA, request_id="r-1"))
    try:
        accounts.user_disable(
            actor=Actor(kind="user", id=str(admin.id), label=admin.email), user_id=leaver.id,
            reason="per HR: call her on +44 20 7946 0958 or mail jane.doe@example.com, "
                   "IBAN GB82 WEST 1234 5698 7654 32")
    finally:
        context.reset(token)
    audit.record(action="auth.login_failed", actor=Actor.anonymous("jane.doe@example.com"),
                 outcome="failure", data={"known_account": False})
    # when the forwarder ships the log to a file in each format
    path = tmp_path / f"siem.{fmt}"
    fwd = Forwarder(name=f"policy-{fmt}", sink=FileSink(path=path), fmt=fmt, batch_size=1000)
    while fwd.ship_batch():
        pass
    shipped = path.read_text(encoding="utf-8")
    # then no e-mail address, phone number, IBAN or escape sequence of the free text left
    for secret in ("jane.doe@example.com", "7946 0958", "GB82", "\x1b", "\\u001b", "\u202e",
                   "\\u202e"):
        assert secret not in shipped, secret
    assert "[REDACTED-EMAIL]" in shipped
    assert "[REDACTED-PHONE]" in shipped
    assert "[REDACTED-IBAN]" in shipped
    # and the structured facts are intact
    assert "user.disabled" in shipped
    assert "198.51.100.7" in shipped
    assert admin.email in shipped  # the staff actor is identified as recorded
    if fmt != "cef":
        lines = [json.loads(line) for line in shipped.splitlines()]
        disabled = next(line for line in lines if "user.disabled" in json.dumps(line))
        data = (disabled["unmapped"]["data"] if fmt == "ocsf"
                else disabled["safeguard"]["audit"]["data"])
        assert data["sessions_ended"] == 0
        assert data["reason"].startswith("per HR: call her on [REDACTED-PHONE] or mail "
                                         "[REDACTED-EMAIL], IBAN [REDACTED-IBAN]")

