"""Pages that change the Records Retention Matrix (versioned, with a reason; R-DATA-3, R-REG-4)
and list the encrypted archives of archive-then-delete. Thin: parse, authorize, call, render."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_principal,
    step_up_required,
)
from safeguard.audit import services as audit
from safeguard.privacy import archive as archives
from safeguard.privacy import matrix_edit
from safeguard.privacy.matrix import SWEEP_TARGETS, TRIGGERS, matrix, matrix_version_number
from safeguard.privacy.models import Archive
from safeguard.privacy.periods import ACTIONS
from safeguard.privacy.permissions import INVENTORY_VIEW, RETENTION_MANAGE
from safeguard.web.errors import ApplicationError


class MatrixRowForm(forms.Form):
    description = forms.CharField(max_length=300)
    trigger = forms.ChoiceField(choices=[(t, t) for t in sorted(TRIGGERS)])
    period = forms.CharField(max_length=20, help_text="ISO 8601: P90D, P6M, P7Y, P1Y6M")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    archive_for = forms.CharField(max_length=20, required=False,
                                  help_text="With action archive: how long the encrypted "
                                            "archive is kept (e.g. P5Y)")
    citation = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="The law or policy behind the period (required)")
    owner = forms.CharField(max_length=60)
    statutory = forms.BooleanField(required=False,
                                   help_text="A law requires keeping these: an erasure "
                                             "request keeps them to the end of the period")
    enforced_by = forms.MultipleChoiceField(
        choices=[(t, t) for t in sorted(SWEEP_TARGETS)], required=False,
        widget=forms.CheckboxSelectMultiple, help_text="Sweep targets that apply the row")
    reason = forms.CharField(max_length=matrix_edit.REASON_MAX,
                             widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Why the row changes (kept in the history)")
    base_version = forms.IntegerField(widget=forms.HiddenInput)


@permission_required(RETENTION_MANAGE)
def matrix_row_edit(request: HttpRequest, key: str) -> HttpResponse:
    """GET: the row's form. POST: a new matrix version (step-up MFA first)."""
    if request.method == "POST":
        return _matrix_row_save(request, key)
    row = matrix().get(key)
    if row is None:
        raise Http404
    form = MatrixRowForm(initial={
        "description": row.description, "trigger": row.trigger, "period": str(row.period),
        "action": row.action, "archive_for": str(row.archive_for or ""),
        "citation": row.citation, "owner": row.owner, "statutory": row.statutory,
        "enforced_by": list(row.enforced_by), "base_version": matrix_version_number()})
    return render(request, "privacy/matrix_edit.html", {"form": form, "key": key, "row": row})


@step_up_required(action="Change the retention matrix")
def _matrix_row_save(request: HttpRequest, key: str) -> HttpResponse:
    if key not in matrix():
        raise Http404
    form = MatrixRowForm(request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        reason = data.pop("reason")
        base = data.pop("base_version")
        try:
            version = matrix_edit.matrix_row_update(principal=request_principal(request),
                                                    key=key, values=data, reason=reason,
                                                    base_version=base)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Version {version.number} of the matrix is in force; "
                                      "the next sweep applies it.")
            return redirect("privacy:retention")
    return render(request, "privacy/matrix_edit.html",
                  {"form": form, "key": key, "row": matrix()[key]}, status=400)


@permission_required(INVENTORY_VIEW)
def matrix_version(request: HttpRequest, number: int) -> HttpResponse:
    """One stored version of the matrix: the whole document and what changed."""
    from safeguard.privacy.models import MatrixVersion

    row = MatrixVersion.objects.filter(number=number).first()
    if row is None:
        raise Http404
    return render(request, "privacy/matrix_version.html", {
        "v": matrix_edit._view(row), "document": row.document})


@permission_required(RETENTION_MANAGE)
def archive_list(request: HttpRequest) -> HttpResponse:
    rows = [archives.archive_view(a) for a in Archive.objects.order_by("-created_at")[:500]]
    return render(request, "privacy/archives.html", {"archives": rows})


@permission_required(RETENTION_MANAGE)
@require_POST
def archive_verify(request: HttpRequest, archive_id: UUID) -> HttpResponse:
    """Check that an archive still decrypts and authenticates (its content is not shown)."""
    ok = archives.archive_verify(archive_id=str(archive_id))
    audit.record(action="archive.verified", actor=request_actor(request),
                 subject=("archive", str(archive_id)), outcome="success" if ok else "failure",
                 data={"intact": ok})
    if ok:
        messages.success(request, "The archive decrypts and authenticates end to end.")
    else:
        messages.error(request, "The archive does not verify: altered, lost, or its key is "
                                "gone.")
    return redirect("privacy:archives")
