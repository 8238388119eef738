"""Every read of the detection app: the alert queue, one alert with its evidence, suppressions,
the run's position, and the KPIs the metrics work reads (R-OPS-9, R-KPI-4).

Alerts name people by id only (``user:3``) and carry the engine's explanation; the evidence
timeline shows the audit events as the audit log hands them out (no customer data).
"""

from __future__ import annotations

from datetime import datetime
from statistics import fmean
from typing import Any

from django.db.models import QuerySet

from safeguard.audit import selectors as audit_selectors
from safeguard.detection.contracts import (
    AlertNotFound,
    AlertView,
    EscalationView,
    EvidenceItem,
    SuppressionView,
)
from safeguard.detection.enums import AlertStatus, Resolution
from safeguard.detection.models import (
    Alert,
    Escalation,
    RunState,
    Suppression,
    decode_seqs,
)


def _email(user: Any) -> str:
    return str(getattr(user, "email", "")) if user is not None else ""


def alert_view(a: Alert, *, escalations: bool = False) -> AlertView:
    ack = a.acknowledged_at
    rows: tuple[EscalationView, ...] = ()
    if escalations:
        rows = tuple(EscalationView(level=e.level, target=e.target, status=e.status,
                                    attempts=e.attempts, due_at=e.due_at, sent_at=e.sent_at,
                                    last_error=e.last_error)
                     for e in Escalation.objects.filter(alert_id=a.id).order_by("due_at", "id"))
    return AlertView(
        id=a.id, rule_id=a.rule_id, rule_title=a.rule_title, severity=a.severity,
        entity=a.entity, evidence=tuple(decode_seqs(a.evidence)),
        first_evidence_at=a.first_evidence_at,
        last_evidence_at=a.last_evidence_at, explanation=a.explanation, score=a.score,
        tags=tuple(a.tags), status=a.status, resolution=a.resolution, owner_id=a.owner_id,
        owner_email=_email(a.owner) if a.owner_id else "", close_note=a.close_note,
        created_at=a.created_at, acknowledged_at=ack, closed_at=a.closed_at,
        updated_at=a.updated_at,
        detection_delay_seconds=(a.created_at - a.first_evidence_at).total_seconds(),
        time_to_acknowledge_seconds=(ack - a.created_at).total_seconds() if ack else None,
        escalations=rows)


def _filtered(*, status: str | None = None, rule: str | None = None,
              entity: str | None = None, severity: str | None = None,
              since: datetime | None = None, until: datetime | None = None) -> QuerySet[Alert]:
    qs = Alert.objects.select_related("owner")
    if status == "open":
        qs = qs.exclude(status=AlertStatus.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule_id=rule)
    if entity:
        qs = qs.filter(entity=entity)
    if severity:
        qs = qs.filter(severity=severity)
    if since:
        qs = qs.filter(created_at__gte=since)
    if until:
        qs = qs.filter(created_at__lt=until)
    return qs


def alert_list(
    *,
    status: str | None = None,
    rule: str | None = None,
    entity: str | None = None,
    severity: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AlertView]:
    """Newest first; ``status`` is one state or ``open`` (every state but closed), ``rule`` a
    rule id, ``entity`` exact (``user:3``), ``since`` inclusive on the alert's creation."""
    qs = _filtered(status=status, rule=rule, entity=entity, severity=severity, since=since,
                   until=until)
    if before_id:
        qs = qs.filter(id__lt=before_id)
    return [alert_view(a) for a in qs.order_by("-id")[:limit]]


def alert_get(*, alert_id: int) -> AlertView:
    """One alert with its escalation notices; AlertNotFound when absent."""
    a = Alert.objects.select_related("owner").filter(id=alert_id).first()
    if a is None:
        raise AlertNotFound(f"No alert {alert_id}.")
    return alert_view(a, escalations=True)


def alert_evidence(*, alert_id: int) -> list[EvidenceItem]:
    """The alert's evidence events in sequence order, read from the audit log (contiguous runs of
    sequence numbers are read in one query)."""
    alert = alert_get(alert_id=alert_id)
    seqs = sorted(alert.evidence)
    found: dict[int, Any] = {}
    i = 0
    while i < len(seqs):
        j = i
        while j + 1 < len(seqs) and seqs[j + 1] - seqs[i] < 500:
            j += 1
        for row in audit_selectors.event_batch_after(after_seq=seqs[i] - 1,
                                                     limit=seqs[j] - seqs[i] + 1):
            found[row.seq] = row
        i = j + 1
    out: list[EvidenceItem] = []
    for seq in seqs:
        e = found.get(seq)
        if e is None:
            out.append(EvidenceItem(seq=seq, at=None, action="(not in the log)", actor="",
                                    subject="", outcome="", source_ip=None))
            continue
        out.append(EvidenceItem(
            seq=seq, at=e.at, action=e.action,
            actor=f"{e.actor.kind}:{e.actor.label or e.actor.id}",
            subject=f"{e.subject_type}:{e.subject_id}" if e.subject_type else "",
            outcome=e.outcome, source_ip=e.source_ip))
    return out


def alert_counts() -> dict[str, int]:
    """How many alerts are in each state (the queue's tabs)."""
    counts = dict.fromkeys(AlertStatus.values, 0)
    for status in Alert.objects.values_list("status", flat=True).iterator():
        counts[status] += 1
    return counts


