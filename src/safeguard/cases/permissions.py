"""Permissions and navigation declared by the cases app (R-OPS-8, R-WORK-4).

Object scope is not a permission: an agent holding ``cases.view`` still sees only the cases of
their queues or assigned to them (``cases.selectors``); ``cases.view_all`` lifts that.
"""

from safeguard.accounts import rbac

CASES_VIEW = rbac.declare(
    "cases.view", "Open the case console: cases of the user's queues or assigned to them",
    roles=("agent", "supervisor", "privacy_officer"),
)
# Not read_only on purpose: read_only permissions go to auditors, and every case holds customer
# data; the privacy officer needs it to answer data-subject requests across queues.
CASES_VIEW_ALL = rbac.declare(
    "cases.view_all", "See every case regardless of queue (split access lifted)",
    roles=("privacy_officer",),
)
CASES_REPLY = rbac.declare(
    "cases.reply", "Reply to customers and add internal notes on cases in scope",
    roles=("agent", "supervisor"),
)
CASES_MANAGE = rbac.declare(
    "cases.manage",
    "Assign, change status, tag, reopen and merge cases: agents their own, queue supervisors "
    "any in their queues",
    roles=("agent", "supervisor"),
)
# Quarantined attachments could not be screened (encrypted PDF, unknown type, OCR failure, over
# a limit) and may hold a card number: opened only with this permission, after step-up, audited.
ATTACHMENT_QUARANTINE = rbac.declare(
    "cases.attachment_quarantine",
    "Open quarantined attachments (files that could not be screened) of cases in scope, after "
    "a fresh second factor; every open and refusal is audited",
    roles=("supervisor",),
)
QUEUES_MANAGE = rbac.declare(
    "queues.manage", "Create queues, set their SLA targets and members, manage macros",
    roles=("administrator", "supervisor"),
)
KPI_VIEW = rbac.declare(
    "kpi.view", "See service KPIs: CSAT, first-contact resolution, speed to answer",
    roles=("supervisor", "compliance_manager"), read_only=True,
)

rbac.nav("Cases", url_name="cases:queue", permission=CASES_VIEW, order=10, key="q")
rbac.nav("Queues", url_name="cases:queue_admin", permission=QUEUES_MANAGE, order=500)
rbac.nav("Service KPIs", url_name="cases:kpi", permission=KPI_VIEW, order=600, key="k")

# --- issue 15: the supervisors' wallboard and automations (docs/desk.md) ----------------------
WALLBOARD_VIEW = rbac.declare(
    "cases.wallboard", "See the live wallboard: queue depth, waits, agents available, SLA risk "
    "and today's KPIs (aggregates only)", roles=("supervisor",),
)
AUTOMATIONS_MANAGE = rbac.declare(
    "cases.automations", "Edit assignment rules and triggers (round-robin, load-balanced, "
    "skills by tag; on create/update set queue, priority, tags, notify); every change audited",
    roles=("supervisor",),
)

rbac.nav("Wallboard", url_name="cases:wallboard", permission=WALLBOARD_VIEW, order=590, key="w")
rbac.nav("Automations", url_name="cases:automations", permission=AUTOMATIONS_MANAGE, order=510)
