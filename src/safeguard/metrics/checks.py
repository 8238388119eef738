"""System checks of the metrics app (ids safeguard.E560-E569; docs/metrics.md, docs/deploy.md).

E560 (always): a KPI target setting is malformed. E561 (deploy): security.txt's Expires has
passed. E562 (deploy): security.txt has no (or a malformed) Expires. E563 (always): the cost
model's data file (costmodel.yaml) is malformed or names a data category or a count that does
not exist. E564 (always): SAFEGUARD_COST_TRAINING_WINDOW_DAYS is out of range. E565 (always):
SAFEGUARD_KPI_TRAINING_WINDOW_DAYS is out of range. E567 (always): an unknown kind of review
pack is scheduled; E568 (always): the packs' day offset is out of range.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.utils import timezone


def register() -> None:
    checks.register(check_targets, "safeguard")
    checks.register(check_security_txt, checks.Tags.security, deploy=True)
    checks.register(check_cost_model, "safeguard")
    checks.register(check_cost_settings, "safeguard")
    checks.register(check_review_packs, "safeguard")


def check_cost_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E564/E565: the training-hours windows of the cost model and of the KPI are between 1 and
    3660 days."""
    from django.conf import settings

    errors: list[checks.CheckMessage] = []
    for name, check_id in (("SAFEGUARD_COST_TRAINING_WINDOW_DAYS", "safeguard.E564"),
                           ("SAFEGUARD_KPI_TRAINING_WINDOW_DAYS", "safeguard.E565")):
        days = getattr(settings, name)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
            errors.append(checks.Error(f"{name} must be 1..3660 days, got {days!r}",
                                       hint="docs/configuration.md (metrics)", id=check_id))
    return errors


def check_cost_model(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E563: costmodel.yaml parses, its defaults are in range, and every record class names
    categories of the privacy taxonomy and a count the metrics app knows."""
    from safeguard.metrics import cost_selectors, costmodel
    from safeguard.privacy import inventory

    hint = "Fix src/safeguard/metrics/costmodel.yaml (docs/metrics.md, cost model)."
    cost_selectors.spec.cache_clear()
    try:
        spec = cost_selectors.spec()
    except (costmodel.InputError, KeyError, TypeError, ValueError, OSError) as exc:
        return [checks.Error(f"costmodel.yaml: {exc}", hint=hint, id="safeguard.E563")]
    problems = []
    known = inventory.taxonomy()
    for rc in spec.record_classes:
        problems += [f"record class {rc.key!r} names unknown data category {c!r}"
                     for c in rc.categories if c not in known]
        if rc.count not in cost_selectors.COUNTS:
            problems.append(f"record class {rc.key!r} names unknown count {rc.count!r}")
    return [checks.Error(f"costmodel.yaml: {p}", hint=hint, id="safeguard.E563")
            for p in problems]


def check_targets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E560: every KPI target setting is well formed (a number, or a band low <= high)."""
    from safeguard.metrics import kpis

    return [checks.Error(p, hint="Fix SAFEGUARD_KPI_TARGETS / SAFEGUARD_KPI_* (docs/"
                         "configuration.md).", id="safeguard.E560")
            for p in kpis.target_problems()]


def check_security_txt(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E561: Expires has passed; E562: no Expires, or a malformed one."""
    from safeguard.metrics import securitytxt

    hint = "Set SAFEGUARD_SECURITY_TXT_EXPIRES (docs/metrics.md, security.txt)."
    try:
        expires = securitytxt.expires_setting()
    except ValueError:
        return [checks.Error("security.txt: SAFEGUARD_SECURITY_TXT_EXPIRES is not an ISO 8601 "
                             "date and time (setting: SAFEGUARD_SECURITY_TXT_EXPIRES)",
                             hint=hint, id="safeguard.E562")]
    if expires is None:
        return [checks.Error("security.txt has no Expires (setting: "
                             "SAFEGUARD_SECURITY_TXT_EXPIRES)", hint=hint, id="safeguard.E562")]
    if expires <= timezone.now():
        return [checks.Error(f"security.txt expired on {expires.isoformat()} (setting: "
                             "SAFEGUARD_SECURITY_TXT_EXPIRES)",
                             hint="Review the file's contents and set a new date, less than a "
                             "year ahead.", id="safeguard.E561")]
    # The contacts are set in the running application (Staff -> Organisation) after the first
    # deploy; until then the file answers 404 and the KPI/trust docs say so. Not a deploy error.
    return []


def check_review_packs(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """E567: SAFEGUARD_REVIEW_PACKS_SCHEDULED names an unknown kind; E568: the day offset is
    outside 0..27 (docs/metrics.md, Archive)."""
    from safeguard.metrics import archive

    return [checks.Error(p, hint="docs/metrics.md, review-pack archive",
                         id="safeguard.E568" if "OFFSET" in p else "safeguard.E567")
            for p in archive.schedule_problems()]
