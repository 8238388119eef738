"""Communications pages of an incident (R-IR-6, R-REG-3): the letter content, customer letters
generated from the affected list, the sent log with downloads and sending, regulator notices
recorded as submitted, internal updates and public notices. Thin: parse, authorize, call one
``communications`` function, render. Anything that names customers needs a fresh step-up."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from safeguard.accounts.guards import (
    permission_required,
    request_actor,
    request_permissions,
    step_up_required,
)
from safeguard.incidents import communications, selectors
from safeguard.incidents.contracts import IncidentNotFound
from safeguard.incidents.permissions import INCIDENTS_AFFECTED, INCIDENTS_MANAGE, INCIDENTS_VIEW
from safeguard.incidents.views import AffectedForm
from safeguard.web.errors import ApplicationError

_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_AREA = forms.Textarea(attrs={"rows": 3})


class PlanForm(forms.Form):
    what_happened = forms.CharField(max_length=4000, widget=_AREA)
    what_we_did = forms.CharField(max_length=4000, widget=_AREA)
    what_you_can_do = forms.CharField(max_length=4000, widget=_AREA)
    mitigation = forms.CharField(label="Mitigation offered", required=False, max_length=2000,
                                 widget=_AREA,
                                 help_text="e.g. 12 months of credit monitoring, and how to "
                                           "claim it")


class SubmittedForm(forms.Form):
    reference = forms.CharField(label="Regulator's reference", max_length=200)
    submitted_at = forms.DateTimeField(label="Submitted at", widget=_DT)


class InternalForm(forms.Form):
    text = forms.CharField(label="Update", max_length=5000, widget=_AREA)


class PublicForm(forms.Form):
    title = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=2000, widget=_AREA,
                              help_text="Public text: shown on the trust page as written")


def _errors(form: forms.Form) -> str:
    return "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())


def _back(incident_id: int) -> HttpResponse:
    return redirect("incidents:communications", incident_id=incident_id)


@permission_required(INCIDENTS_VIEW)
def page(request: HttpRequest, incident_id: int) -> HttpResponse:
    try:
        view = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    perms = request_permissions(request)
    plan = communications.plan_get(incident_id=incident_id)
    now = timezone.now()
    # One "record as submitted" form per generated regulator notice, each with its own ids.
    log = [(c, SubmittedForm(initial={"submitted_at": now}, auto_id=f"sub{c.id}_%s")
            if c.kind == communications.REGULATOR_NOTICE and c.status == communications.GENERATED
            else None) for c in communications.communication_list(incident_id=incident_id)]
    return render(request, "incidents/communications.html", {
        "i": view, "log": log,
        "owed": communications.incident_owed(incident_id=incident_id),
        "public": communications.public_notice_list(incident_id=incident_id),
        "can_manage": INCIDENTS_MANAGE in perms, "can_letters": INCIDENTS_AFFECTED in perms,
        "plan_form": PlanForm(initial=plan.__dict__, auto_id="plan_%s"),
        "letters_form": AffectedForm(auto_id="letters_%s"),
        **_runs_context(incident_id),
        "internal_form": InternalForm(auto_id="int_%s"),
        "public_form": PublicForm(auto_id="pub_%s"),
    })


@permission_required(INCIDENTS_MANAGE)
@require_POST
def plan_save(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = PlanForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return _back(incident_id)
    try:
        communications.plan_save(actor=request_actor(request), incident_id=incident_id,
                                 **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Letter content saved.")
    return _back(incident_id)


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="Generate letters to the customers affected")
@require_POST
def letters(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = AffectedForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"No letters - {_errors(form)}")
        return _back(incident_id)
    d = form.cleaned_data
    try:
        selectors.incident_get(incident_id=incident_id)
        rows = selectors.affected_customers(
            actor=request_actor(request),
            suspect=selectors.Suspect(kind=d["kind"], value=d["value"].strip()),
            since=d["since"], until=d["until"])
        run_id = communications.letters_batch_start(actor=request_actor(request),
                                                    incident_id=incident_id, customers=rows)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return _back(incident_id)
    messages.success(request, f"Letter batch {run_id} queued for {len(rows)} customer(s); "
                              "its progress shows under Letter batches.")
    return _back(incident_id)


def _runs_context(incident_id: int) -> dict[str, object]:
    runs = communications.letter_run_list(incident_id=incident_id)
    return {"runs": runs, "active_run": any(r.active for r in runs),
            "poll_seconds": settings.SAFEGUARD_INCIDENTS_LETTERS_POLL_SECONDS}


@permission_required(INCIDENTS_VIEW)
def letter_runs(request: HttpRequest, incident_id: int) -> HttpResponse:
    """The letter batches' progress (polled by the page while one runs; counts only)."""
    try:
        view = selectors.incident_get(incident_id=incident_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    return render(request, "incidents/partials/_letter_runs.html",
                  {"i": view, **_runs_context(incident_id)})


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="Generate letters to the customers affected")
@require_POST
def letter_resume(request: HttpRequest, incident_id: int, run_id: int) -> HttpResponse:
    try:
        communications.letters_batch_resume(actor=request_actor(request),
                                            incident_id=incident_id, run_id=run_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, f"Letter batch {run_id} queued again; it carries on where "
                                  "it stopped.")
    return _back(incident_id)


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="Download an incident letter or notice")
def download(request: HttpRequest, incident_id: int, communication_id: int) -> HttpResponse:
    try:
        body = communications.communication_pdf(actor=request_actor(request),
                                                incident_id=incident_id,
                                                communication_id=communication_id)
    except IncidentNotFound:
        return render(request, "404.html", status=404)
    except ApplicationError as exc:
        return HttpResponse(exc.detail, status=409, content_type="text/plain")
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="incident-{incident_id}-communication-{communication_id}.pdf"')
    return response


@permission_required(INCIDENTS_AFFECTED)
@step_up_required(action="Send an incident letter or update by e-mail")
@require_POST
def send(request: HttpRequest, incident_id: int, communication_id: int) -> HttpResponse:
    try:
        row = communications.communication_send(actor=request_actor(request),
                                                incident_id=incident_id,
                                                communication_id=communication_id)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        if row.status == communications.SENT:
            messages.success(request, "Sent.")
        else:
            messages.error(request, f"Not sent: {row.detail}")
    return _back(incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def submitted(request: HttpRequest, incident_id: int, communication_id: int) -> HttpResponse:
    form = SubmittedForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return _back(incident_id)
    try:
        communications.mark_submitted(actor=request_actor(request), incident_id=incident_id,
                                      communication_id=communication_id,
                                      reference=form.cleaned_data["reference"],
                                      submitted_at=form.cleaned_data["submitted_at"])
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Recorded as submitted.")
    return _back(incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def internal(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = InternalForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing changed - {_errors(form)}")
        return _back(incident_id)
    try:
        communications.internal_update_create(actor=request_actor(request),
                                              incident_id=incident_id,
                                              text=form.cleaned_data["text"])
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Internal update generated; send it from the log.")
    return _back(incident_id)


@permission_required(INCIDENTS_MANAGE)
@require_POST
def public(request: HttpRequest, incident_id: int) -> HttpResponse:
    form = PublicForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing published - {_errors(form)}")
        return _back(incident_id)
    try:
        communications.public_notice_publish(actor=request_actor(request),
                                             incident_id=incident_id, **form.cleaned_data)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, "Public notice published.")
    return _back(incident_id)
