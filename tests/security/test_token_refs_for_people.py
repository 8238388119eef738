"""People never see vault tokens (R-OPS-2; found by the issue 9 review): tokens are
deterministic, so a person who saw the tokens of card numbers they typed themselves (a note,
a chat they opened from outside) could compare them with the token in a customer's message and
recover that card from its first six and last four digits. Case pages, the case API for a
person and the customer's own chat view show ``[card visa •••• 1111]``; the stored text (and a
service account, the payment gateway) keeps the token reference."""

from __future__ import annotations

import re

import pytest

from safeguard.cases import selectors as case_selectors
from safeguard.cases import services
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case, Message
from safeguard.protection import services as protection
from tests.cases.conftest import inbound, make_agent, make_queue, principal_for

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"tok_[a-z]{24}")
PAN = "4111111111111111"


def test_the_display_form_drops_only_the_token():
    stored = protection.screen(f"pay with {PAN} please", field="message.body").text
    assert TOKEN.search(stored)  # the stored text keeps the reference for the gateway
    assert protection.card_refs_for_people(stored) == "pay with [card visa •••• 1111] please"
    assert protection.card_refs_for_people("no [card] here") == "no [card] here"


def test_notes_of_candidate_cards_show_their_author_no_token():
    # given a customer's message with a card and an agent of its queue
    make_queue("billing")
    agent = make_agent("billing")
    result = inbound(f"my card is {PAN}", subject=f"card {PAN}")
    number = Case.objects.get(id=result.case_id).number
    # when the agent writes candidate numbers into a note
    candidates = " ".join(f"4111 11{i:02d} 1111 1111" for i in range(10))
    services.note_add(case_number=number, principal=principal_for(agent), text=candidates)
    # then the stored texts keep their tokens, the page shows none
    stored = [m.body for m in Message.objects.filter(case__number=number)]
    assert all(TOKEN.search(b) for b in stored)
    page = case_selectors.case_page(principal=principal_for(agent), number=number)
    bodies = [m.body for m in page.case.messages]
    assert len(bodies) == 2
    assert not any(TOKEN.search(b) for b in bodies)
    assert "my card is [card visa •••• 1111]" in bodies[0] or \
        "my card is [card visa •••• 1111]" in bodies[1]
    # and the subject, in the case and in the queue list, likewise
    assert TOKEN.search(Case.objects.get(number=number).subject)
    assert page.case.summary.subject == "card ending 1111"  # plain words (issue 15, item 7)
    listed = case_selectors.case_list_for_agent(principal=principal_for(agent)).items
    assert [c.subject for c in listed] == ["card ending 1111"]


def test_the_customer_chat_view_shows_no_token():
    make_queue("chat")
    started = services.chat_start(name="Ann Lee", email="ann@example.com", queue="chat")
    services.message_receive(channel="chat", sender=SenderIn(), text=f"card {PAN}",
                             thread_ref=started.conversation_id)
    msgs = services.chat_messages(conversation_id=started.conversation_id,
                                  secret=started.secret)
    assert [m.text for m in msgs] == ["card ending 1111"]
