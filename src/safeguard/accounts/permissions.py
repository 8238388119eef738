"""Permissions and navigation declared by the accounts app (R-OPS-8)."""

from safeguard.accounts import rbac

USERS_VIEW = rbac.declare(
    "accounts.view_users", "See staff users, their roles and effective permissions",
    roles=("administrator",), read_only=True,
)
USERS_MANAGE = rbac.declare(
    "accounts.manage_users", "Create staff users, grant and revoke roles, disable leavers",
    roles=("administrator",),
)
ROLES_MANAGE = rbac.declare(
    "accounts.manage_roles", "Create and edit custom roles", roles=("administrator",),
)
TOKENS_MANAGE = rbac.declare(
    "accounts.manage_tokens", "Issue and revoke API tokens for integrations",
    roles=("administrator",),
)
SCIM_PROVISION = rbac.declare(
    "accounts.scim_provision",
    "Provision staff over SCIM 2.0: create, change and disable users, assign mapped roles",
    "Held by the SCIM service account's tokens (docs/scim.md); administrators hold it so they "
    "can issue such a token.",
    roles=("administrator",),
)
ORG_VIEW = rbac.declare(
    "org.view", "See the organisation settings (DPO, security hotline)",
    roles=("administrator", "compliance_manager", "privacy_officer"), read_only=True,
)
ORG_MANAGE = rbac.declare(
    "org.manage", "Change the organisation settings", roles=("administrator",),
)

rbac.nav("Dashboard", url_name="ops:dashboard", permission=rbac.AUTHENTICATED, order=0,
         key="h")
rbac.nav("Staff", url_name="accounts:user_list", permission=USERS_VIEW, order=900)
rbac.nav("Grant requests", url_name="accounts:grant_requests", permission=USERS_MANAGE,
         order=905)
rbac.nav("Roles", url_name="accounts:role_list", permission=USERS_VIEW, order=910)
rbac.nav("API tokens", url_name="accounts:token_list", permission=TOKENS_MANAGE, order=920)
rbac.nav("SCIM provisioning", url_name="accounts:scim_tokens", permission=TOKENS_MANAGE,
         order=925)
rbac.nav("Organisation", url_name="accounts:org", permission=ORG_VIEW, order=930)

# Access reviews declare theirs in their own module (decision 0128).
from safeguard.accounts import review_permissions  # noqa: E402, F401
