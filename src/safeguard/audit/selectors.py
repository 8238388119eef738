"""Reads of the audit log; hands out frozen EventView, never ORM rows."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min, QuerySet
from django.utils import timezone

from safeguard.audit.contracts import (
    Actor,
    EventView,
    FreezeView,
    IntegrationStatus,
    SnapshotCheck,
    TreeHeadView,
    VerificationRunView,
)
from safeguard.audit.models import Event, TreeHead, VerificationRun


def _view(e: Event) -> EventView:
    return EventView(
        seq=e.seq, at=e.at, actor=Actor(kind=e.actor_kind, id=e.actor_id, label=e.actor_label),  # type: ignore[arg-type]
        action=e.action, subject_type=e.subject_type, subject_id=e.subject_id,
        outcome=e.outcome, source_ip=e.source_ip, user_agent=e.user_agent,
        request_id=e.request_id, data=dict(e.data),
    )


def _search(
    *,
    action: str | None = None,
    actor_id: str | None = None,
    actor: str | None = None,
    subject: tuple[str, object] | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Event]:
    qs: QuerySet[Event] = Event.objects.all()
    if action:
        # "auth." matches every auth.* action; otherwise an exact name.
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(
            action=action)
    if actor_id:
        qs = qs.filter(actor_id=actor_id)
    if actor:
        qs = qs.filter(actor_label__icontains=actor)
    if subject:
        qs = qs.filter(subject_type=subject[0])
        if subject[1] not in (None, ""):
            qs = qs.filter(subject_id=str(subject[1]))
    if outcome:
        qs = qs.filter(outcome=outcome)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs


def event_list(  # noqa: PLR0913 - one keyword per search filter
    *,
    action: str | None = None,
    actor_id: str | None = None,
    actor: str | None = None,
    subject: tuple[str, object] | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[EventView]:
    """Newest events first, filtered by action (``auth.`` = prefix), actor, subject, time."""
    qs = _search(action=action, actor_id=actor_id, actor=actor, subject=subject,
                 outcome=outcome, since=since, until=until)
    if before_seq:
        qs = qs.filter(seq__lt=before_seq)
    return [_view(e) for e in qs.order_by("-seq")[:limit]]


def event_export(**filters: object) -> Iterator[EventView]:
    """Every matching event in sequence order, streamed in chunks (for CSV/JSONL export)."""
    last = 0
    while True:
        batch = list(_search(**filters).filter(seq__gt=last).order_by("seq")[:2000])  # type: ignore[arg-type]
        if not batch:
            return
        for e in batch:
            yield _view(e)
        last = batch[-1].seq


def head_latest() -> TreeHeadView | None:
    """The newest signed tree head."""
    h = TreeHead.objects.order_by("-size", "-id").first()
    return _head(h) if h else None


def head_list(*, limit: int = 50) -> list[TreeHeadView]:
    """The newest signed heads, newest first."""
    return [_head(h) for h in TreeHead.objects.order_by("-size", "-id")[:limit]]


def _head(h: TreeHead) -> TreeHeadView:
    return TreeHeadView(size=h.size, root_hash=h.root_hash, signed_at=h.signed_at,
                        key_id=h.key_id, signature=h.signature)


def verification_latest() -> VerificationRunView | None:
    """The last finished verification run."""
    r = VerificationRun.objects.filter(finished_at__isnull=False).order_by("-id").first()
    if r is None:
        return None
    return VerificationRunView(started_at=r.started_at, finished_at=r.finished_at,
                               from_seq=r.from_seq, ok=r.ok, events_checked=r.events_checked,
                               heads_checked=r.heads_checked, first_bad_seq=r.first_bad_seq,
                               problems=list(r.problems), triggered_by=r.triggered_by)


def event_batch_after(*, after_seq: int, limit: int = 500) -> list[EventView]:
    """Events with seq > after_seq in sequence order, at most ``limit``: the consumer read path.

    Integrated entries only: an entry still in the queue has no sequence number and is not an
    event yet, so no consumer can see it before the tree commits to it (decision 0180).

    Every consumer (SIEM forwarder, detection, metrics) reads the log through this with its own
    cursor; the log is gap-free, so a consumer that advances its cursor to the last seq it
    handled sees every event exactly once per successful pass (at-least-once on retries).
    """
    qs = Event.objects.filter(seq__gt=after_seq).order_by("seq")[:limit]
    return [_view(e) for e in qs]


def queue_length() -> int:
    """How many recorded entries wait for the integrator (0 when it keeps up)."""
    from safeguard.audit.models import QueuedEntry

    return QueuedEntry.objects.count()


def _nearest_rank(ordered: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def integration_status(*, now: datetime | None = None) -> IntegrationStatus:
    """The queue's length and its oldest entry's wait against the inclusion bound, and the
    integration delay of the newest ``SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS`` events (p50, p99,
    max by nearest rank; events integrated before ``integrated_at`` existed are skipped).
    Two statements."""
    from safeguard.audit.models import QueuedEntry

    now = now or timezone.now()
    bound = settings.SAFEGUARD_AUDIT_INTEGRATION_BOUND_SECONDS
    window = settings.SAFEGUARD_AUDIT_DELAY_WINDOW_EVENTS
    queue = QueuedEntry.objects.aggregate(n=Count("id"), oldest=Min("at"))
    queued, oldest = queue["n"], queue["oldest"]
    wait = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
    rows = Event.objects.order_by("-seq").values_list("at", "integrated_at")[:window]
    delays = sorted(max(0.0, (done - at).total_seconds() * 1000) for at, done in rows
                    if done is not None)
    return IntegrationStatus(
        queued=queued, oldest_wait_seconds=wait, bound_seconds=bound,
        over_bound=wait is not None and wait > bound, window=window, measured=len(delays),
        delay_p50_ms=_nearest_rank(delays, 50), delay_p99_ms=_nearest_rank(delays, 99),
        delay_max_ms=delays[-1] if delays else None)


def last_seq() -> int:
    """The sequence number of the newest event (0 for an empty log)."""
    from safeguard.audit.models import Sequence

    row = Sequence.objects.filter(id=1).first()
    return row.last_seq if row else 0


def signer_ready() -> tuple[bool, str]:
    """Can tree heads be signed now? (False, why) when the signing key is missing or sealed.

    Loads the configured provider afresh (never the cached signer), for readiness probes and the
    deploy check (issue 17, R-IR-5).
    """
    from django.conf import settings
    from django.utils.module_loading import import_string

    try:
        signer = import_string(settings.SAFEGUARD_AUDIT_SIGNER)()
    except Exception as exc:  # noqa: BLE001 - any failure means heads cannot be signed
        detail = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
        return False, detail
    return True, f"key {signer.key_id}"


def snapshot_check(*, using: str, root_size: int) -> SnapshotCheck:
    """Check the audit log of a restored copy on its own connection alias (decision 0241)."""
    from safeguard.audit import verification

    return verification.snapshot_check(using=using, root_size=root_size)


def event_count(*, start: datetime, end: datetime) -> int:
    """Events recorded in [start, end): the exposure of rates such as alerts per 1,000 audited
    events (metrics' u-charts). A count only."""
    return Event.objects.filter(at__gte=start, at__lt=end).count()


def export_freezes(*, current_only: bool = True) -> list[FreezeView]:
    """The export freezes in force (or all), oldest first (decision 0225)."""
    from safeguard.audit import exportfreeze

    return exportfreeze.export_freezes(current_only=current_only)
