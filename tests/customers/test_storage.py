"""Storage (R-OPS-4, R-DATA-1): values encrypted at rest, blind-index lookup, field inventory."""

from __future__ import annotations

import pytest
from django.db import connection

from safeguard.customers import selectors
from safeguard.customers.inventory import FIELD_INVENTORY, DataCategory, inventory_for
from safeguard.customers.models import Approval, Customer, IdentityVerification, RevealGrant
from tests.customers.factories import make_customer

pytestmark = pytest.mark.django_db


def _raw_row(customer_id):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, email, phone, address, date_of_birth, payout, email_index "
                       "FROM customers_customer WHERE id = %s",
                       [Customer._meta.pk.get_db_prep_value(customer_id, connection)])
        return [bytes(v) if v is not None else None for v in cursor.fetchone()]


def test_the_database_columns_hold_no_clear_personal_value():
    # given a customer with every field
    view = make_customer()
    # when the row is read straight from the database
    raw = _raw_row(view.id)
    blob = b"".join(v for v in raw if v)
    # then no clear value is in it, and each column is Tink ciphertext (0x01 prefix)
    for clear in (b"maria.lopez@example.com", b"maria", b"Lopez", b"7946", b"Station Road",
                  b"Leeds", b"1984-03-12", b"NWBK", b"60161331926819"):
        assert clear.lower() not in blob.lower()
    assert [v[0] for v in raw[:6]] == [0x01] * 6


def test_the_model_decrypts_for_its_own_row():
    view = make_customer()
    row = Customer.objects.get(id=view.id)
    assert (row.email, row.phone, row.date_of_birth) == (
        "maria.lopez@example.com", "+442079460132", "1984-03-12")
    assert row.payout == {"iban": "GB29NWBK60161331926819", "holder": "Maria Lopez"}


def test_lookup_by_email_and_phone_uses_the_blind_index_and_normalises():
    # given two customers
    maria = make_customer()
    john = make_customer(name="John Smith", email="john@example.org", phone="+1 415 555 0100")
    # when looked up with other spellings of their contacts
    by_email = selectors.customer_ids_matching(email="  maria.lopez@EXAMPLE.com ")
    by_phone = selectors.customer_ids_matching(phone="(415) 555-0100")
    by_local_phone = selectors.customer_ids_matching(phone="+44 (0)20-7946-0132")
    # then each finds its own customer and nobody else
    assert by_email == [maria.id]
    assert by_phone == [john.id]
    assert by_local_phone == [maria.id]
    assert selectors.customer_ids_matching(email="nobody@example.com") == []
    # and the mailbox is compared as written (decision 0101): only providers known to ignore
    # its case (SAFEGUARD_EMAIL_CASEFOLD_DOMAINS) fold it, and never with NFKC
    assert selectors.customer_ids_matching(email="Maria.Lopez@example.com") == []
    assert selectors.customer_ids_matching(email="maria.lopez@\uff45xample.com") == []
    ann = make_customer(name="Ann Lee", email="ann.lee@gmail.com", phone="")
    assert selectors.customer_ids_matching(email="Ann.Lee@GMail.com") == [ann.id]


def test_the_blind_index_is_not_a_plain_hash_of_the_email():
    import hashlib

    view = make_customer()
    index = _raw_row(view.id)[6]
    assert len(index) == 37  # 0x01 | key id | HMAC-SHA256
    assert hashlib.sha256(b"maria.lopez@example.com").digest() not in index


def test_every_column_of_every_model_is_in_the_field_inventory():
    # given the app's models
    for model in (Customer, IdentityVerification, RevealGrant, Approval):
        entries = inventory_for(model._meta.label_lower)
        columns = {f.name for f in model._meta.concrete_fields}
        # then each column is annotated, and nothing annotated is missing from the model
        assert set(entries) == columns, model._meta.label
    assert {f.category for f in FIELD_INVENTORY} <= set(DataCategory)
    encrypted = {(f.model, f.field) for f in FIELD_INVENTORY if f.encrypted}
    assert ("customers.customer", "email") in encrypted
    assert ("customers.approval", "payload") in encrypted


def test_inventory_marks_exactly_the_encrypted_columns_as_encrypted():
    from safeguard.protection.fields import _EncryptedField

    for model in (Customer, IdentityVerification, RevealGrant, Approval):
        entries = inventory_for(model._meta.label_lower)
        for f in model._meta.concrete_fields:
            assert entries[f.name].encrypted == isinstance(f, _EncryptedField), (
                model._meta.label, f.name)
