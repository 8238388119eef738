"""Tables of the cases app (private: other apps use services, selectors and contracts).

Every column that can hold what a customer wrote is an encrypted field (AEAD bound to the row)
and holds screened text only; rows with such columns have UUID primary keys (decision 0005).
Case numbers come from :class:`CaseNumber`, an auto-increment table, so they are short, unique
and allocated without a lock on a counter row.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from safeguard.cases.enums import (
    AssignmentStrategy,
    AttachmentState,
    AuthorKind,
    CaseStatus,
    Channel,
    DeliveryStatus,
    HistoryKind,
    Priority,
    RetentionCategory,
    SenderAuth,
    TriggerEvent,
    TriggerNotify,
)
from safeguard.protection.fields import EncryptedJSONField, EncryptedTextField


class Queue(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    first_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Incident containment (decision 0226): while set, opening any case of this queue needs a
    # fresh second factor, and token (API) access to its cases is refused.
    step_up_forced_at = models.DateTimeField(null=True, blank=True)
    step_up_forced_by = models.CharField(max_length=200, blank=True, default="")
    step_up_reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.slug


class QueueMembership(models.Model):
    """An agent or supervisor working a queue; supervisors (``is_supervisor``) manage its cases."""

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="queue_memberships")
    is_supervisor = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["queue", "user"],
                                               name="cases_membership_unique")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"membership {self.pk}"


class Tag(models.Model):
    name = models.SlugField(max_length=40, unique=True)

    def __str__(self) -> str:
        return self.name


class CaseNumber(models.Model):
    """Allocates case numbers: one row per case, its id is the number."""

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"case number {self.pk}"


class Case(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.PositiveBigIntegerField(unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="cases")
    subject = EncryptedTextField(default="")
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.NEW)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.NORMAL)
    channel = models.CharField(max_length=8, choices=Channel.choices)  # where it started
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="assigned_cases")
    tags = models.ManyToManyField(Tag, blank=True, related_name="cases")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    first_resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)  # first reopen after resolution
    reopen_count = models.PositiveIntegerField(default=0)
    first_response_due_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_cases")
    # Why the contact needs care: [{"flag": ContactFlag, "customer": uuid|""}] (ids, no values).
    contact_flags = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["queue", "status"], name="cases_queue_status"),
            models.Index(fields=["assignee", "status"], name="cases_assignee_status"),
            models.Index(fields=["status", "first_response_due_at"], name="cases_fr_due"),
            models.Index(fields=["status", "resolution_due_at"], name="cases_res_due"),
            models.Index(fields=["first_resolved_at"], name="cases_first_resolved"),
        ]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"case {self.number}"


class Interaction(models.Model):
    """One contact on one channel: an e-mail thread, a chat, a call, a web form, an API post."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="interactions")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    thread_ref = models.CharField(max_length=255, blank=True, default="", db_index=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # Chat: the customer's link carries a secret; only its SHA-256 is kept.
    chat_secret_hash = models.CharField(max_length=64, blank=True, default="")
    # Voice.
    call_id = models.CharField(max_length=128, null=True, blank=True, unique=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    payment_pauses = models.JSONField(default=list, blank=True)  # [{"start": iso, "end": iso|null}]
    transcript = EncryptedTextField(null=True, blank=True)
    # {"uri", "duration_seconds", "media_type"}
    recording = EncryptedJSONField(null=True, blank=True)
    recording_retention = models.CharField(max_length=20, choices=RetentionCategory.choices,
                                           blank=True, default="")
    message_seq = models.PositiveIntegerField(default=0)  # last ChatMessageView id handed out

    class Meta:
        indexes = [models.Index(fields=["channel", "thread_ref"], name="cases_thread")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"interaction {self.pk}"


class Message(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    interaction = models.ForeignKey(Interaction, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="messages")  # None for internal notes
    seq = models.PositiveIntegerField(null=True, blank=True)  # order within the interaction
    channel = models.CharField(max_length=8, choices=Channel.choices)
    author_kind = models.CharField(max_length=8, choices=AuthorKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    body = EncryptedTextField()
    findings = models.JSONField(default=list, blank=True)  # finding types, never values
    is_internal = models.BooleanField(default=False)
    external_id = models.CharField(max_length=255, blank=True, default="")
    delivery_status = models.CharField(max_length=16, choices=DeliveryStatus.choices,
                                       default=DeliveryStatus.NONE)
    delivery_error = models.CharField(max_length=200, blank=True, default="")
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    sender_auth = models.CharField(max_length=8, choices=SenderAuth.choices, blank=True,
                                   default="")  # e-mail only: the MTA's verdict
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"],
                                    condition=~Q(external_id=""),
                                    name="cases_message_external_id_unique"),
            models.UniqueConstraint(fields=["interaction", "seq"],
                                    condition=Q(seq__isnull=False),
                                    name="cases_message_seq_unique"),
        ]
        indexes = [models.Index(fields=["case", "created_at"], name="cases_message_case")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"message {self.pk}"


class Attachment(models.Model):
    """A file of a message. ``content_type`` is the type read from the content (the declared
    one is only a hint). A withheld file keeps no content at all; a quarantined one is kept
    encrypted like every other, flagged, and served only through the quarantine path."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField(default=0)  # order within the message
    filename = EncryptedTextField()
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    screened = models.BooleanField(default=False)  # its text passed the protection scanner
    state = models.CharField(max_length=12, choices=AttachmentState.choices,
                             default=AttachmentState.SCREENED)
    reason = models.CharField(max_length=200, blank=True, default="")  # why quarantined/withheld
    content = EncryptedTextField()  # base64 of the (screened, for text) bytes; "" when withheld
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["state"], name="cases_attachment_state")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"attachment {self.pk}"


class CaseHistory(models.Model):
    """Every change to a case, for the console's timeline (the audit log is the evidence)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=HistoryKind.choices)
    actor_label = models.CharField(max_length=254, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)  # ids and states only, never text

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "case history"

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"history {self.pk}"


class CsatResponse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="csat")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = EncryptedTextField(default="", blank=True)
    submitted_at = models.DateTimeField()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__gte=1) & Q(score__lte=5),
                                              name="cases_csat_score_1_5")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"csat {self.pk}"


