"""Tables of the detection app: alerts, the run state, suppressions and escalations.

Private (STYLE.md rule 3): other apps use services/selectors, which hand out frozen views.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from safeguard.detection.enums import (
    AlertStatus,
    DeliveryStatus,
    EscalationLevel,
    Resolution,
    Severity,
)

# Why these encodings: the no-PAN guard (protection.guard) reads every text parameter of every
# write. A JSON list of sequence numbers ("[4000, 5000, 6000, 7003]" reads as a Visa) or a
# checkpoint full of timestamps is digit groups joined by ", " — how a card number may be written —
# and a Luhn-valid window would stop the whole detection run. ";" is no card separator, and the
# checkpoint (derived from already-screened audit events: ids, counts, times) is stored
# compressed, which is also several times smaller.


def encode_seqs(seqs: Iterable[int]) -> str:
    """Sequence numbers as stored in Alert.evidence."""
    return ";".join(str(int(s)) for s in seqs)


def decode_seqs(text: str) -> list[int]:
    return [int(s) for s in text.split(";") if s]


def pack_state(state: dict[str, Any]) -> bytes:
    """The engine's checkpoint as stored in RunState.engine_state (b"" for none)."""
    if not state:
        return b""
    return zlib.compress(json.dumps(state, separators=(",", ":")).encode(), 6)


def unpack_state(blob: bytes | memoryview | None) -> dict[str, Any]:
    if not blob:
        return {}
    loaded: dict[str, Any] = json.loads(zlib.decompress(bytes(blob)))
    return loaded


class Alert(models.Model):
    """What a rule concluded about one entity, with its evidence and its triage (R-OPS-9).

    ``dedup_key`` is the engine's key for the same rule, entity and window: a replay after a
    crash finds the row and raises nothing twice.
    """

    dedup_key = models.CharField(max_length=255, unique=True)
    rule_id = models.CharField(max_length=100)
    rule_title = models.CharField(max_length=200)
    severity = models.CharField(max_length=13, choices=Severity.choices)
    entity = models.CharField(max_length=200)  # "user:3", "ip:192.0.2.7", "customer:<id>"
    # Audit sequence numbers, increasing, stored as "12;13;20" (see encode_seqs).
    evidence = models.TextField(default="")
    first_evidence_at = models.DateTimeField()
    last_evidence_at = models.DateTimeField()
    explanation = models.TextField()
    score = models.FloatField(null=True, blank=True)
    tags = models.JSONField(default=list)
    status = models.CharField(max_length=13, choices=AlertStatus.choices,
                              default=AlertStatus.NEW)
    resolution = models.CharField(max_length=14, choices=Resolution.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    close_note = models.TextField(blank=True)  # screened free text
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["status", "-created_at"], name="detection_alert_queue"),
            models.Index(fields=["rule_id", "-created_at"], name="detection_alert_rule"),
            models.Index(fields=["entity"], name="detection_alert_entity"),
            models.Index(fields=["severity", "status", "created_at"],
                         name="detection_alert_clock"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=AlertStatus.CLOSED, closed_at__isnull=False)
                & ~Q(resolution="") | ~Q(status=AlertStatus.CLOSED) & Q(resolution=""),
                name="detection_alert_closed_has_resolution"),
        ]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"alert {self.pk}"


class RunState(models.Model):
    """The detection run's position in the audit log and the engine's checkpoint.

    Both are written in the transaction that stores the alerts of the batch they cover: a crash
    before the commit replays the batch from the old cursor with the old engine state; after it,
    nothing is replayed (at-least-once reading, exactly-once alerts through ``dedup_key``).
    """

    name = models.CharField(max_length=64, unique=True)
    cursor = models.BigIntegerField(default=0)  # every event with seq <= cursor was evaluated
    engine_state = models.BinaryField(default=b"")  # pack_state(): zlib-compressed JSON
    events_seen = models.BigIntegerField(default=0)
    alerts_raised = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}@{self.cursor}"


class Suppression(models.Model):
    """Findings of ``rule_id`` about ``entity`` raise no alert until ``expires_at``."""

    rule_id = models.CharField(max_length=100)
    entity = models.CharField(max_length=200)
    reason = models.TextField()  # screened free text
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    hits = models.PositiveIntegerField(default=0)  # findings it suppressed
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["rule_id", "entity", "expires_at"],
                                name="detection_suppression_match")]
        constraints = [models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                              name="detection_suppression_expires_later")]

    def __str__(self) -> str:
        return f"suppression {self.pk}"


class Escalation(models.Model):
    """One notification of an overdue critical alert to one target (an e-mail list or a named
    webhook); unique per alert, level and target, so a notice is sent once."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="escalations")
    level = models.CharField(max_length=11, choices=EscalationLevel.choices)
    target = models.CharField(max_length=64)  # "email" or the webhook's configured name
    status = models.CharField(max_length=7, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    due_at = models.DateTimeField()  # when the clock ran out
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "level", "target"],
                                               name="detection_escalation_once")]

    def __str__(self) -> str:
        return f"escalation {self.pk}"
