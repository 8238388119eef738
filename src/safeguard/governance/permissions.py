"""Permissions declared by the governance app (R-REG-1)."""

from safeguard.accounts import rbac

CONTROLS_VIEW = rbac.declare(
    "governance.view_controls",
    "See frameworks, requirements, control status with evidence and history; export them",
    roles=("compliance_manager",), read_only=True,
)
CONTROLS_RUN = rbac.declare(
    "governance.run_checks",
    "Evaluate every control now (the hourly job does it on its own)",
    roles=("compliance_manager",),
)

rbac.nav("Governance", url_name="governance:frameworks", permission=CONTROLS_VIEW, order=750)

BACKUP_DRILL = rbac.declare(
    "governance.run_restore_drill",
    "Run a restore drill of a recorded backup into a scratch database (backups page)",
    roles=("compliance_manager",),
)
VULNS_VIEW = rbac.declare(
    "governance.view_vulnerabilities",
    "See the vulnerability register: findings, severities, deadlines, ageing and exceptions",
    roles=("compliance_manager",), read_only=True,
)
VULNS_MANAGE = rbac.declare(
    "governance.manage_vulnerabilities",
    "Approve an exception to a vulnerability's fix deadline (never one's own request)",
    roles=("compliance_manager",),
)

# Workforce (issue 13 section 3; decision 0243).
WORKFORCE_VIEW = rbac.declare(
    "governance.view_workforce",
    "See the workforce overview: background-check outcomes, training hours and assignments, "
    "phishing-simulation rates, QA scores and attrition per team",
    roles=("compliance_manager",), read_only=True,
)
WORKFORCE_MANAGE = rbac.declare(
    "governance.manage_workforce",
    "Keep the training register (courses, assignments, completions), staff teams, the QA and "
    "attrition register, and import GoPhish phishing-simulation results",
    roles=("compliance_manager",),
)
BACKGROUND_CHECKS_RECORD = rbac.declare(
    "governance.record_background_checks",
    "Record the outcome and reference of a staff member's background check (never the report)",
    roles=("compliance_manager",),
)
rbac.nav("Workforce", url_name="governance:workforce", permission=WORKFORCE_VIEW, order=755)
# Registers, manual attestations and the compliance calendar (decisions 0246-0248).
REGISTERS_VIEW = rbac.declare(
    "governance.view_registers",
    "See manual controls and attestations, the external-validation and vendor registers, their "
    "evidence, and the compliance calendar (page and iCalendar feed)",
    roles=("compliance_manager",), read_only=True,
)
REGISTERS_MANAGE = rbac.declare(
    "governance.manage_registers",
    "Add and edit external validations, findings and vendors, attach vendor evidence, and "
    "assign owners of manual controls",
    roles=("compliance_manager",),
)
CONTROLS_ATTEST = rbac.declare(
    "governance.attest_controls",
    "Attest a manual control with evidence (only the control's assigned owner can)",
    roles=("compliance_manager",),
)
