"""System checks of the separation-of-duties table (R-OPS-8): it names only registered
permissions and no built-in role breaks it (a broken row would refuse every grant of that role,
or worse, go unnoticed)."""

from __future__ import annotations

from typing import Any

from django.core import checks


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


def register() -> None:
    checks.register(conflict_table_is_sound)
