"""Audit pages: verification status with live progress, event search, export (R-IR-5).

An entry point: it uses the accounts guards (the one upward edge import-linter allows for
audit's entry points; the audit core imports no domain app).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import permission_required, request_actor, request_permissions
from safeguard.audit import selectors, services, tasks, verification
from safeguard.audit.contracts import EventView
from safeguard.audit.models import VerificationRun
from safeguard.audit.permissions import EVENTS_VIEW, VERIFY
from safeguard.web.bounds import ascii_int, date_check
from safeguard.web.errors import ApplicationError


class SearchForm(forms.Form):
    actor = forms.CharField(required=False, max_length=254, label="Actor contains")
    action = forms.CharField(required=False, max_length=80,
                             help_text="Exact, or a prefix ending in a dot: auth.")
    subject_type = forms.CharField(required=False, max_length=40)
    subject_id = forms.CharField(required=False, max_length=64)
    outcome = forms.ChoiceField(required=False, choices=[("", "any"), ("success", "success"),
                                                         ("failure", "failure"),
                                                         ("denied", "denied")])
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                            help_text="inclusive")

    def _date(self, name: str) -> date | None:
        value = self.cleaned_data.get(name)
        if value is None:
            return None
        try:
            return date_check(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_since(self) -> date | None:
        return self._date("since")

    def clean_until(self) -> date | None:
        return self._date("until")

    def filters(self) -> dict[str, Any]:
        d = self.cleaned_data
        tz = timezone.get_current_timezone()
        return {
            "actor": d["actor"] or None, "action": d["action"] or None,
            "subject": (d["subject_type"], d["subject_id"]) if d["subject_type"] else None,
            "outcome": d["outcome"] or None,
            "since": datetime.combine(d["since"], time.min, tz) if d["since"] else None,
            "until": (datetime.combine(d["until"], time.max, tz) if d["until"] else None),
        }


@permission_required(EVENTS_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Verification status and event search."""
    form = SearchForm(request.GET or None)
    events: list[EventView] = []
    raw_before = request.GET.get("before_seq", "")
    before = ascii_int(raw_before, minimum=1)
    valid = not request.GET or form.is_valid()
    if raw_before and before is None:
        form.add_error(None, "before_seq must be a sequence number (ASCII digits, 1 or more).")
        valid = False
    if valid:
        # Show what was committed up to this request (the integrator runs after each commit;
        # this covers a run that is still busy or was handed over). Never waits for the lock.
        services.integrate(max_ms=settings.SAFEGUARD_AUDIT_INTEGRATION_RUN_MS)
        filters = form.filters() if request.GET else {}
        events = selectors.event_list(before_seq=before, limit=50, **filters)
    query = request.GET.copy()
    query.pop("before_seq", None)
    return render(request, "audit/index.html", {
        "form": form, "events": events, "query": query.urlencode(),
        "next_before": events[-1].seq if len(events) == 50 else None,
        "head": selectors.head_latest(), "last_seq": selectors.last_seq(),
        "run": selectors.verification_latest(),
        "integration": selectors.integration_status(),
        "pending": VerificationRun.objects.filter(finished_at__isnull=True).order_by("-id").first(),
        "can_verify": VERIFY in request_permissions(request),
    }, status=200 if valid else 400)


@permission_required(VERIFY)
@require_POST
def verify_start(request: HttpRequest) -> HttpResponse:
    """Start a full verification in the background; the page shows its progress."""
    actor = request_actor(request)
    if VerificationRun.objects.filter(finished_at__isnull=True).exists():
        return redirect("audit:index")  # one run at a time: it reads the whole log
    with transaction.atomic():
        run_id = verification.run_start(triggered_by=f"{actor.kind}:{actor.label}")
        services.record(action="audit.verification_started", actor=actor,
                        subject=("verification", run_id))
    transaction.on_commit(lambda: tasks.verify_run(run_id))
    return redirect("audit:index")


