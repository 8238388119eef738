"""Pages of what the privacy app publishes (R-DATA-5, R-DATA-6, R-ORG-1): the public privacy
notice (every version viewable) and subprocessor register with its CSV — no login — and the
privacy officer's pages that publish them. Thin: parse, authorize, call, render."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from safeguard.accounts import selectors as account_selectors
from safeguard.accounts.guards import permission_required, public, request_principal
from safeguard.privacy import inventory as inv
from safeguard.privacy import publications as pub
from safeguard.privacy import selectors
from safeguard.privacy.enums import TransferMechanism
from safeguard.privacy.permissions import PUBLICATIONS_MANAGE
from safeguard.web.errors import ApplicationError

# --- public ------------------------------------------------------------------------------------


def _public_context(**extra: Any) -> dict[str, Any]:
    return {"org": account_selectors.organisation(), "subprocessors": pub.subprocessor_list(),
            **extra}


@public
@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    """The privacy notice in force, the DPO's contact, how long data is kept (from the matrix
    in force) and the earlier versions."""
    current = pub.notice_current()
    return render(request, "privacy/public_notice.html", _public_context(
        notice=current, versions=pub.notice_published(), retention=selectors.public_retention(),
        latest=True), status=200 if current else 404)


@public
@require_GET
def notice_version(request: HttpRequest, number: int) -> HttpResponse:
    """An earlier (or the current) version, as it was published."""
    try:
        version = pub.notice_get(number=number)
    except ApplicationError as exc:
        return render(request, "privacy/public_notice.html", _public_context(
            notice=None, versions=pub.notice_published(), error=exc.detail), status=404)
    current = pub.notice_current()
    return render(request, "privacy/public_notice.html", _public_context(
        notice=version, versions=pub.notice_published(), retention=None,
        latest=current is not None and current.number == version.number))


@public
@require_GET
def subprocessors(request: HttpRequest) -> HttpResponse:
    """The current subprocessors: who, for what, which data, where, under which safeguard."""
    return render(request, "privacy/public_subprocessors.html", _public_context(
        categories=inv.taxonomy()))


@public
@require_GET
def subprocessors_csv(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(pub.subprocessors_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="subprocessors.csv"'
    return response


# --- the privacy officer's -----------------------------------------------------------------------


class NoticeForm(forms.Form):
    effective_on = forms.DateField(label="Takes effect on",
                                   widget=forms.DateInput(attrs={"type": "date"}))
    summary = forms.CharField(label="What changed", max_length=pub.SUMMARY_MAX,
                              widget=forms.Textarea(attrs={"rows": 3}))
    body = forms.CharField(label="Notice text", widget=forms.Textarea(attrs={"rows": 16}),
                           help_text="Paragraphs separated by a blank line; shown as plain text.")


@permission_required(PUBLICATIONS_MANAGE)
def notice_manage(request: HttpRequest) -> HttpResponse:
    current = pub.notice_current()
    initial = {"effective_on": timezone.localdate(), "body": current.body if current else ""}
    form = NoticeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            view = pub.notice_publish(principal=request_principal(request),
                                      **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Version {view.number} published, in force from "
                                      f"{view.effective_on.isoformat()}.")
            return redirect("privacy:notice_manage")
    return render(request, "privacy/notice_manage.html", {
        "form": form, "versions": pub.notice_versions(), "current": current,
        "org": account_selectors.organisation(),
        "max_days": settings.SAFEGUARD_PRIVACY_NOTICE_MAX_SCHEDULE_DAYS},
        status=400 if request.method == "POST" else 200)


class SubprocessorForm(forms.Form):
    vendor = forms.CharField(max_length=200)
    service = forms.CharField(max_length=300, help_text="What they do for us")
    data_categories = forms.MultipleChoiceField(
        choices=(), widget=forms.CheckboxSelectMultiple,
        help_text="Categories of the data inventory's taxonomy they process")
    location = forms.CharField(max_length=200, help_text="Where the data is processed")
    dpa_signed_on = forms.DateField(label="DPA signed on",
                                    widget=forms.DateInput(attrs={"type": "date"}))
    transfer_mechanism = forms.ChoiceField(choices=TransferMechanism.choices)
    last_verified_on = forms.DateField(label="Last verified on",
                                       widget=forms.DateInput(attrs={"type": "date"}))
    evidence_ref = forms.CharField(max_length=300, label="Evidence of the verification",
                                   help_text="A reference to the evidence (report, ticket, audit)")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_categories"].choices = [  # type: ignore[attr-defined]
            (k, f"{k} — {v}") for k, v in inv.taxonomy().items()]


def _sub_initial(s: pub.SubprocessorView) -> dict[str, Any]:
    return {"vendor": s.vendor, "service": s.service, "data_categories": list(s.data_categories),
            "location": s.location, "dpa_signed_on": s.dpa_signed_on,
            "transfer_mechanism": s.transfer_mechanism, "last_verified_on": s.last_verified_on,
            "evidence_ref": s.evidence_ref}


@permission_required(PUBLICATIONS_MANAGE)
def subprocessors_manage(request: HttpRequest) -> HttpResponse:
    form = SubprocessorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pub.subprocessor_add(principal=request_principal(request), values=form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Subprocessor added to the public register.")
            return redirect("privacy:subprocessors_manage")
    return render(request, "privacy/subprocessors_manage.html", {
        "form": form, "entries": pub.subprocessor_list(current_only=False),
        "today": timezone.localdate()},
        status=400 if request.method == "POST" else 200)


@permission_required(PUBLICATIONS_MANAGE)
def subprocessor_edit(request: HttpRequest, subprocessor_id: UUID) -> HttpResponse:
    entry = pub.subprocessor_get(subprocessor_id=str(subprocessor_id))
    form = SubprocessorForm(request.POST or None, initial=_sub_initial(entry))
    if request.method == "POST" and form.is_valid():
        try:
            pub.subprocessor_update(principal=request_principal(request),
                                    subprocessor_id=str(subprocessor_id),
                                    values=form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, "Subprocessor updated.")
            return redirect("privacy:subprocessors_manage")
    return render(request, "privacy/subprocessor_edit.html", {"form": form, "entry": entry},
                  status=400 if request.method == "POST" else 200)


@permission_required(PUBLICATIONS_MANAGE)
@require_POST
def subprocessor_remove(request: HttpRequest, subprocessor_id: UUID) -> HttpResponse:
    try:
        pub.subprocessor_remove(principal=request_principal(request),
                                subprocessor_id=str(subprocessor_id))
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Subprocessor removed from the public register.")
    return redirect("privacy:subprocessors_manage")
