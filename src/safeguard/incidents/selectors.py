"""Every read of the incidents app: incidents, roles, clocks, notices owed, timeline, and the
affected-customer list computed from the audit log (R-IR-1, R-IR-2, R-IR-6, R-REG-3)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, DurationField, ExpressionWrapper, F
from django.utils import timezone

from safeguard.accounts import selectors as account_selectors
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor, EventView
from safeguard.customers import selectors as customer_selectors
from safeguard.incidents import clocks, residence
from safeguard.incidents.contracts import (
    ActionView,
    AffectedCustomer,
    CadenceView,
    DelayView,
    ExerciseView,
    IncidentError,
    IncidentNotFound,
    IncidentView,
    ItemView,
    RetainerView,
    ReviewView,
    RoleView,
    TimelineItem,
)
from safeguard.incidents.enums import (
    NEXT_STATE,
    REVERSIBLE_CONTAINMENT,
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

# SLA stage -> the incident timestamp that meets it (R-IR-2).
SLA_MET_BY = {"triage": "triaged_at", "containment": "contained_at",
              "eradication": "eradicated_at", "recovery": "recovered_at"}


def incident_view(row: Incident) -> IncidentView:
    return IncidentView(
        id=row.id, title=row.title, summary=row.summary, severity=row.severity,
        severity_label=Severity(row.severity).label, category=row.category,
        category_label=Category(row.category).label, state=row.state,
        state_label=State(row.state).label, next_state=NEXT_STATE.get(row.state),
        aware_at=row.aware_at, jurisdictions=tuple(row.jurisdictions),
        source_alert_id=row.source_alert_id, opened_by=row.opened_by, created_at=row.created_at,
        stage_at={"triaged": row.triaged_at, "contained": row.contained_at,
                  "eradicated": row.eradicated_at, "recovered": row.recovered_at,
                  "closed": row.closed_at})


def incident_get(*, incident_id: int) -> IncidentView:
    """One incident, or IncidentNotFound."""
    row = Incident.objects.filter(id=incident_id).first()
    if row is None:
        raise IncidentNotFound(f"No incident {incident_id}.")
    return incident_view(row)


def incident_list(*, open_only: bool = False, limit: int = 200) -> list[IncidentView]:
    """Newest awareness first."""
    qs = Incident.objects.all()
    if open_only:
        qs = qs.exclude(state=State.CLOSED)
    return [incident_view(r) for r in qs.order_by("-aware_at", "-id")[:limit]]


def sla_hours() -> dict[str, int]:
    """The SLA periods from settings (R-IR-2)."""
    return {"triage": settings.SAFEGUARD_INCIDENTS_SLA_TRIAGE_HOURS,
            "containment": settings.SAFEGUARD_INCIDENTS_SLA_CONTAINMENT_HOURS,
            "eradication": settings.SAFEGUARD_INCIDENTS_SLA_ERADICATION_HOURS,
            "recovery": settings.SAFEGUARD_INCIDENTS_SLA_RECOVERY_HOURS}


def sla_for(view: IncidentView, *, now: datetime | None = None) -> list[clocks.SlaClock]:
    """The incident's four SLA clocks at ``now``: due, met or time remaining, breached."""
    met = {stage: view.stage_at[attr.removesuffix("_at")] for stage, attr in SLA_MET_BY.items()}
    return clocks.sla_clocks(view.aware_at, sla_hours(), met, now or timezone.now())


def role_view(row: RoleAssignment) -> RoleView:
    user = account_selectors.user_get(user_id=row.user_id)
    return RoleView(role=row.role, role_label=IncidentRole(row.role).label, user_id=row.user_id,
                    user_email=user.email, assigned_at=row.assigned_at,
                    assigned_by=row.assigned_by, ended_at=row.ended_at, note=row.note)


def role_list(*, incident_id: int) -> list[RoleView]:
    """Every assignment, current and handed off, in the order they were made."""
    return [role_view(r) for r in RoleAssignment.objects.filter(
        incident_id=incident_id).order_by("assigned_at", "id")]


def delay_view(row: DelayException) -> DelayView:
    return DelayView(id=row.id, jurisdiction=row.jurisdiction, starts_at=row.starts_at,
                     ends_at=row.ends_at, reason=row.reason, evidence=row.evidence,
                     recorded_by=row.recorded_by)


