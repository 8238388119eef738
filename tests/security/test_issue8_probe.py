"""Issue 8 attacked end to end on the merged code (R-OPS-2, R-DATA-2, R-DATA-1): the holes a
second look found, each closed and kept closed here.

* Control characters (NUL, ESC, DEL, C1) between a card's groups hid it from the scanner, and a
  NUL in REST ingest or voice input made PostgreSQL fail the request with a 500.
* The voice platform's call id was stored as sent (a card-like call id was refused by the guard).
* An HTML e-mail whose ``<br>`` or ``<div>`` splits a card number, and a speech-to-text
  transcript ("four, five, three, two, ...") through the signed voice webhook.
* An attachment whose declared type lies is read as what its content is: a card in it withholds
  it, even when the mismatch alone would have held it in quarantine.
* A customer's own value written in full-width digits is still recognised as theirs.
"""

from __future__ import annotations

import base64
import importlib
import json
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from django.apps import apps
from django.test import Client

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.cases.models import Attachment, CaseHistory, Interaction, Message
from safeguard.protection.scanner import scan
from tests.cases.attachment_files import docx, pdf
from tests.cases.conftest import make_agent
from tests.channels.conftest import mail, signed_post, stored_counts
from tests.factories import SYSTEM, ref_hash, signed_in_client
from tests.protection.card_variants import _WORDS, card, leaks, stored_leaks

INGEST = "/api/v1/channels/messages"
VOICE = "/channels/voice/events"
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

#: Invisible control characters a client can put between a card's groups.
CONTROLS = {
    "NUL": "\x00", "SOH": "\x01", "BEL": "\x07", "ESC": "\x1b", "unit separator": "\x1f",
    "file separator": "\x1c", "DEL": "\x7f", "C1 CSI": "\x9b", "two NULs": "\x00\x00",
    "space NUL space": " \x00 ", "ANSI colour reset": "\x1b[0m",
}


def _groups(number: str) -> list[str]:
    return [number[i:i + 4] for i in range(0, len(number), 4)]


def _token() -> str:
    accounts.role_create(actor=SYSTEM, slug="integration", name="Integration",
                         permissions=["channels.ingest"])
    user = accounts.user_create(actor=SYSTEM, email="crm@service.example",
                                is_service_account=True, roles=("integration",))
    return accounts.token_issue(actor=SYSTEM, user_id=user.id, name="crm",
                                scopes=("channels.ingest",), expires_in_days=30).secret


def _ingest(token: str, body: dict) -> object:
    return Client().post(INGEST, data=body, content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}")


# --- control characters ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [n for n in CONTROLS if n != "ANSI colour reset"])
def test_the_scanner_finds_a_card_split_by_control_characters(name):
    number = card(1)
    text = f"card {CONTROLS[name].join(_groups(number))} thanks"
    [finding] = [f for f in scan(text) if f.type == "PAN"]
    # the span covers the whole number, separators included, in the original text
    assert text[finding.start:finding.end] == CONTROLS[name].join(_groups(number))


@pytest.mark.django_db
def test_rest_ingest_strips_control_characters_and_screens_what_they_hid():
    # given cards split by every control character, sent by an integration in one message
    token = _token()
    cards = {name: card(10 + i) for i, name in enumerate(CONTROLS)}
    text = "\n".join(f"{name}: {sep.join(_groups(cards[name]))}" for name, sep in
                     CONTROLS.items())
    since = time.time() - 1
    response = _ingest(token, {"sender": {"email": "carol@customer.example",
                                          "name": "Ca\x00rol"},
                               "subject": "Pay\x00ment", "text": text, "external_id": "x\x001"})
    # then it is stored (no 500 on PostgreSQL, no retry loop), without a control character
    assert response.status_code == 201, response.content[:300]
    [message] = Message.objects.filter(channel="api")
    assert not any(c in message.body for c in "\x00\x01\x07\x1b\x1f\x1c\x7f\x9b")
    # and every card became a token: no digits of any of them kept anywhere
    assert message.body.count("[card visa") == len(CONTROLS)
    assert stored_leaks(cards, since=since) == []


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["queue", "thread_ref", "external_id"])
def test_a_nul_in_an_ingest_lookup_field_is_a_clear_answer(field):
    token = _token()
    body = {"sender": {"email": "carol@customer.example"}, "text": "hello", field: "x\x00y"}
    response = _ingest(token, body)
    if field == "queue":
        # no queue has that slug: a 4xx naming it, nothing stored
        assert response.status_code == 404, response.content[:300]
        assert response.json()["type"].endswith("queue-not-found")
        assert stored_counts() == (0, 0, 0)
    else:  # identifiers are only hashed: accepted, nothing readable kept
        assert response.status_code == 201, response.content[:300]
        [message] = Message.objects.all()
        assert message.interaction.thread_ref == ref_hash("x\x00y")


