"""The agent composer (issue 15): masked-safe macro placeholders, @mentions in notes, collision
detection, reply attachments through the page. R-DATA-2, R-WORK-4, R-OPS-2."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from safeguard.accounts import selectors as accounts_selectors
from safeguard.audit.models import Event
from safeguard.cases import outbound, placeholders, presence, selectors, services
from safeguard.cases.contracts import InvalidInput, SenderIn
from safeguard.cases.models import Attachment, Case, Mention, Message
from tests.cases import attachment_files as files
from tests.cases.conftest import PAN_VISA, inbound, make_agent, make_queue, principal_for
from tests.factories import SYSTEM, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def billing():
    make_queue("billing")
    return Case.objects.get(id=inbound("My parcel is late.", email="ann@example.com").case_id)


def _chat_case(started) -> Case:
    return Case.objects.get(interactions__thread_ref__in=_refs(started.conversation_id))


def _refs(conversation_id: str) -> list[str]:
    from safeguard.cases.services import _base

    return _base.ref_candidates([conversation_id])


# --- placeholders ---------------------------------------------------------------------------


def test_placeholders_unknown_and_fill_are_exact():
    text = "Hi {customer_first_name}, case {case_number} {agent_name} {first_name} {Not} {x-y}"
    assert placeholders.unknown(text) == ["first_name"]
    assert placeholders.fill(text, {"case_number": "7", "agent_name": "Sam"}) == (
        "Hi {customer_first_name}, case 7 Sam {first_name} {Not} {x-y}")
    assert placeholders.first_name("  Ann   Lee ") == "Ann"
    assert placeholders.first_name("") == ""


def test_a_macro_with_an_unknown_placeholder_is_refused_and_nothing_saved(billing):
    # given a supervisor of the queue
    boss = make_agent("billing", roles=("supervisor",), supervisor=True)
    # when they save a macro with a typo in a placeholder
    with pytest.raises(InvalidInput) as refused:
        services.macro_save(actor=SYSTEM, name="Hello", body="Dear {first_name},",
                            principal=principal_for(boss))
    # then it is refused, naming the placeholder and the known ones, and nothing is saved
    assert "{first_name}" in refused.value.detail
    assert "{customer_first_name}" in refused.value.detail
    assert selectors.macro_list() == []


def test_a_picked_macro_fills_case_and_agent_and_leaves_the_customer_name_masked_safe(billing):
    # given a macro with the three placeholders and an agent of the queue
    boss = make_agent("billing", roles=("supervisor",), supervisor=True)
    macro_id = services.macro_save(
        actor=SYSTEM, name="Greeting", principal=principal_for(boss),
        body="Hello {customer_first_name}, this is {agent_name} about case {case_number}.")
    agent = make_agent("billing", full_name="Sam Reed")
    # when the agent picks it in the composer
    response = signed_in_client(agent).get(f"/cases/{billing.number}/macro/?macro={macro_id}",
                                           HTTP_HX_REQUEST="true")
    # then case number and agent name are filled in, the customer's name is not shown
    body = response.content.decode()
    assert (f"Hello {{customer_first_name}}, this is Sam Reed about case {billing.number}."
            in body)
    assert "Ann" not in body


def test_the_customer_name_is_filled_only_in_what_the_customer_receives(
        billing, django_capture_on_commit_callbacks):
    # given an e-mail sender that records what it is handed
    handed = []
    outbound.register("email", lambda out: handed.append(out) or "<r@x>")
    agent = make_agent("billing")
    # when the agent sends a reply with the placeholder
    with django_capture_on_commit_callbacks(execute=True):
        message_id = services.message_send(case_number=billing.number,
                                           principal=principal_for(agent),
                                           text="Hello {customer_first_name}, it is on its way.")
    # then the customer gets their first name, the console keeps the text as written
    assert handed[0].text == "Hello Ann, it is on its way."
    conversation = selectors.case_get(principal=principal_for(agent), number=billing.number)
    shown = next(m.body for m in conversation.messages if m.id == message_id)
    assert shown == "Hello {customer_first_name}, it is on its way."


@override_settings(SAFEGUARD_MACRO_NAME_FALLBACK="there")
def test_a_chat_customer_without_a_name_gets_the_fallback(billing):
    # given a chat started by a customer who gave no name
    started = services.chat_start(name="", email="nameless@example.com", queue="billing")
    services.message_receive(channel="chat", sender=SenderIn(), text="Hi",
                             thread_ref=started.conversation_id)
    case = _chat_case(started)
    agent = make_agent("billing")
    services.message_send(case_number=case.number, principal=principal_for(agent),
                          text="Hello {customer_first_name}!")
    # when the customer's chat shows the reply
    shown = services.chat_messages(conversation_id=started.conversation_id,
                                   secret=started.secret)
    # then the fallback takes the name's place
    assert shown[-1].text == "Hello there!"


# --- @mentions ------------------------------------------------------------------------------


def test_a_mention_of_a_queue_member_is_recorded_listed_at_home_and_notified(billing):
    # given two agents of the queue
    author = make_agent("billing", email="alex@example.com")
    sam = make_agent("billing", email="sam@example.com")
    # when the author mentions sam (and themself, and an address inside a word)
    services.note_add(case_number=billing.number, principal=principal_for(author),
                      text="@sam please check; @alex too; wrote to support@acme.com")
    # then exactly one mention of sam is stored, notified without the note's text, and
    # listed on sam's home
    mention = Mention.objects.get()
    assert (mention.user_id, mention.case_id) == (sam.pk, billing.id)
    notes = accounts_selectors.notification_page(user_id=sam.pk).items
    assert [(n.kind, n.title, n.url) for n in notes] == [
        ("mention", f"alex mentioned you in a note on case #{billing.number}",
         f"/cases/{billing.number}/")]
    assert accounts_selectors.notification_page(user_id=author.pk).items == []
    home = selectors.agent_home(principal=principal_for(sam))
    assert home.mentions_count == 1
    assert (home.mentions[0].case_number, home.mentions[0].by_email) == (
        billing.number, "alex@example.com")
    event = Event.objects.filter(action="case.note_added").order_by("-seq").first()
    assert event.data["mentioned"] == [sam.pk]
    # and sam's home page lists it under Mentions, linking to the case
    page = signed_in_client(sam).get("/").content.decode()
    assert f'<li data-case="{billing.number}"><a href="/cases/{billing.number}/">' in page
    assert "alex@example.com mentioned you" in page


def test_a_mention_of_someone_outside_the_queue_refuses_the_note(billing):
    # given an agent of the queue and one of another queue
    make_queue("vip")
    author = make_agent("billing")
    make_agent("vip", email="vera@example.com")
    before = Message.objects.count()
    # when the note mentions the other queue's agent
    with pytest.raises(InvalidInput) as refused:
        services.note_add(case_number=billing.number, principal=principal_for(author),
                          text="@vera can you look?")
    # then the note is refused with the reason and nothing is stored
    assert refused.value.detail.startswith("@vera is not someone who works this case's queue")
    assert (Message.objects.count(), Mention.objects.count()) == (before, 0)


# --- collision detection --------------------------------------------------------------------


def test_agents_on_the_same_case_see_each_other_viewing_then_replying(billing):
    # given two agents of the queue with the case open
    ann = make_agent("billing", email="ann.agent@example.com")
    bob = make_agent("billing", email="bob@example.com")
    a, b = signed_in_client(ann), signed_in_client(bob)
    assert "is viewing" not in a.post(f"/cases/{billing.number}/presence/",
                                      {"state": "viewing"}).content.decode()
    # when bob views, then starts typing a reply
    seen = a.post(f"/cases/{billing.number}/presence/", {"state": "viewing"}).content.decode()
    assert "bob@example.com" not in seen
    b.post(f"/cases/{billing.number}/presence/", {"state": "viewing"})
    seen = a.post(f"/cases/{billing.number}/presence/", {"state": "viewing"}).content.decode()
    assert "<strong>bob@example.com</strong> is viewing" in seen
    b.post(f"/cases/{billing.number}/presence/", {"state": "replying", "typed": "1"})
    seen = a.post(f"/cases/{billing.number}/presence/", {"state": "viewing"}).content.decode()
    # then ann sees bob replying, and bob sees ann viewing
    assert "<strong>bob@example.com</strong> is replying" in seen
    seen_by_bob = b.post(f"/cases/{billing.number}/presence/",
                         {"state": "replying"}).content.decode()
    assert "<strong>ann.agent@example.com</strong> is viewing" in seen_by_bob


@override_settings(SAFEGUARD_PRESENCE_TTL_SECONDS=20)
def test_a_report_older_than_the_ttl_no_longer_counts(billing, monkeypatch):
    # given bob reported 21 seconds ago
    ann, bob = make_agent("billing"), make_agent("billing", email="bob@example.com")
    clock = [1_000_000.0]
    monkeypatch.setattr(presence.time, "time", lambda: clock[0])
    services.presence_report(case_number=billing.number, principal=principal_for(bob),
                             state="viewing")
    assert [p.email for p in selectors.presence_others(principal=principal_for(ann),
                                                      case_number=billing.number)] == [
        "bob@example.com"]
    clock[0] += 21
    # then ann sees nobody
    assert selectors.presence_others(principal=principal_for(ann),
                                     case_number=billing.number) == ()


def test_presence_on_a_case_out_of_scope_is_a_404_and_writes_nothing(billing):
    make_queue("vip")
    stranger = make_agent("vip")
    response = signed_in_client(stranger).post(f"/cases/{billing.number}/presence/",
                                               {"state": "viewing"})
    assert response.status_code == 404
    assert presence.read(billing.id) == {}
    assert Event.objects.filter(action="case.access_denied").count() == 1
    bad = signed_in_client(make_agent("billing")).post(
        f"/cases/{billing.number}/presence/", {"state": "dancing"})
    assert bad.status_code == 422


def test_the_customers_chat_shows_queue_position_and_the_agent_typing(billing):
    # given two chats waiting in the queue
    first = services.chat_start(name="Ann Lee", email="ann@example.com", queue="billing")
    second = services.chat_start(name="Bo Yu", email="bo@example.com", queue="billing")
    for s in (first, second):
        services.message_receive(channel="chat", sender=SenderIn(),
                                 text="Hello", thread_ref=s.conversation_id)
    status = services.chat_status(conversation_id=second.conversation_id, secret=second.secret)
    assert (status.queue_position, status.agent_typing) == (2, False)
    # when an agent types a reply on the first chat
    agent = make_agent("billing")
    number = _chat_case(first).number
    services.presence_report(case_number=number, principal=principal_for(agent),
                             state="replying", typed=True)
    # then the first customer sees the agent typing, and the second stays number 2
    mine = services.chat_status(conversation_id=first.conversation_id, secret=first.secret)
    assert (mine.queue_position, mine.agent_typing) == (1, True)
    # and once the agent answered, the first leaves the queue and the second is next
    services.message_send(case_number=number, principal=principal_for(agent), text="Hi!")
    assert services.chat_status(conversation_id=first.conversation_id,
                                secret=first.secret).queue_position is None
    assert services.chat_status(conversation_id=second.conversation_id,
                                secret=second.secret).queue_position == 1


# --- reply attachments through the page ---------------------------------------------------


def test_the_composer_withholds_a_file_with_a_card_and_says_so(billing):
    # given an agent on the case page
    agent = make_agent("billing")
    client = signed_in_client(agent)
    card_text = files.pdf(f"Card {PAN_VISA} exp 12/30")
    # when they send a reply with a PDF holding a card number
    response = client.post(f"/cases/{billing.number}/reply/", {
        "text": "Your statement", "files": [SimpleUploadedFile("statement.pdf", card_text,
                                                               "application/pdf")]},
        follow=True)
    # then the reply is stored, the file withheld (nothing of it kept) and the agent told
    body = response.content.decode()
    assert ("Reply sent without statement.pdf: attachment withheld, it contained a card "
            "number.") in body
    reply = Message.objects.filter(case=billing, author_kind="agent").get()
    assert reply.findings == ["PAN"]
    stored = Attachment.objects.get(message=reply)
    assert (stored.state, stored.content) == ("withheld", "")
    assert PAN_VISA not in body
