"""Reveal on purpose (R-DATA-2): permission, fresh step-up, a reason, scope; time-limited;
every attempt audited with the field name and the reason's length, never the value."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from safeguard.accounts import services as accounts
from safeguard.audit import selectors as audit
from safeguard.customers import selectors, services
from safeguard.customers.contracts import (
    CustomerInvalid,
    CustomerNotFound,
    ReasonRequired,
    RevealDenied,
    StepUpRequired,
)
from safeguard.customers.models import RevealGrant
from tests.customers.factories import grant_scope, make_customer, principal
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db


def _reveal(user, customer_id, *, field="email", reason="Customer asked for confirmation",
            fresh=True, **kw):
    return services.customer_reveal(viewer=principal(user, **kw), customer_id=customer_id,
                                    field=field, reason=reason, step_up_fresh=fresh)


def test_supervisor_reveals_with_step_up_and_reason_and_it_is_audited_without_the_value():
    # given a supervisor who passed a second factor just now
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    # when they reveal her e-mail with a reason
    revealed = _reveal(supervisor, maria.id, reason="Bounce: confirm the address")
    # then the clear value comes back with its expiry
    assert revealed.value == "maria.lopez@example.com"
    assert revealed.expires_at - timezone.now() <= timedelta(minutes=5)
    assert "maria" not in repr(revealed)
    # and the audit event names the field and the reason's length, never the value or reason
    event = audit.event_list(action="customer.revealed")[0]
    assert (event.subject_id, event.data["field"], event.data["reason_length"]) == (
        str(maria.id), "email", len("Bounce: confirm the address"))
    assert "maria" not in str(event.data).lower()
    assert "Bounce" not in str(event.data)
    # and a grant records who, what and why (screened, encrypted)
    grant = RevealGrant.objects.get(id=revealed.grant_id)
    assert (grant.user_id, grant.field, grant.reason) == (supervisor.id, "email",
                                                          "Bounce: confirm the address")


def test_each_field_reveals_in_a_readable_form():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    values = {f: _reveal(supervisor, maria.id, field=f).value
              for f in ("name", "phone", "address", "date_of_birth", "payout")}
    assert values == {"name": "Maria Lopez", "phone": "+44 20 7946 0132",
                      "address": "12 Station Road, LS1 4AP Leeds, GB",
                      "date_of_birth": "1984-03-12",
                      "payout": "GB29 NWBK 6016 1331 9268 19 · holder Maria Lopez"}


def test_agent_without_reveal_permission_is_refused_and_audited():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    with pytest.raises(RevealDenied):
        _reveal(agent, maria.id)
    event = audit.event_list(action="customer.reveal_denied")[0]
    assert (event.outcome, event.data["why"], event.data["field"]) == ("denied", "permission",
                                                                       "email")
    assert RevealGrant.objects.count() == 0


def test_agent_with_a_custom_reveal_role_can_reveal_in_scope_only():
    # given an agent granted customers.reveal through a custom role
    agent = make_user(roles=("agent",))
    accounts.role_create(actor=SYSTEM, slug="senior_agent", name="Senior agent",
                         permissions=["customers.reveal"])
    accounts.role_grant(actor=SYSTEM, user_id=agent.id, role_slug="senior_agent")
    maria = make_customer()
    john = make_customer(name="John Smith", email="john@example.org", phone="")
    grant_scope(agent, maria.id)
    # then Maria (in scope) reveals, John (out of scope) is not found
    assert _reveal(agent, maria.id).value == "maria.lopez@example.com"
    with pytest.raises(CustomerNotFound):
        _reveal(agent, john.id)
    assert audit.event_list(action="customer.reveal_denied")[0].data["why"] == "out of scope"


def test_reveal_without_fresh_step_up_is_refused_and_audited():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    with pytest.raises(StepUpRequired) as exc:
        _reveal(supervisor, maria.id, fresh=False)
    assert (exc.value.status, exc.value.code) == (403, "step-up-required")
    assert audit.event_list(action="customer.reveal_denied")[0].data["why"] == "step-up required"
    assert RevealGrant.objects.count() == 0


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_reveal_without_a_usable_reason_is_refused(reason):
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    with pytest.raises(ReasonRequired):
        _reveal(supervisor, maria.id, reason=reason)
    assert RevealGrant.objects.count() == 0
    assert audit.event_list(action="customer.reveal_denied")[0].outcome == "denied"


def test_reveal_of_an_unknown_or_empty_field_is_refused():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer(payout=None)
    with pytest.raises(CustomerInvalid):
        _reveal(supervisor, maria.id, field="password")
    with pytest.raises(CustomerInvalid):
        _reveal(supervisor, maria.id, field="payout")
    assert RevealGrant.objects.count() == 0


def test_a_card_number_in_the_reason_is_never_stored_in_clear():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    revealed = _reveal(supervisor, maria.id, reason="refund to card 4111 1111 1111 1111")
    assert "4111 1111 1111 1111" not in RevealGrant.objects.get(id=revealed.grant_id).reason


@override_settings(SAFEGUARD_REVEAL_MINUTES=5)
def test_a_reveal_shows_in_the_panel_until_it_expires():
    # given a supervisor who revealed Maria's phone
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        _reveal(supervisor, maria.id, field="phone")
        panel = selectors.customer_panel(viewer=principal(supervisor), customer_id=maria.id)
    # then the panel holds the clear phone while the grant lasts, and records that it showed it
    assert [(r.field, r.value) for r in panel.revealed] == [("phone", "+44 20 7946 0132")]
    assert audit.event_list(action="customer.viewed")[0].data["revealed"] == ["phone"]
    # when 5 minutes and a second have passed
    with time_machine.travel(start + timedelta(minutes=5, seconds=1), tick=False):
        later = selectors.customer_panel(viewer=principal(supervisor), customer_id=maria.id)
    # then it is masked again
    assert later.revealed == ()
    assert later.customer.phone == "•••• 0132"


def test_another_persons_reveal_does_not_show_in_my_panel():
    first = make_user(roles=("supervisor",))
    second = make_user(roles=("supervisor",))
    maria = make_customer()
    _reveal(first, maria.id)
    assert selectors.customer_panel(viewer=principal(second), customer_id=maria.id).revealed == ()


def test_a_personal_api_token_never_reveals_but_a_service_accounts_token_does():
    # given a supervisor's own token, and an integration's service account token
    supervisor = make_user(roles=("supervisor",))
    integration = make_user(roles=("supervisor",), is_service_account=True, mfa=False,
                            password=None)
    maria = make_customer()
    # then the person's token is refused even with the permission (no step-up possible)
    with pytest.raises(RevealDenied):
        _reveal(supervisor, maria.id, via="token", token_id=1, fresh=False)
    assert audit.event_list(action="customer.reveal_denied")[0].data["why"] == "personal token"
    # and the service account's token reveals, with a reason, audited as via token
    assert _reveal(integration, maria.id, via="token", token_id=2,
                   fresh=False).value == "maria.lopez@example.com"
    assert audit.event_list(action="customer.revealed")[0].data["via"] == "token"