@pytest.mark.django_db
def test_voice_input_with_a_nul_is_answered_never_a_500(webhook_secret):
    client = Client()
    # a queue slug with a NUL: a 4xx problem, nothing stored
    bad_queue = signed_post(client, VOICE, {"type": "call.queued", "call_id": "c-1",
                                            "at": T0.isoformat(), "queue": "gen\x00"})
    assert bad_queue.status_code == 404
    assert stored_counts() == (0, 0, 0)
    # an agent address with a NUL names nobody: the call is still recorded
    answered = signed_post(client, VOICE, {"type": "call.answered", "call_id": "c-1",
                                           "at": T0.isoformat(), "agent_email": "a\x00@x.io"})
    assert answered.status_code == 200
    assert answered.json()["call_id"] == "c-1"
    # a transcript whose card is split by NULs: stored screened, without a NUL
    number = card(77)
    said = signed_post(client, VOICE, {
        "type": "transcript", "call_id": "c-1",
        "text": f"Caller: it is {chr(0).join(_groups(number))}.",
        "recording": {"uri": "s3://rec/c-1\x00.wav"}})
    assert said.status_code == 200, said.content[:300]
    [call] = Interaction.objects.filter(channel="voice")
    assert "\x00" not in call.transcript
    assert "\x00" not in call.recording["uri"]
    assert "[card visa" in call.transcript
    assert not leaks(call.transcript, number)


# --- the voice platform's call id -----------------------------------------------------------------

@pytest.mark.django_db
def test_a_card_like_call_id_is_kept_only_as_a_keyed_hash(webhook_secret):
    # given a call id that is a Luhn-valid card number (the platform's, or an attacker's)
    number = card(5)
    since = time.time() - 1
    client = Client()
    queued = signed_post(client, VOICE, {"type": "call.queued", "call_id": number,
                                         "at": T0.isoformat()})
    answered = signed_post(client, VOICE, {"type": "call.answered", "call_id": number,
                                           "at": (T0 + timedelta(seconds=9)).isoformat()})
    # then the call is recorded (not refused by the no-PAN guard) and its events join up
    assert queued.status_code == 200, queued.content[:300]
    assert answered.json()["speed_to_answer_seconds"] == 9
    assert answered.json()["call_id"] == number  # echoed to the platform, never stored
    [call] = Interaction.objects.filter(channel="voice")
    assert call.call_id == ref_hash(number) == call.thread_ref
    # and no column, history entry, audit event or file shows it
    assert stored_leaks({"call id": number}, since=since) == []
    refs = {h.data.get("call") for h in CaseHistory.objects.filter(kind="call")}
    assert refs == {call.call_id[10:22]}
    assert all("call_id" not in (e.data or {}) for e in Event.objects.all())
    # nor the agent's case page
    agent = make_agent("general")
    page = signed_in_client(agent).get(f"/cases/{call.case.number}/").content.decode()
    assert "Phone call" in page
    assert not leaks(page, number)


# --- HTML mail and speech-to-text -----------------------------------------------------------------

def _html_mail(html: str, message_id: str, *, alternative: bool) -> EmailMessage:
    """An HTML-only mail, or one whose plain part says nothing and whose HTML part has it."""
    msg = mail(body="(see the HTML part)", subject="Payment", message_id=message_id)
    if alternative:
        msg.add_alternative(html, subtype="html")
    else:
        msg.set_content(html, subtype="html")
    return msg


HTML_SPLITS = {
    "br": lambda g: f"<p>My card: {g[0]} {g[1]}<br>{g[2]} {g[3]}</p>",
    "br per group": lambda g: "<p>" + "<br/>".join(g) + "</p>",
    "div per pair": lambda g: f"<div>{g[0]} {g[1]}</div><div>{g[2]} {g[3]}</div>",
    "div per group": lambda g: "".join(f"<div>{x}</div>" for x in g),
    "spans and br": lambda g: f"<span>{g[0]}</span>&nbsp;<span>{g[1]}</span><br>"
                              f"<b>{g[2]}</b>&#8203;<i>{g[3]}</i>",
}


