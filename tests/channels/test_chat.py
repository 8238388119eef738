"""The customer's web chat: start, post, poll behind a secret link; CSRF, rate limits, CSP."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from safeguard.cases import services as cases
from tests.channels.conftest import all_cases, all_messages, stored_counts

pytestmark = pytest.mark.django_db

START = {"name": "Alice Example", "email": "alice@customer.example",
         "message": "Hi, where is my parcel?"}


def _start(client: Client, **overrides) -> str:
    response = client.post("/chat/", {**START, **overrides})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _csrf(client: Client, url: str) -> str:
    page = client.get(url)
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_start_form_is_public_and_has_a_strict_csp():
    response = Client().get("/chat/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "<script>" not in response.content.decode()  # no inline script anywhere
    assert " style=" not in response.content.decode()


def test_starting_a_chat_opens_a_case_and_redirects_to_a_secret_link():
    # when a customer starts a chat
    link = _start(Client())
    # then a chat case exists with their first message, and the link names the conversation
    [case] = all_cases()
    assert case.channel == "chat"
    [message] = all_messages("chat")
    assert message.body == "Hi, where is my parcel?"
    assert re.fullmatch(r"/chat/chat_[A-Za-z0-9_-]{16,}/[A-Za-z0-9_-]{40,}/", link)


def test_the_conversation_page_shows_messages_and_polls_with_htmx():
    client = Client()
    link = _start(client)
    page = client.get(link)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Hi, where is my parcel?" in html
    assert 'hx-trigger="every 2s, chat-posted from:body"' in html
    assert f'hx-get="{link}messages?after=1"' in html
    assert page["Referrer-Policy"] == "no-referrer"
    assert "no-store" in page["Cache-Control"]


def test_post_then_poll_returns_only_new_messages():
    client = Client(enforce_csrf_checks=True)
    link = _start(Client())
    token = _csrf(client, link)
    # when the customer posts (through HTMX) a message with a card number
    posted = client.post(link + "post", {"message": "Card 4111 1111 1111 1111, please check",
                                         "csrfmiddlewaretoken": token}, HTTP_HX_REQUEST="true")
    assert posted.status_code == 204
    assert posted["HX-Trigger"] == "chat-posted"
    # then a poll after the first message returns just the new one, masked, and a new poller
    poll = client.get(link + "messages", {"after": 1}, HTTP_HX_REQUEST="true")
    html = poll.content.decode()
    assert poll.status_code == 200
    assert "4111 1111 1111 1111" not in html
    assert "card ending 1111" in html.lower()  # plain words for the customer (issue 15, item 7)
    assert "[card" not in html
    assert "where is my parcel" not in html
    assert f'hx-get="{link}messages?after=2"' in html
    assert 'hx-swap-oob="beforeend:#chat-messages"' in html


def test_an_agent_reply_appears_in_the_customers_poll(django_capture_on_commit_callbacks):
    from safeguard.accounts.contracts import Principal
    from tests.factories import make_user

    client = Client()
    link = _start(client)
    [case] = all_cases()
    agent = make_user(roles=("supervisor",), full_name="Sam Agent")
    principal = Principal(user_id=agent.id, email=agent.email,
                          permissions=frozenset({"cases.view", "cases.view_all", "cases.reply"}),
                          via="session")
    with django_capture_on_commit_callbacks(execute=True):
        cases.message_send(case_number=case.number, principal=principal,
                           text="It ships tomorrow.")
    html = client.get(link + "messages", {"after": 1}).content.decode()
    assert "It ships tomorrow." in html
    assert "Sam" in html
    # and the agent sees it as delivered (the chat needs no transport)
    reply = all_messages("chat")[-1]
    assert (reply.author_kind, reply.delivery_status) == ("agent", "sent")


def test_posting_without_javascript_redirects_back():
    client = Client()
    link = _start(client)
    response = client.post(link + "post", {"message": "Plain form post"})
    assert response.status_code == 302
    assert response["Location"] == link
    assert [m.body for m in all_messages("chat")][-1] == "Plain form post"


def test_csrf_is_enforced_on_start_and_post():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/chat/", START).status_code == 403
    link = _start(Client())
    assert client.post(link + "post", {"message": "x"}).status_code == 403
    assert stored_counts()[2] == 1


def test_a_wrong_secret_gets_404_everywhere():
    link = _start(Client())
    bad = re.sub(r"/[A-Za-z0-9_-]{40,}/$", "/" + "A" * 43 + "/", link)
    client = Client()
    assert client.get(bad).status_code == 404
    assert client.get(bad + "messages").status_code == 404
    assert client.post(bad + "post", {"message": "intrusion"}).status_code == 404
    assert stored_counts()[2] == 1


def test_starting_chats_is_rate_limited_per_address(settings):
    settings.SAFEGUARD_CHAT_START_LIMIT = "2/h"
    client = Client()
    _start(client)
    _start(client, email="b@customer.example")
    response = client.post("/chat/", {**START, "email": "c@customer.example"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert len(all_cases()) == 2


def test_posting_is_rate_limited_per_conversation(settings):
    settings.SAFEGUARD_CHAT_POST_LIMIT = "2/m"
    client = Client()
    link = _start(client)
    for text in ("one", "two"):
        assert client.post(link + "post", {"message": text},
                           HTTP_HX_REQUEST="true").status_code == 204
    response = client.post(link + "post", {"message": "three"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 429
    assert [m.body for m in all_messages("chat")] == ["Hi, where is my parcel?", "one", "two"]


def test_invalid_start_form_shows_errors_and_stores_nothing():
    response = Client().post("/chat/", {"name": "", "email": "not-an-email", "message": ""})
    assert response.status_code == 400
    assert stored_counts() == (0, 0, 0)


def test_an_empty_post_is_refused():
    client = Client()
    link = _start(client)
    response = client.post(link + "post", {"message": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert stored_counts()[2] == 1