def delay_list(*, incident_id: int) -> list[DelayView]:
    return [delay_view(d) for d in DelayException.objects.filter(
        incident_id=incident_id).order_by("starts_at", "id")]


def action_view(row: ContainmentAction) -> ActionView:
    return ActionView(id=row.id, kind=row.kind, kind_label=ContainmentKind(row.kind).label,
                      target_id=row.target_id, target_label=row.target_label, reason=row.reason,
                      taken_at=row.taken_at, taken_by=row.taken_by, reversed_at=row.reversed_at,
                      reversible=row.kind in REVERSIBLE_CONTAINMENT and row.reversed_at is None,
                      reversed_by=row.reversed_by, reversal_reason=row.reversal_reason)


def action_list(*, incident_id: int) -> list[ActionView]:
    return [action_view(a) for a in ContainmentAction.objects.filter(
        incident_id=incident_id).order_by("taken_at", "id")]


def notices_owed(*, incident_id: int) -> list[clocks.Notice]:
    """Every notification the incident owes given its jurisdictions and recorded delays,
    earliest deadline first, each deadline in the platform's time zone (R-REG-3)."""
    view = incident_get(incident_id=incident_id)
    aware = timezone.localtime(view.aware_at)
    delays = [clocks.Delay(starts_at=d.starts_at, ends_at=d.ends_at,
                           jurisdiction=d.jurisdiction, reason=d.reason)
              for d in delay_list(incident_id=incident_id)]
    return clocks.notifications_owed(view.jurisdictions, aware, delays)


def jurisdiction_rows() -> list[clocks.Jurisdiction]:
    """The jurisdiction table in use, ordered by code."""
    return [clocks.table()[c] for c in sorted(clocks.table())]


def timeline(*, incident_id: int, latest: int | None = None) -> list[TimelineItem]:
    """Manual entries and every audit event about the incident, oldest first; with ``latest``
    only the newest that many (what a page shows: one indexed query, not the whole history)."""
    incident_get(incident_id=incident_id)
    manual = TimelineEntry.objects.filter(incident_id=incident_id).order_by("-at", "-id")
    items = [TimelineItem(at=e.at, source="manual", who=e.author, text=e.text)
             for e in (manual[:latest] if latest else manual)]
    subject = ("incident", incident_id)
    events = (audit_selectors.event_list(subject=subject, limit=latest) if latest
              else audit_selectors.event_export(subject=subject))
    items.extend(TimelineItem(at=ev.at, source="audit", who=ev.actor.label, text=_describe(ev),
                              seq=ev.seq) for ev in events)
    items.sort(key=lambda i: (i.at, i.seq or 0))
    return items[-latest:] if latest else items


def _describe(ev: EventView) -> str:
    d = ev.data
    name = ev.action.removeprefix("incident.").replace("_", " ")
    details = ", ".join(f"{k}={d[k]}" for k in sorted(d) if d[k] not in (None, "", []))
    return f"{name} ({details})" if details else name


# --- MTTR provider (R-KPI-5) ---------------------------------------------------------------

def mttr_seconds(start: datetime, end: datetime) -> float | None:
    """Provider ``kpi.mttr_seconds``: mean seconds from awareness to recovery over incidents
    recovered in [start, end); None when none were."""
    duration = ExpressionWrapper(F("recovered_at") - F("aware_at"), output_field=DurationField())
    agg = Incident.objects.filter(recovered_at__gte=start, recovered_at__lt=end).aggregate(
        mean=Avg(duration))
    mean = agg["mean"]
    return None if mean is None else mean.total_seconds()


# --- affected customers (R-IR-6) ------------------------------------------------------------

# The audit actions that read a customer's record, and the inventory models each exposes.
READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "customer.viewed": ("customers.customer",),
    "customer.revealed": ("customers.customer",),
    "customer.searched": ("customers.customer",),
    "customer.listed": ("customers.customer",),
    "case.viewed": ("cases.case", "cases.message"),
}


@dataclass(frozen=True)
class Suspect:
    """Whose reads to list: a staff user (and their API tokens), one API token, or an address."""

    kind: str  # "user", "token" or "ip"
    value: str


