"""Audit log storage (private to the app). Append-only: database triggers refuse UPDATE and DELETE
on events, nodes and heads (migration 0002); only the single sequence row changes. Entries wait
in the queue (``QueuedEntry``) until the integrator sequences them into the log; the queue's
triggers refuse UPDATE, and DELETE of an entry the log does not hold yet (decision 0180)."""

from __future__ import annotations

from django.db import models


class QueuedEntry(models.Model):
    """An event recorded in the caller's transaction, waiting for the integrator (R-IR-5).

    Durable at the caller's commit; it carries every field the log commits to except the
    sequence number, which the integrator assigns. Never updated; deleted only by the integrator
    in the transaction that writes its Event (the trigger checks that Event exists).
    """

    at = models.DateTimeField()
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, default="success")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"queued {self.id} {self.action}"


class Event(models.Model):
    """One security-relevant action; never updated or deleted once written (R-IR-5)."""

    seq = models.BigIntegerField(primary_key=True)
    # The queue entry this event integrated (unique: no entry is integrated twice). Not part of
    # the hashed entry; empty for events integrated before the queue existed.
    queue_id = models.BigIntegerField(null=True, blank=True, unique=True)
    at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=16)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=80, db_index=True)
    subject_type = models.CharField(max_length=40, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, default="success")
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    leaf_hash = models.CharField(max_length=64, help_text="RFC 9162 leaf hash, hex")
    # When the integrator wrote it (its batch's time, not hashed): ``integrated_at - at`` is the
    # event's integration delay, the inclusion promise measured (decision 0181). Empty for events
    # integrated before the column existed.
    integrated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["actor_kind", "actor_id"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class Node(models.Model):
    """A complete Merkle node of level >= 1 (level 0 is Event.leaf_hash); written once."""

    level = models.PositiveSmallIntegerField()
    index = models.BigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["level", "index"],
                                               name="audit_node_level_index")]

    def __str__(self) -> str:
        return f"node ({self.level}, {self.index})"


class Sequence(models.Model):
    """The single counter row: the integrated end of the log and its frontier (compact range),
    so integrating a batch costs O(batch + log n). Only the integrator, holding the integration
    lock, moves it (R-IR-5)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    frontier = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"sequence at {self.last_seq}"


class TreeHead(models.Model):
    """A signed statement of tree size, root hash and time (RFC 9162 STH analogue)."""

    size = models.BigIntegerField(db_index=True)
    root_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    signature = models.CharField(max_length=200)

    class Meta:
        ordering = ["size", "id"]

    def __str__(self) -> str:
        return f"head size {self.size}"


class VerificationRun(models.Model):
    """The outcome of one `audit verify` run, shown on the audit page (evidence for auditors)."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    from_seq = models.BigIntegerField(default=1)
    events_checked = models.BigIntegerField(default=0)
    heads_checked = models.IntegerField(default=0)
    ok = models.BooleanField(default=False)
    first_bad_seq = models.BigIntegerField(null=True, blank=True)
    problems = models.JSONField(default=list)
    triggered_by = models.CharField(max_length=254, blank=True)

    def __str__(self) -> str:
        return f"verification {self.id} ({'ok' if self.ok else 'not ok'})"


# The SIEM forwarder's cursor lives in its own module; imported here so Django registers it.
from safeguard.audit.siem.models import ForwarderCursor  # noqa: E402, F401


class ExportFreeze(models.Model):
    """A freeze of every data export (incident containment, decision 0225): while any row has
    no ``lifted_at``, export paths refuse and record the attempt. Lifting ends one freeze."""

    frozen_at = models.DateTimeField()
    frozen_by = models.CharField(max_length=254)
    reason = models.CharField(max_length=500)
    reference = models.CharField(max_length=200, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.CharField(max_length=254, blank=True)
    lift_reason = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"export freeze {self.id}"
