"""Every write of the incidents app (R-IR-1, R-IR-2, R-IR-6, R-REG-3); each change is audited
inside the same transaction with the subject ``("incident", id)``, so the audit log is the
incident's timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts import services as account_services
from safeguard.accounts.contracts import AccountError
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.incidents import clocks, selectors
from safeguard.incidents.contracts import (
    ActionView,
    DelayView,
    IncidentError,
    IncidentNotFound,
    IncidentView,
    RoleView,
)
from safeguard.incidents.enums import (
    NEXT_STATE,
    Category,
    ContainmentKind,
    ExerciseKind,
    IncidentRole,
    ItemStatus,
    RetainerKind,
    RetestResult,
    Severity,
    State,
)
from safeguard.incidents.models import (
    ActionItem,
    ContainmentAction,
    DelayException,
    Exercise,
    ExerciseFinding,
    Incident,
    PostIncidentReview,
    Retainer,
    RoleAssignment,
    TimelineEntry,
)
from safeguard.protection import services as protection

# The timestamp each state sets when reached; the SLA stage it meets (selectors.SLA_MET_BY).
_STATE_STAMP = {
    State.TRIAGED: "triaged_at",
    State.CONTAINED: "contained_at",
    State.ERADICATED: "eradicated_at",
    State.RECOVERED: "recovered_at",
    State.CLOSED: "closed_at",
}


def _skew() -> timedelta:
    # Clocks of the machines people copy times from drift; a little future is not an error.
    return timedelta(minutes=settings.SAFEGUARD_INCIDENTS_CLOCK_SKEW_MINUTES)


def _subject(incident_id: int) -> tuple[str, object]:
    return ("incident", incident_id)


def _locked(incident_id: int) -> Incident:
    row = Incident.objects.select_for_update().filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    return row


def _aware(value: datetime, name: str) -> datetime:
    if timezone.is_naive(value):
        raise IncidentError(f"{name} must carry a time zone.")
    return value


def _text(value: str, *, field: str, limit: int, required: bool = True) -> str:
    cleaned = (value or "").strip()
    name = field.rsplit(".", maxsplit=1)[-1].replace("_", " ").capitalize()
    if required and not cleaned:
        raise IncidentError(f"{name} is required.")
    if len(cleaned) > limit:
        raise IncidentError(f"{name} is longer than {limit} characters.")
    return protection.screen(cleaned, field=field).text


def _jurisdictions(codes: Iterable[str]) -> list[str]:
    known = clocks.table()
    out = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    unknown = [c for c in out if c not in known]
    if unknown:
        raise IncidentError(f"Unknown jurisdiction(s): {', '.join(unknown)}; known: "
                            f"{', '.join(sorted(known))}.")
    return out


@transaction.atomic
def incident_open(
    *, actor: Actor, title: str, severity: str, category: str, aware_at: datetime,
    summary: str = "", jurisdictions: Iterable[str] = (), source_alert_id: int | None = None,
) -> IncidentView:
    """Open an incident in state detected; awareness starts every SLA and regulator clock.
    An alert opens at most one incident (the same id comes back the second time)."""
    if severity not in Severity.values:
        raise IncidentError(f"Unknown severity {severity!r}.")
    if category not in Category.values:
        raise IncidentError(f"Unknown category {category!r}.")
    aware_at = _aware(aware_at, "Awareness time")
    if aware_at > timezone.now() + _skew():
        raise IncidentError("Awareness cannot be in the future.")
    if source_alert_id is not None:
        existing = Incident.objects.filter(source_alert_id=source_alert_id).first()
        if existing is not None:
            return selectors.incident_get(incident_id=existing.id)
    row = Incident(
        title=_text(title, field="incidents.title", limit=200),
        summary=_text(summary, field="incidents.summary", limit=5000, required=False),
        severity=severity, category=category, aware_at=aware_at,
        jurisdictions=_jurisdictions(jurisdictions), source_alert_id=source_alert_id,
        opened_by=actor.label[:200])
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # the same alert opened concurrently
        other = Incident.objects.get(source_alert_id=source_alert_id)
        return selectors.incident_get(incident_id=other.id)
    audit.record(action="incident.opened", actor=actor, subject=_subject(row.id),
                 data={"severity": severity, "category": category,
                       "aware_at": aware_at.isoformat(), "jurisdictions": row.jurisdictions,
                       "alert": source_alert_id})
    from safeguard.incidents import checklists  # the playbook of its category (decision 0225)

    checklists.checklist_instantiate_on_open(actor=actor, incident_id=row.id)
    return selectors.incident_get(incident_id=row.id)


@transaction.atomic
def incident_advance(*, actor: Actor, incident_id: int, to_state: str) -> IncidentView:
    """Move an incident one step along detected → triaged → contained → eradicated →
    recovered → closed; any other move is refused (R-IR-1)."""
    row = _locked(incident_id)
    expected = NEXT_STATE.get(row.state)
    if expected is None or to_state != expected:
        allowed = f"only to {expected}" if expected else "no further (closed)"
        raise IncidentError(f"Incident {row.id} is {row.state}: it can move {allowed}.")
    if to_state == State.CLOSED and not RoleAssignment.objects.filter(
            incident=row, role=IncidentRole.COMMANDER).exists():
        raise IncidentError("Name an Incident Commander before closing.")
    if to_state == State.CLOSED:
        missing = selectors.review_missing(incident_id=row.id)
        if missing:
            raise IncidentError("The post-incident review is not complete: "
                                + "; ".join(missing) + ".")
    now = timezone.now()
    before = row.state
    row.state = to_state
    setattr(row, _STATE_STAMP[State(to_state)], now)
    row.save(update_fields=["state", _STATE_STAMP[State(to_state)], "updated_at"])
    audit.record(action="incident.state_changed", actor=actor, subject=_subject(row.id),
                 data={"from": before, "to": to_state})
    return selectors.incident_get(incident_id=row.id)


@transaction.atomic
def incident_set_jurisdictions(*, actor: Actor, incident_id: int,
                               jurisdictions: Iterable[str]) -> IncidentView:
    """Replace the affected jurisdictions (drives the notifications owed, R-REG-3)."""
    row = _locked(incident_id)
    codes = _jurisdictions(jurisdictions)
    before = list(row.jurisdictions)
    if codes != before:
        row.jurisdictions = codes
        row.save(update_fields=["jurisdictions", "updated_at"])
        audit.record(action="incident.jurisdictions_changed", actor=actor,
                     subject=_subject(row.id), data={"from": before, "to": codes})
    return selectors.incident_get(incident_id=row.id)


@transaction.atomic
def role_assign(*, actor: Actor, incident_id: int, role: str, user_id: int,
                note: str = "") -> RoleView:
    """Give an incident role to an active staff member; a current holder hands off (their row
    is ended and the hand-off recorded), R-IR-1."""
    row = _locked(incident_id)
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed.")
    if role not in IncidentRole.values:
        raise IncidentError(f"Unknown incident role {role!r}.")
    try:
        user = account_selectors.user_get(user_id=user_id)
    except AccountError as exc:
        raise IncidentError(f"No staff member {user_id}.") from exc
    if not user.is_active or user.is_service_account:
        raise IncidentError("Only an active person can hold an incident role.")
    clean_note = _text(note, field="incidents.role_note", limit=500, required=False)
    now = timezone.now()
    current = RoleAssignment.objects.filter(incident=row, role=role, ended_at__isnull=True).first()
    if current is not None and current.user_id == user_id:
        return selectors.role_view(current)
    if current is not None:
        current.ended_at = now
        current.save(update_fields=["ended_at"])
    new = RoleAssignment.objects.create(incident=row, role=role, user_id=user_id,
                                        assigned_at=now, assigned_by=actor.label[:200],
                                        note=clean_note)
    audit.record(action="incident.role_handed_off" if current else "incident.role_assigned",
                 actor=actor, subject=_subject(row.id),
                 data={"role": role, "user": user_id,
                       "from_user": current.user_id if current else None})
    return selectors.role_view(new)


@transaction.atomic
def timeline_add(*, actor: Actor, incident_id: int, at: datetime, text: str) -> int:
    """A manual timeline entry (screened free text); returns its id."""
    row = _locked(incident_id)
    at = _aware(at, "Time")
    if at > timezone.now() + _skew():
        raise IncidentError("A timeline entry cannot be in the future.")
    entry = TimelineEntry.objects.create(
        incident=row, at=at, text=_text(text, field="incidents.timeline", limit=5000),
        author=actor.label[:200])
    audit.record(action="incident.timeline_added", actor=actor, subject=_subject(row.id),
                 data={"entry": entry.id, "at": at.isoformat()})
    return entry.id


@transaction.atomic
def delay_record(
    *, actor: Actor, incident_id: int, starts_at: datetime, reason: str, evidence: str,
    jurisdiction: str = "", ends_at: datetime | None = None,
) -> DelayView:
    """Record a delay exception (a law-enforcement request): reason and evidence required;
    it pauses the notice clocks of ``jurisdiction`` (all when empty) — R-REG-3."""
    row = _locked(incident_id)
    starts_at = _aware(starts_at, "Start")
    if ends_at is not None and _aware(ends_at, "End") < starts_at:
        raise IncidentError("A delay cannot end before it starts.")
    if jurisdiction and jurisdiction not in row.jurisdictions:
        raise IncidentError(f"{jurisdiction} is not among the incident's jurisdictions.")
    delay = DelayException.objects.create(
        incident=row, jurisdiction=jurisdiction, starts_at=starts_at, ends_at=ends_at,
        reason=_text(reason, field="incidents.delay_reason", limit=2000),
        evidence=_text(evidence, field="incidents.delay_evidence", limit=2000),
        recorded_by=actor.label[:200])
    audit.record(action="incident.delay_recorded", actor=actor, subject=_subject(row.id),
                 data={"delay": delay.id, "jurisdiction": jurisdiction,
                       "starts_at": starts_at.isoformat(),
                       "ends_at": ends_at.isoformat() if ends_at else None})
    return selectors.delay_view(delay)


@transaction.atomic
def delay_end(*, actor: Actor, incident_id: int, delay_id: int, ends_at: datetime) -> DelayView:
    """End an open delay (law enforcement lifted it); the paused clocks run again."""
    _locked(incident_id)
    delay = DelayException.objects.select_for_update().filter(
        id=delay_id, incident_id=incident_id).first()
    if delay is None:
        raise IncidentNotFound(f"No delay {delay_id} on incident {incident_id}.")
    if delay.ends_at is not None:
        raise IncidentError("The delay has already ended.")
    if _aware(ends_at, "End") < delay.starts_at:
        raise IncidentError("A delay cannot end before it starts.")
    delay.ends_at = ends_at
    delay.save(update_fields=["ends_at"])
    audit.record(action="incident.delay_ended", actor=actor, subject=_subject(incident_id),
                 data={"delay": delay.id, "ends_at": ends_at.isoformat()})
    return selectors.delay_view(delay)


# --- containment: real services, at once, audited (R-IR-7) ------------------------------------

def _contained(*, actor: Actor, row: Incident, kind: str, target_id: int, label: str,
               reason: str) -> ActionView:
    action = ContainmentAction.objects.create(
        incident=row, kind=kind, target_id=target_id, target_label=label[:200],
        reason=reason, taken_at=timezone.now(), taken_by=actor.label[:200])
    audit.record(action="incident.containment_taken", actor=actor, subject=_subject(row.id),
                 data={"action": action.id, "kind": kind, "target": target_id})
    return selectors.action_view(action)


def _open_for_containment(incident_id: int) -> Incident:
    row = _locked(incident_id)
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed.")
    return row


@transaction.atomic
def contain_user_disable(*, actor: Actor, incident_id: int, user_id: int,
                         reason: str) -> ActionView:
    """Disable a staff user through accounts: inactive, every session ended, every API token
    revoked, all in this transaction — their next request fails."""
    row = _open_for_containment(incident_id)
    clean = _text(reason, field="incidents.containment_reason", limit=200)
    try:
        user = account_services.user_disable(actor=actor, user_id=user_id,
                                             reason=f"incident {row.id}: {clean}")
    except AccountError as exc:
        raise IncidentError(exc.detail) from exc
    return _contained(actor=actor, row=row, kind=ContainmentKind.USER_DISABLE,
                      target_id=user_id, label=user.email, reason=clean)


@transaction.atomic
def contain_token_revoke(*, actor: Actor, incident_id: int, token_id: int,
                         reason: str) -> ActionView:
    """Revoke one API token through accounts, at once (not reversible: issue a new one)."""
    row = _open_for_containment(incident_id)
    clean = _text(reason, field="incidents.containment_reason", limit=200)
    token = next((t for t in account_selectors.token_list() if t.id == token_id), None)
    if token is None:
        raise IncidentError(f"No API token {token_id}.")
    account_services.token_revoke(actor=actor, token_id=token_id,
                                  reason=f"incident {row.id}: {clean}")
    return _contained(actor=actor, row=row, kind=ContainmentKind.TOKEN_REVOKE,
                      target_id=token_id, label=f"{token.prefix} ({token.user_email})",
                      reason=clean)


@transaction.atomic
def containment_reverse(*, actor: Actor, incident_id: int, action_id: int,
                        reason: str = "") -> ActionView:
    """Undo a reversible containment step: re-enable a user (their old sessions and tokens stay
    void), lift an export freeze, release a queue's forced step-up. A revoked token or a started
    key rotation cannot come back. Who, when and why are recorded on the action."""
    from safeguard.incidents import containment

    _locked(incident_id)
    action = ContainmentAction.objects.select_for_update().filter(
        id=action_id, incident_id=incident_id).first()
    if action is None:
        raise IncidentNotFound(f"No containment action {action_id} on incident {incident_id}.")
    if action.reversed_at is not None:
        raise IncidentError("That action has already been reversed.")
    clean = _text(reason, field="incidents.containment_reason", limit=500, required=False)
    if action.kind == ContainmentKind.USER_DISABLE:
        try:
            account_services.user_enable(actor=actor, user_id=action.target_id)
        except AccountError as exc:
            raise IncidentError(exc.detail) from exc
    else:
        containment.reverse_effect(actor=actor, kind=action.kind, target_id=action.target_id,
                                   reason=clean)
    action.reversed_at = timezone.now()
    action.reversed_by = actor.label[:200]
    action.reversal_reason = clean
    action.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
    audit.record(action="incident.containment_reversed", actor=actor,
                 subject=_subject(incident_id), data={"action": action.id, "kind": action.kind})
    return selectors.action_view(action)


# --- SLA notifications (R-IR-2) -------------------------------------------------------------

def _recipients(incident_id: int) -> list[str]:
    ids = RoleAssignment.objects.filter(incident_id=incident_id, ended_at__isnull=True
                                        ).values_list("user_id", flat=True)
    emails = []
    for uid in sorted(set(ids)):
        user = account_selectors.user_get(user_id=uid)
        if user.is_active:
            emails.append(user.email)
    return emails


def sla_notify(*, now: datetime | None = None) -> int:
    """Warn an open incident's role holders before each unmet SLA deadline
    (SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES) and again at breach; each notice once per stage
    (marked in the same transaction that sends it, so a rerun duplicates nothing). Returns the
    number of notices sent."""
    now = now or timezone.now()
    sent = 0
    open_ids = list(Incident.objects.exclude(state=State.CLOSED).values_list("id", flat=True))
    for incident_id in open_ids:
        with transaction.atomic():
            row = Incident.objects.select_for_update().get(id=incident_id)
            view = selectors.incident_view(row)
            notified = {k: list(v) for k, v in (row.sla_notified or {}).items()}
            due_now: list[tuple[str, str, clocks.SlaClock]] = []
            for clock in selectors.sla_for(view, now=now):
                if clock.met_at is not None or clock.remaining is None:
                    continue
                kinds = notified.setdefault(clock.stage, [])
                if clock.breached and "breach" not in kinds:
                    due_now.append((clock.stage, "breach", clock))
                elif (not clock.breached and "warn" not in kinds
                      and clock.remaining.total_seconds()
                      <= settings.SAFEGUARD_INCIDENTS_SLA_WARN_MINUTES * 60):
                    due_now.append((clock.stage, "warn", clock))
            if not due_now:
                continue
            to = _recipients(row.id)
            for stage, kind, clock in due_now:
                notified[stage].append(kind)
                subject = (f"[Incident {row.id}] {stage} SLA "
                           f"{'breached' if kind == 'breach' else 'due soon'}")
                body = (f"Incident {row.id} ({view.severity_label}, {view.state_label}): "
                        f"the {stage} deadline is {clock.due.isoformat()}.\n")
                if to:
                    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, to).send()
                audit.record(action=f"incident.sla_{'breached' if kind == 'breach' else 'warned'}",
                             actor=Actor.system("incidents.sla_notify"),
                             subject=_subject(row.id),
                             data={"stage": stage, "due": clock.due.isoformat(),
                                   "recipients": len(to)})
                sent += 1
            row.sla_notified = notified
            row.save(update_fields=["sla_notified"])
    return sent


# --- providers (registered in AppConfig.ready) ---------------------------------------------

# Sigma levels of a detection alert -> the severity an incident opened from it starts with
# (triage changes it): critical SEV1, high SEV2, medium SEV3, low and informational SEV4.
_ALERT_SEVERITY = {"critical": Severity.SEV1, "high": Severity.SEV2, "medium": Severity.SEV3}


def open_from_alert(*, alert: Any, principal: Any) -> str:
    """Provider ``incidents.open_from_alert``, the detection alert page's "Open an incident"
    (docs/detection.md, "From an alert to an incident"): opens the incident for ``alert`` (an
    ``AlertView``) — or finds the one already opened from it — and returns its page's path.

    Awareness is when the alert was raised (the clocks run from when the organisation knew);
    the severity follows the alert's level and the category is a data breach until triage says
    otherwise. Only a holder of ``incidents.manage`` may open one (403 otherwise)."""
    from django.urls import reverse

    from safeguard.incidents import permissions as perms
    from safeguard.web.errors import PermissionDenied

    if perms.INCIDENTS_MANAGE not in principal.permissions:
        raise PermissionDenied("Opening an incident needs the incidents.manage permission.")
    actor = Actor(kind="user", id=str(principal.user_id), label=principal.email)
    view = incident_open(
        actor=actor, title=f"Alert {int(alert.id)}: {alert.rule_title}"[:200],
        severity=_ALERT_SEVERITY.get(alert.severity, Severity.SEV4),
        category=Category.DATA_BREACH, aware_at=min(alert.created_at, timezone.now()),
        summary=alert.explanation, source_alert_id=int(alert.id))
    return reverse("incidents:detail", args=[view.id])


# --- regulator notice (GDPR Art. 33(3), R-IR-6) ----------------------------------------------

@transaction.atomic
def regulator_notice_render(
    *, actor: Actor, incident_id: int, jurisdiction: str, approx_subjects: int,
    approx_records: int, data_categories: str, likely_consequences: str,
    delay_reasons: str = "",
) -> bytes:
    """The regulator notice as a PDF with the contents of GDPR Art. 33(3): nature of the breach,
    categories and approximate numbers of subjects and records, the DPO's contact, likely
    consequences, measures taken (the containment log), and — when sent after the deadline —
    the reasons for the delay (Art. 33(1)). Free text is screened; rendering is audited."""
    from safeguard.privacy.pdf import render_pdf

    view = selectors.incident_get(incident_id=incident_id)
    if jurisdiction not in view.jurisdictions:
        raise IncidentError(f"{jurisdiction} is not among the incident's jurisdictions.")
    if approx_subjects < 0 or approx_records < 0:
        raise IncidentError("Numbers of subjects and records cannot be negative.")
    notice = next(n for n in selectors.notices_owed(incident_id=incident_id)
                  if n.jurisdiction == jurisdiction and n.regulator)
    now = timezone.now()
    late = notice.due is not None and now > notice.due
    reasons = _text(delay_reasons, field="incidents.delay_reasons", limit=2000, required=late)
    context = {
        "i": view, "notice": notice, "org": account_selectors.organisation(), "now": now,
        "late": late, "delay_reasons": reasons,
        "approx_subjects": approx_subjects, "approx_records": approx_records,
        "data_categories": _text(data_categories, field="incidents.notice_categories",
                                 limit=2000),
        "likely_consequences": _text(likely_consequences, field="incidents.notice_consequences",
                                     limit=4000),
        "actions": selectors.action_list(incident_id=incident_id),
        "jurisdiction": clocks.jurisdiction_row(jurisdiction),
    }
    body = render_pdf("incidents/pdf_regulator_notice.html", context)
    audit.record(action="incident.notice_rendered", actor=actor, subject=_subject(incident_id),
                 data={"jurisdiction": jurisdiction, "recipient": notice.recipient,
                       "late": late, "bytes": len(body)})
    return body


# --- Post-incident review, exercises, retainers (R-IR-7, R-IR-3, R-IR-4; decision 0224) -------


def _open_incident_for_review(incident_id: int) -> Incident:
    row = _locked(incident_id)
    if row.state == State.CLOSED:
        raise IncidentError("The incident is closed: its review is final.")
    return row


@transaction.atomic
def review_save(*, actor: Actor, incident_id: int, root_cause: str, lessons: str,
                playbook_updated: bool, playbook_reference: str = "",
                retest_on: date | None = None, retest_result: str = "") -> None:
    """Write the post-incident review of an incident not yet closed (R-IR-7). A playbook update
    names where; a re-test has both a date (not in the future) and a result."""
    row = _open_incident_for_review(incident_id)
    reference = _text(playbook_reference, field="incidents.playbook_reference", limit=300,
                      required=False)
    if playbook_updated and not reference:
        raise IncidentError("Say which playbook was updated (its reference).")
    if retest_result and retest_result not in RetestResult.values:
        raise IncidentError(f"Unknown re-test result {retest_result!r}.")
    if bool(retest_on) != bool(retest_result):
        raise IncidentError("A re-test needs both its date and its result.")
    if retest_on is not None and retest_on > timezone.localdate():
        raise IncidentError("The re-test date cannot be in the future.")
    values = {
        "root_cause": _text(root_cause, field="incidents.root_cause", limit=5000,
                            required=False),
        "lessons": _text(lessons, field="incidents.lessons", limit=5000, required=False),
        "playbook_updated": bool(playbook_updated), "playbook_reference": reference,
        "retest_on": retest_on, "retest_result": retest_result or "",
        "updated_by": actor.label[:200]}
    PostIncidentReview.objects.update_or_create(incident=row, defaults=values)
    audit.record(action="incident.review_saved", actor=actor, subject=_subject(row.id),
                 data={"playbook_updated": values["playbook_updated"],
                       "playbook_reference": reference,
                       "retest_on": retest_on.isoformat() if retest_on else None,
                       "retest_result": values["retest_result"]})


def _owner_due(owner: str, due_on: date | None) -> tuple[str, date]:
    clean = _text(owner, field="incidents.item_owner", limit=200)
    if due_on is None:
        raise IncidentError("A due date is required.")
    return clean, due_on


@transaction.atomic
def action_item_add(*, actor: Actor, incident_id: int, text: str, owner: str,
                    due_on: date | None) -> int:
    """Add an action item to an incident's review (R-IR-7)."""
    row = _open_incident_for_review(incident_id)
    clean_owner, due = _owner_due(owner, due_on)
    item = ActionItem.objects.create(
        incident=row, text=_text(text, field="incidents.action_item", limit=1000),
        owner=clean_owner, due_on=due, created_by=actor.label[:200])
    audit.record(action="incident.action_item_added", actor=actor, subject=_subject(row.id),
                 data={"item": item.id, "due_on": due.isoformat()})
    return item.id