@permission_required(VERIFY)
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """HTMX partial: progress of a verification run (polled every second until done)."""
    run = get_object_or_404(VerificationRun, id=run_id)
    total = selectors.last_seq()
    return render(request, "audit/_run.html", {"run": run, "total": total})


# An export is spooled in memory up to this size, then on disk (never held whole in memory).
_SPOOL_BYTES = 8 * 1024 * 1024


def _cell(value: object) -> object:
    """Neutralise spreadsheet formulas: a cell starting with = + - @ (or a tab or CR) would be
    evaluated by the spreadsheet an auditor opens the export in."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _rows(events: Iterator[EventView], fmt: str) -> Iterator[str]:
    header = ["seq", "at", "actor_kind", "actor_id", "actor_label", "action", "subject_type",
              "subject_id", "outcome", "source_ip", "request_id", "data"]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        yield buf.getvalue()
    for e in events:
        row = [e.seq, e.at.isoformat(), e.actor.kind, e.actor.id, e.actor.label, e.action,
               e.subject_type, e.subject_id, e.outcome, e.source_ip or "", e.request_id,
               json.dumps(e.data, sort_keys=True)]
        if fmt == "csv":
            buf = io.StringIO()
            csv.writer(buf).writerow([_cell(v) for v in row])
            yield buf.getvalue()
        else:
            yield json.dumps(dict(zip(header, row[:-1], strict=False)) | {"data": e.data}) + "\n"


def _spooled(events: Iterator[EventView], fmt: str) -> tuple[Any, str, int]:
    """The export written to a spooled temporary file (memory, then disk), its SHA-256 and
    its row count: the digest is known before a byte is served, so it can be recorded."""
    out: Any = io.BytesIO()
    digest = hashlib.sha256()
    rows = -1 if fmt == "csv" else 0  # the CSV header line is not a row
    for chunk in _rows(events, fmt):
        data = chunk.encode()
        digest.update(data)
        out.write(data)
        rows += 1
        if isinstance(out, io.BytesIO) and out.tell() > _SPOOL_BYTES:
            disk = tempfile.TemporaryFile()  # noqa: SIM115 - served, then closed by the response
            disk.write(out.getvalue())
            out = disk
    out.seek(0)
    return out, digest.hexdigest(), rows


@permission_required(EVENTS_VIEW)
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The matching events as CSV or JSON lines. The export is recorded (``audit.exported``
    with its filters, SHA-256 and row count) before it is served, and carries its digest in the
    ``Repr-Digest`` (RFC 9530) and ``X-Content-SHA256`` headers (R-IR-5)."""
    form = SearchForm(request.GET)
    fmt = request.GET.get("format", "csv")
    if fmt not in ("csv", "jsonl") or not form.is_valid():
        return HttpResponse("Invalid filters or format (csv or jsonl).", status=400,
                            content_type="text/plain")
    filters = form.filters()
    try:  # an export freeze (incident containment, decision 0225) refuses and records
        services.export_guard(actor=request_actor(request), export="audit.events")
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=exc.status, content_type="text/plain")
    body, sha256, rows = _spooled(selectors.event_export(**filters), fmt)
    try:
        with transaction.atomic():
            services.record(action="audit.exported", actor=request_actor(request),
                            data={"format": fmt, "sha256": sha256, "rows": rows, "filters": {
                                k: str(v) for k, v in filters.items() if v is not None}})
    except ApplicationError as exc:
        # The export is recorded with its filters or not served at all; a filter the log
        # refuses to hold (e.g. card-like text, R-OPS-2) is the caller's error.
        body.close()
        return HttpResponse(f"Invalid filters: {exc.detail}", status=400,
                            content_type="text/plain")
    response = FileResponse(body, content_type="text/csv" if fmt == "csv"
                            else "application/x-ndjson")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{fmt}"'
    response["X-Content-SHA256"] = sha256
    response["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(sha256)).decode()}:"
    return response
