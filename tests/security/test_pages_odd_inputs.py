"""No page answers 5xx to odd input (issue 9 item 8 beyond the API; R-OPS-2: bad input gets a
clear 4xx or a form error and never a crash).

Walks every non-API route of the URL conf (so a new page is covered the day it is added) as an
administrator and as a queue supervisor who holds a case and a customer in scope, and sends each
a GET with odd query parameters and a POST with odd form fields: NUL bytes, superscript digits,
extreme datetimes and integers, a card number, markup, a 10,000-character string. Path
parameters are filled with real ids (so the views get past their lookups) and with absent ones.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from safeguard.accounts import services as accounts
from tests.cases.conftest import inbound, make_agent, make_queue
from tests.customers.factories import make_customer
from tests.factories import SYSTEM, make_user, signed_in_client

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ODD = ["\x00", "²", "99999999999999999999999999", "0001-01-01T00:00:00+14:00",
       "4111 1111 1111 1111 <script>'\"%", "x" * 10_000]
QUERY_KEYS = ("q", "page", "cursor", "before", "before_seq", "since", "until", "action",
              "actor", "outcome", "subject", "status", "queue", "limit", "sort", "format",
              "next", "email", "phone", "field", "assignee", "tag")
FORM_KEYS = ("email", "full_name", "password", "roles", "role", "reason", "slug", "name",
             "description", "permissions", "user_email", "scopes", "expires_in_days", "status",
             "priority", "tags", "queue", "text", "body", "subject", "field", "decision",
             "into", "macro", "code", "assignee", "message", "phone", "session", "value",
             "approve", "verification", "method", "first_name", "last_name", "address",
             "iban", "date_of_birth", "kind", "rating", "comment", "since", "until", "action",
             "number", "target", "note", "dpo_email", "security_email", "title", "content",
             "channel", "enabled", "targets", "first_response_minutes", "resolution_minutes")
SKIP = {"account_logout", "session_revoke"}  # they end the very session the walk runs in


def _routes(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _fill(route: str, values: dict[str, str]) -> str:
    """A concrete path for a route (path converters and allauth's one regex)."""
    import re

    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<uidb36>[^)]*\)-\(\?P<key>[^)]*\)", "zz-bad-key", route)

    def one(match: re.Match[str]) -> str:
        return values.get(match.group(2), values[match.group(1) or "str"])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", one, route)


@pytest.fixture
def world(settings):
    settings.SAFEGUARD_WEBHOOK_SECRETS = ["probe-secret-0123456789abcdef"]  # else 503 by design
    make_queue("billing")
    supervisor = make_agent("billing", roles=("supervisor",), supervisor=True)
    admin = make_user(roles=("administrator",))
    target = make_user(roles=("agent",))
    case = inbound()
    token = accounts.token_issue(actor=SYSTEM, user_id=target.id, name="t",
                                 scopes=["cases.view"], expires_in_days=5)
    from safeguard.cases.models import Case, Message

    row = Case.objects.get(id=case.case_id)
    message = Message.objects.filter(id=case.message_id).first()
    customer_id = str(row.customer_id or make_customer().id)
    real = {"int": str(target.id), "user_id": str(target.id), "number": str(row.number),
            "token_id": str(token.token.id), "uuid": customer_id, "customer_id": customer_id,
            "message_id": str(message.id) if message else str(uuid.uuid4()),
            "slug": "billing", "str": "zz", "field": "email", "kind": "email"}
    absent = {"int": "987654", "uuid": str(uuid.uuid4()), "slug": "no-such-thing",
              "str": "zz\u202e", "field": "4111111111111111", "kind": "x"}
    return {"principals": [admin, supervisor], "paths": [real, absent]}


@pytest.fixture
def quiet_4xx_records():
    """Every 4xx of the walk is a django.request WARNING whose record holds the request (and its
    session); pytest keeps each captured record until the test ends, which grew the walk past
    4 GB. 5xx answers still log at ERROR, and the walk asserts on status codes anyway."""
    import logging

    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("quiet_4xx_records")
def test_no_page_answers_5xx_to_odd_input(world):
    routes = [(r, p) for r, p in _routes(get_resolver().url_patterns)
              if not r.startswith("api/") and p.name not in SKIP]
    assert len(routes) > 80  # the walk sees the whole URL conf
    crashes = []
    for user in world["principals"]:
        client = signed_in_client(user)
        client.raise_request_exception = False
        for route, _ in routes:
            for values, odds in zip(world["paths"], (ODD, ODD[:1]), strict=True):
                path = _fill(route, values)  # real ids with every odd value; absent ones once
                for odd in odds:
                    query = dict.fromkeys(QUERY_KEYS, odd)
                    form = dict.fromkeys(FORM_KEYS, odd)
                    for method, data in (("get", query), ("post", form)):
                        response = getattr(client, method)(path, data)
                        if response.status_code >= 500:
                            crashes.append((user.email, method, path[:80], odd[:20],
                                            response.status_code))
    assert crashes == []
