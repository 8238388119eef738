"""Customer services: create, match-or-create (channels' ingest), update, identity verification.

Bad input gets a 4xx error and changes nothing; audit events name ids and fields, never values.
"""

from __future__ import annotations

import pytest

from safeguard.audit import selectors as audit
from safeguard.customers import selectors, services
from safeguard.customers.contracts import (
    CustomerClosed,
    CustomerExists,
    CustomerInvalid,
    CustomerNotFound,
)
from safeguard.customers.models import Customer, IdentityVerification
from safeguard.protection.contracts import PanRefused
from tests.customers.factories import MARIA, grant_scope, make_customer, principal
from tests.factories import SYSTEM, make_user

pytestmark = pytest.mark.django_db


def test_create_returns_masked_view_and_audits_field_names_only():
    # when a customer is created
    view = make_customer()
    # then the view is masked
    assert (view.name, view.email, view.phone, view.address, view.date_of_birth, view.payout) == (
        "M. L•••", "m•••@e•••.com", "•••• 0132", "Leeds, GB", "••••-••-••", "GB•• •••• 6819")
    assert view.present == {"name", "email", "phone", "address", "date_of_birth", "payout"}
    # and the audit event names the customer by id and its fields, not their values
    event = audit.event_list(action="customer.created")[0]
    assert (event.subject_type, event.subject_id) == ("customer", str(view.id))
    assert event.data["fields"] == ["address", "date_of_birth", "email", "name", "payout",
                                    "phone"]
    assert "maria" not in str(event.data).lower()


@pytest.mark.parametrize(("field", "value", "error_key"), [
    ("email", "not-an-address", "email"),
    ("phone", "call me maybe", "phone"),
    ("date_of_birth", "2999-01-01", "date_of_birth"),
    ("payout", {"iban": "GB00 NWBK 6016 1331 9268 19"}, "payout.iban"),
    ("address", {"city": "Leeds"}, "address"),
    ("address", {"line1": "1 High St", "city": "Leeds", "country": "GBR"}, "address.country"),
    ("language", "english please", "language"),
    ("name", "4111 1111 1111 1111", "name"),
])
def test_bad_input_is_refused_and_stores_nothing(field, value, error_key):
    with pytest.raises(CustomerInvalid) as exc:
        make_customer(**{field: value})
    assert exc.value.status == 422
    assert error_key in exc.value.errors
    assert Customer.objects.count() == 0
    assert audit.event_list(action="customer.created") == []


def test_a_card_number_never_reaches_the_table():
    # given an address line holding a card number (validation passes free text through)
    with pytest.raises(PanRefused):
        make_customer(address={"line1": "4111 1111 1111 1111", "city": "Leeds"})
    # then nothing was stored
    assert Customer.objects.count() == 0


def test_one_customer_per_email():
    make_customer()
    with pytest.raises(CustomerExists):
        make_customer(name="Someone Else", email="maria.lopez@EXAMPLE.com", phone="")
    assert Customer.objects.count() == 1
    # a mailbox spelled with other capitals is another address where the provider is not
    # known to fold case (decision 0101), so it is another profile
    make_customer(name="Someone Else", email="MARIA.LOPEZ@example.com", phone="")
    assert Customer.objects.count() == 2


def test_match_or_create_links_only_verified_senders_and_creates_contacts_otherwise():
    # given Maria
    maria = make_customer()
    # when mail arrives from her address (authenticated, then not), a call from her number,
    # and mail from a stranger
    verified = services.customer_match_or_create(actor=SYSTEM, email="maria.lopez@example.com",
                                                 name="M Lopez", verified=True)
    by_email = services.customer_match_or_create(actor=SYSTEM, email="maria.lopez@example.com",
                                                 name="M Lopez")
    by_phone = services.customer_match_or_create(actor=SYSTEM, phone="+44 20 7946 0132")
    new = services.customer_match_or_create(actor=SYSTEM, email="new.person@example.net",
                                            phone="+44 20 7946 0132", name="New Person")
    # then only the verified sender is Maria; the others are unverified contacts, one per
    # address, naming the profile they claim (decision 0101; R-WORK-4)
    assert (verified.customer_id, verified.created, verified.unverified) == (maria.id, False,
                                                                              False)
    assert (by_email.unverified, by_email.created, by_email.claims) == (True, True, maria.id)
    assert (by_phone.unverified, by_phone.claims) == (True, maria.id)
    assert by_phone.customer_id != by_email.customer_id
    again = services.customer_match_or_create(actor=SYSTEM, email="maria.lopez@example.com")
    assert (again.customer_id, again.created) == (by_email.customer_id, False)
    assert (new.created, new.unverified, new.claims) == (True, True, None)
    assert Customer.objects.get(id=new.customer_id).kind == "unverified"
    assert Customer.objects.get(id=maria.id).name == "Maria Lopez"
    assert audit.event_list(action="customer.created")[0].data["source"] == "ingest"
    # and a verified sender with a new address gets a profile
    fresh = services.customer_match_or_create(actor=SYSTEM, email="fresh@example.net",
                                              verified=True)
    assert (fresh.created, fresh.unverified) == (True, False)
    assert Customer.objects.get(id=fresh.customer_id).kind == "customer"