@dataclass
class _Acc:
    """What the reads of one customer add up to while the log is scanned."""

    first: datetime
    last: datetime
    seqs: list[int] = field(default_factory=list)
    actions: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)

    def add(self, ev: EventView, revealed: list[str]) -> None:
        self.first, self.last = min(self.first, ev.at), max(self.last, ev.at)
        self.seqs.append(ev.seq)
        self.actions.add(ev.action)
        self.fields.update(revealed)
        self.models.update(READ_ACTIONS[ev.action])

    def merge(self, other: _Acc) -> None:
        self.first, self.last = min(self.first, other.first), max(self.last, other.last)
        self.seqs.extend(other.seqs)
        self.actions |= other.actions
        self.fields |= other.fields
        self.models |= other.models


def _customers_in(ev: EventView) -> list[str]:
    if ev.action == "case.viewed":
        ref = ev.data.get("customer")
        return [str(ref)] if ref else []
    if ev.action in ("customer.searched", "customer.listed"):
        return [str(c) for c in ev.data.get("customer_ids") or []]
    return [ev.subject_id] if ev.subject_type == "customer" and ev.subject_id else []


def _reads(suspect: Suspect, since: datetime, until: datetime) -> Iterator[EventView]:
    if suspect.kind == "user":
        token_ids = {str(t.id) for t in account_selectors.token_list(user_id=int(suspect.value))}
        wanted = {("user", suspect.value)} | {("token", t) for t in token_ids}
        ids: Iterable[str | None] = sorted({suspect.value} | token_ids)
    elif suspect.kind == "token":
        wanted = {("token", suspect.value)}
        ids = [suspect.value]
    else:
        wanted = set()
        ids = [None]
    for actor_id in ids:
        for prefix in ("customer.", "case."):
            for ev in audit_selectors.event_export(action=prefix, actor_id=actor_id,
                                                   since=since, until=until):
                if ev.action not in READ_ACTIONS or ev.outcome != "success":
                    continue
                if suspect.kind == "ip":
                    if ev.source_ip == suspect.value:
                        yield ev
                elif (ev.actor.kind, ev.actor.id) in wanted:
                    yield ev


def _categories() -> dict[str, dict[str, str]]:
    """model label -> field -> data category, from the privacy inventory where present."""
    try:
        from safeguard.privacy import inventory
    except ImportError:  # privacy not installed: no categories, the list still stands
        return {}
    out: dict[str, dict[str, str]] = {}
    for col in inventory.personal_columns():
        out.setdefault(col.model, {})[col.field] = col.category
    return out


def affected_customers(*, actor: Actor, suspect: Suspect, since: datetime, until: datetime
                       ) -> list[AffectedCustomer]:
    """Every customer whose record ``suspect`` read in [since, until), from the audit log:
    first and last read, count, the actions and revealed fields, the data categories those
    reads expose (R-IR-6). A case read names the customer by the 12-hex prefix the case event
    carries; it is merged into a full id seen in the same window when one matches."""
    if suspect.kind not in ("user", "token", "ip") or not suspect.value.strip():
        raise IncidentError("Name a user id, a token id or a source address.")
    if suspect.kind in ("user", "token") and not suspect.value.isdigit():
        raise IncidentError("A user or token is named by its number.")
    if timezone.is_naive(since) or timezone.is_naive(until) or until <= since:
        raise IncidentError("The window needs a time-zone-aware start before its end.")
    rows: dict[str, _Acc] = {}
    for seen, ev in enumerate(_reads(suspect, since, until), start=1):
        if seen > settings.SAFEGUARD_INCIDENTS_AFFECTED_MAX_EVENTS:
            raise IncidentError("Too many events in the window; narrow it.")
        one = ev.data.get("field") if ev.action == "customer.revealed" else None
        revealed = [str(one)] if one else [str(f) for f in ev.data.get("revealed") or []]
        for cust in _customers_in(ev):
            acc = rows.get(cust)
            if acc is None:
                acc = rows[cust] = _Acc(first=ev.at, last=ev.at)
            acc.add(ev, revealed)
    _merge_prefixes(rows)
    cats = _categories()
    out = [AffectedCustomer(
        customer=cust, first_read=acc.first, last_read=acc.last, reads=len(acc.seqs),
        actions=tuple(sorted(acc.actions)), fields_revealed=tuple(sorted(acc.fields)),
        data_categories=tuple(sorted({c for m in acc.models for c in cats.get(m, {}).values()})),
        event_seqs=tuple(sorted(acc.seqs))) for cust, acc in rows.items()]
    codes = jurisdictions_of(customer_ids=[a.customer for a in out])
    out = [replace(a, jurisdictions=(codes[a.customer],)) for a in out]
    out.sort(key=lambda a: (a.first_read, a.customer))
    # The list names customers: computing it is itself a read of customer data (R-OPS-2).
    audit.record(action="incident.affected_listed", actor=actor,
                 data={"suspect": suspect.kind, "value": suspect.value,
                       "since": since.isoformat(), "until": until.isoformat(),
                       "customers": len(out)})
    return out


