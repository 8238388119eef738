"""Service KPIs for a period (R-KPI-1..3), computed with the definitions of
:mod:`safeguard.cases.lifecycle` (see docs/cases.md). Aggregates only: no customer data."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q

from safeguard.cases import lifecycle
from safeguard.cases.contracts import AsaKpi, Period, RatioKpi
from safeguard.cases.enums import Channel
from safeguard.cases.models import Case, CsatResponse, Interaction, Queue


def csat(*, period: Period, queue: str | None = None, channel: str | None = None) -> RatioKpi:
    """R-KPI-1: share of survey answers in the period that are 4 or 5 out of 5 (optionally of
    one queue, or of the cases that started on one channel)."""
    qs = CsatResponse.objects.filter(submitted_at__gte=period.start, submitted_at__lt=period.end)
    if queue:
        qs = qs.filter(queue__slug=queue)
    if channel:
        qs = qs.filter(case__channel=channel)
    scores = list(qs.values_list("score", flat=True))
    return RatioKpi(value=lifecycle.csat(scores),
                    hits=sum(1 for s in scores if s >= lifecycle.CSAT_SATISFIED_MIN),
                    total=len(scores))


def fcr(*, period: Period, queue: str | None = None, channel: str | None = None,
        reopen_window_days: int | None = None) -> RatioKpi:
    """R-KPI-2: of the cases first resolved in the period, the share resolved within their
    first interaction and not reopened within the window (default
    SAFEGUARD_FCR_REOPEN_WINDOW_DAYS). Merged duplicates are left out."""
    window = (settings.SAFEGUARD_FCR_REOPEN_WINDOW_DAYS if reopen_window_days is None
              else reopen_window_days)
    qs = Case.objects.filter(first_resolved_at__gte=period.start, first_resolved_at__lt=period.end,
                             merged_into__isnull=True)
    if queue:
        qs = qs.filter(queue__slug=queue)
    if channel:
        qs = qs.filter(channel=channel)
    rows = []
    for case_id, resolved_at, reopened_at in qs.values_list("id", "first_resolved_at",
                                                            "reopened_at"):
        if resolved_at is None:  # pragma: no cover - filtered by the period above
            continue
        n = Interaction.objects.filter(case_id=case_id, started_at__lte=resolved_at).count()
        rows.append(lifecycle.CaseForFcr(resolved_at=resolved_at,
                                         interactions_before_resolution=n,
                                         reopened_at=reopened_at))
    hits = sum(lifecycle.first_contact_resolved(r, reopen_window_days=window) for r in rows)
    return RatioKpi(value=lifecycle.fcr(rows, reopen_window_days=window), hits=hits,
                    total=len(rows))


def _calls(period: Period, queue: str | None) -> object:
    qs = Interaction.objects.filter(channel=Channel.VOICE, queued_at__gte=period.start,
                                    queued_at__lt=period.end)
    return qs.filter(case__queue__slug=queue) if queue else qs


def asa(*, period: Period, queue: str | None = None) -> AsaKpi:
    """R-KPI-3: mean seconds from queued to answered over the calls queued in the period
    that were answered; calls that ended unanswered count as abandoned."""
    calls = list(_calls(period, queue).values_list(  # type: ignore[attr-defined]
        "queued_at", "answered_at", "ended_at"))
    waits = [lifecycle.speed_to_answer(q, a) for q, a, _ in calls]
    return AsaKpi(queue=queue or "", value_seconds=lifecycle.average_speed_to_answer(waits),
                  answered=sum(1 for w in waits if w is not None),
                  abandoned=sum(1 for q, a, e in calls if a is None and e is not None))


def asa_by_queue(*, period: Period) -> list[AsaKpi]:
    """R-KPI-3 per queue: every queue that had calls queued in the period."""
    slugs = (Queue.objects.annotate(n=Count("cases__interactions", filter=Q(
        cases__interactions__channel=Channel.VOICE,
        cases__interactions__queued_at__gte=period.start,
        cases__interactions__queued_at__lt=period.end))).filter(n__gt=0)
        .order_by("slug").values_list("slug", flat=True))
    return [asa(period=period, queue=slug) for slug in slugs]
