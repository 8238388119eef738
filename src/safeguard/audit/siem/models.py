"""Forwarder cursors (private to the audit app; registered through safeguard.audit.models)."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class ForwarderCursor(models.Model):
    """How far one named SIEM forwarder has shipped: every event with seq <= last_seq.

    Unlike the events themselves this row is updated in place, once per delivered batch.
    """

    name = models.CharField(max_length=64, unique=True)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    # Declared explicitly: the django-stubs plugin only infers managers for models in an
    # app's own models module, and this one lives beside the forwarder.
    objects: ClassVar[models.Manager[ForwarderCursor]] = models.Manager()

    class Meta:
        app_label = "audit"

    def __str__(self) -> str:
        return f"{self.name}@{self.last_seq}"
