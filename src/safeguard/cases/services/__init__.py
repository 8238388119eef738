"""Public services of the cases app: every write and every rule (STYLE.md).

Split by sub-domain: ``ingest`` (the channel contract of decision 0006), ``work`` (agents'
actions), ``manage`` (queues and macros), ``sla`` (breach flags), ``csat`` (surveys).
"""

from safeguard.cases.services.automation import (
    agent_skills_set,
    assignment_rule_save,
    cases_autoclose,
    sla_warn,
    trigger_delete,
    trigger_save,
)
from safeguard.cases.services.containment import (
    QueueStepUpError,
    queue_step_up_force,
    queue_step_up_release,
)
from safeguard.cases.services.csat import csat_case, csat_link, csat_link_for_case, csat_submit
from safeguard.cases.services.identity import (
    CodeNotSent,
    case_contact_code_check,
    case_contact_code_send,
    case_contact_verify,
)
from safeguard.cases.services.ingest import (
    call_event,
    call_payment_pause,
    call_transcript,
    chat_messages,
    chat_start,
    chat_status,
    chat_verify,
    message_receive,
)
from safeguard.cases.services.manage import (
    macro_delete,
    macro_save,
    macro_use_denied,
    queue_create,
    queue_member_add,
    queue_member_remove,
    queue_update,
)
from safeguard.cases.services.presence import presence_report
from safeguard.cases.services.retention import case_anonymise, recording_delete
from safeguard.cases.services.sla import sla_check
from safeguard.cases.services.views import saved_view_delete, saved_view_save
from safeguard.cases.services.work import (
    case_assign,
    case_change_queue,
    case_merge,
    case_move,
    case_reopen,
    case_set_priority,
    case_tag,
    message_deliver,
    message_retry,
    message_send,
    note_add,
    reply_send,
)

__all__ = [
    "CodeNotSent",
    "QueueStepUpError",
    "agent_skills_set",
    "assignment_rule_save",
    "call_event",
    "call_payment_pause",
    "call_transcript",
    "case_anonymise",
    "case_assign",
    "case_change_queue",
    "case_contact_code_check",
    "case_contact_code_send",
    "case_contact_verify",
    "case_merge",
    "case_move",
    "case_reopen",
    "case_set_priority",
    "case_tag",
    "cases_autoclose",
    "chat_messages",
    "chat_start",
    "chat_status",
    "chat_verify",
    "csat_case",
    "csat_link",
    "csat_link_for_case",
    "csat_submit",
    "macro_delete",
    "macro_save",
    "macro_use_denied",
    "message_deliver",
    "message_receive",
    "message_retry",
    "message_send",
    "note_add",
    "presence_report",
    "queue_create",
    "queue_member_add",
    "queue_member_remove",
    "queue_step_up_force",
    "queue_step_up_release",
    "queue_update",
    "recording_delete",
    "reply_send",
    "saved_view_delete",
    "saved_view_save",
    "sla_check",
    "sla_warn",
    "trigger_delete",
    "trigger_save",
]