def test_match_or_create_needs_a_contact_and_drops_implausible_names():
    with pytest.raises(CustomerInvalid):
        services.customer_match_or_create(actor=SYSTEM, name="Anonymous")
    result = services.customer_match_or_create(actor=SYSTEM, email="x@example.com",
                                               name="4111111111111111")
    assert Customer.objects.get(id=result.customer_id).name == ""


def test_update_changes_name_and_language_for_a_customer_in_scope():
    # given an agent whose scope holds Maria
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    # when the agent corrects the name
    view = services.customer_update(viewer=principal(agent), customer_id=maria.id,
                                    name="Maria López", language="es")
    # then it is saved and audited by field name
    assert (view.name, view.language) == ("M. L•••", "es")
    assert Customer.objects.get(id=maria.id).name == "Maria López"
    assert audit.event_list(action="customer.updated")[0].data == {"fields": ["name",
                                                                            "language"]}


def test_update_outside_scope_is_not_found_and_changes_nothing():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    with pytest.raises(CustomerNotFound):
        services.customer_update(viewer=principal(agent), customer_id=maria.id, name="X Y")
    assert Customer.objects.get(id=maria.id).name == "Maria Lopez"


def test_identity_verification_is_recorded_and_audited():
    # given an agent handling Maria's call
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    # when the agent records a knowledge-based verification on the call
    v = services.identity_verify(viewer=principal(agent), customer_id=maria.id,
                                 method="knowledge", interaction_ref="call:8842")
    # then it is stored with who, how and on which contact, and shows on the masked view
    stored = IdentityVerification.objects.get(id=v.id)
    assert (stored.method, stored.verified_by_id, stored.interaction_ref) == (
        "knowledge", agent.id, "call:8842")
    assert selectors.customer_get(viewer=principal(agent),
                                  customer_id=maria.id).last_verified_at == stored.verified_at
    assert audit.event_list(action="customer.verified")[0].data == {
        "verification_id": str(v.id), "method": "knowledge", "interaction_ref": "call:8842"}


def test_identity_verification_refuses_unknown_methods_and_free_text_refs():
    agent = make_user(roles=("agent",))
    maria = make_customer()
    grant_scope(agent, maria.id)
    with pytest.raises(CustomerInvalid):
        services.identity_verify(viewer=principal(agent), customer_id=maria.id,
                                 method="vibes")
    with pytest.raises(CustomerInvalid):
        services.identity_verify(viewer=principal(agent), customer_id=maria.id,
                                 method="knowledge", interaction_ref="maria said hi")
    assert IdentityVerification.objects.count() == 0


def test_a_closed_account_refuses_updates():
    supervisor = make_user(roles=("supervisor",))
    maria = make_customer()
    Customer.objects.filter(id=maria.id).update(status="closed")
    with pytest.raises(CustomerClosed):
        services.customer_update(viewer=principal(supervisor), customer_id=maria.id,
                                 language="fr")


def test_known_values_feed_the_screener():
    from safeguard.protection import services as protection

    maria = make_customer()
    known = selectors.customer_known_values(customer_id=maria.id)
    assert known["email"] == [MARIA["email"]]
    assert "1984-03-12" in known["dob"]
    screened = protection.screen("I am Maria Lopez, born 12/03/1984, 12 Station Road",
                                 field="interaction.transcript", customer=known)
    assert "Maria Lopez" not in screened.text
    assert "12/03/1984" not in screened.text
    assert "Station Road" not in screened.text


def test_delivery_address_is_the_clear_email_for_the_sending_channel():
    maria = make_customer()
    nobody = make_customer(name="No Mail", email="", phone="+1 415 555 0142")
    assert selectors.customer_email_for_delivery(customer_id=maria.id) == MARIA["email"]
    assert selectors.customer_email_for_delivery(customer_id=nobody.id) == ""
    assert selectors.customer_email_for_delivery(customer_id="not-a-uuid") == ""