def _resolve(item: ActionItem | ExerciseFinding, *, actor: Actor, status: str,
             resolution: str) -> tuple[str, str]:
    if item.status != ItemStatus.OPEN:
        raise IncidentError(f"Item {item.id} is already {item.status}.")
    if status not in (ItemStatus.CLOSED, ItemStatus.ACCEPTED):
        raise IncidentError("An item is resolved as closed or accepted.")
    note = _text(resolution, field="incidents.item_resolution", limit=1000,
                 required=status == ItemStatus.ACCEPTED)
    before = item.status
    item.status, item.resolution = status, note
    item.resolved_at, item.resolved_by = timezone.now(), actor.label[:200]
    item.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])
    return before, note


@transaction.atomic
def action_item_resolve(*, actor: Actor, incident_id: int, item_id: int, status: str,
                        resolution: str = "") -> None:
    """Close an action item (done) or accept it explicitly (with the reason) (R-IR-7)."""
    row = _open_incident_for_review(incident_id)
    item = ActionItem.objects.select_for_update().filter(id=item_id, incident=row).first()
    if item is None:
        raise IncidentNotFound(f"No action item {item_id} on incident {incident_id}.")
    before, _ = _resolve(item, actor=actor, status=status, resolution=resolution)
    audit.record(action="incident.action_item_resolved", actor=actor, subject=_subject(row.id),
                 data={"item": item.id, "from": before, "to": status})


