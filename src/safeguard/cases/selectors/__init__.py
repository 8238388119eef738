"""Public selectors of the cases app: every read, scoped by split access (R-WORK-4).

``customer_scope`` is the provider the customers app calls (decision 0006,
``SAFEGUARD_CUSTOMER_SCOPE``).
"""

from safeguard.cases.selectors.automation import assignment_rules, trigger_get, trigger_list
from safeguard.cases.selectors.cases import (
    assignable_users,
    attachment_get,
    attachment_quarantine_open,
    case_conversation,
    case_customer_id,
    case_get,
    case_list_for_agent,
    case_list_for_customer,
    case_marker,
    case_page,
    case_refs,
    case_summary,
    customer_scope,
)
from safeguard.cases.selectors.counts import message_count, recording_count
from safeguard.cases.selectors.home import agent_home
from safeguard.cases.selectors.kpi import asa, asa_by_queue, csat, fcr
from safeguard.cases.selectors.presence import presence_others
from safeguard.cases.selectors.queues import (
    macro_list,
    macro_list_for_case,
    macro_render,
    queue_get,
    queue_list,
    queue_list_for,
)
from safeguard.cases.selectors.retention import (
    CaseRetentionView,
    RecordingRetentionView,
    case_content_export,
    customer_attachment_files,
    customer_cases_export,
    recording_content_export,
    retention_case_exists,
    retention_cases_matching,
    retention_closed_cases,
    retention_customer_cases,
    retention_queue_exists,
    retention_recordings,
    retention_tag_exists,
)
from safeguard.cases.selectors.search import SORTS, VIEW_PARAMS, case_search, saved_view_list
from safeguard.cases.selectors.stepup import case_needs_step_up, queues_forced

__all__ = [
    "SORTS",
    "VIEW_PARAMS",
    "CaseRetentionView",
    "RecordingRetentionView",
    "agent_home",
    "asa",
    "asa_by_queue",
    "assignable_users",
    "assignment_rules",
    "attachment_get",
    "attachment_quarantine_open",
    "case_content_export",
    "case_conversation",
    "case_customer_id",
    "case_get",
    "case_list_for_agent",
    "case_list_for_customer",
    "case_marker",
    "case_needs_step_up",
    "case_page",
    "case_refs",
    "case_search",
    "case_summary",
    "csat",
    "customer_attachment_files",
    "customer_cases_export",
    "customer_scope",
    "fcr",
    "macro_list",
    "macro_list_for_case",
    "macro_render",
    "message_count",
    "presence_others",
    "queue_get",
    "queue_list",
    "queue_list_for",
    "queues_forced",
    "recording_content_export",
    "recording_count",
    "retention_case_exists",
    "retention_cases_matching",
    "retention_closed_cases",
    "retention_customer_cases",
    "retention_queue_exists",
    "retention_recordings",
    "retention_tag_exists",
    "saved_view_list",
    "trigger_get",
    "trigger_list",
]
