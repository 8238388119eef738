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
    sensitive: bool = False  # granting it needs a second administrator (four eyes, R-OPS-8)


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
    key: str = ""  # the keyboard shortcut "g <key>" (issue 15); "" for none


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
    sensitive: bool = False,
) -> str:
    """Register a permission once and return its codename; read-only ones go to auditors too;
    ``sensitive`` ones are granted only with a second administrator's approval (four eyes)."""
    if "." not in codename or codename in MARKERS:
        raise ValueError(f"permission codename must be 'app.action', got {codename!r}")
    unknown = set(roles) - ROLE_SLUGS
    if unknown:
        raise ValueError(f"unknown built-in roles {sorted(unknown)} for {codename}")
    holders = frozenset(roles) | ({"auditor"} if read_only else frozenset())
    perm = Permission(codename, label, description, read_only, holders, sensitive)
    existing = _registry.get(codename)
    if existing is not None and existing != perm:
        raise ValueError(f"permission {codename} declared twice with different definitions")
    _registry[codename] = perm
    return codename


def nav(label: str, *, url_name: str, permission: str, order: int = 100, key: str = "") -> None:
    """Add a page to the main navigation, shown only to users holding ``permission``; ``key``
    is its keyboard shortcut (``g`` then the key), one lower-case letter, unique."""
    if key and (len(key) != 1 or not key.islower()
                or any(e.key == key and e.url_name != url_name for e in _nav.values())):
        raise ValueError(f"nav shortcut for {url_name} must be one unused lower-case letter, "
                         f"got {key!r}")
    _nav[url_name] = NavEntry(label, url_name, permission, order, key)


def all_permissions() -> list[Permission]:
    """Every declared permission, sorted by codename."""
    return sorted(_registry.values(), key=lambda p: p.codename)


def get(codename: str) -> Permission | None:
    return _registry.get(codename)


def is_known(codename: str) -> bool:
    """True for a registered permission or one of the route markers."""
    return codename in _registry or codename in MARKERS


def sensitive_permissions() -> frozenset[str]:
    """Permissions whose grant needs a second administrator's approval (four eyes)."""
    return frozenset(p.codename for p in _registry.values() if p.sensitive)


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
    lines += ["", "## Permissions", "",
              "*Sensitive* permissions are granted only through a grant request that a second",
              "administrator approves with a fresh second factor (four eyes, R-OPS-8).", "",
              "| permission | what it allows | read-only | sensitive | roles |",
              "|---|---|---|---|---|"]
    for p in all_permissions():
        roles = ", ".join(r.slug for r in BUILTIN_ROLES if r.slug in p.roles) or "—"
        text = p.label + (f": {p.description}" if p.description else "")
        lines.append(f"| `{p.codename}` | {text} | {'yes' if p.read_only else 'no'} | "
                     f"{'yes' if p.sensitive else 'no'} | {roles} |")
    lines += ["", "## Separation of duties", "",
              "Permission sets that one person must not hold together (R-OPS-8, R-WORK-4). A",
              "grant, a custom role's definition, or an edit of a custom role that would give",
              "anyone both sides of a row is refused. Nobody grants a role to themselves.", "",
              "| conflict | one side | other side | why |", "|---|---|---|---|"]
    for c in CONFLICTS:
        lines.append(f"| `{c.name}` | {', '.join(f'`{x}`' for x in sorted(c.left))} | "
                     f"{', '.join(f'`{x}`' for x in sorted(c.right))} | {c.why} |")
    lines += ["", *PER_REQUEST_RULES]
    return "\n".join(lines) + "\n"


# --- separation of duties (R-OPS-8) -----------------------------------------------------------

@dataclass(frozen=True)
class Conflict:
    """Two permission sets one person must not hold together: any of ``left`` with any of
    ``right``."""

    name: str
    left: frozenset[str]
    right: frozenset[str]
    why: str


_ACCESS_ADMIN = frozenset({"accounts.manage_users", "accounts.manage_roles",
                           "accounts.manage_tokens", "accounts.scim_provision"})

# The declared conflict table: data, checked at every grant and role edit, and by the system
# check safeguard.E120/E121 (every codename registered; no built-in role breaks a row).
CONFLICTS: tuple[Conflict, ...] = (
    Conflict("access-admin/detokenize", _ACCESS_ADMIN, frozenset({"protection.detokenize"}),
             "whoever hands out access could hand themselves the card numbers"),
    Conflict("key-management/detokenize", frozenset({"protection.keys_manage"}),
             frozenset({"protection.detokenize"}),
             "whoever controls the keys must not also read the data they protect"),
    Conflict("access-admin/audit-review", _ACCESS_ADMIN,
             frozenset({"audit.view", "audit.verify"}),
             "access changes are reviewed in the audit log by someone who cannot make them"),
    Conflict("access-admin/approve", _ACCESS_ADMIN, frozenset({"customers.approve"}),
             "whoever hands out access must not also approve customers' sensitive changes"),
)

# Rules of the same kind that hold per request rather than per permission set; listed in the
# generated page so the table is read with them.
PER_REQUEST_RULES = (
    ("Requesting and approving in the same flow is separated per request, not per permission: "
    "a supervisor both requests and approves customers' sensitive changes, but never decides "
    "their own request (`customers.approve`); an administrator both requests and approves "
    "grants of sensitive permissions, but never approves their own grant request, nor one "
    "naming themselves."),
)


def conflicts_in(codenames: frozenset[str] | set[str]) -> list[Conflict]:
    """The declared conflicts a set of permissions breaks (empty when it breaks none)."""
    return [c for c in CONFLICTS
            if not c.left.isdisjoint(codenames) and not c.right.isdisjoint(codenames)]
