"""Public contracts of the cases app: the ingest and outbound contracts of decision 0006, the
frozen views the console and API render, and the app's domain errors.

No view carries a model instance; message bodies are the screened text (card numbers are
``[card VISA •••• 1111 tok_…]``), customers appear by id and their masked label only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from safeguard.web.errors import ApplicationError, Conflict, NotFound, PermissionDenied

# --- ingest (decision 0006 §2) ----------------------------------------------------------------


@dataclass(frozen=True)
class SenderIn:
    """Who wrote: matched by exact blind index (decision 0101). Only a ``verified`` sender (mail
    authenticated by the trusted MTA, a trusted integration) links to an existing profile; any
    other lands on the unverified contact for its address until an agent verifies it.
    ``auth`` is an e-mail's SenderAuth verdict ("" for other channels)."""

    email: str = ""
    phone: str = ""
    name: str = ""
    customer_id: UUID | None = None
    verified: bool = False
    auth: str = ""

    @property
    def identifies(self) -> bool:
        """True when the sender carries something a customer can be matched by."""
        return bool(self.email or self.phone or self.customer_id)


@dataclass(frozen=True)
class AttachmentIn:
    """A file that came with an inbound message or an agent's reply."""

    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class RecordingIn:
    """Where a call recording lives (the media itself stays in the recorder) and why it is kept."""

    uri: str
    duration_seconds: int | None = None
    media_type: str = "audio/wav"
    retention_category: str = ""  # empty: SAFEGUARD_RECORDING_RETENTION_DEFAULT


@dataclass(frozen=True)
class InboundResult:
    """What ``message_receive`` did: ``duplicate`` means the external id was seen before and
    nothing new was stored (the ids are those of the first delivery)."""

    case_id: UUID
    case_number: int
    interaction_id: UUID
    message_id: UUID
    created_case: bool
    duplicate: bool
    attachments: tuple[str, ...] = ()  # each file's AttachmentState, in the order sent


@dataclass(frozen=True)
class CallView:
    """A voice interaction's clock: speed to answer is answered − queued, in seconds."""

    call_id: str
    case_id: UUID
    case_number: int
    interaction_id: UUID
    queue: str
    queued_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None
    speed_to_answer_seconds: float | None
    payment_paused: bool
    payment_pauses: tuple[tuple[datetime, datetime | None], ...] = ()


@dataclass(frozen=True)
class ChatStarted:
    """A new chat conversation; ``secret`` is shown to the customer once (only a hash is kept)."""

    conversation_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class ChatMessageView:
    """One message of a chat as the customer sees it (screened; internal notes never appear).
    ``id`` grows within the conversation, for ``after_id`` polling."""

    id: int
    author_kind: str
    author_name: str
    text: str
    at: datetime


# --- outbound (decision 0006 §3) ----------------------------------------------------------------


@dataclass(frozen=True)
class OutboundAttachment:
    filename: str
    content_type: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class CaseListPage:
    """One page of the case list with its counts: ``total`` cases match, ``pages`` of
    ``page_size``; a text search compared ``scanned`` cases and was ``capped`` when the scope
    held more than the scan limit (decision 0168)."""

    items: tuple[CaseSummary, ...]
    total: int
    page: int
    pages: int
    page_size: int
    scanned: int = 0
    capped: bool = False

    @property
    def first(self) -> int:
        """The position of the first row shown (0 for an empty list)."""
        return (self.page - 1) * self.page_size + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.page_size + len(self.items)


@dataclass(frozen=True)
class SavedViewView:
    """A person's named filter and sort of the case list."""

    id: int
    name: str
    query: dict[str, str]


@dataclass(frozen=True)
class PresenceView:
    """Another staff member on the same case (collision detection): who, and whether they are
    writing a reply; no case data."""

    email: str
    replying: bool
    seconds_ago: int


@dataclass(frozen=True)
class ChatStatus:
    """What the customer's chat shows beside the messages: their place in the queue while no
    agent has answered (1 = next), and whether an agent is typing now."""

    queue_position: int | None
    agent_typing: bool


@dataclass(frozen=True)
class SentReply:
    """An agent's reply as stored: its id, each file's state in order (screened, withheld,
    quarantined) and the screened names of the files withheld for a card number."""

    message_id: UUID
    attachments: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()

    @property
    def held_back(self) -> int:
        """Files that will not reach the customer (withheld or quarantined)."""
        return sum(1 for s in self.attachments if s != "screened")