def _score(value: int | None, name: str) -> int:
    low, high = settings.SAFEGUARD_IR_SCORE_MIN, settings.SAFEGUARD_IR_SCORE_MAX
    if value is None or not low <= value <= high:
        raise IncidentError(f"{name} score must be {low} to {high}.")
    return value


@transaction.atomic
def exercise_schedule(*, actor: Actor, kind: str, title: str, scheduled_on: date) -> int:
    """Put a tabletop or full drill on the register (R-IR-3)."""
    if kind not in ExerciseKind.values:
        raise IncidentError(f"Unknown exercise kind {kind!r}.")
    row = Exercise.objects.create(
        kind=kind, title=_text(title, field="incidents.exercise_title", limit=200),
        scheduled_on=scheduled_on, created_by=actor.label[:200])
    audit.record(action="incident.exercise_scheduled", actor=actor,
                 subject=("incident_exercise", row.id),
                 data={"kind": kind, "scheduled_on": scheduled_on.isoformat()})
    return row.id


@transaction.atomic
def exercise_record_run(*, actor: Actor, exercise_id: int, run_on: date, duration_minutes: int,
                        external_observers: str, timeliness_score: int | None,
                        clarity_score: int | None) -> None:
    """Record that an exercise ran: date (not in the future), timed duration, scores for
    timeliness and clarity of communication; a full drill names its external observers."""
    row = Exercise.objects.select_for_update().filter(id=exercise_id).first()
    if row is None:
        raise IncidentNotFound(f"No exercise {exercise_id}.")
    if row.run_on is not None:
        raise IncidentError(f"Exercise {row.id} is already recorded as run on {row.run_on}.")
    if run_on > timezone.localdate():
        raise IncidentError("The run date cannot be in the future.")
    if duration_minutes is None or duration_minutes < 1:
        raise IncidentError("The duration (minutes, timed) must be at least 1.")
    observers = _text(external_observers, field="incidents.external_observers", limit=500,
                      required=False)
    if row.kind == ExerciseKind.FULL_DRILL and not observers:
        raise IncidentError("A full drill needs its external observers named.")
    row.run_on, row.duration_minutes, row.external_observers = run_on, duration_minutes, observers
    row.timeliness_score = _score(timeliness_score, "Timeliness")
    row.clarity_score = _score(clarity_score, "Clarity of communication")
    row.recorded_by = actor.label[:200]
    row.save()
    audit.record(action="incident.exercise_run", actor=actor,
                 subject=("incident_exercise", row.id),
                 data={"kind": row.kind, "run_on": run_on.isoformat(),
                       "duration_minutes": duration_minutes,
                       "timeliness": row.timeliness_score, "clarity": row.clarity_score})