def rule_choices() -> list[tuple[str, str]]:
    """(rule id, title) of every rule that raised an alert, by title (the queue's filter)."""
    seen: dict[str, str] = {}
    for rule_id, title in Alert.objects.values_list("rule_id", "rule_title").distinct():
        seen.setdefault(rule_id, title)
    return sorted(seen.items(), key=lambda kv: (kv[1], kv[0]))


def suppression_view(s: Suppression) -> SuppressionView:
    return SuppressionView(id=s.id, rule_id=s.rule_id, entity=s.entity, reason=s.reason,
                           created_by_email=_email(s.created_by), created_at=s.created_at,
                           expires_at=s.expires_at, revoked_at=s.revoked_at, hits=s.hits)


def suppression_list(*, limit: int = 200) -> list[SuppressionView]:
    """Newest first, active and past."""
    return [suppression_view(s) for s in
            Suppression.objects.select_related("created_by").order_by("-id")[:limit]]


def run_position(*, name: str = "default") -> dict[str, Any]:
    """Where the run stands: cursor, events seen, alerts raised, last batch time, lag."""
    row = RunState.objects.filter(name=name).first()
    last = audit_selectors.last_seq()
    if row is None:
        return {"cursor": 0, "events_seen": 0, "alerts_raised": 0, "updated_at": None,
                "lag": last}
    return {"cursor": row.cursor, "events_seen": row.events_seen,
            "alerts_raised": row.alerts_raised, "updated_at": row.updated_at,
            "lag": max(last - row.cursor, 0)}


def detection_running_control() -> dict[str, str]:
    """Provider ``control.detection_running`` for the governance controls (R-OPS-6, R-OPS-9):
    ``pass`` when the run evaluated a batch within ``SAFEGUARD_DETECTION_RUNNING_MAX_MINUTES``
    and trails the integrated log by at most ``SAFEGUARD_DETECTION_RUNNING_MAX_LAG`` events,
    ``fail`` otherwise (never run, stalled, or too far behind), with the figures as evidence."""
    from django.conf import settings
    from django.utils import timezone

    pos = run_position()
    max_minutes = settings.SAFEGUARD_DETECTION_RUNNING_MAX_MINUTES
    max_lag = settings.SAFEGUARD_DETECTION_RUNNING_MAX_LAG
    updated = pos["updated_at"]
    if updated is None:
        return {"status": "fail", "evidence": "The detection run has never evaluated the log."}
    age_min = (timezone.now() - updated).total_seconds() / 60
    figures = (f"last batch {age_min:.0f} min ago (limit {max_minutes}), {pos['lag']} events "
               f"behind the log (limit {max_lag}), {pos['events_seen']} events evaluated")
    ok = age_min <= max_minutes and pos["lag"] <= max_lag
    return {"status": "pass" if ok else "fail", "evidence": f"Detection run: {figures}."}


# --- KPIs (registered as web.providers in apps.py; docs/detection.md "KPIs") -------------------

def mttd_seconds(*, start: datetime, end: datetime) -> float | None:
    """R-KPI-4 Mean Time To Detect: the mean of (alert created - first evidence) over alerts
    created in [start, end), leaving out those closed as false positives (nothing happened, so
    nothing was detected); None when there is none."""
    rows = (Alert.objects.filter(created_at__gte=start, created_at__lt=end)
            .exclude(resolution=Resolution.FALSE_POSITIVE)
            .values_list("created_at", "first_evidence_at"))
    delays = [(c - f).total_seconds() for c, f in rows]
    return fmean(delays) if delays else None


def time_to_acknowledge_seconds(*, start: datetime, end: datetime) -> float | None:
    """R-OPS-9: the mean of (acknowledged - created) over alerts created in [start, end) that
    were acknowledged (by any first triage step); None when there is none."""
    rows = (Alert.objects.filter(created_at__gte=start, created_at__lt=end,
                                 acknowledged_at__isnull=False)
            .values_list("created_at", "acknowledged_at"))
    waits = [(a - c).total_seconds() for c, a in rows if a is not None]
    return fmean(waits) if waits else None


def false_positive_rate_by_rule(*, start: datetime, end: datetime) -> dict[str, dict[str, Any]]:
    """Per rule id, of the alerts closed in [start, end): ``closed``, ``false_positive`` and
    ``rate`` (false_positive / closed), with the rule's ``title``. Rules without a closed alert
    in the period are absent."""
    out: dict[str, dict[str, Any]] = {}
    rows = (Alert.objects.filter(status=AlertStatus.CLOSED, closed_at__gte=start,
                                 closed_at__lt=end)
            .values_list("rule_id", "rule_title", "resolution"))
    for rule_id, title, resolution in rows:
        entry = out.setdefault(rule_id, {"title": title, "closed": 0, "false_positive": 0})
        entry["closed"] += 1
        entry["false_positive"] += int(resolution == Resolution.FALSE_POSITIVE)
    for entry in out.values():
        entry["rate"] = entry["false_positive"] / entry["closed"]
    return out


def alerts_created_count(*, start: datetime, end: datetime) -> int:
    """Alerts created in [start, end), whatever their state (false positives included: the
    rate of alerts the analysts had to look at). A count only."""
    return Alert.objects.filter(created_at__gte=start, created_at__lt=end).count()