@dataclass(frozen=True)
class OutboundMessage:
    """An agent's reply for a channel's sender. The recipient is ``customer_id``: the sender
    looks the address up through the customers app (system scope). Thread identifiers are
    stored as keyed hashes only (issue 8 item 3), so no readable id of the customer's is handed
    out: ``thread_ref`` is the thread's opaque hash, ``earlier_replies`` the ids of our own
    replies already delivered on this thread, oldest first (a sender that minted their external
    ids from the message id mints them again, e.g. e-mail References), and ``continues_thread``
    says whether the reply answers an earlier message ("Re:")."""

    message_id: UUID
    case_id: UUID
    case_number: int
    customer_id: UUID
    channel: str
    interaction_id: UUID
    thread_ref: str
    earlier_replies: tuple[UUID, ...]
    continues_thread: bool
    subject: str
    text: str
    author_name: str
    attachments: tuple[OutboundAttachment, ...] = ()
    automatic: bool = False  # written by the system (a notice), not by a person


# --- views --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    id: int
    slug: str
    name: str
    first_response_minutes: int | None
    resolution_minutes: int | None
    is_active: bool
    open_cases: int = 0
    breached_cases: int = 0
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class CaseSummary:
    """A row of the queue view: no message text, the subject as screened for lists."""

    id: UUID
    number: int
    subject: str
    status: str
    priority: str
    queue: str
    queue_name: str
    assignee_id: int | None
    assignee_email: str
    customer_id: UUID
    channel: str
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla: str  # breached | due-soon | ok | none
    merged_into_number: int | None = None


@dataclass(frozen=True)
class AgentHome:
    """What the agent's home shows: each list at most ``limit`` rows, with its full count."""

    my_open: tuple[CaseSummary, ...]
    my_open_count: int
    at_risk: tuple[CaseSummary, ...]
    at_risk_count: int
    breached_count: int
    recent: tuple[CaseSummary, ...]
    queues: tuple[QueueView, ...]
    mentions: tuple[MentionView, ...] = ()
    mentions_count: int = 0


@dataclass(frozen=True)
class MentionView:
    """A note that @mentioned the agent: on which case, by whom, when (no note text)."""

    case_number: int
    subject: str
    by_email: str
    at: datetime


@dataclass(frozen=True)
class AttachmentView:
    """A file of a message: ``state`` is an AttachmentState (screened, withheld, quarantined);
    ``reason`` says why a file was withheld or quarantined."""

    id: UUID
    filename: str
    content_type: str
    size: int
    screened: bool
    state: str = "screened"
    reason: str = ""


@dataclass(frozen=True)
class MessageView:
    id: UUID
    interaction_id: UUID | None
    channel: str
    author_kind: str
    author_email: str
    body: str
    is_internal: bool
    created_at: datetime
    delivery_status: str
    delivery_error: str
    findings: tuple[str, ...]
    attachments: tuple[AttachmentView, ...] = ()
    sender_auth: str = ""  # e-mail: verified | failed | none (SenderAuth)


@dataclass(frozen=True)
class InteractionView:
    """One interaction of a case; ``thread_ref`` and ``call_id`` are keyed hashes (issue 8)."""

    id: UUID
    channel: str
    thread_ref: str
    started_at: datetime
    ended_at: datetime | None
    call_id: str
    queued_at: datetime | None
    answered_at: datetime | None
    speed_to_answer_seconds: float | None
    transcript: str
    recording_uri: str
    recording_retention: str
    payment_pauses: tuple[tuple[datetime, datetime | None], ...]


@dataclass(frozen=True)
class HistoryView:
    at: datetime
    kind: str
    actor: str
    data: dict[str, object]


@dataclass(frozen=True)
class ContactFlagView:
    """A warning about the case's contact; ``customer_ref`` is a short id of the profile it
    concerns (never a value of that profile: it may be outside the viewer's scope)."""

    flag: str
    label: str
    customer_ref: str = ""


@dataclass(frozen=True)
class ContactCodeMail:
    """A verification code for the e-mail channel's code sender: ``to`` is the address on file
    and ``code`` the clear code — send, never store or log them (``repr`` hides both)."""

    to: str = field(repr=False)
    code: str = field(repr=False)
    case_number: int = 0
    expires_at: datetime | None = None


@dataclass(frozen=True)
class ContactLinkResult:
    """A conversation moved from its unverified contact to the verified profile."""

    case_number: int
    customer_id: UUID
    created_profile: bool
    method: str


@dataclass(frozen=True)
class CaseView:
    """One case with its conversation and history, as an agent may see it."""

    summary: CaseSummary
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    interactions: tuple[InteractionView, ...]
    messages: tuple[MessageView, ...]
    history: tuple[HistoryView, ...]
    next_statuses: tuple[str, ...]
    csat_score: int | None
    merged_from: tuple[int, ...] = ()
    contact_unverified: bool = False  # the conversation belongs to an unverified contact
    contact_flags: tuple[ContactFlagView, ...] = ()