@transaction.atomic
def finding_add(*, actor: Actor, exercise_id: int, text: str, owner: str,
                due_on: date | None) -> int:
    row = Exercise.objects.select_for_update().filter(id=exercise_id).first()
    if row is None:
        raise IncidentNotFound(f"No exercise {exercise_id}.")
    if row.run_on is None:
        raise IncidentError("Record the run before its findings.")
    clean_owner, due = _owner_due(owner, due_on)
    finding = ExerciseFinding.objects.create(
        exercise=row, text=_text(text, field="incidents.finding", limit=1000),
        owner=clean_owner, due_on=due, created_by=actor.label[:200])
    audit.record(action="incident.exercise_finding_added", actor=actor,
                 subject=("incident_exercise", row.id),
                 data={"finding": finding.id, "due_on": due.isoformat()})
    return finding.id


@transaction.atomic
def finding_resolve(*, actor: Actor, exercise_id: int, finding_id: int, status: str,
                    resolution: str = "") -> None:
    item = ExerciseFinding.objects.select_for_update().filter(
        id=finding_id, exercise_id=exercise_id).first()
    if item is None:
        raise IncidentNotFound(f"No finding {finding_id} on exercise {exercise_id}.")
    before, _ = _resolve(item, actor=actor, status=status, resolution=resolution)
    audit.record(action="incident.exercise_finding_resolved", actor=actor,
                 subject=("incident_exercise", exercise_id),
                 data={"finding": item.id, "from": before, "to": status})


