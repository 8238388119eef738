"""The automated checks: functions over live state returning a status and evidence (R-REG-1).

Each check reads the owning app through its selectors (apps below governance) or through the
provider registry ``safeguard.web.providers`` (apps beside or above it, or not built yet). A
source that is absent gives ``unavailable`` with the reason, never ``pass``. Periods and
thresholds are settings (docs/configuration.md, "Governance"). The runner in ``services`` adds
the timestamp and stores every result.

Provider contract for ``control.<name>`` providers (offered by other apps, e.g. incidents'
``control.exercises_on_time``): a callable taking no argument and returning a mapping
``{"status": "pass" | "fail" | "not_applicable" | "unavailable", "evidence": str}``. Anything
else, or an exception, is ``unavailable`` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from safeguard.accounts import rbac
from safeguard.accounts import selectors as accounts
from safeguard.audit import selectors as audit
from safeguard.audit.siem import config as siem_config
from safeguard.audit.siem import selectors as siem
from safeguard.governance.contracts import CheckResult
from safeguard.governance.enums import ControlStatus
from safeguard.privacy import selectors as privacy
from safeguard.protection import selectors as protection
from safeguard.web import providers

logger = logging.getLogger(__name__)

PASS, FAIL = ControlStatus.PASS.value, ControlStatus.FAIL.value
NA, UNAVAILABLE = ControlStatus.NOT_APPLICABLE.value, ControlStatus.UNAVAILABLE.value

Check = Callable[[], CheckResult]
REGISTRY: dict[str, Check] = {}


def check(name: str) -> Callable[[Check], Check]:
    def wrap(fn: Check) -> Check:
        REGISTRY[name] = fn
        return fn
    return wrap


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h ago" if hours < 48 else f"{hours / 24:.0f} days ago"


def _names(emails: list[str], limit: int = 5) -> str:
    shown = ", ".join(emails[:limit])
    return shown + (f" and {len(emails) - limit} more" if len(emails) > limit else "")


# --- accounts: MFA and WebAuthn (R-OPS-1, R-KPI-8) ------------------------------------------

def _staff() -> list[Any]:
    return [u for u in accounts.user_list(include_disabled=False)
            if u.is_active and not u.is_service_account]


def privileged_users() -> list[Any]:
    """Active human staff holding any permission beyond the agent role (R-KPI-8)."""
    agent = rbac.builtin_role_permissions("agent")
    return [u for u in _staff() if accounts.user_permissions(user_id=u.id) - agent]


@check("mfa_all_staff")
def mfa_all_staff() -> CheckResult:
    staff = _staff()
    if not staff:
        return CheckResult(NA, "No active staff account exists.")
    missing = sorted(u.email for u in staff if not u.mfa_types)
    covered = len(staff) - len(missing)
    share = covered / len(staff)
    text = f"{covered} of {len(staff)} active staff have a second factor ({share:.0%})."
    if missing:
        return CheckResult(FAIL, f"{text} Without one: {_names(missing)}.")
    return CheckResult(PASS, text)


@check("webauthn_privileged")
def webauthn_privileged() -> CheckResult:
    privileged = privileged_users()
    if not privileged:
        return CheckResult(NA, "No active staff member holds a permission beyond the agent role.")
    missing = sorted(u.email for u in privileged if "webauthn" not in u.mfa_types)
    ok = len(privileged) - len(missing)
    text = f"{ok} of {len(privileged)} privileged staff have a WebAuthn authenticator."
    if missing:
        return CheckResult(FAIL, f"{text} Without one: {_names(missing)}.")
    return CheckResult(PASS, text)


# --- protection: keys and stored card numbers (R-OPS-2, R-OPS-4) ----------------------------

@check("key_rotation")
def key_rotation() -> CheckResult:
    status = protection.keys_status(jobs=0)
    if not status.initialised:
        return CheckResult(UNAVAILABLE, "Keys are not initialised (`safeguard keys init`).")
    if status.sealed:
        return CheckResult(UNAVAILABLE, "Keys are sealed: key ages need the unsealed key.")
    primaries = [k for k in status.keys if k.primary]
    if not primaries:
        return CheckResult(UNAVAILABLE, "No primary key could be read: "
                                        + "; ".join(status.warnings))
    policy = status.rotation_days
    unknown = [k.keyset for k in primaries if k.age_days is None]
    overdue = [f"{k.keyset} ({k.age_days} days)" for k in primaries if k.overdue]
    ages = ", ".join(f"{k.keyset} {k.age_days} days" for k in primaries
                     if k.age_days is not None)
    text = f"Primary key ages: {ages or 'none known'}; rotation policy {policy} days."
    if overdue:
        return CheckResult(FAIL, f"{text} Overdue: {', '.join(overdue)}.")
    if unknown:
        return CheckResult(FAIL, f"{text} Creation date unknown for: {', '.join(unknown)}.")
    return CheckResult(PASS, text)


@check("no_pan_at_rest")
def no_pan_at_rest() -> CheckResult:
    run = protection.rescan_latest()
    if run is None:
        return CheckResult(FAIL, "No stored-data rescan has run (`safeguard protection rescan`).")
    if run.status != "done" or run.finished_at is None:
        return CheckResult(FAIL, f"The latest rescan (#{run.id}) is {run.status}, not finished.")
    age = timezone.now() - run.finished_at
    limit = timedelta(days=settings.SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS)
    left = [f for f in run.findings if not f.fixed]
    text = (f"Rescan #{run.id} finished {_ago(age)}: {run.scanned} values scanned, "
            f"{len(run.findings)} card number(s) found, {len(left)} left in place")
    if left:
        where = sorted({f"{f.model}.{f.field}" for f in left})
        return CheckResult(FAIL, f"{text} ({', '.join(where[:5])}; run with --fix).")
    if age > limit:
        return CheckResult(FAIL, f"{text}; older than "
                                 f"{settings.SAFEGUARD_GOVERNANCE_RESCAN_MAX_DAYS} days.")
    return CheckResult(PASS, text + ".")


# --- audit: verification, signed heads, SIEM forwarding -------------------------------------

@check("audit_verified")
def audit_verified() -> CheckResult:
    run = audit.verification_latest()
    if run is None:
        return CheckResult(FAIL, "The audit log has never been verified (`safeguard audit "
                                 "verify`).")
    finished = run.finished_at or run.started_at
    age = timezone.now() - finished
    text = (f"Last verification finished {_ago(age)}: {run.events_checked} events and "
            f"{run.heads_checked} heads checked")
    if not run.ok:
        bad = f" first bad seq {run.first_bad_seq}" if run.first_bad_seq else ""
        return CheckResult(FAIL, f"{text}; it FAILED{bad} ({len(run.problems)} problem(s)).")
    if age > timedelta(hours=settings.SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS):
        return CheckResult(FAIL, f"{text}; older than "
                                 f"{settings.SAFEGUARD_GOVERNANCE_VERIFY_MAX_HOURS} hours.")
    return CheckResult(PASS, text + ", no problem.")


@check("audit_heads_signed")
def audit_heads_signed() -> CheckResult:
    newest = audit.last_seq()
    head = audit.head_latest()
    if head is None:
        if newest == 0:
            return CheckResult(NA, "The audit log holds no event yet.")
        return CheckResult(FAIL, f"{newest} events and no signed tree head.")
    age = timezone.now() - head.signed_at
    unsigned = max(newest - head.size, 0)
    text = f"Newest signed head: size {head.size}, signed {_ago(age)}; {unsigned} event(s) after it"
    limit = timedelta(hours=settings.SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS)
    if unsigned and age > limit:
        return CheckResult(FAIL, f"{text}, unsigned for more than "
                                 f"{settings.SAFEGUARD_GOVERNANCE_HEAD_MAX_HOURS} hours.")
    return CheckResult(PASS, text + ".")


@check("siem_forwarding")
def siem_forwarding() -> CheckResult:
    configured = siem_config.configured_forwarders()
    if not configured:
        return CheckResult(FAIL, "No SIEM forwarder is configured (SAFEGUARD_SIEM_SINKS).")
    cursors = {c.name: c for c in siem.cursor_list()}
    newest = audit.last_seq()
    now = timezone.now()
    max_events = settings.SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_EVENTS
    max_age = timedelta(minutes=settings.SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES)
    parts, late = [], []
    for spec in configured:
        cur = cursors.get(spec.name)
        lag = cur.lag if cur else newest
        stale = bool(lag) and (cur is None or cur.updated_at is None
                               or now - cur.updated_at > max_age)
        when = f", moved {_ago(now - cur.updated_at)}" if cur and cur.updated_at else ""
        parts.append(f"{spec.name}: {lag} event(s) behind{when}")
        if lag > max_events or stale:
            late.append(spec.name)
    text = "; ".join(parts) + "."
    if late:
        return CheckResult(FAIL, f"{text} Late: {', '.join(late)} (limit {max_events} events "
                                 f"or {settings.SAFEGUARD_GOVERNANCE_SIEM_MAX_LAG_MINUTES} min).")
    return CheckResult(PASS, text)


# --- privacy: retention sweeps and DSRs (R-DATA-3, R-DATA-7) --------------------------------

@check("retention_sweeps")
def retention_sweeps() -> CheckResult:
    if not apps.is_installed("safeguard.privacy"):
        return CheckResult(UNAVAILABLE, "The privacy app is not installed.")
    runs = [r for r in privacy.sweep_list(limit=50) if not r.dry_run]
    done = [(r, r.finished_at) for r in runs if r.status == "finished" and r.finished_at]
    if not done:
        return CheckResult(FAIL, "No retention sweep has finished (dry runs do not count).")
    last, finished = done[0]
    age = timezone.now() - finished
    acted = sum(last.counts.values())
    text = (f"Sweep #{last.id} finished {_ago(age)}: {acted} record action(s), "
            f"{last.held} held")
    if age > timedelta(hours=settings.SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS):
        return CheckResult(FAIL, f"{text}; older than "
                                 f"{settings.SAFEGUARD_GOVERNANCE_SWEEP_MAX_HOURS} hours.")
    return CheckResult(PASS, text + ".")


@check("dsr_on_time")
def dsr_on_time() -> CheckResult:
    if not apps.is_installed("safeguard.privacy"):
        return CheckResult(UNAVAILABLE, "The privacy app is not installed.")
    days = settings.SAFEGUARD_GOVERNANCE_DSR_WINDOW_DAYS
    end = timezone.localdate()
    kpi = privacy.dsr_on_time(start=end - timedelta(days=days), end=end)
    text = (f"Last {days} days: {kpi.on_time} of {kpi.closed} requests closed on time; "
            f"{kpi.overdue_open} open past their due date.")
    if kpi.overdue_open or kpi.on_time < kpi.closed:
        return CheckResult(FAIL, text)
    if not kpi.closed:
        return CheckResult(NA, text)
    return CheckResult(PASS, text)


# --- apps beside or above governance, or not built: providers --------------------------------

def _from_provider(name: str, absent: str) -> CheckResult:
    provider = providers.get(name)
    if provider is None:
        return CheckResult(UNAVAILABLE, absent)
    try:
        with transaction.atomic():  # a provider's database error stays in its savepoint
            value = provider()
    except Exception as exc:  # noqa: BLE001 - a broken source is unavailable, never a crash
        logger.warning("governance.provider_failed", extra={"provider": name})
        return CheckResult(UNAVAILABLE, f"Provider {name} failed: {type(exc).__name__}.")
    status = value.get("status") if isinstance(value, Mapping) else None
    evidence = value.get("evidence") if isinstance(value, Mapping) else None
    if status not in ControlStatus.values or not isinstance(evidence, str) or not evidence:
        return CheckResult(UNAVAILABLE, f"Provider {name} returned no status and evidence.")
    return CheckResult(str(status), f"{evidence} (from {name})")


@check("detection_running")
def detection_running() -> CheckResult:
    if not apps.is_installed("safeguard.detection"):
        return CheckResult(UNAVAILABLE, "The detection app is not installed.")
    return _from_provider("control.detection_running",
                          "The detection app offers no control.detection_running provider.")


@check("incident_exercises")
def incident_exercises() -> CheckResult:
    return _from_provider("control.exercises_on_time",
                          "No source: the incidents app's control.exercises_on_time provider "
                          "is not registered.")


@check("access_reviews")
def access_reviews() -> CheckResult:
    return _from_provider("control.access_reviews_done",
                          "No source: the accounts app's control.access_reviews_done provider "
                          "is not registered.")


@check("backups_restored")
def backups_restored() -> CheckResult:
    return _from_provider("control.backups_restored",
                          "No source: the control.backups_restored provider (restore drills) "
                          "is not registered.")


@check("training_complete")
def training_complete() -> CheckResult:
    return _from_provider("control.training_complete",
                          "Not built yet: workforce training records (issue 13 section 3).")


@check("vulnerabilities_sla")
def vulnerabilities_sla() -> CheckResult:
    return _from_provider("control.vulnerabilities_within_sla",
                          "The vulnerability register's provider is not registered.")


def run(name: str) -> CheckResult:
    """Run one check by name; an unknown name or a crash is ``unavailable`` with the reason."""
    fn = REGISTRY.get(name)
    if fn is None:
        return CheckResult(UNAVAILABLE, f"No automated check named {name!r}.")
    try:
        # A savepoint: a database error inside one check rolls back to here and leaves the
        # connection usable for the next check (PostgreSQL aborts the whole transaction else).
        with transaction.atomic():
            return fn()
    except Exception as exc:  # one broken check must not stop the others
        logger.exception("governance.check_failed", extra={"check": name})
        return CheckResult(UNAVAILABLE, f"The check raised {type(exc).__name__}.")
