"""The review-pack archive (R-MEAS-1): generating a pack once per kind and period, storing its
PDF sealed with its SHA-256, scheduled generation after a period closes, and audited downloads.

Idempotent and resumable: a unique (kind, period) row is claimed with status ``generating``
before the PDF is rendered and marked ``done`` in one transaction with the sealed PDF and the
audit event. Running again finds ``done`` and does nothing; a run killed after the claim leaves
``generating`` and the next run renders and completes that same row — never a second pack.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from safeguard.audit import selectors as audit_log
from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.metrics import packs
from safeguard.metrics.contracts import MetricsError
from safeguard.metrics.models import ReviewPack
from safeguard.privacy.pdf import render_pdf
from safeguard.protection import services as protection

log = logging.getLogger(__name__)

GENERATING, DONE = "generating", "done"
SCHEDULER = "scheduler"
SCHEDULER_ACTOR = Actor.system("metrics.review_packs")


@dataclass(frozen=True)
class ArchivedPack:
    id: int
    kind: str
    title: str
    period: str
    status: str
    started_at: datetime
    attempts: int
    generated_at: datetime | None
    generated_by: str  # "scheduler" or the staff member's e-mail
    sha256: str
    size: int


def _view(row: ReviewPack) -> ArchivedPack:
    by = SCHEDULER if row.generated_by_id is None else (
        getattr(row.generated_by, "email", "") or f"user {row.generated_by_id}")
    return ArchivedPack(id=row.id, kind=row.kind, title=packs.TITLES.get(row.kind, row.kind),
                        period=row.period, status=row.status, started_at=row.started_at,
                        attempts=row.attempts, generated_at=row.generated_at,
                        generated_by=by, sha256=row.sha256, size=row.size)


def _context(kind: str, period: str, digest: str) -> str:
    return f"metrics.review_pack:{kind}:{period}:{digest}"


def render(pack: packs.Pack) -> bytes:
    """The pack as a PDF (WeasyPrint; no external resource is fetched)."""
    return render_pdf("metrics/pack_pdf.html", {"pack": pack})


def _claim(kind: str, period: str, user_id: int | None) -> tuple[ReviewPack, bool]:
    """The (kind, period) row, claimed for generation; ``True`` when it is already done."""
    now = timezone.now()
    with transaction.atomic():
        row = ReviewPack.objects.select_for_update().filter(kind=kind, period=period).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = ReviewPack.objects.create(kind=kind, period=period, status=GENERATING,
                                                    started_at=now, generated_by_id=user_id)
                return row, False
            except IntegrityError:  # claimed at the same moment by another run
                row = ReviewPack.objects.select_for_update().get(kind=kind, period=period)
        if row.status == DONE:
            return row, True
        # left half-way by an earlier run (or being generated now): this run completes it
        row.attempts += 1
        row.started_at = now
        row.save(update_fields=["attempts", "started_at"])
        return row, False


def pack_archive(*, kind: str, period: str, actor: Actor,
                 user_id: int | None = None) -> tuple[ArchivedPack, bool]:
    """Generate and archive the pack of a closed period once. Returns the archived pack and
    whether this call generated it (False: it was already archived). Audited."""
    p = packs.parse_period(kind, period, closed=True)
    row, done = _claim(kind, p.label, user_id)
    if done:
        return _view(row), False
    pdf = render(packs.build(p))
    digest = hashlib.sha256(pdf).hexdigest()
    sealed = protection.stash_seal(pdf, context=_context(kind, p.label, digest))
    with transaction.atomic():
        row = ReviewPack.objects.select_for_update().get(id=row.id)
        if row.status == DONE:  # a concurrent run finished first: keep its copy
            return _view(row), False
        row.status, row.sealed, row.sha256, row.size = DONE, sealed, digest, len(pdf)
        row.generated_at = timezone.now()
        row.generated_by_id = user_id
        row.save(update_fields=["status", "sealed", "sha256", "size", "generated_at",
                                "generated_by"])
        audit.record(action="metrics.review_pack_generated", actor=actor,
                     subject=("review_pack", row.id),
                     data={"kind": kind, "period": p.label, "sha256": digest,
                           "size": len(pdf), "attempts": row.attempts,
                           "by": SCHEDULER if user_id is None else "user"})
    return _view(ReviewPack.objects.select_related("generated_by").get(id=row.id)), True


def pack_open(*, pack_id: int, actor: Actor) -> tuple[ArchivedPack, bytes]:
    """The archived PDF, checked against its SHA-256; the download is audited. A pack still
    being generated, missing, or failing its check is refused."""
    row = ReviewPack.objects.select_related("generated_by").filter(id=pack_id).first()
    if row is None or row.status != DONE:
        raise MetricsError(f"no archived pack {pack_id}")
    pdf = protection.stash_open(row.sealed, context=_context(row.kind, row.period, row.sha256))
    if pdf is None or hashlib.sha256(pdf).hexdigest() != row.sha256:
        audit.record(action="metrics.review_pack_downloaded", actor=actor, outcome="failure",
                     subject=("review_pack", row.id), data={"integrity": "failed"})
        raise MetricsError(f"archived pack {pack_id} does not open or fails its SHA-256 check")
    audit.record(action="metrics.review_pack_downloaded", actor=actor,
                 subject=("review_pack", row.id),
                 data={"kind": row.kind, "period": row.period, "sha256": row.sha256})
    return _view(row), pdf


def pack_list() -> list[ArchivedPack]:
    """Archived packs (and any left half-way), newest period first."""
    return [_view(r) for r in ReviewPack.objects.select_related("generated_by")
            .order_by("-period", "kind")]


def scheduled_kinds() -> list[str]:
    """The kinds named in SAFEGUARD_REVIEW_PACKS_SCHEDULED (E567 refuses unknown ones)."""
    return [k.strip() for k in settings.SAFEGUARD_REVIEW_PACKS_SCHEDULED.split(",") if k.strip()]


def due(*, today: date) -> list[packs.PackPeriod]:
    """The previous period of each scheduled kind, once SAFEGUARD_REVIEW_PACK_DAY_OFFSET whole
    days have passed since it closed."""
    offset = timedelta(days=settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET)
    out = []
    for kind in scheduled_kinds():
        p = packs.previous_period(kind, today)
        if today >= p.last_day + timedelta(days=1) + offset:
            out.append(p)
    return out


def packs_generate_due(*, now: datetime | None = None) -> list[ArchivedPack]:
    """The scheduler's run: archive each due pack not archived yet (one failing kind does not
    stop the others). A period that ended before the installation's first audit event is
    skipped (a new installation does not archive empty reviews of its past). Returns the packs
    this run generated."""
    today = (now or timezone.now()).date()
    made: list[ArchivedPack] = []
    for p in due(today=today):
        if ReviewPack.objects.filter(kind=p.kind, period=p.label, status=DONE).exists():
            continue
        if not audit_log.event_list(until=p.end, limit=1):
            continue  # the installation recorded nothing before the period ended: no review
        try:
            view, created = pack_archive(kind=p.kind, period=p.label, actor=SCHEDULER_ACTOR)
        except Exception:  # logged; the next run retries this kind
            log.exception("review pack generation failed", extra={"kind": p.kind,
                                                                  "period": p.label})
            continue
        if created:
            made.append(view)
    return made


def schedule_problems() -> list[str]:
    """E567/E568: unknown scheduled kinds; an offset outside 0..27 days."""
    problems = [f"SAFEGUARD_REVIEW_PACKS_SCHEDULED names unknown kind {k!r} (one of "
                f"{', '.join(packs.KINDS)})" for k in scheduled_kinds() if k not in packs.KINDS]
    off = settings.SAFEGUARD_REVIEW_PACK_DAY_OFFSET
    if not isinstance(off, int) or not 0 <= off <= 27:
        problems.append(f"SAFEGUARD_REVIEW_PACK_DAY_OFFSET is {off!r}: it must be 0..27")
    return problems