@transaction.atomic
def retainer_save(  # noqa: PLR0913 - one keyword per register column
        *, actor: Actor, kind: str, firm: str, service: str, contact: str,
        contract_reference: str, starts_on: date, ends_on: date, hours_included: int,
        last_tested_on: date | None = None, retainer_id: int | None = None) -> int:
    """Add or update a forensic or legal retainer (R-IR-4)."""
    if kind not in RetainerKind.values:
        raise IncidentError(f"Unknown retainer kind {kind!r}.")
    if ends_on < starts_on:
        raise IncidentError("The contract cannot end before it starts.")
    if hours_included is None or hours_included < 0:
        raise IncidentError("Hours included cannot be negative.")
    if last_tested_on is not None and last_tested_on > timezone.localdate():
        raise IncidentError("The last test date cannot be in the future.")
    values = {
        "kind": kind, "firm": _text(firm, field="incidents.retainer_firm", limit=200),
        "service": _text(service, field="incidents.retainer_service", limit=300),
        "contact": _text(contact, field="incidents.retainer_contact", limit=300),
        "contract_reference": _text(contract_reference, field="incidents.contract_reference",
                                    limit=200),
        "starts_on": starts_on, "ends_on": ends_on, "hours_included": hours_included,
        "last_tested_on": last_tested_on}
    row: Retainer | None
    if retainer_id is None:
        row = Retainer.objects.create(created_by=actor.label[:200], **values)
        action = "incident.retainer_added"
    else:
        row = Retainer.objects.select_for_update().filter(id=retainer_id).first()
        if row is None:
            raise IncidentNotFound(f"No retainer {retainer_id}.")
        for key, value in values.items():
            setattr(row, key, value)
        row.save()
        action = "incident.retainer_updated"
    audit.record(action=action, actor=actor, subject=("incident_retainer", row.id),
                 data={"kind": kind, "firm": values["firm"], "ends_on": ends_on.isoformat(),
                       "last_tested_on": last_tested_on.isoformat() if last_tested_on
                       else None})
    return row.id
