"""Encrypted model fields and blind indexes (R-OPS-4, R-DATA-2): public to every app.

Usage::

    class Customer(models.Model):
        id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
        email = EncryptedTextField()
        email_index = BlindIndexField(source="email", normaliser="email", null=True)
        profile = EncryptedJSONField(default=dict)

    Customer.objects.filter(blind_lookup(Customer, "email_index", "Ann@Example.com"))

Values are encrypted with the ``data`` keyset's primary key (Tink AEAD AES-256-GCM). The
associated data is ``<app>.<model> | field | primary key``, so a ciphertext copied to another
row, column or table fails to decrypt. Because the primary key is bound, it must exist before
the first INSERT: models with encrypted fields use a client-generated primary key (a UUID with
a default); the system check ``protection.E001`` refuses any other (decision 0005).

Loaded values stay sealed (ciphertext) until the attribute is read on an instance, so
``.values()``/``.values_list()`` return :class:`Sealed` objects, never plaintext. Encrypted
columns cannot be filtered by value (use a blind index), written by ``QuerySet.update()`` or
``bulk_update()``, or exported by ``dumpdata``: each raises :class:`EncryptedFieldMisuse`.
When saving with ``update_fields``, name the blind index beside its source field.
"""

from __future__ import annotations

import json
from typing import Any

import tink
from django.db import models
from django.db.models import Q

from safeguard.protection.contracts import CiphertextInvalid, EncryptedFieldMisuse


class Sealed(bytes):
    """Ciphertext as loaded from the database; opened on first attribute access."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<sealed>"

    __str__ = __repr__


class _Fresh(bytes):
    """Ciphertext made by ``pre_save`` for this write (the only value the column accepts)."""

    __slots__ = ()


class _SealedDescriptor:
    """Keeps the stored ciphertext until read, then decrypts it with this row's primary key."""

    def __init__(self, field: _EncryptedField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        if name not in data:  # deferred: load it like Django's DeferredAttribute does
            instance.refresh_from_db(fields=[name])
        value = data[name]
        if isinstance(value, Sealed):
            value = self.field.open(value, instance)
            data[name] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class _EncryptedField(models.Field):
    descriptor_class = _SealedDescriptor

    def get_internal_type(self) -> str:
        return "BinaryField"

    # -- binding -------------------------------------------------------------------------
    def associated_data(self, pk: Any) -> bytes:
        """``model label | field | pk``: what the ciphertext is bound to."""
        return f"safeguard:field:v1:{self.model._meta.label_lower}.{self.name}:{pk}".encode()

    def encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def decode(self, plain: bytes) -> Any:
        raise NotImplementedError

    def seal(self, value: Any, pk: Any) -> bytes:
        from safeguard.protection import keyring

        return keyring.data_aead().encrypt(self.encode(value), self.associated_data(pk))

    def open(self, sealed: bytes, instance: models.Model) -> Any:
        """Decrypt for this row; a ciphertext of another row, field or table is refused."""
        from safeguard.protection import keyring

        pk = instance.pk
        where = f"{self.model._meta.label}.{self.name} of row {pk}"
        if pk is None:
            raise CiphertextInvalid(f"{where}: the row has no primary key to bind to")
        for force in (False, True):  # a key added by another process: reload the keyset once
            try:
                plain = keyring.data_aead(force=force).decrypt(bytes(sealed),
                                                               self.associated_data(pk))
            except tink.TinkError:
                continue
            return self.decode(plain)
        raise CiphertextInvalid(f"{where} does not decrypt: it was moved from another row, "
                                "tampered with, or its key is gone")

    # -- Django plumbing -----------------------------------------------------------------
    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if value is None:
            return None
        pk = model_instance.pk
        if pk is None:
            raise EncryptedFieldMisuse(
                f"{self.model._meta.label}.{self.name} binds its ciphertext to the primary key, "
                "which must exist before the first save: give the model a UUID primary key "
                "with a default (decision 0005)")
        return _Fresh(self.seal(value, pk))

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if value is None:
            return None
        if isinstance(value, _Fresh):
            return connection.Database.Binary(bytes(value))
        raise EncryptedFieldMisuse(
            f"{self.model._meta.label}.{self.name} is encrypted per row: set it on an instance "
            "and save() it; it cannot be written by update()/bulk_update() or matched by value "
            "(use a BlindIndexField)")

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else Sealed(bytes(value))

    def get_lookup(self, lookup_name: str) -> Any:
        # Only IS NULL means anything on randomised ciphertext.
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None

    def get_transform(self, lookup_name: str) -> Any:
        return None

    def value_to_string(self, obj: models.Model) -> str:
        raise EncryptedFieldMisuse(
            f"{self.model._meta.label}.{self.name} is encrypted: dumpdata would export "
            "plaintext; back up the database (ciphertext and wrapped keysets) instead")


class EncryptedTextField(_EncryptedField):
    """Text encrypted at rest with AEAD, bound to model, field and row."""

    description = "Text encrypted with Tink AEAD (AES-256-GCM), bound to its row"

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"{self.model._meta.label}.{self.name} takes str, "
                            f"not {type(value).__name__}")
        return value.encode()

    def decode(self, plain: bytes) -> str:
        return plain.decode()


class EncryptedJSONField(_EncryptedField):
    """A JSON document encrypted at rest with AEAD, bound to model, field and row."""

    description = "JSON encrypted with Tink AEAD (AES-256-GCM), bound to its row"
    empty_strings_allowed = False

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True).encode()

    def decode(self, plain: bytes) -> Any:
        return json.loads(plain)


class BlindIndexField(models.BinaryField):
    """A keyed, normalised index of another (usually encrypted) field, for equality lookup."""

    description = "Blind index (HMAC-SHA256 of a normalised value)"

    def __init__(self, *args: Any, source: str, normaliser: str = "text",
                 keyset: str = "index", purpose: str = "", **kwargs: Any) -> None:
        from safeguard.protection.blind import NORMALISERS

        if normaliser not in NORMALISERS:
            raise ValueError(f"unknown normaliser {normaliser!r}; use one of {sorted(NORMALISERS)}")
        self.source = source
        self.normaliser = normaliser
        self.keyset = keyset
        self.purpose = purpose
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        kwargs.update(source=self.source, normaliser=self.normaliser, keyset=self.keyset)
        if self.purpose:
            kwargs["purpose"] = self.purpose
        return name, path, args, kwargs

    @property
    def index_purpose(self) -> str:
        return self.purpose or f"{self.model._meta.label_lower}.{self.source}"

    def compute(self, value: str) -> bytes:
        from safeguard.protection import blind

        return blind.compute(value, normaliser=self.normaliser, keyset=self.keyset,
                             purpose=self.index_purpose)

    def candidates(self, value: str) -> list[bytes]:
        """The index of ``value`` under every key: use with ``__in``."""
        from safeguard.protection import blind

        return blind.candidates(value, normaliser=self.normaliser, keyset=self.keyset,
                                purpose=self.index_purpose)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.source)
        index = None if value is None else self.compute(str(value))
        setattr(model_instance, self.attname, index)
        return index


def blind_lookup(model: type[models.Model], index_field: str, value: str) -> Q:
    """``Q`` matching rows whose blind index equals ``value``'s (any key, mid-rotation too)."""
    field = model._meta.get_field(index_field)
    if not isinstance(field, BlindIndexField):
        raise EncryptedFieldMisuse(f"{model._meta.label}.{index_field} is not a BlindIndexField")
    return Q(**{f"{index_field}__in": field.candidates(value)})
