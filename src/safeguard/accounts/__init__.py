"""Staff accounts: users, roles and permissions (RBAC), MFA enforcement, step-up, sessions, API
tokens, and the organisation's settings (R-OPS-1, R-OPS-8, R-WORK-4, R-ORG-1, R-KPI-8)."""