@pytest.mark.django_db(transaction=True)
def test_an_html_mail_splitting_a_card_with_br_or_div_is_screened(smtpd):
    accounts.roles_ensure_builtin()
    cards = {name: card(40 + i) for i, name in enumerate(HTML_SPLITS)}
    since = time.time() - 1
    for alternative in (False, True):
        for i, (name, html) in enumerate(HTML_SPLITS.items()):
            msg = _html_mail(f"<html><body>{html(_groups(cards[name]))}</body></html>",
                             f"<html-{i}-{alternative}@customer.example>",
                             alternative=alternative)
            assert smtpd.send(msg) == {}
    bodies = [m.body for m in Message.objects.filter(channel="email")]
    assert len(bodies) == 2 * len(HTML_SPLITS)
    # the HTML-only mails' text is the converted HTML, each card a token
    assert sum("[card visa" in b for b in bodies) == len(HTML_SPLITS), bodies
    # and nothing of any card is kept, whichever part held it
    assert stored_leaks(cards, since=since) == []


@pytest.mark.django_db
@pytest.mark.parametrize("sep", [", ", " ", " - ", ",\n"])
def test_a_spoken_card_in_a_transcript_through_the_webhook_is_screened(webhook_secret, sep):
    number = card(60)
    spoken = sep.join(_WORDS[int(d)] for d in number)
    since = time.time() - 1
    client = Client()
    signed_post(client, VOICE, {"type": "call.queued", "call_id": "stt-1",
                                "at": T0.isoformat()})
    response = signed_post(client, VOICE, {
        "type": "transcript", "call_id": "stt-1",
        "text": f"Agent: go ahead. Caller: okay it's {spoken}. Agent: thank you."})
    assert response.status_code == 200
    [call] = Interaction.objects.filter(channel="voice")
    assert "[card visa" in call.transcript
    assert call.transcript.startswith("Agent: go ahead. Caller: okay it's ")
    assert stored_leaks({"spoken": number}, since=since) == []


# --- attachments whose declared type lies ---------------------------------------------------------

LIES = {
    "pdf declared as png": (lambda n: pdf(f"Card {n} exp 04/29"), "image/png"),
    "pdf declared as text": (lambda n: pdf(f"Card {n} exp 04/29"), "text/plain"),
    "docx declared as pdf": (lambda n: docx(f"Card {n}"), "application/pdf"),
    "text declared as pdf": (lambda n: f"Card {n}".encode(), "application/pdf"),
    "text declared as jpeg": (lambda n: f"Card {n}".encode(), "image/jpeg"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("lie", list(LIES))
def test_a_declared_type_lie_does_not_keep_a_card_even_in_quarantine(lie):
    make, declared = LIES[lie]
    number = card(80)
    since = time.time() - 1
    response = _ingest(_token(), {
        "sender": {"email": "dave@customer.example"}, "text": "see file",
        "attachments": [{"filename": "scan", "content_type": declared,
                         "content_base64": base64.b64encode(make(number)).decode()}]})
    assert response.status_code == 201, response.content[:300]
    assert response.json()["attachments"] == ["withheld"]
    [attachment] = Attachment.objects.all()
    assert attachment.content == ""
    assert attachment.state == "withheld"
    assert stored_leaks({lie: number}, since=since) == []


@pytest.mark.django_db
def test_a_declared_type_lie_without_a_card_is_still_quarantined():
    response = _ingest(_token(), {
        "sender": {"email": "dave@customer.example"}, "text": "see file",
        "attachments": [{"filename": "scan.png", "content_type": "image/png",
                         "content_base64": base64.b64encode(pdf("Order 1234")).decode()}]})
    assert response.json()["attachments"] == ["quarantined"]
    [attachment] = Attachment.objects.all()
    assert attachment.reason == "declared as image/png but its content is application/pdf"


@pytest.mark.django_db(transaction=True)
def test_mail_attachments_are_judged_by_content_whatever_the_declared_type(smtpd):
    # given a mail with a card PDF declared text/plain, and one declared as a refused type
    accounts.roles_ensure_builtin()
    number, other = card(90), card(91)
    since = time.time() - 1
    msg = mail(body="Files attached.", message_id="<files-1@customer.example>")
    msg.add_attachment(pdf(f"Card {number}"), maintype="text", subtype="plain",
                       filename="notes.txt")
    msg.add_attachment(pdf(f"Card {other}"), maintype="application", subtype="x-evil",
                       filename="evil.bin")
    assert smtpd.send(msg) == {}
    # then the first is withheld (its content decides), the second never stored at all
    [message] = Message.objects.filter(channel="email", author_kind="customer")
    assert [a.state for a in message.attachments.all()] == ["withheld"]
    # and the customer is told on the channel
    [notice] = Message.objects.filter(channel="email", author_kind="system")
    assert '"notes.txt"' in notice.body
    assert "card number" in notice.body
    assert "was not stored: type application/x-evil is not accepted" in message.body
    assert stored_leaks({"as text": number, "refused type": other}, since=since) == []


# --- known values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18",  # full-width
    "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668",  # Arabic-Indic
    "1234\u200b5678",  # a zero-width space inside
    "\uff11\uff12\uff13\uff14 \uff15\uff16\uff17\uff18",  # full-width, grouped
])
def test_a_known_value_in_other_digits_is_still_found(written):
    text = f"my account number is {written}, thanks"
    [found] = scan(text, known={"account": ["12345678"]}, types=["KNOWN_ACCOUNT"])
    assert text[found.start:found.end] == written


