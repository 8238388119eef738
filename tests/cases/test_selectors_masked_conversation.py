"""Masked conversations (issue 15, R-DATA-2, R-WORK-4): what the customer wrote is masked for
display exactly like the profile; a value of the profile revealed through the audited reveal
(reason, fresh second factor, expiry) shows in the message until the grant ends; agents' own
replies stay as written; the API's case view follows the same masking."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from safeguard.audit.models import Event
from safeguard.cases import selectors, services
from safeguard.cases.contracts import SenderIn
from safeguard.cases.models import Case
from safeguard.customers import services as customers
from tests.cases.conftest import make_agent, make_queue, principal_for
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db

TEXT = ("Hi, Maria Lopez here. Call me on +44 20 7946 0132 or write to maria.lopez@example.com; "
        "my neighbour is on +44 20 7946 0999 and bob@example.org.")


def _case_from_maria(maria_id) -> int:
    result = services.message_receive(
        channel="email", queue="billing", subject="Parcel", text=TEXT,
        sender=SenderIn(email="maria.lopez@example.com", name="Maria Lopez",
                        customer_id=maria_id))
    return Case.objects.get(id=result.case_id).number


def _customer_body(view) -> str:
    return next(m.body for m in view.messages if m.author_kind == "customer")


def test_customer_text_is_masked_like_the_profile_and_agent_replies_stay():
    make_queue("billing")
    agent = make_agent("billing")
    maria = make_customer()
    number = _case_from_maria(maria.id)
    services.message_send(case_number=number, principal=principal_for(agent),
                          text="Maria, I will call +44 20 7946 0132 at noon.")
    view = selectors.case_get(principal=principal_for(agent), number=number)
    body = _customer_body(view)
    assert body == ("Hi, M. L••• here. Call me on •••• 0132 or write to m•••@e•••.com; "
                    "my neighbour is on •••• 0999 and b•••@e•••.org.")
    reply = next(m.body for m in view.messages if m.author_kind == "agent")
    assert reply == "Maria, I will call +44 20 7946 0132 at noon."
    # the stored text is unchanged: masking is for display only
    assert TEXT in [m.body for m in Case.objects.get(number=number).messages.all()]


def test_a_revealed_phone_shows_in_the_message_until_the_grant_expires():
    make_queue("billing")
    supervisor = make_agent("billing", roles=("supervisor",))
    maria = make_customer()
    number = _case_from_maria(maria.id)
    me = principal_for(supervisor)
    customers.customer_reveal(viewer=me, customer_id=maria.id, field="phone",
                              reason="Customer asked for a call back", step_up_fresh=True)
    body = _customer_body(selectors.case_get(principal=me, number=number))
    # the customer's own phone is revealed as written; everything else stays masked
    assert "Call me on +44 20 7946 0132 or write to m•••@e•••.com" in body
    assert "•••• 0999" in body
    assert "M. L•••" in body
    shown = Event.objects.filter(action="customer.viewed", data__what="conversation")
    assert [e.data["revealed"] for e in shown] == [["phone"]]
    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        later = _customer_body(selectors.case_get(principal=me, number=number))
    assert "Call me on •••• 0132" in later
