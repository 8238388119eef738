"""Deploy checks of the security-state store (``safeguard check --deploy``; R-OPS-1, R-OPS-8).

Sign-in lockout counters, used TOTP codes and webhook replay nonces live in the default cache.
An evicting or per-process cache lets an attacker flush them with ordinary requests, so a
deployment is refused unless that cache is the database store or Redis that never evicts.
Ids safeguard.E100-E119 belong to this module.

Also the separation-of-duties table (R-OPS-8): it names only registered permissions and
no built-in role breaks it (ids safeguard.E120-E121).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

DATABASE_STORE = "safeguard.accounts.securitystate.DatabaseSecurityStore"
REDIS_STORE = "django.core.cache.backends.redis.RedisCache"
KEY_FUNCTION = "safeguard.accounts.securitystate.hashed_key"


def redis_eviction_policy(location: str) -> str:
    """The ``maxmemory-policy`` of the Redis server at ``location`` (CONFIG GET)."""
    import redis

    client = redis.Redis.from_url(location, socket_connect_timeout=3, socket_timeout=3)
    try:
        reply: dict[str, Any] = client.config_get("maxmemory-policy")  # type: ignore[assignment]
    finally:
        client.close()
    return str(reply.get("maxmemory-policy", ""))


def security_state_store(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E100: the default cache is not a durable store; E101: Redis may evict; E102: Redis could
    not be asked; E103: cache keys are not keyed HMACs."""
    config = settings.CACHES.get("default", {})
    backend = str(config.get("BACKEND", ""))
    errors: list[checks.CheckMessage] = []
    if backend not in (DATABASE_STORE, REDIS_STORE):
        errors.append(checks.Error(
            f"Security state (sign-in lockout, used TOTP codes, webhook nonces) would live in "
            f"{backend or 'no cache'}, which can evict or forget entries.",
            hint="Leave CACHES to settings.py: SAFEGUARD_SECURITY_STATE_STORE=database (default) "
                 "or redis with maxmemory-policy noeviction (docs/deploy.md).",
            id="safeguard.E100"))
        return errors
    key_function = config.get("KEY_FUNCTION")
    if key_function not in (KEY_FUNCTION, None) and getattr(
            key_function, "__qualname__", "") != "hashed_key":
        errors.append(checks.Error(
            "Cache keys are not keyed HMACs: addresses or unkeyed hashes of them would be stored.",
            hint=f"Set CACHES['default']['KEY_FUNCTION'] to {KEY_FUNCTION!r}.",
            id="safeguard.E103"))
    if backend == REDIS_STORE:
        location = config.get("LOCATION")
        first = location[0] if isinstance(location, list | tuple) else str(location)
        try:
            policy = redis_eviction_policy(first)
        except Exception as exc:  # noqa: BLE001 - any failure to ask is reported, not raised
            errors.append(checks.Error(
                f"Could not read the Redis server's maxmemory-policy: {type(exc).__name__}.",
                hint="Make SAFEGUARD_REDIS_URL reachable and allow CONFIG GET, or use "
                     "SAFEGUARD_SECURITY_STATE_STORE=database.",
                id="safeguard.E102"))
        else:
            if policy != "noeviction":
                errors.append(checks.Error(
                    f"Redis runs with maxmemory-policy {policy or 'unknown'}: it may evict "
                    "lockout counters, used TOTP codes and webhook nonces.",
                    hint="Set maxmemory-policy noeviction in redis.conf (docs/deploy.md) or use "
                         "SAFEGUARD_SECURITY_STATE_STORE=database.",
                    id="safeguard.E101"))

    return errors


def conflict_table_is_sound(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """safeguard.E120: unknown codename in the conflict table; safeguard.E121: a built-in role
    holds both sides of a declared conflict."""
    from safeguard.accounts import rbac

    errors = []
    for conflict in rbac.CONFLICTS:
        unknown = sorted(p for p in conflict.left | conflict.right if rbac.get(p) is None)
        if unknown:
            errors.append(checks.Error(
                f"The separation-of-duties row {conflict.name} names unregistered permissions: "
                f"{', '.join(unknown)}.", hint="Fix accounts/rbac.py CONFLICTS.",
                id="safeguard.E120"))
    for spec in rbac.BUILTIN_ROLES:
        broken = rbac.conflicts_in(rbac.builtin_role_permissions(spec.slug))
        if broken:
            errors.append(checks.Error(
                f"The built-in role {spec.slug} breaks the separation of duties "
                f"({', '.join(c.name for c in broken)}).",
                hint="Move a permission to another role in the declaring permissions.py.",
                id="safeguard.E121"))
    return errors


def scim_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.Error]:
    """safeguard.E320-E323: the SCIM settings (docs/scim.md)."""
    from safeguard.accounts.scim.groupmap import GroupMapError, parse_group_roles

    errors = []
    try:
        parse_group_roles(settings.SAFEGUARD_SCIM_GROUP_ROLES)
    except GroupMapError as exc:
        errors.append(checks.Error(f"SAFEGUARD_SCIM_GROUP_ROLES: {exc}",
                                   hint='Write "Group name=role-slug;Other group=other-slug".',
                                   id="safeguard.E320"))
    if not 1 <= settings.SAFEGUARD_SCIM_MAX_RESULTS <= 1000:
        errors.append(checks.Error("SAFEGUARD_SCIM_MAX_RESULTS must be between 1 and 1000.",
                                   id="safeguard.E321"))
    if not 1 <= settings.SAFEGUARD_SCIM_TOKEN_DAYS <= settings.SAFEGUARD_API_TOKEN_MAX_DAYS:
        errors.append(checks.Error("SAFEGUARD_SCIM_TOKEN_DAYS must be between 1 and "
                                   "SAFEGUARD_API_TOKEN_MAX_DAYS.", id="safeguard.E322"))
    if not 1024 <= settings.SAFEGUARD_SCIM_MAX_BODY_BYTES <= 10 * 1024 * 1024:
        errors.append(checks.Error("SAFEGUARD_SCIM_MAX_BODY_BYTES must be between 1024 and "
                                   "10485760.", id="safeguard.E323"))
    return errors


def register() -> None:
    checks.register(security_state_store, checks.Tags.security, deploy=True)
    checks.register(conflict_table_is_sound)
    checks.register(scim_settings)
