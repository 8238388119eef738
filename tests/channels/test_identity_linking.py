"""No unverified linking (decision 0101; R-WORK-4, R-OPS-5, R-DATA-2, R-OPS-1).

A channel identity attaches to an existing customer only once verified: a one-time code to the
address on file, an agent's recorded verification, mail authenticated by the trusted MTA, or a
trusted integration. Until then the conversation belongs to an unverified contact, the agent's
scope does not gain the customer, and the case says so. Look-alike and spoofed senders are
flagged and never linked.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.test import Client
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.audit.models import Event
from safeguard.cases import selectors as case_selectors
from safeguard.cases import services as cases
from safeguard.cases.contracts import CaseError
from safeguard.cases.models import Case, Message
from safeguard.channels import services as channels
from safeguard.customers import selectors as customer_selectors
from safeguard.customers import services as customers
from safeguard.customers.contracts import CodeInvalid, ContactNotUnverified, CustomerInvalid
from safeguard.customers.models import ContactCode, Customer, IdentityVerification
from tests.cases.conftest import make_agent, make_queue, principal_for
from tests.channels.conftest import SUPPORT, mail
from tests.factories import SYSTEM, make_user, ref_hash, signed_in_client

pytestmark = pytest.mark.django_db

VICTIM = "maria.lopez0@example.com"
MTA = "mx.ours.example"


@pytest.fixture
def world(mail_routes, settings):
    """A customer (the victim), the queue inbound lands in, and an agent working it."""
    settings.SAFEGUARD_MAIL_AUTHSERV_IDS = [MTA]
    settings.SAFEGUARD_MAIL_LINK_ON_DMARC_PASS = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_queue("general")
    victim = customers.customer_create(actor=SYSTEM, name="Maria Lopez", email=VICTIM,
                                       phone="+44 20 7946 0132")
    agent = make_agent("general")
    return victim, agent


def _case(result) -> Case:
    return Case.objects.get(id=result.case_id if hasattr(result, "case_id") else result)


def _scope(agent):
    return case_selectors.customer_scope(principal_for(agent))


def _email(frm: str, *, auth: str = "", message_id: str = "<m1@customer.example>",
           **headers: str):
    msg = mail(frm=f"Maria <{frm}>", message_id=message_id,
               body="Please change my refund IBAN to GB33BUKB20201555555555.", **headers)
    if auth:
        msg["Authentication-Results"] = auth
    return channels.email_receive(raw=bytes(msg), recipients=[SUPPORT])


def _assert_unverified_and_victim_out_of_scope(case: Case, victim, agent) -> None:
    contact = Customer.objects.get(id=case.customer_id)
    assert contact.kind == "unverified"
    assert contact.id != victim.id
    assert Customer.objects.get(id=victim.id).kind == "customer"
    scope = _scope(agent)
    assert case.customer_id in scope.customer_ids
    assert victim.id not in scope.customer_ids
    view = case_selectors.case_get(principal=principal_for(agent), number=case.number)
    assert view.contact_unverified is True
    # and the victim's history does not hold the conversation
    assert not Case.objects.filter(customer_id=victim.id).exists()


# --- unverified senders are never linked ------------------------------------------------------


def test_an_unverified_chat_with_a_victims_address_is_not_linked(world):
    victim, agent = world
    started = channels.chat_open(name="Maria", email=VICTIM, text="Change my IBAN please",
                                 client="192.0.2.10")
    case = Case.objects.get(interactions__thread_ref=ref_hash(started.conversation_id))
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)
    view = case_selectors.case_get(principal=principal_for(agent), number=case.number)
    assert [(f.flag, f.customer_ref) for f in view.contact_flags] == [
        ("claims_profile", victim.id.hex[:12])]


def test_an_unverified_contact_form_with_a_victims_address_is_not_linked(world):
    victim, agent = world
    result = channels.contact_submit(name="Maria", email=VICTIM, subject="Refund",
                                     text="Send the refund to my new account", client="192.0.2.11")
    _assert_unverified_and_victim_out_of_scope(_case(result), victim, agent)


def test_an_unauthenticated_email_from_a_victims_address_is_not_linked(world):
    victim, agent = world
    outcome = _email(VICTIM)
    case = _case(outcome.case_id)
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)
    assert Message.objects.get(case=case).sender_auth == "none"
    # and a second mail from the address lands on the same contact (one per address)
    again = _email(VICTIM, message_id="<m2@customer.example>")
    assert _case(again.case_id).customer_id == case.customer_id


def test_the_case_page_and_api_show_the_unverified_contact(world):
    victim, agent = world
    case = _case(_email(VICTIM).case_id)
    client = signed_in_client(agent)
    page = client.get(f"/cases/{case.number}/").content.decode()
    assert "Unverified contact" in page
    assert "existing customer&#x27;s address" in page or "existing customer's address" in page
    assert victim.id.hex[:12] in page
    assert "sender not authenticated" in page
    body = client.get(f"/api/v1/cases/{case.number}").json()
    assert body["contact_unverified"] is True
    assert body["contact_flags"] == [{
        "flag": "claims_profile", "customer_ref": victim.id.hex[:12],
        "label": "Sender uses an existing customer's address (unverified)"}]
    assert body["messages"][0]["sender_auth"] == "none"
    # and the contact is marked as such; the victim's profile stays out of reach
    contact = client.get(f"/api/v1/customers/{case.customer_id}").json()
    assert (contact["unverified"], contact["email"]) == (True, "m•••@e•••.com")
    assert client.get(f"/api/v1/customers/{victim.id}").status_code == 404


def test_caller_id_is_not_verification(world, settings):
    victim, agent = world
    view = channels.voice_event(kind="call.queued", call_id="call-1", at=timezone.now(),
                                caller_phone="+44 20 7946 0132")
    case = _case(view.case_id)
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)
    assert case.contact_flags == [{"flag": "claims_profile", "customer": str(victim.id)}]


# --- one-time code -----------------------------------------------------------------------------


def _code_from_outbox(to: str) -> str:
    sent = [m for m in django_mail.outbox if m.to == [to]]
    assert sent, "no code mail"
    found = re.search(r"verification code is (\d{6})", sent[-1].body)
    assert found is not None
    return found.group(1)


def test_a_one_time_code_to_the_address_on_file_links_the_conversation(world):
    victim, agent = world
    case = _case(channels.chat_open(name="Maria", email=VICTIM, text="hi",
                                    client="192.0.2.12").conversation_id
                 and Case.objects.latest("created_at").id)
    contact_id = case.customer_id
    principal = principal_for(agent)
    # when the agent e-mails a code, it goes to the victim's address on file, hashed at rest
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    code = _code_from_outbox(VICTIM)
    row = ContactCode.objects.get(contact_id=contact_id)
    assert row.target_id == victim.id
    assert code.encode() not in bytes(row.code_hash)
    assert django_mail.outbox[-1].extra_headers["Auto-Submitted"] == "auto-generated"
    # and the person reads it back
    link = cases.case_contact_code_check(case_number=case.number, principal=principal,
                                         code=code)
    # then the case belongs to the victim's profile, which is now in the agent's scope
    case.refresh_from_db()
    assert (link.customer_id, link.method, link.created_profile) == (victim.id, "otp_email",
                                                                       False)
    assert case.customer_id == victim.id
    assert case.contact_flags == []
    assert victim.id in _scope(agent).customer_ids
    verification = IdentityVerification.objects.get(customer_id=victim.id)
    assert (verification.method, verification.verified_by_id, verification.interaction_ref) == (
        "otp_email", agent.pk, f"case:{case.number}")
    actions = set(Event.objects.values_list("action", flat=True))
    assert {"customer.contact_code_sent", "customer.contact_verified",
            "case.contact_linked"} <= actions
    # and the used code works no more
    with pytest.raises(CodeInvalid):
        customers.contact_code_check(viewer=principal, contact_id=contact_id,
                                     interaction_ref=f"case:{case.number}", code=code)


def test_wrong_codes_are_counted_and_exhaust_the_code(world, settings):
    victim, agent = world
    settings.SAFEGUARD_CONTACT_CODE_ATTEMPTS = 3
    case = _case(_email(VICTIM).case_id)
    principal = principal_for(agent)
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    code = _code_from_outbox(VICTIM)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(3):
        with pytest.raises(CodeInvalid):
            cases.case_contact_code_check(case_number=case.number, principal=principal,
                                          code=wrong)
    assert ContactCode.objects.get(contact_id=case.customer_id).attempts == 3
    # then even the right code is refused: the code is used up
    with pytest.raises(CodeInvalid):
        cases.case_contact_code_check(case_number=case.number, principal=principal, code=code)
    case.refresh_from_db()
    assert case.customer_id != victim.id
    refusals = list(Event.objects.filter(action="customer.contact_code_refused")
                    .values_list("data", flat=True))
    assert [d["why"] for d in refusals] == ["wrong code"] * 3 + ["attempts exhausted"]
    assert all(code not in str(d) for d in refusals)


def test_an_expired_code_is_refused(world, settings):
    _victim, agent = world
    settings.SAFEGUARD_CONTACT_CODE_MINUTES = 10
    case = _case(_email(VICTIM).case_id)
    principal = principal_for(agent)
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    code = _code_from_outbox(VICTIM)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)), \
            pytest.raises(CodeInvalid):
        cases.case_contact_code_check(case_number=case.number, principal=principal, code=code)
    case.refresh_from_db()
    assert Customer.objects.get(id=case.customer_id).kind == "unverified"


def test_a_new_code_replaces_the_previous_one(world):
    _victim, agent = world
    case = _case(_email(VICTIM).case_id)
    principal = principal_for(agent)
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    first = _code_from_outbox(VICTIM)
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    second = _code_from_outbox(VICTIM)
    if first != second:
        with pytest.raises(CodeInvalid):
            cases.case_contact_code_check(case_number=case.number, principal=principal,
                                          code=first)
    link = cases.case_contact_code_check(case_number=case.number, principal=principal,
                                         code=second)
    assert link.method == "otp_email"


def test_no_code_sender_means_no_code_and_a_clear_error(world):
    from safeguard.cases import outbound

    _victim, agent = world
    case = _case(_email(VICTIM).case_id)
    saved = outbound.code_sender()
    outbound.register_code_sender(None)
    try:
        with pytest.raises(CaseError, match="No e-mail sender"):
            cases.case_contact_code_send(case_number=case.number, principal=principal_for(agent))
    finally:
        outbound.register_code_sender(saved)


# --- an agent's verification ------------------------------------------------------------------


def test_an_agents_recorded_verification_links_and_is_audited(world):
    victim, agent = world
    case = _case(channels.contact_submit(name="Maria", email=VICTIM, subject="Refund",
                                         text="hello", client="192.0.2.13"))
    principal = principal_for(agent)
    with pytest.raises(CustomerInvalid):
        cases.case_contact_verify(case_number=case.number, principal=principal,
                                  method="otp_email")  # the code has its own path
    link = cases.case_contact_verify(case_number=case.number, principal=principal,
                                     method="callback")
    case.refresh_from_db()
    assert (case.customer_id, link.method) == (victim.id, "callback")
    event = Event.objects.get(action="customer.contact_verified")
    assert (event.data["method"], event.subject_id, event.data["interaction_ref"]) == (
        "callback", str(victim.id), f"case:{case.number}")
    linked = Event.objects.get(action="case.contact_linked")
    assert linked.data["customer"] == str(victim.id)
    # and linking twice is refused
    with pytest.raises(ContactNotUnverified):
        cases.case_contact_verify(case_number=case.number, principal=principal,
                                  method="callback")


def test_verifying_a_contact_whose_address_no_profile_holds_creates_the_profile(world):
    _victim, agent = world
    case = _case(_email("new.person@example.org").case_id)
    link = cases.case_contact_verify(case_number=case.number, principal=principal_for(agent),
                                     method="knowledge")
    profile = Customer.objects.get(id=link.customer_id)
    assert link.created_profile is True
    assert (profile.kind, profile.email) == ("customer", "new.person@example.org")


def test_the_verification_pages_link_through_the_console(world):
    victim, agent = world
    case = _case(_email(VICTIM).case_id)
    client = signed_in_client(agent)
    response = client.post(f"/cases/{case.number}/contact/verify/", {"method": "document"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.customer_id == victim.id
    page = client.get(f"/cases/{case.number}/").content.decode()
    assert "Unverified contact" not in page


def test_the_api_sends_and_checks_codes(world):
    victim, agent = world
    case = _case(_email(VICTIM).case_id)
    client = signed_in_client(agent)
    assert client.post(f"/api/v1/cases/{case.number}/contact/code").status_code == 202
    bad = client.post(f"/api/v1/cases/{case.number}/contact/code/check", {"code": "12"},
                      content_type="application/json")
    assert bad.status_code == 422, bad.content
    assert bad.json()["type"].endswith("/code-invalid")
    good = client.post(f"/api/v1/cases/{case.number}/contact/code/check",
                       {"code": _code_from_outbox(VICTIM)}, content_type="application/json")
    assert good.status_code == 200
    assert good.json()["customer_id"] == str(victim.id)


# --- look-alikes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sender", [
    "maria.lopez0@\uff45xample.com",  # full-width e
    "maria.lopez0@\u0435xample.com",  # Cyrillic e
], ids=["full-width", "cyrillic"])
def test_look_alike_senders_are_flagged_and_never_linked(world, sender):
    victim, agent = world
    # given a look-alike that even passes DMARC for its own (attacker's) domain
    domain = sender.rpartition("@")[2]
    outcome = _email(sender, auth=f"{MTA}; dmarc=pass header.from={domain}")
    case = _case(outcome.case_id)
    contact = Customer.objects.get(id=case.customer_id)
    assert contact.kind == "unverified"
    assert victim.id not in _scope(agent).customer_ids
    assert case.contact_flags == [{"flag": "lookalike", "customer": str(victim.id)}]
    view = customer_selectors.customer_view_system(customer_id=contact.id)
    assert view.email.endswith("[non-ASCII characters]")
    assert customer_selectors.customer_view_system(customer_id=victim.id).email == "m•••@e•••.com"


# --- sender authentication ------------------------------------------------------------------


def test_spf_and_dmarc_failed_mail_claiming_a_customer_is_marked_and_not_linked(world):
    victim, agent = world
    outcome = _email(VICTIM, auth=f"{MTA}; spf=fail smtp.mailfrom=example.com; dkim=none; "
                                   "dmarc=fail (p=reject) header.from=example.com")
    case = _case(outcome.case_id)
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)
    assert Message.objects.get(case=case).sender_auth == "failed"
    assert {f["flag"] for f in case.contact_flags} == {"claims_profile", "auth_failed"}
    page = signed_in_client(agent).get(f"/cases/{case.number}/").content.decode()
    assert "sender authentication failed" in page


def test_dmarc_pass_from_the_trusted_mta_links_an_exact_address(world):
    victim, _agent = world
    outcome = _email(VICTIM, auth=f"{MTA}; spf=pass smtp.mailfrom=example.com; "
                                   "dkim=pass header.d=example.com; dmarc=pass "
                                   "header.from=example.com")
    case = _case(outcome.case_id)
    assert case.customer_id == victim.id
    assert Message.objects.get(case=case).sender_auth == "verified"
    assert IdentityVerification.objects.get(customer_id=victim.id).method == "mail_authenticated"
    assert Event.objects.filter(action="customer.sender_verified",
                                subject_id=str(victim.id)).count() == 1


def test_authentication_results_from_an_untrusted_authserv_id_are_ignored(world):
    victim, agent = world
    outcome = _email(VICTIM, auth="mx.attacker.example; dmarc=pass header.from=example.com")
    case = _case(outcome.case_id)
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)
    assert Message.objects.get(case=case).sender_auth == "none"


def test_dmarc_pass_does_not_link_when_the_operator_turned_it_off(world, settings):
    victim, _agent = world
    settings.SAFEGUARD_MAIL_LINK_ON_DMARC_PASS = False
    outcome = _email(VICTIM, auth=f"{MTA}; dmarc=pass header.from=example.com")
    case = _case(outcome.case_id)
    assert case.customer_id != victim.id
    assert Message.objects.get(case=case).sender_auth == "verified"


def test_a_mailbox_case_difference_is_not_the_same_address_outside_the_table(world):
    victim, _agent = world
    outcome = _email("Maria.Lopez0@example.com",
                     auth=f"{MTA}; dmarc=pass header.from=example.com")
    case = _case(outcome.case_id)
    assert case.customer_id != victim.id
    assert case.contact_flags == [{"flag": "lookalike", "customer": str(victim.id)}]


def test_an_unverified_reply_quoting_our_reply_continues_the_linked_conversation(
        world, django_capture_on_commit_callbacks):
    _victim, agent = world
    first = _case(_email(VICTIM).case_id)
    principal = principal_for(agent)
    cases.case_contact_verify(case_number=first.number, principal=principal, method="callback")
    # given our reply went to the address on file with its own Message-ID
    from safeguard.cases import outbound
    from safeguard.channels import mail_out

    outbound.register("email", mail_out.email_send)
    with django_capture_on_commit_callbacks(execute=True):
        cases.message_send(case_number=first.number, principal=principal, text="Done, Maria.")
    reply = Message.objects.filter(case=first, author_kind="agent").get()
    assert reply.external_id  # only its keyed hash is stored (issue 8 item 3)
    ours = mail_out.message_id_for(reply.id)
    # when the customer answers it (still unauthenticated)
    answer = _email(VICTIM, message_id="<m3@customer.example>", In_Reply_To=ours)
    # then it continues the linked case; a mail quoting only the customer's own id does not
    assert answer.case_id == str(first.id)
    other = _email(VICTIM, message_id="<m4@customer.example>",
                   In_Reply_To="<m1@customer.example>")
    assert other.case_id != str(first.id)


# --- REST ingest: a trusted integration may assert verification ------------------------------


def _ingest_token(*, service: bool) -> str:
    accounts.role_create(actor=SYSTEM, slug="integration", name="Integration",
                         permissions=["channels.ingest"])
    if service:
        user = accounts.user_create(actor=SYSTEM, email="crm@service.example",
                                    is_service_account=True, roles=("integration",))
        uid = user.id
    else:
        uid = make_user(roles=("integration",)).pk
    return accounts.token_issue(actor=SYSTEM, user_id=uid, name="crm", scopes=("channels.ingest",),
                                expires_in_days=30).secret


def _ingest(token: str, **sender):
    return Client().post("/api/v1/channels/messages", content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {token}",
                         data={"sender": {"email": VICTIM, **sender}, "text": "hello",
                               "external_id": "crm-1"})


def test_a_service_account_may_assert_verification_and_links(world):
    victim, _agent = world
    response = _ingest(_ingest_token(service=True), verified=True)
    assert response.status_code == 201
    case = Case.objects.get(number=response.json()["case_number"])
    assert case.customer_id == victim.id
    assert IdentityVerification.objects.get(customer_id=victim.id).method == "integration"


def test_without_the_assertion_ingest_lands_on_the_unverified_contact(world):
    victim, agent = world
    response = _ingest(_ingest_token(service=True))
    case = Case.objects.get(number=response.json()["case_number"])
    _assert_unverified_and_victim_out_of_scope(case, victim, agent)


def test_a_personal_token_cannot_assert_verification(world):
    _victim, _agent = world
    response = _ingest(_ingest_token(service=False), verified=True)
    assert response.status_code == 403
    assert not Case.objects.exists()


# --- re-index --------------------------------------------------------------------------------


def test_rows_indexed_the_old_way_are_found_and_reindexed(world):
    from django.core.management import call_command

    from safeguard.protection import blind

    victim, _agent = world
    field = Customer._meta.get_field("email_index")
    # given a profile still carrying the former NFKC+casefold index, and no skeleton
    legacy = blind.compute(VICTIM, normaliser="email", keyset="index",
                           purpose=field.index_purpose)
    Customer.objects.filter(id=victim.id).update(email_index=legacy, email_skeleton_index=None)
    # then an exact lookup still finds it, a full-width look-alike does not
    assert customer_selectors.customer_ids_matching(email=VICTIM) == [victim.id]
    assert customer_selectors.customer_ids_matching(email="maria.lopez0@\uff45xample.com") == []
    # when the re-index runs
    call_command("customers", "reindex-email")
    row = Customer.objects.get(id=victim.id)
    assert bytes(row.email_index) == field.compute(VICTIM)
    assert row.email_skeleton_index is not None
    assert customer_selectors.customer_ids_looking_like(
        email="maria.lopez0@\uff45xample.com") == [victim.id]
    assert Event.objects.filter(action="customer.email_reindexed").exists()


def test_the_code_travels_by_smtp_to_the_address_on_file(world, smtp_sink):
    # given a real SMTP server on loopback behind Django's SMTP backend
    victim, agent = world
    case = _case(channels.chat_open(name="Maria", email=VICTIM, text="hi",
                                    client="192.0.2.14").conversation_id
                 and Case.objects.latest("created_at").id)
    principal = principal_for(agent)
    # when the agent sends a code
    cases.case_contact_code_send(case_number=case.number, principal=principal)
    [received] = smtp_sink.wait(1)
    # then it reached the victim's address on file, marked automatic, and it links the case
    assert received["To"] == VICTIM
    assert received["Auto-Submitted"] == "auto-generated"
    code = re.search(r"verification code is (\d{6})", received.get_content()).group(1)
    link = cases.case_contact_code_check(case_number=case.number, principal=principal,
                                         code=code)
    assert link.customer_id == victim.id


def test_codes_past_the_hourly_limit_answer_a_form_error_and_are_recorded(world, settings):
    """Found by the page walk (tests/security/test_pages_odd_inputs.py): past the per-address
    limit the failure was recorded with an outcome the log refuses, and the page answered 500."""
    _victim, agent = world
    settings.SAFEGUARD_CONTACT_CODE_LIMIT = "2/h"
    case = _case(_email(VICTIM).case_id)
    client = signed_in_client(agent)
    statuses = [client.post(f"/cases/{case.number}/contact/code/").status_code
                for _ in range(3)]
    assert statuses[-1] < 500
    assert len([m for m in django_mail.outbox if VICTIM in m.to]) == 2
    [failed] = Event.objects.filter(action="case.contact_code_failed")
    assert (failed.outcome, failed.data["error"]) == ("failure", "DeliverySuppressed")
