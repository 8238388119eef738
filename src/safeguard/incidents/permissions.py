"""Permissions declared by the incidents app (R-IR-1, R-IR-6, R-IR-7)."""

from safeguard.accounts import rbac

INCIDENTS_VIEW = rbac.declare(
    "incidents.view",
    "See incidents, their SLA and regulator clocks, roles, timeline, containment log and "
    "post-incident review; the exercise and retainer registers",
    roles=("security_analyst", "privacy_officer", "compliance_manager"), read_only=True,
)
INCIDENTS_MANAGE = rbac.declare(
    "incidents.manage",
    "Open incidents, move them through their states, assign incident roles, add timeline "
    "entries, record jurisdictions and law-enforcement delays; change the category, make and "
    "check off the playbook checklist; write post-incident reviews "
    "and their action items, the exercise register and the retainer register",
    roles=("security_analyst",),
)
INCIDENTS_CONTAIN = rbac.declare(
    "incidents.contain",
    "Take containment actions from an incident: disable a staff user (sessions and API tokens "
    "end at once), revoke an API token, freeze every data export, force step-up for a queue's "
    "cases, start a key rotation; reverse the reversible ones; with step-up",
    roles=("security_analyst",), sensitive=True,
)
INCIDENTS_AFFECTED = rbac.declare(
    "incidents.affected_customers",
    "List and export the customers whose records an actor, token or address read in a window "
    "(from the audit log)",
    roles=("security_analyst", "privacy_officer"), sensitive=True,
)
INCIDENTS_EVIDENCE = rbac.declare(
    "incidents.evidence",
    "Add uploads and audit-log slices to an incident's evidence locker, open items with a "
    "stated purpose and record hand-overs (each access integrity-checked and in the chain of "
    "custody)",
    roles=("security_analyst",),
)
INCIDENTS_EVIDENCE_EXPORT = rbac.declare(
    "incidents.evidence_export",
    "Export an incident's evidence package (items, custody logs, signed manifest); with "
    "step-up",
    roles=("security_analyst",), sensitive=True,
)

rbac.nav("Incidents", url_name="incidents:list", permission=INCIDENTS_VIEW, order=650)
rbac.nav("IR exercises", url_name="incidents:exercises", permission=INCIDENTS_VIEW, order=651)
rbac.nav("IR retainers", url_name="incidents:retainers", permission=INCIDENTS_VIEW, order=652)