def jurisdictions_of(*, customer_ids: Iterable[str]) -> dict[str, str]:
    """customer id -> jurisdiction code from the address on file (``residence``, decision
    0228); an id with no profile (a 12-hex case prefix, a deleted customer) -> ``unknown``. A
    system read: the caller has audited the list these ids come from."""
    ids = list(customer_ids)
    found = customer_selectors.customer_addressees_system(customer_ids=ids)
    return {cid: (residence.jurisdiction_for(found[cid].country, found[cid].region)
                  if cid in found else residence.UNKNOWN) for cid in ids}


def _merge_prefixes(rows: dict[str, _Acc]) -> None:
    full = [k for k in rows if len(k) > 12]
    for short in [k for k in rows if len(k) == 12]:
        match = [f for f in full if f.replace("-", "").startswith(short)]
        if len(match) == 1:
            rows[match[0]].merge(rows.pop(short))


AFFECTED_HEADER = ("customer", "first_read", "last_read", "reads", "actions", "fields_revealed",
                   "data_categories", "audit_seqs", "jurisdictions")


def affected_csv(rows: Iterable[AffectedCustomer]) -> str:
    """The notification list as CSV (one line per customer, audit sequence numbers included)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(AFFECTED_HEADER)
    for r in rows:
        writer.writerow([r.customer, r.first_read.isoformat(), r.last_read.isoformat(), r.reads,
                         " ".join(r.actions), " ".join(r.fields_revealed),
                         " ".join(r.data_categories), " ".join(str(s) for s in r.event_seqs),
                         " ".join(r.jurisdictions)])
    return buf.getvalue()


# --- Post-incident review, exercises, retainers (R-IR-7, R-IR-3, R-IR-4; decision 0224) -------


def _item_view(row: ActionItem | ExerciseFinding, today: date) -> ItemView:
    return ItemView(id=row.id, text=row.text, owner=row.owner, due_on=row.due_on,
                    status=row.status, resolution=row.resolution, resolved_at=row.resolved_at,
                    overdue=row.status == ItemStatus.OPEN and row.due_on < today)


def _missing(row: PostIncidentReview | None, items: list[ActionItem]) -> list[str]:
    """What keeps an incident's review from complete (R-IR-7); empty = complete."""
    if row is None:
        return ["no review recorded"]
    missing = []
    if not row.root_cause:
        missing.append("root cause missing")
    if not row.lessons:
        missing.append("lessons missing")
    if not row.playbook_updated:
        missing.append("playbook update not recorded")
    if row.retest_result != RetestResult.PASSED:
        missing.append("no passed post-incident re-test" if not row.retest_result
                       else "the post-incident re-test failed")
    open_items = [i.id for i in items if i.status == ItemStatus.OPEN]
    if open_items:
        missing.append(f"{len(open_items)} action item(s) neither closed nor accepted")
    return missing


def review_missing(*, incident_id: int) -> list[str]:
    row = PostIncidentReview.objects.filter(incident_id=incident_id).first()
    return _missing(row, list(ActionItem.objects.filter(incident_id=incident_id)))


def review_get(*, incident_id: int) -> ReviewView:
    row = PostIncidentReview.objects.filter(incident_id=incident_id).first()
    items = list(ActionItem.objects.filter(incident_id=incident_id).order_by("due_on", "id"))
    today = timezone.localdate()
    return ReviewView(
        incident_id=incident_id, root_cause=row.root_cause if row else "",
        lessons=row.lessons if row else "", playbook_updated=bool(row and row.playbook_updated),
        playbook_reference=row.playbook_reference if row else "",
        retest_on=row.retest_on if row else None, retest_result=row.retest_result if row else "",
        items=tuple(_item_view(i, today) for i in items), missing=tuple(_missing(row, items)))


