"""Permissions and navigation declared by the customers app (R-DATA-2, R-WORK-4, R-OPS-8).

None is ``read_only``: that flag hands a permission to the auditor role, and customer data is
not audit evidence — auditors read the audit log, which names customers by id only.
"""

from safeguard.accounts import rbac

VIEW = rbac.declare(
    "customers.view",
    "See customer profiles, masked, of the customers in scope (cases in the agent's queues or "
    "assigned to them)",
    roles=("agent", "supervisor"),
)
VIEW_ALL = rbac.declare(
    "customers.view_all", "See every customer's profile, masked (no scope restriction)",
    roles=("supervisor", "privacy_officer"),
)
REVEAL = rbac.declare(
    "customers.reveal",
    "Reveal a customer's field in clear for a few minutes, with a fresh second factor and a "
    "reason (audited). Agents get it only through a custom role",
    roles=("supervisor",),
)
EDIT = rbac.declare(
    "customers.edit",
    "Create customers, edit non-sensitive fields, record identity verifications and request "
    "sensitive changes",
    roles=("agent", "supervisor"),
)
APPROVE = rbac.declare(
    "customers.approve",
    "Grant or refuse sensitive requests (contact or payout changes, closures, refunds above "
    "the threshold) with a fresh second factor; never one's own",
    roles=("supervisor",),
)

rbac.nav("Customers", url_name="customers:search", permission=VIEW, order=200, key="c")
rbac.nav("Approvals", url_name="customers:approval_list", permission=APPROVE, order=210,
         key="p")