class Macro(models.Model):
    """A canned reply; ``queue`` None means every queue."""

    name = models.CharField(max_length=100)
    body = models.TextField()
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="macros")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"macro {self.pk}"


class Mention(models.Model):
    """A staff member @mentioned in an internal note (issue 15): ids only, no text."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mentions")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    created_at = models.DateTimeField()
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"],
                                               name="cases_mention_once_per_note")]
        indexes = [models.Index(fields=["user", "-created_at"], name="cases_mention_user")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"mention {self.pk}"


class SavedView(models.Model):
    """A person's named filter and sort of the case list (issue 15); the query holds only the
    list's own parameters (queue, status, assignee, tag, breached, sort), never a search text."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    name = models.CharField(max_length=60)
    query = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name"],
                                               name="cases_savedview_name_per_user")]

    def __str__(self) -> str:  # ids only: str() ends up in logs
        return f"view {self.pk}"


# --- automations (issue 15; docs/desk.md) --------------------------------------------------------


class AssignmentRule(models.Model):
    """How new cases of one queue are assigned: round-robin or load-balanced among its agents
    (members not flagged supervisor), restricted to agents skilled in a case's tag when any is."""

    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="assignment_rule")
    strategy = models.CharField(max_length=16, choices=AssignmentStrategy.choices)
    use_skills = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    # The round-robin turn: the last agent given a case by this rule.
    last_assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                      on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"assignment rule {self.pk}"


class AgentSkills(models.Model):
    """The tags an agent is skilled in (skills-based assignment)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="case_skills")
    tags = models.JSONField(default=list, blank=True)  # tag names
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"skills {self.pk}"


class Trigger(models.Model):
    """On a case event, when every set condition holds, apply the set actions. Conditions and
    actions are columns (not free code): a trigger can only do what the editor offers."""

    name = models.CharField(max_length=100)
    event = models.CharField(max_length=8, choices=TriggerEvent.choices)
    position = models.PositiveIntegerField(default=100)  # lower runs first
    is_active = models.BooleanField(default=True)
    if_queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    if_channel = models.CharField(max_length=8, choices=Channel.choices, blank=True, default="")
    if_priority = models.CharField(max_length=8, choices=Priority.choices, blank=True,
                                   default="")
    if_subject_contains = models.CharField(max_length=100, blank=True, default="")
    set_queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")
    set_priority = models.CharField(max_length=8, choices=Priority.choices, blank=True,
                                    default="")
    add_tags = models.JSONField(default=list, blank=True)  # tag names
    notify = models.CharField(max_length=20, choices=TriggerNotify.choices, blank=True,
                              default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"trigger {self.pk}"


class CsatSurveySent(models.Model):
    """The satisfaction survey went to the customer of this case (once per case)."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="csat_survey")
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"csat survey {self.pk}"