@dataclass(frozen=True)
class CasePage:
    """What the case page shows, resolved from one scoped lookup."""

    case: CaseView
    assignable: list[tuple[int, str]]
    marker: str
    macros: list[MacroView]


@dataclass(frozen=True)
class MacroView:
    id: int
    name: str
    body: str
    queue: str


@dataclass(frozen=True)
class CsatLink:
    """A signed, expiring survey link for one case (the token is the secret part)."""

    case_number: int
    token: str = field(repr=False)
    path: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) that a KPI is computed over."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class RatioKpi:
    """CSAT or FCR for a period: ``value`` is the share in [0, 1], None without data."""

    value: float | None
    hits: int
    total: int


@dataclass(frozen=True)
class AsaKpi:
    """Average speed to answer for a period: mean seconds over answered calls."""

    queue: str
    value_seconds: float | None
    answered: int
    abandoned: int


# --- errors -------------------------------------------------------------------------------------


class CaseError(ApplicationError):
    code = "case-error"
    title = "The case request cannot be carried out"


class QueueStepUpNeeded(Exception):
    """The case's queue is under forced step-up (decision 0226) and the session's second factor
    is not fresh: the case page asks for it again before reading anything (issue 10)."""


class CaseNotFound(NotFound):
    """No such case, or it is outside the caller's queues (the same answer for both)."""

    code = "case-not-found"


class QueueNotFound(NotFound):
    code = "queue-not-found"


class MessageNotFound(NotFound):
    code = "message-not-found"


class ChatNotFound(NotFound):
    """Unknown conversation or wrong secret: one answer, so secrets cannot be probed."""

    code = "chat-not-found"


class CallNotFound(NotFound):
    code = "call-not-found"


class CaseStateError(Conflict):
    """An illegal lifecycle move; ``current`` names the state the case is in."""

    code = "case-state"
    title = "The case is not in a state that allows this"


class ChannelError(CaseError):
    status = 422
    code = "unknown-channel"
    title = "Unknown channel"


class InvalidInput(CaseError):
    status = 422
    code = "invalid-input"
    title = "Invalid input"


class AttachmentRejected(CaseError):
    status = 422
    code = "attachment-rejected"
    title = "Attachment refused"


class AttachmentUnavailable(CaseError):
    """A withheld file (nothing was stored) or a quarantined one asked for on the normal path."""

    status = 409
    code = "attachment-unavailable"
    title = "Attachment not available"


class QuarantineDenied(PermissionDenied):
    """Opening a quarantined file needs cases.attachment_quarantine and a fresh second factor."""

    code = "quarantine-denied"
    title = "Quarantined attachment"


class AssignmentRefused(CaseError):
    status = 403
    code = "assignment-refused"
    title = "Assignment refused"


class ManageRefused(CaseError):
    status = 403
    code = "case-manage-refused"
    title = "Only the case's assignee or a queue supervisor may do this"


class MergeRefused(Conflict):
    code = "merge-refused"
    title = "These cases cannot be merged"


class CsatLinkInvalid(CaseError):
    status = 400
    code = "csat-link-invalid"
    title = "This survey link is invalid or has expired"


class CsatAlreadyAnswered(Conflict):
    code = "csat-answered"
    title = "This survey has already been answered"


class QueueExists(Conflict):
    code = "queue-exists"
    title = "A queue with this slug exists"


# --- automations (issue 15; docs/desk.md) -------------------------------------------------------


@dataclass(frozen=True)
class AgentSkillView:
    """A member of a queue as the assignment editor shows them."""

    user_id: int
    email: str
    is_supervisor: bool
    skills: tuple[str, ...]
    open_cases: int


@dataclass(frozen=True)
class AssignmentRuleView:
    """A queue and its assignment rule (``strategy`` empty: no rule, cases wait unassigned)."""

    queue: str
    queue_name: str
    strategy: str
    strategy_label: str
    use_skills: bool
    is_active: bool
    members: tuple[AgentSkillView, ...]


@dataclass(frozen=True)
class TriggerView:
    """A trigger with its conditions and actions (queue slugs, not ids)."""

    id: int
    name: str
    event: str
    position: int
    is_active: bool
    if_queue: str
    if_channel: str
    if_priority: str
    if_subject_contains: str
    set_queue: str
    set_priority: str
    add_tags: tuple[str, ...]
    notify: str

    def as_form(self) -> dict[str, object]:
        return {"name": self.name, "event": self.event, "position": self.position,
                "is_active": self.is_active, "if_queue": self.if_queue,
                "if_channel": self.if_channel, "if_priority": self.if_priority,
                "if_subject_contains": self.if_subject_contains, "set_queue": self.set_queue,
                "set_priority": self.set_priority, "add_tags": " ".join(self.add_tags),
                "notify": self.notify}