def test_a_known_value_given_in_full_width_matches_ascii_text():
    text = "account 12345678 and name John Smith"
    found = scan(text, known={"account": ["\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18"],
                              "name": ["\uff2a\uff4f\uff48\uff4e Smith"]})
    assert sorted(text[f.start:f.end] for f in found) == ["12345678", "John Smith"]


@pytest.mark.django_db
def test_the_data_migration_hashes_existing_plain_call_ids_once(webhook_secret):
    # given a call stored as older versions did (its platform id in clear)
    client = Client()
    signed_post(client, VOICE, {"type": "call.queued", "call_id": "legacy-call-7",
                                "at": T0.isoformat()})
    Interaction.objects.filter(channel="voice").update(call_id="legacy-call-7")
    migration = importlib.import_module("safeguard.cases.migrations.0005_hash_call_ids")
    # when the data migration runs, twice (a re-run changes nothing)
    migration.hash_call_ids(apps, None)
    migration.hash_call_ids(apps, None)
    # then the id is its keyed hash, and the platform's next event finds the call
    [call] = Interaction.objects.filter(channel="voice")
    assert call.call_id == ref_hash("legacy-call-7")
    ended = signed_post(client, VOICE, {"type": "call.ended", "call_id": "legacy-call-7",
                                        "at": (T0 + timedelta(minutes=3)).isoformat()})
    assert ended.status_code == 200
    assert ended.json()["case_number"] == call.case.number
    assert Interaction.objects.filter(channel="voice").count() == 1


@pytest.mark.parametrize("text", [
    "6\u200b 2\u200b0\u200b4\u200b 183073 048899\t7",  # found by the hypothesis property
    "6 204 183073 048899\t7",
    "6204 1830 7304 8899\n7",
])
def test_a_card_whose_prefix_is_also_valid_is_covered_to_its_last_digit(text):
    # 62041830730488997 (UnionPay, 17 digits) starts with a Luhn-valid 16-digit run: the
    # digit pass alone stopped there and left the last group in clear
    [found] = [f for f in scan(text) if f.type == "PAN"]
    assert (found.start, found.end) == (0, len(text))


def test_a_card_with_a_dotted_group_is_not_taken_for_an_ip_address():
    # found by the hypothesis property: "0.0.0.0" inside the number read as an IPv4 address
    text = "4 0000 0.0.0.0 0006"
    assert [(f.type, f.start, f.end) for f in scan(text)] == [("PAN", 0, len(text))]
    # while an address beside digits is still one
    assert [f.type for f in scan("server 10.0.0.1 is down")] == ["IP_ADDRESS"]


# --- what the agent sees, everywhere --------------------------------------------------------------

@pytest.mark.django_db
def test_no_variant_shows_on_any_screen_an_agent_or_auditor_reads():
    """Every variant of the table (and the control characters) through REST ingest, then read
    back as an agent would: the case page, its conversation, the case API's JSON, the customer
    panel, and the audit events' JSON."""
    from safeguard.cases.models import Case
    from tests.protection.card_variants import VARIANTS

    token = _token()
    cards = {name: card(200 + i) for i, name in enumerate([*VARIANTS, *CONTROLS])}
    writings = {**{n: VARIANTS[n](cards[n]) for n in VARIANTS},
                **{n: CONTROLS[n].join(_groups(cards[n])) for n in CONTROLS}}
    for i, (name, written) in enumerate(writings.items()):
        response = _ingest(token, {
            "sender": {"email": "erin@customer.example", "name": f"Erin {written}"},
            "subject": f"Card {written}", "text": f"Please charge {written} today.",
            "external_id": f"screen-{i}"})
        assert response.status_code == 201, (name, response.content[:300])
    agent = make_agent("general", roles=("agent", "supervisor"))
    client = signed_in_client(agent)
    screens = []
    for case in Case.objects.all():
        for url in (f"/cases/{case.number}/", f"/cases/{case.number}/conversation/",
                    f"/api/v1/cases/{case.number}", f"/customers/{case.customer_id}/"):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            screens.append((url, response.content.decode()))
    screens += [(f"audit event {e.action}", json.dumps(e.data, ensure_ascii=False))
                for e in Event.objects.all()]
    assert len(screens) > len(writings)
    assert [(url, name) for url, html in screens for name in writings
            if leaks(html, cards[name])] == []