def _exercise_view(r: Exercise, today: date) -> ExerciseView:
    findings = sorted(r.findings.all(), key=lambda f: (f.due_on, f.id))
    return ExerciseView(
        id=r.id, kind=r.kind, kind_label=ExerciseKind(r.kind).label, title=r.title,
        scheduled_on=r.scheduled_on, run_on=r.run_on, duration_minutes=r.duration_minutes,
        external_observers=r.external_observers, timeliness_score=r.timeliness_score,
        clarity_score=r.clarity_score, findings=tuple(_item_view(f, today) for f in findings))


def exercise_list(*, limit: int = 200) -> list[ExerciseView]:
    today = timezone.localdate()
    rows = Exercise.objects.prefetch_related("findings").order_by("-scheduled_on", "-id")[:limit]
    return [_exercise_view(r, today) for r in rows]


def exercise_get(*, exercise_id: int) -> ExerciseView:
    row = Exercise.objects.prefetch_related("findings").filter(id=exercise_id).first()
    if row is None:
        raise IncidentNotFound(f"No exercise {exercise_id}.")
    return _exercise_view(row, timezone.localdate())


def _cadence_months(kind: str) -> int:
    return int(settings.SAFEGUARD_IR_TABLETOP_MONTHS if kind == ExerciseKind.TABLETOP
               else settings.SAFEGUARD_IR_DRILL_MONTHS)


def exercise_cadence(*, today: date | None = None) -> list[CadenceView]:
    """Each exercise kind: last run, next due (last run + the cadence in calendar months,
    clamped to month end) and whether it is overdue (R-IR-3). Never run = overdue."""
    today = today or timezone.localdate()
    out = []
    for kind in ExerciseKind:
        months = _cadence_months(kind)
        last = (Exercise.objects.filter(kind=kind, run_on__isnull=False)
                .order_by("-run_on").values_list("run_on", flat=True).first())
        due = clocks.add_months(last, months) if last else None
        out.append(CadenceView(kind=kind.value, kind_label=kind.label, months=months,
                               last_run_on=last, due_on=due,
                               overdue=due is None or today > due))
    return out


def exercises_on_time() -> dict[str, str]:
    """Provider ``control.exercises_on_time`` for governance control SG-IR-01 (R-IR-3)."""
    rows = exercise_cadence()
    parts = []
    for c in rows:
        if c.last_run_on is None:
            parts.append(f"{c.kind_label}: never run (every {c.months} months)")
        else:
            parts.append(f"{c.kind_label}: last run {c.last_run_on.isoformat()}, due "
                         f"{c.due_on.isoformat() if c.due_on else '-'}"
                         f"{' - OVERDUE' if c.overdue else ''}")
    return {"status": "fail" if any(c.overdue for c in rows) else "pass",
            "evidence": "; ".join(parts) + "."}


def calendar_exercises() -> list[dict[str, Any]]:
    """Provider ``calendar.incident_exercises`` for the governance compliance calendar
    (decision 0248): each exercise kind's next due date, today when never run."""
    from django.urls import reverse

    today = timezone.localdate()
    return [{"title": f"Incident exercise due: {c.kind_label}"
                      + ("" if c.last_run_on else " (never run)"),
             "due": c.due_on or today, "kind": "incident_exercise",
             "url": reverse("incidents:exercises")} for c in exercise_cadence(today=today)]


def retainer_list(*, today: date | None = None) -> list[RetainerView]:
    """Every retainer with its status: expired, expiring within
    SAFEGUARD_IR_RETAINER_WARN_DAYS, or active (R-IR-4)."""
    today = today or timezone.localdate()
    warn = today + timedelta(days=settings.SAFEGUARD_IR_RETAINER_WARN_DAYS)
    out = []
    for r in Retainer.objects.order_by("ends_on", "id"):
        status = "expired" if r.ends_on < today else "expiring" if r.ends_on <= warn else "active"
        out.append(RetainerView(
            id=r.id, kind=r.kind, kind_label=RetainerKind(r.kind).label, firm=r.firm,
            service=r.service, contact=r.contact, contract_reference=r.contract_reference,
            starts_on=r.starts_on, ends_on=r.ends_on, hours_included=r.hours_included,
            last_tested_on=r.last_tested_on, status=status))
    return out
