"""Encrypted fields and blind indexes: AEAD bound to model, field and row (R-OPS-4)."""

from __future__ import annotations

import uuid

import pytest
from django.core import checks
from django.db import connection, models
from django.test.utils import isolate_apps

from safeguard.protection.contracts import CiphertextInvalid, EncryptedFieldMisuse
from safeguard.protection.fields import (
    BlindIndexField,
    EncryptedJSONField,
    EncryptedTextField,
    Sealed,
    blind_lookup,
)
from safeguard.protection.models import Token
from safeguard.protection.services import token_tokenize
from tests.factories import SYSTEM
from tests.protection.conftest import PAN_MC2, PAN_VISA


@pytest.fixture
def secret_model(transactional_db):
    """A throwaway model with every protection field, its table created for the test."""
    with isolate_apps("safeguard.protection"):

        class Secret(models.Model):
            id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
            note = EncryptedTextField(null=True)
            other = EncryptedTextField(null=True)
            doc = EncryptedJSONField(default=dict)
            email = EncryptedTextField(null=True)
            email_index = BlindIndexField(source="email", normaliser="email", null=True)

            class Meta:
                app_label = "protection"

            def __str__(self) -> str:
                return str(self.pk)

        with connection.schema_editor() as editor:
            editor.create_model(Secret)
        yield Secret
        with connection.schema_editor() as editor:
            editor.delete_model(Secret)


def _raw(model, pk, column):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s',
                       [model._meta.pk.get_db_prep_value(pk, connection)])
        return bytes(cursor.fetchone()[0])


def _raw_set(model, pk, column, value):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s',
                       [value, model._meta.pk.get_db_prep_value(pk, connection)])


def test_text_and_json_round_trip_and_the_column_holds_only_ciphertext(secret_model):
    # given a row with an encrypted note and document
    row = secret_model.objects.create(note="the customer prefers mornings",
                                      doc={"plan": "gold", "tags": ["vip"]})
    # when it is read back from the database
    loaded = secret_model.objects.get(pk=row.pk)
    # then the plaintext comes back, and the stored bytes are Tink ciphertext without it
    assert loaded.note == "the customer prefers mornings"
    assert loaded.doc == {"plan": "gold", "tags": ["vip"]}
    stored = _raw(secret_model, row.pk, "note")
    assert stored[0] == 0x01  # Tink output prefix: key id follows
    assert b"mornings" not in stored
    assert b"gold" not in _raw(secret_model, row.pk, "doc")


def test_ciphertext_swapped_to_another_row_fails_to_decrypt(secret_model):
    # given two rows
    a = secret_model.objects.create(note="row A secret")
    b = secret_model.objects.create(note="row B secret")
    # when row A's ciphertext is copied into row B (a database-level swap attack)
    _raw_set(secret_model, b.pk, "note", _raw(secret_model, a.pk, "note"))
    # then row B refuses to decrypt, and row A still reads
    with pytest.raises(CiphertextInvalid, match="does not decrypt"):
        _ = secret_model.objects.get(pk=b.pk).note
    assert secret_model.objects.get(pk=a.pk).note == "row A secret"


def test_ciphertext_moved_to_another_column_of_the_same_row_fails(secret_model):
    row = secret_model.objects.create(note="for the note column", other="x")
    _raw_set(secret_model, row.pk, "other", _raw(secret_model, row.pk, "note"))
    with pytest.raises(CiphertextInvalid):
        _ = secret_model.objects.get(pk=row.pk).other


def test_vault_ciphertext_swapped_between_tokens_fails(db):
    # given two cards in the vault
    a = token_tokenize(pan=PAN_VISA, actor=SYSTEM).token
    b = token_tokenize(pan=PAN_MC2, actor=SYSTEM).token
    row_a, row_b = Token.objects.get(token=a.token), Token.objects.get(token=b.token)
    # when A's card ciphertext is written into B's row
    _raw_set(Token, row_b.pk, "pan", _raw(Token, row_a.pk, "pan"))
    # then B's number cannot be read (no silent substitution of another card)
    with pytest.raises(CiphertextInvalid):
        _ = Token.objects.get(pk=row_b.pk).pan


def test_values_queries_hand_out_sealed_ciphertext_never_plaintext(secret_model):
    secret_model.objects.create(note="do not leak")
    value = secret_model.objects.values_list("note", flat=True).get()
    assert isinstance(value, Sealed)
    assert repr(value) == "<sealed>"


def test_update_bulk_update_and_value_lookups_are_refused(secret_model):
    row = secret_model.objects.create(note="x")
    with pytest.raises(EncryptedFieldMisuse, match="update"):
        secret_model.objects.filter(pk=row.pk).update(note="y")
    row.note = "z"
    with pytest.raises(EncryptedFieldMisuse):
        secret_model.objects.bulk_update([row], ["note"])
    with pytest.raises(Exception, match="Unsupported lookup 'exact'"):
        list(secret_model.objects.filter(note="x"))
    # then nothing changed
    assert secret_model.objects.get(pk=row.pk).note == "x"
    assert secret_model.objects.filter(note__isnull=False).count() == 1


def test_blind_index_finds_a_row_by_a_differently_written_email(secret_model):
    # given a customer stored with a mixed-case e-mail
    row = secret_model.objects.create(email="Ann.Lee@Example.COM")
    secret_model.objects.create(email="bob@example.com")
    # when looked up by another spelling
    found = secret_model.objects.filter(
        blind_lookup(secret_model, "email_index", "  ann.lee@example.com ")).get()
    # then the same row comes back; the index is a keyed MAC, not the e-mail
    assert found.pk == row.pk
    index = _raw(secret_model, row.pk, "email_index")
    assert len(index) == 37
    assert b"ann" not in index.lower()


def test_bulk_create_encrypts_with_client_generated_keys(secret_model):
    secret_model.objects.bulk_create([secret_model(note=f"n{i}") for i in range(3)])
    assert sorted(r.note for r in secret_model.objects.all()) == ["n0", "n1", "n2"]


def test_save_without_primary_key_is_refused():
    with isolate_apps("safeguard.protection"):

        class NoEarlyPk(models.Model):
            secret = EncryptedTextField()

            class Meta:
                app_label = "protection"

            def __str__(self) -> str:
                return str(self.pk)

        # then the system check names the problem, and a save is refused before any SQL
        from safeguard.protection.checks import encrypted_fields_have_early_pk

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("django.apps.apps.get_models", lambda: [NoEarlyPk])
            errors = encrypted_fields_have_early_pk()
        assert [e.id for e in errors] == ["protection.E001"]
        assert isinstance(errors[0], checks.Error)
        with pytest.raises(EncryptedFieldMisuse, match="primary key"):
            NoEarlyPk._meta.get_field("secret").pre_save(NoEarlyPk(secret="s"), add=True)


def test_dumpdata_refuses_to_export_plaintext(db):
    import io

    from django.core.management import CommandError, call_command

    token_tokenize(pan=PAN_VISA, actor=SYSTEM)
    out = io.StringIO()
    with pytest.raises(CommandError, match="dumpdata would export plaintext"):
        call_command("dumpdata", "protection.token", stdout=out)
    assert PAN_VISA not in out.getvalue()


def test_installed_models_pass_the_early_primary_key_check():
    from safeguard.protection.checks import encrypted_fields_have_early_pk

    assert encrypted_fields_have_early_pk() == []
