"""The vulnerability register: imports, SLA clocks, exceptions, the control and the KPI
(R-OPS-7, R-KPI-6, R-MEAS-3; decision 0242). Writes and reads of the register live here;
views, the command and the providers call these functions.

Status is derived, never stored: ``fixed`` when ``fixed_at`` is set, ``excepted`` while an
exception is unexpired, else ``open`` — so an exception that expires puts the finding back to open
at that instant without a job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from safeguard.audit import services as audit
from safeguard.audit.contracts import Actor
from safeguard.governance import vulnformats
from safeguard.governance.enums import ControlStatus
from safeguard.governance.models import Vulnerability, VulnException, VulnImport
from safeguard.governance.vulnformats import Finding, ReportRefused

STATUSES = ("open", "excepted", "fixed")


class ExceptionRefused(ValueError):
    """An exception request that cannot be granted (same approver, bad expiry, fixed finding)."""


@dataclass(frozen=True)
class ImportResult:
    source: str
    fmt: str
    findings: int
    opened: int
    reopened: int
    closed: int


@dataclass(frozen=True)
class Ratio:
    """The RATIO shape the metrics app reads (``hits`` ÷ ``total``)."""

    hits: int
    total: int


def sla_days(severity: str, score: float | None) -> int:
    """Days to fix a finding of this severity and score; 0 = no deadline."""
    days = {"critical": settings.SAFEGUARD_VULN_SLA_CRITICAL_DAYS,
            "high": settings.SAFEGUARD_VULN_SLA_HIGH_DAYS,
            "medium": settings.SAFEGUARD_VULN_SLA_MEDIUM_DAYS,
            "low": settings.SAFEGUARD_VULN_SLA_LOW_DAYS}.get(
        severity, settings.SAFEGUARD_VULN_SLA_UNKNOWN_DAYS)
    if score is not None and score >= settings.SAFEGUARD_VULN_SLA_SCORE_THRESHOLD:
        high = settings.SAFEGUARD_VULN_SLA_HIGH_DAYS
        days = min(days, high) if days else high
    return int(days)


def _due(first_seen: datetime, severity: str, score: float | None) -> datetime | None:
    days = sla_days(severity, score)
    return first_seen + timedelta(days=days) if days else None


def import_report(*, fmt: str, raw: bytes, source: str, actor: Actor) -> ImportResult:
    """Parse then apply one report in one transaction. A refused report changes nothing.
    Findings of ``source`` absent from this report are closed (``fixed_at`` = now); a closed one
    that reappears is reopened with a fresh clock."""
    source = source.strip()[:120]
    if not source:
        raise ReportRefused("source", "a source name is required")
    findings: list[Finding] = vulnformats.parse(fmt, raw)
    now = timezone.now()
    opened = reopened = 0
    with transaction.atomic():
        seen: set[int] = set()
        for f in findings:
            row = (Vulnerability.objects.select_for_update()
                   .filter(scanner=f.scanner, vuln_id=f.vuln_id, package=f.package).first())
            fields: dict[str, Any] = {
                "source": source, "version": f.version[:128],
                "fixed_version": f.fixed_version[:255], "aliases": list(f.aliases),
                "severity": f.severity, "score": f.score, "vector": f.vector[:200],
                "last_seen": now}
            if row is None:
                row = Vulnerability.objects.create(
                    scanner=f.scanner, vuln_id=f.vuln_id[:128], package=f.package[:255],
                    first_seen=now, due_at=_due(now, f.severity, f.score), **fields)
                opened += 1
            else:
                if row.fixed_at is not None:  # it came back: a new finding for the clock
                    fields.update(first_seen=now, fixed_at=None)
                    reopened += 1
                fields["due_at"] = _due(fields.get("first_seen", row.first_seen),
                                        f.severity, f.score)
                for k, v in fields.items():
                    setattr(row, k, v)
                row.save()
            seen.add(row.id)
        closed = (Vulnerability.objects.filter(source=source, fixed_at__isnull=True)
                  .exclude(id__in=seen).update(fixed_at=now))
        VulnImport.objects.create(source=source, fmt=fmt, imported_at=now,
                                  imported_by=actor.label[:254], findings=len(findings),
                                  opened=opened + reopened, closed=closed)
        result = ImportResult(source=source, fmt=fmt, findings=len(findings), opened=opened,
                              reopened=reopened, closed=closed)
        audit.record(action="governance.vulnerabilities_imported", actor=actor,
                     subject=("vuln_source", source),
                     data={"format": fmt, "findings": len(findings), "opened": opened,
                           "reopened": reopened, "closed": closed})
    return result


def grant_exception(*, vulnerability_id: int, reason: str, expires_at: datetime,
                    requested_by: str, approver: Actor) -> int:
    """Record an accepted risk approved by ``approver``, who must not be the requester."""
    reason = reason.strip()
    if not reason:
        raise ExceptionRefused("A reason is required.")
    if not requested_by.strip() or requested_by.strip().lower() == approver.label.lower():
        raise ExceptionRefused("The approver must be someone other than the requester.")
    now = timezone.now()
    if expires_at <= now:
        raise ExceptionRefused("The expiry must be in the future.")
    if expires_at > now + timedelta(days=settings.SAFEGUARD_VULN_EXCEPTION_MAX_DAYS):
        raise ExceptionRefused(f"An exception lasts at most "
                               f"{settings.SAFEGUARD_VULN_EXCEPTION_MAX_DAYS} days.")
    with transaction.atomic():
        vuln = Vulnerability.objects.select_for_update().filter(id=vulnerability_id).first()
        if vuln is None:
            raise ExceptionRefused("No such finding.")
        if vuln.fixed_at is not None:
            raise ExceptionRefused("The finding is already fixed.")
        exc = VulnException.objects.create(vulnerability=vuln, reason=reason[:4000],
                                           requested_by=requested_by.strip()[:254],
                                           approved_by=approver.label[:254], created_at=now,
                                           expires_at=expires_at)
        audit.record(action="governance.vulnerability_excepted", actor=approver,
                     subject=("vulnerability", vuln.id),
                     data={"exception": exc.id, "requested_by": exc.requested_by,
                           "expires_at": expires_at.isoformat()})
    return exc.id


# --- reads ----------------------------------------------------------------------------------

def _annotated(now: datetime) -> QuerySet[Vulnerability]:
    active = VulnException.objects.filter(vulnerability=OuterRef("pk"), expires_at__gt=now)
    return Vulnerability.objects.annotate(excepted=Exists(active))


def _with_status(qs: QuerySet[Vulnerability], status: str) -> QuerySet[Vulnerability]:
    if status == "fixed":
        return qs.filter(fixed_at__isnull=False)
    if status == "excepted":
        return qs.filter(fixed_at__isnull=True, excepted=True)  # type: ignore[misc]
    if status == "open":
        return qs.filter(fixed_at__isnull=True, excepted=False)  # type: ignore[misc]
    return qs


@dataclass(frozen=True)
class VulnRow:
    id: int
    scanner: str
    vuln_id: str
    aliases: list[str]
    package: str
    version: str
    fixed_version: str
    severity: str
    score: float | None
    vector: str
    source: str
    status: str
    first_seen: datetime
    due_at: datetime | None
    fixed_at: datetime | None
    age_days: int
    overdue: bool
    exception_until: datetime | None


def register(*, status: str = "", severity: str = "", now: datetime | None = None,
             limit: int = 500) -> list[VulnRow]:
    """Findings, most urgent first (earliest due date, then highest score)."""
    now = now or timezone.now()
    qs = _with_status(_annotated(now), status)
    if severity:
        qs = qs.filter(severity=severity)
    qs = qs.order_by("fixed_at", "due_at", "-score", "id")[:limit]
    exc_until: dict[int, datetime] = {}
    for vid, until in (VulnException.objects.filter(vulnerability__in=[v.id for v in qs],
                                                    expires_at__gt=now)
                       .values_list("vulnerability_id", "expires_at")):
        exc_until[vid] = max(until, exc_until.get(vid, until))
    rows = []
    for v in qs:
        st = "fixed" if v.fixed_at else ("excepted" if v.excepted else "open")  # type: ignore[attr-defined]
        end = v.fixed_at or now
        rows.append(VulnRow(
            id=v.id, scanner=v.scanner, vuln_id=v.vuln_id, aliases=list(v.aliases),
            package=v.package, version=v.version, fixed_version=v.fixed_version,
            severity=v.severity, score=v.score, vector=v.vector, source=v.source, status=st,
            first_seen=v.first_seen, due_at=v.due_at, fixed_at=v.fixed_at,
            age_days=max(0, math.floor((end - v.first_seen).total_seconds() / 86400)),
            overdue=st == "open" and v.due_at is not None and v.due_at < now,
            exception_until=exc_until.get(v.id)))
    return rows


def counts(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    qs = _annotated(now)
    return {"open": _with_status(qs, "open").count(),
            "excepted": _with_status(qs, "excepted").count(),
            "fixed": _with_status(qs, "fixed").count(),
            "overdue": _with_status(qs, "open").filter(due_at__lt=now).count()}


def last_import() -> VulnImport | None:
    return VulnImport.objects.order_by("-imported_at", "-id").first()


def control_within_sla() -> dict[str, str]:
    """Provider ``control.vulnerabilities_within_sla``: pass when a scan was imported recently
    and no open (unexcepted) finding is past its deadline; the counts are the evidence."""
    now = timezone.now()
    last = last_import()
    if last is None:
        return {"status": ControlStatus.UNAVAILABLE,
                "evidence": "No scanner report has been imported into the vulnerability "
                            "register yet."}
    c = counts(now=now)
    tail = (f"{c['open']} open, {c['overdue']} past their deadline, {c['excepted']} under an "
            f"unexpired exception, {c['fixed']} fixed; last import {last.source} "
            f"({last.fmt}) at {last.imported_at:%Y-%m-%d %H:%M} UTC")
    max_days = settings.SAFEGUARD_VULN_SCAN_MAX_DAYS
    if last.imported_at < now - timedelta(days=max_days):
        return {"status": ControlStatus.FAIL,
                "evidence": f"No scan imported in the last {max_days} days: {tail}."}
    if c["overdue"]:
        worst = (_with_status(_annotated(now), "open").filter(due_at__lt=now)
                 .order_by("due_at").first())
        oldest = (f" Oldest overdue: {worst.vuln_id} in {worst.package} ({worst.severity}), "
                  f"due {worst.due_at:%Y-%m-%d}." if worst and worst.due_at else "")
        return {"status": ControlStatus.FAIL, "evidence": f"{tail}.{oldest}"}
    return {"status": ControlStatus.PASS, "evidence": f"No open finding past its deadline: {tail}."}


def kpi_on_time(*, start: datetime, end: datetime) -> Ratio:
    """Provider ``kpi.vulnerabilities_on_time`` (R-KPI-6): findings with CVSS score at least
    SAFEGUARD_VULN_SLA_SCORE_THRESHOLD fixed in [start, end) by their deadline ÷ those fixed in
    [start, end)."""
    qs = Vulnerability.objects.filter(
        score__gte=settings.SAFEGUARD_VULN_SLA_SCORE_THRESHOLD,
        fixed_at__gte=start, fixed_at__lt=end)
    # Every such finding has a deadline: a score at or above the threshold gets the high clock.
    return Ratio(hits=qs.filter(fixed_at__lte=F("due_at")).count(), total=qs.count())
