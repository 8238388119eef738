"""The permission registry: every permission and navigation entry is declared here, in code.

Public to every app above ``accounts``: an app declares its permissions in its own
``permissions.py`` with :func:`declare` (and which built-in roles hold them), and its pages in the
navigation with :func:`nav`. ``docs/permissions.md`` is generated from this registry
(``safeguard permissions --markdown``). Built-in roles take their permissions from the registry at
run time, so they can never drift from the code; custom roles store theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

# Markers for routes that need no named permission. Every route must carry one of these or a
# registered permission (deny by default, checked by tests/accounts/test_deny_by_default.py).
PUBLIC = "@public"  # anyone, signed in or not (login page, health probes)
AUTHENTICATED = "@authenticated"  # any signed-in staff user who passed MFA (own profile, dashboard)
MARKERS = frozenset({PUBLIC, AUTHENTICATED})


@dataclass(frozen=True)
class Permission:
    """A named capability. ``read_only`` ones change nothing and go to the auditor role."""

    codename: str
    label: str
    description: str
    read_only: bool
    roles: frozenset[str]


@dataclass(frozen=True)
class RoleSpec:
    """A built-in role: its permissions are every registered permission naming it."""

    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_name: str
    permission: str
    order: int


BUILTIN_ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("agent", "Agent", "Handles cases in their queues through masked views."),
    RoleSpec("supervisor", "Supervisor", "Leads a team of agents; approves sensitive requests."),
    RoleSpec("security_analyst", "Security analyst", "Watches the audit log, triages alerts."),
    RoleSpec("privacy_officer", "Privacy officer", "Runs the data inventory, retention and DSRs."),
    RoleSpec("compliance_manager", "Compliance manager", "Owns frameworks, controls, evidence."),
    RoleSpec("auditor", "Auditor", "Reads everything an audit needs; changes nothing."),
    RoleSpec("administrator", "Administrator", "Manages staff accounts, roles and settings."),
)
ROLE_SLUGS = frozenset(r.slug for r in BUILTIN_ROLES)

_registry: dict[str, Permission] = {}
_nav: dict[str, NavEntry] = {}


def declare(
    codename: str,
    label: str,
    description: str = "",
    *,
    roles: tuple[str, ...] = (),
    read_only: bool = False,
) -> str:
    """Register a permission once and return its codename; read-only ones go to auditors too."""
    if "." not in codename or codename in MARKERS:
        raise ValueError(f"permission codename must be 'app.action', got {codename!r}")
    unknown = set(roles) - ROLE_SLUGS
    if unknown:
        raise ValueError(f"unknown built-in roles {sorted(unknown)} for {codename}")
    holders = frozenset(roles) | ({"auditor"} if read_only else frozenset())
    perm = Permission(codename, label, description, read_only, holders)
    existing = _registry.get(codename)
    if existing is not None and existing != perm:
        raise ValueError(f"permission {codename} declared twice with different definitions")
    _registry[codename] = perm
    return codename


def nav(label: str, *, url_name: str, permission: str, order: int = 100) -> None:
    """Add a page to the main navigation, shown only to users holding ``permission``."""
    _nav[url_name] = NavEntry(label, url_name, permission, order)


def all_permissions() -> list[Permission]:
    """Every declared permission, sorted by codename."""
    return sorted(_registry.values(), key=lambda p: p.codename)


def get(codename: str) -> Permission | None:
    return _registry.get(codename)


def is_known(codename: str) -> bool:
    """True for a registered permission or one of the route markers."""
    return codename in _registry or codename in MARKERS


def builtin_role_permissions(slug: str) -> frozenset[str]:
    """The permissions a built-in role holds, straight from the registry."""
    return frozenset(p.codename for p in _registry.values() if slug in p.roles)


def nav_entries() -> list[NavEntry]:
    return sorted(_nav.values(), key=lambda n: (n.order, n.label))


def permissions_markdown() -> str:
    """The generated docs/permissions.md: every permission and which built-in roles hold it."""
    lines = [
        "# Permissions",
        "",
        "Generated from the registry by `safeguard permissions --markdown > docs/permissions.md`;",
        "do not edit by hand. Every URL and API operation declares one of these, or `@public` /",
        "`@authenticated` (deny by default, R-OPS-8).",
        "",
        "## Built-in roles",
        "",
        "| role | purpose |",
        "|---|---|",
    ]
    lines += [f"| `{r.slug}` {r.name} | {r.description} |" for r in BUILTIN_ROLES]
    lines += ["", "## Permissions", "", "| permission | what it allows | read-only | roles |",
              "|---|---|---|---|"]
    for p in all_permissions():
        roles = ", ".join(r.slug for r in BUILTIN_ROLES if r.slug in p.roles) or "—"
        text = p.label + (f": {p.description}" if p.description else "")
        lines.append(f"| `{p.codename}` | {text} | {'yes' if p.read_only else 'no'} | {roles} |")
    return "\n".join(lines) + "\n"
