"""System checks: every encrypted field can bind its ciphertext to its row before INSERT."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks


def encrypted_fields_have_early_pk(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """protection.E001: a model with encrypted fields needs a primary key with a default."""
    from safeguard.protection.fields import _EncryptedField

    errors = []
    for model in apps.get_models():
        encrypted = [f.name for f in model._meta.local_concrete_fields
                     if isinstance(f, _EncryptedField)]
        pk = model._meta.pk
        if encrypted and pk is not None and not pk.has_default():
            errors.append(checks.Error(
                f"{model._meta.label} has encrypted fields ({', '.join(encrypted)}) but its "
                "primary key has no default, so it is unknown before the first INSERT.",
                hint="Use id = models.UUIDField(primary_key=True, default=uuid.uuid4, "
                     "editable=False) (docs/decisions/0005).",
                obj=model, id="protection.E001"))
    return errors


def register() -> None:
    checks.register(encrypted_fields_have_early_pk, "models")
