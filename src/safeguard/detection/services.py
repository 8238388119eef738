"""Every write of the detection app: the run over the audit log, triage, suppressions,
escalations (R-OPS-6, R-OPS-9).

``run_once`` reads integrated audit events after its cursor in batches, feeds them to the pure
engine and stores what it finds. Per batch, ONE transaction holds the new alerts, the cursor and
the engine's checkpoint: a crash before the commit leaves all three as they were, so the batch
is evaluated again from the same state (at least once); after the commit nothing is evaluated
twice. Alerts are unique on the engine's ``dedup_key``, so even a replay from an older
checkpoint raises nothing twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from safeguard.accounts import selectors as accounts
from safeguard.accounts.contracts import Principal
from safeguard.audit import selectors as audit_selectors
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.detection import notify
from safeguard.detection.contracts import (
    AlertNotFound,
    AlertStateError,
    AlertView,
    DetectionError,
    EngineUnavailable,
    RunResult,
    SuppressionNotFound,
    SuppressionView,
)
from safeguard.detection.engine.contracts import SEVERITIES, Evaluator, Finding
from safeguard.detection.enrich import Enricher
from safeguard.detection.enums import (
    TRANSITIONS,
    AlertStatus,
    DeliveryStatus,
    EscalationLevel,
    Resolution,
)
from safeguard.detection.models import (
    Alert,
    Escalation,
    RunState,
    Suppression,
    decode_seqs,
    encode_seqs,
    pack_state,
    unpack_state,
)
from safeguard.detection.selectors import alert_view, suppression_view
from safeguard.protection import services as protection

log = logging.getLogger(__name__)

RUN_NAME = "default"
SYSTEM = Actor.system("detection")


class CursorMoved(DetectionError):
    """Another run advanced the cursor while this one evaluated a batch: this run stops."""

    code = "cursor-moved"
    title = "Another detection run is active"


# --- the engine --------------------------------------------------------------------------------

def rule_paths() -> list[Path]:
    """The rule pack: the shipped rules, then SAFEGUARD_DETECTION_RULE_PATHS (files or
    directories of the operator's own Sigma rules)."""
    from safeguard.detection.engine.rules import SHIPPED_RULES

    return [SHIPPED_RULES, *(Path(p) for p in settings.SAFEGUARD_DETECTION_RULE_PATHS)]


def default_evaluator() -> Evaluator:
    """The engine over the rule pack, UEBA on (the default of SAFEGUARD_DETECTION_EVALUATOR)."""
    from safeguard.detection.engine import DetectionEngine, load_pack

    return DetectionEngine(load_pack(rule_paths()))


def evaluator_build() -> Evaluator:
    """A fresh evaluator from SAFEGUARD_DETECTION_EVALUATOR (a dotted path to a factory taking
    no argument); EngineUnavailable when it cannot be imported or refuses to build."""
    path = settings.SAFEGUARD_DETECTION_EVALUATOR
    try:
        factory: Callable[[], Evaluator] = import_string(path)
        return factory()
    except DetectionError:
        raise
    except Exception as exc:
        raise EngineUnavailable(f"SAFEGUARD_DETECTION_EVALUATOR={path!r}: "
                                f"{type(exc).__name__}: {exc}") from exc


# --- the run -----------------------------------------------------------------------------------

def _state(name: str) -> RunState:
    state, _ = RunState.objects.get_or_create(name=name, defaults={"updated_at": timezone.now()})
    return state


def run_once(
    *,
    name: str = RUN_NAME,
    batch_size: int | None = None,
    max_batches: int | None = None,
    evaluator: Evaluator | None = None,
    after_batch: Callable[[int], None] | None = None,
    max_seconds: float | None = None,
) -> RunResult:
    """Evaluate every integrated audit event after the cursor, batch by batch, then return.

    Each batch commits its alerts, cursor and engine checkpoint together (see the module doc).
    ``after_batch(cursor)`` is called after each commit (progress bars; tests crash here).
    ``max_seconds`` ends the run between batches once exceeded (the periodic job's share).
    """
    size = batch_size or settings.SAFEGUARD_DETECTION_BATCH
    if size < 1:
        raise DetectionError("The batch size must be at least 1.")
    state = _state(name)
    engine = evaluator if evaluator is not None else evaluator_build()
    saved = unpack_state(state.engine_state)
    if saved:
        try:
            engine.restore(saved)
        except ValueError as exc:
            # A checkpoint of another engine format: windows and baselines start afresh; the
            # dedup keys of stored alerts still keep anything from being raised twice.
            log.warning("detection.checkpoint_dropped", extra={"reason": str(exc)})
    cursor = state.cursor
    totals = {"events": 0, "batches": 0, "alerts": 0, "duplicates": 0, "suppressed": 0}
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    while max_batches is None or totals["batches"] < max_batches:
        if deadline is not None and time.monotonic() >= deadline:
            break
        batch = audit_selectors.event_batch_after(after_seq=cursor, limit=size)
        if not batch:
            break
        enricher = Enricher()
        findings = engine.process(enricher.enrich_all(batch))
        counts = _commit_batch(name=name, from_seq=cursor, to_seq=batch[-1].seq,
                               events=len(batch), findings=findings,
                               checkpoint=engine.checkpoint())
        cursor = batch[-1].seq
        totals["events"] += len(batch)
        totals["batches"] += 1
        for key, value in counts.items():
            totals[key] += value
        if after_batch is not None:
            after_batch(cursor)
    return RunResult(cursor=cursor, **totals)


@transaction.atomic
def _commit_batch(*, name: str, from_seq: int, to_seq: int, events: int,
                  findings: list[Finding], checkpoint: dict[str, Any]) -> dict[str, int]:
    state = RunState.objects.select_for_update().get(name=name)
    if state.cursor != from_seq:
        raise CursorMoved(f"The cursor of run {name!r} moved from {from_seq} to {state.cursor} "
                          "during this batch; the other run owns it.")
    counts = {"alerts": 0, "duplicates": 0, "suppressed": 0}
    now = timezone.now()
    for finding in findings:
        counts[_store_finding(finding, now=now)] += 1
    state.cursor = to_seq
    state.engine_state = pack_state(checkpoint)
    state.events_seen += events
    state.alerts_raised += counts["alerts"]
    state.updated_at = now
    state.save()
    return counts


def _suppression_for(finding: Finding, now: datetime) -> Suppression | None:
    return (Suppression.objects.select_for_update()
            .filter(rule_id=finding.rule_id, entity=finding.entity, revoked_at__isnull=True,
                    expires_at__gt=now).order_by("expires_at").last())


def _explanation(text: str) -> str:
    """The engine's words with any card-like number masked: a count list that happens to pass
    Luhn must not make the no-PAN guard stop the run (the events themselves hold no card)."""
    return protection.mask_pans(text)


def _store_finding(finding: Finding, *, now: datetime) -> str:
    """Store one finding: "alerts" (new), "duplicates" (its dedup_key exists: evidence merged)
    or "suppressed"."""
    severity = finding.severity if finding.severity in SEVERITIES else "medium"
    existing = Alert.objects.select_for_update().filter(dedup_key=finding.dedup_key).first()
    if existing is not None:
        _merge(existing, finding, now=now)
        return "duplicates"
    suppression = _suppression_for(finding, now)
    if suppression is not None:
        suppression.hits += 1
        suppression.last_hit_at = now
        suppression.save(update_fields=["hits", "last_hit_at"])
        return "suppressed"
    limit = settings.SAFEGUARD_DETECTION_EVIDENCE_MAX
    try:
        with transaction.atomic():  # a savepoint: a racing insert of the same key is a duplicate
            alert = Alert.objects.create(
                dedup_key=finding.dedup_key[:255], rule_id=finding.rule_id[:100],
                rule_title=finding.rule_title[:200], severity=severity,
                entity=finding.entity[:200],
                evidence=encode_seqs(sorted(set(finding.evidence))[:limit]),
                first_evidence_at=finding.first_evidence_at,
                last_evidence_at=finding.last_evidence_at,
                explanation=_explanation(finding.explanation),
                score=finding.score, tags=list(finding.tags), created_at=now, updated_at=now)
    except IntegrityError:
        return "duplicates"
    audit.record(action="detection.raised", actor=SYSTEM, subject=("alert", alert.id),
                 data={"rule": alert.rule_id, "title": alert.rule_title,
                       "severity": alert.severity, "finding_id": alert.dedup_key,
                       "entity": alert.entity, "count": len(decode_seqs(alert.evidence)),
                       "description": alert.explanation})
    return "alerts"


def _merge(alert: Alert, finding: Finding, *, now: datetime) -> None:
    """A later finding under the same key adds its evidence (a replay adds nothing)."""
    current = decode_seqs(alert.evidence)
    merged = sorted(set(current) | set(finding.evidence))
    merged = merged[:settings.SAFEGUARD_DETECTION_EVIDENCE_MAX]
    if merged == current and finding.last_evidence_at <= alert.last_evidence_at:
        return
    alert.evidence = encode_seqs(merged)
    alert.last_evidence_at = max(alert.last_evidence_at, finding.last_evidence_at)
    alert.first_evidence_at = min(alert.first_evidence_at, finding.first_evidence_at)
    if finding.last_evidence_at >= alert.last_evidence_at:
        alert.explanation = _explanation(finding.explanation)
        alert.score = finding.score
    alert.updated_at = now
    alert.save(update_fields=["evidence", "first_evidence_at", "last_evidence_at",
                              "explanation", "score", "updated_at"])


def run_reset(*, actor: Actor, name: str = RUN_NAME, to_seq: int = 0) -> None:
    """Move the cursor (back to re-evaluate, forward to skip) and drop the engine's state;
    alerts stay (dedup keys keep a re-evaluation from raising them again). Audited."""
    if to_seq < 0:
        raise DetectionError("The cursor cannot be negative.")
    with transaction.atomic():
        state = _state(name)
        state = RunState.objects.select_for_update().get(id=state.id)
        old = state.cursor
        state.cursor = to_seq
        state.engine_state = b""
        state.updated_at = timezone.now()
        state.save()
        audit.record(action="detection.run_reset", actor=actor, subject=("detection_run", name),
                     data={"from_seq": old, "count": to_seq})


# --- triage ------------------------------------------------------------------------------------

def _locked(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(id=alert_id).first()
    if alert is None:
        raise AlertNotFound(f"No alert {alert_id}.")
    return alert


def _move(alert: Alert, to: str) -> None:
    if to not in TRANSITIONS[alert.status]:
        raise AlertStateError(f"Alert {alert.id} is {alert.status}; it cannot become {to}.",
                              current=alert.status)


class OwnAlert(DetectionError):
    """Nobody triages or suppresses an alert about themselves (separation of duties, R-OPS-8)."""

    status = 403
    code = "own-alert"
    title = "An alert about yourself"


def _about(principal: Principal, entity: str) -> bool:
    """Whether ``entity`` is the principal: their user, or one of their API tokens."""
    kind, _, ident = entity.partition(":")
    if kind == "user":
        return ident == str(principal.user_id)
    if kind == "token" and ident.isdigit():
        return any(t.id == int(ident) for t in accounts.token_list(user_id=principal.user_id))
    return False


def _refuse_own(principal: Principal, entity: str) -> None:
    if _about(principal, entity):
        raise OwnAlert("This alert is about you (your account or one of your tokens): another "
                       "analyst triages it.")


def _transition(alert: Alert, *, principal: Principal, to: str, now: datetime) -> None:
    _refuse_own(principal, alert.entity)
    _move(alert, to)
    alert.status = to
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now  # every move out of "new" stops the acknowledge clock
    if alert.owner_id is None:
        alert.owner_id = principal.user_id
    alert.updated_at = now


@transaction.atomic
def alert_acknowledge(*, alert_id: int, principal: Principal) -> AlertView:
    """new -> acknowledged; the analyst becomes the owner if the alert has none."""
    alert = _locked(alert_id)
    now = timezone.now()
    _transition(alert, principal=principal, to=AlertStatus.ACKNOWLEDGED, now=now)
    alert.save()
    audit.record(action="detection.triaged", actor=principal.actor, subject=("alert", alert.id),
                 data={"status": alert.status, "rule": alert.rule_id,
                       "severity": alert.severity})
    return alert_view(alert)


@transaction.atomic
def alerts_acknowledge_bulk(*, alert_ids: Iterable[int], principal: Principal) -> list[int]:
    """Acknowledge every listed alert that is new; returns the ids acknowledged (others are left
    as they are — a bulk action over a queue that moved under the analyst's feet)."""
    done: list[int] = []
    ids = sorted(set(alert_ids))
    if len(ids) > settings.SAFEGUARD_DETECTION_BULK_MAX:
        raise DetectionError(f"At most {settings.SAFEGUARD_DETECTION_BULK_MAX} alerts at once.")
    now = timezone.now()
    for alert in Alert.objects.select_for_update().filter(id__in=ids,
                                                          status=AlertStatus.NEW).order_by("id"):
        if _about(principal, alert.entity):
            continue  # left for another analyst, like an alert no longer new
        _transition(alert, principal=principal, to=AlertStatus.ACKNOWLEDGED, now=now)
        alert.save()
        audit.record(action="detection.triaged", actor=principal.actor,
                     subject=("alert", alert.id),
                     data={"status": alert.status, "rule": alert.rule_id,
                           "severity": alert.severity, "method": "bulk"})
        done.append(alert.id)
    return done


@transaction.atomic
def alert_investigate(*, alert_id: int, principal: Principal) -> AlertView:
    """new|acknowledged -> investigating; the analyst takes ownership."""
    alert = _locked(alert_id)
    now = timezone.now()
    _transition(alert, principal=principal, to=AlertStatus.INVESTIGATING, now=now)
    alert.owner_id = principal.user_id
    alert.save()
    audit.record(action="detection.triaged", actor=principal.actor, subject=("alert", alert.id),
                 data={"status": alert.status, "rule": alert.rule_id,
                       "severity": alert.severity})
    return alert_view(alert)


@transaction.atomic
def alert_close(*, alert_id: int, principal: Principal, resolution: str,
                note: str = "") -> AlertView:
    """Close with a resolution (true positive, false positive, benign) and an optional note
    (screened); closing a new alert also stops its acknowledge clock."""
    if resolution not in Resolution.values:
        raise DetectionError(f"Unknown resolution {resolution!r}; use one of "
                             f"{', '.join(Resolution.values)}.")
    if len(note) > settings.SAFEGUARD_DETECTION_NOTE_MAX:
        raise DetectionError(f"The note is longer than {settings.SAFEGUARD_DETECTION_NOTE_MAX} "
                             "characters.")
    alert = _locked(alert_id)
    now = timezone.now()
    _transition(alert, principal=principal, to=AlertStatus.CLOSED, now=now)
    alert.resolution = resolution
    alert.closed_at = now
    alert.close_note = protection.screen(note, field="detection.close_note").text if note else ""
    alert.save()
    audit.record(action="detection.closed", actor=principal.actor, subject=("alert", alert.id),
                 data={"status": alert.status, "outcome": resolution, "rule": alert.rule_id,
                       "severity": alert.severity})
    return alert_view(alert)


# --- suppressions ------------------------------------------------------------------------------

@transaction.atomic
def suppression_create(*, principal: Principal, rule_id: str, entity: str, reason: str,
                       hours: int) -> SuppressionView:
    """Silence one rule for one entity for ``hours`` (at most SAFEGUARD_DETECTION_SUPPRESSION_
    MAX_HOURS), with a reason; audited. Expired suppressions stop matching by themselves."""
    rule_id, entity, reason = rule_id.strip(), entity.strip(), reason.strip()
    if not rule_id or len(rule_id) > 100 or not entity or len(entity) > 200:
        raise DetectionError("A suppression names a rule id (<= 100 characters) and an entity "
                             "(<= 200 characters), like user:3.")
    if not reason or len(reason) > settings.SAFEGUARD_DETECTION_NOTE_MAX:
        raise DetectionError("A suppression needs a reason (at most "
                             f"{settings.SAFEGUARD_DETECTION_NOTE_MAX} characters).")
    _refuse_own(principal, entity)
    max_hours = settings.SAFEGUARD_DETECTION_SUPPRESSION_MAX_HOURS
    if not 1 <= hours <= max_hours:
        raise DetectionError(f"A suppression lasts 1 to {max_hours} hours.")
    now = timezone.now()
    row = Suppression.objects.create(
        rule_id=rule_id, entity=entity, created_by_id=principal.user_id, created_at=now,
        expires_at=now + timedelta(hours=hours),
        reason=protection.screen(reason, field="detection.suppression_reason").text)
    audit.record(action="detection.suppression_created", actor=principal.actor,
                 subject=("suppression", row.id),
                 data={"rule": rule_id, "entity": entity, "count": hours})
    return suppression_view(row)


@transaction.atomic
def suppression_revoke(*, principal: Principal, suppression_id: int) -> SuppressionView:
    """End a suppression before it expires (idempotent refusal: revoking twice is a conflict)."""
    row = Suppression.objects.select_for_update().filter(id=suppression_id).first()
    if row is None:
        raise SuppressionNotFound(f"No suppression {suppression_id}.")
    if row.revoked_at is not None:
        raise AlertStateError(f"Suppression {suppression_id} is already revoked.")
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    audit.record(action="detection.suppression_revoked", actor=principal.actor,
                 subject=("suppression", row.id), data={"rule": row.rule_id})
    return suppression_view(row)


# --- escalation (R-OPS-9) ----------------------------------------------------------------------

def _windows() -> list[tuple[str, timedelta]]:
    return [(EscalationLevel.ACK_OVERDUE,
             timedelta(minutes=settings.SAFEGUARD_DETECTION_ACK_MINUTES)),
            (EscalationLevel.ESCALATED,
             timedelta(minutes=settings.SAFEGUARD_DETECTION_ESCALATE_MINUTES))]


def escalation_due(*, now: datetime | None = None) -> int:
    """Create the notices of every alert of an escalated severity still ``new`` past a window
    (acknowledge, then escalate), one per target; each notice once. Returns how many."""
    now = now or timezone.now()
    targets = notify.targets()
    if not targets:
        return 0
    created = 0
    for level, window in _windows():
        overdue = (Alert.objects.filter(
            severity__in=settings.SAFEGUARD_DETECTION_ESCALATE_SEVERITIES,
            status=AlertStatus.NEW, created_at__lte=now - window)
            .exclude(escalations__level=level).order_by("id"))
        for alert in overdue[:settings.SAFEGUARD_DETECTION_BATCH]:
            with transaction.atomic():
                for target in targets:
                    _, new = Escalation.objects.get_or_create(
                        alert=alert, level=level, target=target.name,
                        defaults={"due_at": alert.created_at + window, "created_at": now})
                    created += int(new)
                audit.record(action="detection.escalated", actor=SYSTEM,
                             subject=("alert", alert.id),
                             data={"rule": alert.rule_id, "severity": alert.severity,
                                   "status": level,
                                   "count": len(targets)})
    return created


def escalation_deliver(*, now: datetime | None = None) -> dict[str, int]:
    """Try each pending notice once (a run per minute makes the retries); a notice that failed
    SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS times is marked failed and logged. Returns counts."""
    by_name = {t.name: t for t in notify.targets()}
    counts = {"sent": 0, "retry": 0, "failed": 0}
    pending = (Escalation.objects.filter(status=DeliveryStatus.PENDING)
               .select_related("alert").order_by("id")[:settings.SAFEGUARD_DETECTION_BATCH])
    for row in pending:
        target = by_name.get(row.target)
        error = ""
        if target is None:
            error = f"target {row.target!r} is no longer configured"
        else:
            try:
                notify.deliver(target, alert=alert_view(row.alert), level=row.level)
            except notify.DeliveryError as exc:
                error = str(exc)[:300]
        row.attempts += 1
        if not error:
            row.status = DeliveryStatus.SENT
            row.sent_at = now or timezone.now()
            row.last_error = ""
            counts["sent"] += 1
        elif row.attempts >= settings.SAFEGUARD_DETECTION_DELIVERY_ATTEMPTS or target is None:
            row.status = DeliveryStatus.FAILED
            row.last_error = error
            counts["failed"] += 1
            log.error("detection.escalation_failed",
                      extra={"alert": row.alert_id, "target": row.target, "error": error})
        else:
            row.last_error = error
            counts["retry"] += 1
        row.save(update_fields=["attempts", "status", "sent_at", "last_error"])
    return counts


def escalation_check(*, now: datetime | None = None) -> dict[str, int]:
    """The periodic clock check: create due notices, then deliver pending ones."""
    created = escalation_due(now=now)
    return {"created": created, **escalation_deliver(now=now)}
